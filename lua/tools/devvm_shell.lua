-- Run one shell command on the devvm as the breakglass user.

-- What the model reads of each stream: the head and the tail around a
-- marker of what was cut. The page shows the whole output live.
local MODEL_MAX_BYTES = 64 * 1024

-- sshd leaves a command running when its channel closes (no pty), as on a
-- cancel or a time limit, and libssh2 1.10 cannot send a signal. So a
-- watcher holds the channel's stdin, which ends only when the channel
-- closes, and then stops the command's process group; a command that ends
-- first takes the watcher with it. The command itself reads /dev/null. The
-- wrapper already runs in the login shell, so the command runs in a
-- subshell of it (a fork) rather than in a second login shell (a fork and
-- an exec, several milliseconds of bash's start).
local WRAPPER = [[exec 3<&0 </dev/null
{ trap '' TERM; cat <&3 >/dev/null 2>&1; kill -TERM 0; sleep 2; kill -KILL 0; } >/dev/null 2>&1 &
exec 3<&-
( eval %s )
s=$?; kill -KILL $! 2>/dev/null; exit $s]]

local function wrap(command)
  return string.format(WRAPPER, "'" .. command:gsub("'", "'\\''") .. "'")
end

local function stream(name, text)
  if text == "" then return "" end
  return string.format("--- %s ---\n%s%s", name, text, text:sub(-1) == "\n" and "" or "\n")
end

return {
  name = "devvm_shell",
  description = [[Run one shell command on the devvm over SSH as the `breakglass` user,
who has passwordless sudo. Returns the exit status, how long it took, stdout and
stderr. Use it to diagnose (uptime, free -m, df -h, journalctl, systemctl --failed,
dmesg) and to repair in place. Long output is cut to its head and tail, with a
marker saying how much was cut. Fails fast, naming the layer (refused, timed out,
no SSH banner, auth), when the devvm cannot be reached: then use devvm_probe and
the pve tool.]],
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
    local r = ctx.ssh("devvm", wrap(input.command), {timeout_s = input.timeout_s, max_bytes = MODEL_MAX_BYTES})
    local seconds = r.duration_ms / 1000
    local body = stream("stdout", r.stdout) .. stream("stderr", r.stderr)
    -- What the page shows, whatever the words above say.
    local details = {ok = r.ok and r.exit_status == 0, layer = r.layer, exit_status = r.exit_status,
                     exit_signal = r.exit_signal, duration_ms = r.duration_ms}
    if r.layer == "command_timeout" then
      return nil, string.format("timed out after %.1f s; the command was stopped. Output so far:\n%s",
                                seconds, body), details
    elseif not r.ok then
      return nil, string.format("the devvm did not run the command (%s): %s", r.layer, r.message),
             details
    end
    local status = r.exit_signal and ("killed by signal " .. r.exit_signal)
                   or ("exit status " .. r.exit_status)
    return string.format("%s, %.3f s\n%s", status, seconds, body), details
  end,
}
