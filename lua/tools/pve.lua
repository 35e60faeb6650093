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
  mutating = true,
  handler = function(ctx, input)
    return ctx.ssh("pve", input.verb, {})
  end,
}
