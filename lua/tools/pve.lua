-- One power verb on VM 102, through the Proxmox host's forced-command key.
return {
  name = "pve",
  description = [[Ask the Proxmox host for one power verb on the devvm (VM 102), through a
forced-command SSH key that allows nothing else:
- status: qm status.
- forensics: a point-in-time diagnostic dump (qm status/config/pending, QEMU
  monitor queries, guest agent ping, host load and disk counters). Run it
  before any mutating verb.
- start, stop: power on, power off.
- reset: a warm reset inside the same QEMU process (does not apply staged
  config, does not help a wedged QEMU).
- cycle: full stop then start with a fresh QEMU process; applies staged config;
  the fix for a wedged QEMU.
Every mutating verb (start, stop, reset, cycle) captures forensics first on the
host as well.]],
  input_schema = {
    type = "object",
    required = {"verb"},
    properties = {
      verb = {type = "string", enum = {"status", "forensics", "reset", "stop", "start", "cycle"}},
    },
    additionalProperties = false,
  },
  -- status and forensics only read; every other verb changes the devvm.
  mutating = function(input)
    return input.verb ~= "status" and input.verb ~= "forensics"
  end,
  handler = function(ctx, input)
    local r = ctx.ssh("pve", input.verb)
    -- What the page shows, whatever the words below say.
    local details = {ok = r.ok and r.exit_status == 0, verb = input.verb, layer = r.layer,
                     exit_status = r.exit_status, exit_signal = r.exit_signal,
                     duration_ms = r.duration_ms}
    if not r.ok then
      return nil, string.format("pve %s did not complete (%s): %s%s", input.verb, r.layer,
                                r.message, r.stdout ~= "" and ("\nOutput so far:\n" .. r.stdout) or ""),
             details
    end
    local text = string.format("pve %s: exit %s, %.1f s\n%s%s", input.verb,
                               tostring(r.exit_status or r.exit_signal), r.duration_ms / 1000,
                               r.stdout, r.stderr ~= "" and ("--- stderr ---\n" .. r.stderr) or "")
    if r.exit_status ~= 0 then return nil, text, details end
    return text, details
  end,
}
