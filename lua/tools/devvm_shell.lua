-- Run one shell command on the devvm as the breakglass user.
return {
  name = "devvm_shell",
  description = [[Run one shell command on the devvm over SSH as the `breakglass` user,
who has passwordless sudo. Returns stdout, stderr, the exit status and how long it
took. Use it to diagnose (uptime, free -m, df -h, journalctl, systemctl --failed,
dmesg) and to repair in place. Output past 1 MiB is cut to its head and tail.
Fails fast, naming the layer, when the devvm cannot be reached.]],
  input_schema = {
    type = "object",
    required = {"command"},
    properties = {
      command = {type = "string", minLength = 1, maxLength = 8192,
                 description = "the command line, run by the login shell"},
      timeout_s = {type = "integer", minimum = 1, maximum = 600,
                   description = "limit for this command (default 120)"},
    },
    additionalProperties = false,
  },
  mutating = false,
  handler = function(ctx, input)
    local r = ctx.ssh("devvm", input.command, {timeout_s = input.timeout_s})
    return r
  end,
}
