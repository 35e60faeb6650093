-- After start or cycle: poll until the devvm runs a command again.

local DEFAULT_LIMIT_S = 300
local POLL_INTERVAL_MS = 3000
local ATTEMPT_TIMEOUT_S = 10

return {
  name = "wait_for_devvm",
  description = [[After a pve start or cycle, wait until the devvm answers a command
over SSH again, or until the time limit passes. Reports how long it took and how
many attempts it needed, or the layer of the last failure if it never answered.]],
  input_schema = {
    type = "object",
    properties = {
      timeout_s = {type = "integer", minimum = 10, maximum = 900,
                   description = "give up after this long (default 300)"},
    },
    additionalProperties = false,
  },
  mutating = false,
  handler = function(ctx, input)
    local limit_ms = (input.timeout_s or DEFAULT_LIMIT_S) * 1000
    local start = ctx.now_ms()
    local attempts, last = 0, nil
    while true do
      attempts = attempts + 1
      last = ctx.ssh("devvm", "true", {fresh = true, timeout_s = ATTEMPT_TIMEOUT_S})
      local waited = ctx.now_ms() - start
      if last.ok and last.exit_status == 0 then
        return string.format("the devvm answered after %.1f s (%d attempt%s)",
                             waited / 1000, attempts, attempts == 1 and "" or "s"),
               {ok = true, attempts = attempts, waited_ms = waited}
      end
      ctx.output(string.format("attempt %d: %s\n", attempts, last.layer))
      if waited + POLL_INTERVAL_MS >= limit_ms then
        return nil, string.format("the devvm did not answer within %d s (%d attempts; last: %s: %s)",
                                  limit_ms // 1000, attempts, last.layer, last.message),
               {ok = false, attempts = attempts, waited_ms = waited, layer = last.layer}
      end
      ctx.sleep(POLL_INTERVAL_MS)
    end
  end,
}
