-- Which layer of the devvm answers: TCP, the SSH banner, the key, a command.

-- The whole probe's limit. It must stay well above the SSH connect limit
-- (BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS, 10 s by default), so that a
-- wedged sshd is reported at the layer where it stopped (no_banner) when
-- the connect limit fires, not as a command that ran out of time.
local PROBE_TIMEOUT_S = 30

-- What each transport layer means for a wedged-or-dead diagnosis.
local MEANING = {
  connect_refused = "TCP refused: the guest is up but sshd is not listening, or the VM is off",
  connect_timeout = "TCP timed out: the VM is off, its network is down, or the guest is frozen",
  no_banner = "TCP connected but no SSH banner: sshd is wedged (guest frozen, disk I/O stalled)",
  kex = "the SSH key exchange did not finish: sshd is wedged part-way",
  hostkey_unknown = "the devvm's host key is not pinned",
  hostkey_changed = "the devvm's host key changed",
  auth_refused = "sshd answered but refused the key",
  channel = "logged in but the server refused to run a command",
  command_timeout = "logged in but a trivial command did not finish: the guest is badly loaded",
  connection_lost = "the connection dropped during the probe",
}

return {
  name = "devvm_probe",
  description = [[Check how far the devvm answers, layer by layer, on a fresh SSH
connection: TCP refused / TCP timed out / connected but no SSH banner (a wedged
sshd) / auth refused / command ran. Reports the layer that fails, what it
usually means, and how long each layer took. Run it first when the devvm seems
down, and after a repair.]],
  input_schema = {type = "object", properties = {}, additionalProperties = false},
  mutating = false,
  handler = function(ctx, input)
    local r = ctx.ssh("devvm", "true", {fresh = true, timeout_s = PROBE_TIMEOUT_S})
    local ran = r.ok and r.exit_status == 0
    -- ok = false makes the page show a finding (with its layer), not a
    -- success: the probe worked, the devvm did not answer.
    return {
      ok = ran,
      reachable = ran,
      layer = ran and "command_ran" or r.layer,
      meaning = ran and "the devvm ran a command: SSH works" or (MEANING[r.layer] or r.message),
      message = r.message,
      connect_ms = r.connect_ms,
      handshake_ms = r.handshake_ms,
      auth_ms = r.auth_ms,
      total_ms = r.duration_ms,
    }
  end,
}
