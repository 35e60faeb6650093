-- Bounds how often the devvm's power state changes: at most MAX_MUTATING
-- mutating actions per WINDOW_MS (across all sessions and the buttons), and
-- at least CYCLE_GAP_MS between the end of one cycle and the next. A cycle
-- that keeps failing is a problem a human should look at.
--
-- The limits bind the agent. The operator at the buttons may press again
-- over them (the page offers it with the refusal): the denial is marked
-- overridable, and the override is recorded with who gave it.

local MAX_MUTATING = 3
local WINDOW_MS = 15 * 60 * 1000
local CYCLE_GAP_MS = 60 * 1000

local function absent(v)
  return v == nil or v == json.null
end

local function seconds(ms)
  return (ms + 999) // 1000
end

local function deny(what, now, allowed_ms)
  return {deny = string.format("rate limit: %s; allowed again in %d s (at %s UTC)", what,
    seconds(allowed_ms - now), os.date("!%H:%M:%S", allowed_ms // 1000)), overridable = true}
end

-- One walk back from the newest action (entries are in the order they
-- started), stopping once it has passed the window and found the last cycle.
-- Returns when the window holds fewer than MAX_MUTATING actions again (nil if
-- it does now), and when the last cycle is CYCLE_GAP_MS behind us (nil if it
-- is now). A cycle still running counts as ending now; the last cycle to
-- start is the last to end, because one_at_a_time keeps mutating actions
-- from overlapping.
local function allowed_at(actions, now)
  local in_window, window_at, cycle_at = 0, nil, nil
  local cycle_found = false
  for i = #actions, 1, -1 do
    local a = actions[i]
    local inside = now - a.started_ms < WINDOW_MS
    if not inside and cycle_found then
      break
    end
    if inside then
      in_window = in_window + 1
      if in_window == MAX_MUTATING then
        window_at = a.started_ms + WINDOW_MS
      end
    end
    if not cycle_found and a.verb == "cycle" then
      cycle_found = true
      local ended = absent(a.finished_ms) and now or a.finished_ms
      if now - ended < CYCLE_GAP_MS then
        cycle_at = ended + CYCLE_GAP_MS
      end
    end
  end
  return window_at, cycle_at
end

local policy = {
  name = "rate_limit",
  description = "at most 3 mutating calls per 15 minutes, and 60 s between two cycles",
}

function policy.before(ctx, call)
  if call.mutating ~= true then
    return nil
  end
  local now = ctx.now_ms()
  local window_at, cycle_at = allowed_at(ctx.actions(), now)
  if window_at ~= nil then
    return deny(string.format("at most %d mutating calls per %d minutes", MAX_MUTATING,
      WINDOW_MS // 60000), now, window_at)
  end
  local at = call.verb == "cycle" and cycle_at or nil
  if at ~= nil then
    return deny(string.format("at least %d s between two cycles", CYCLE_GAP_MS // 1000), now, at)
  end
  return nil
end

function policy.self_test(t)
  local now = 100 * WINDOW_MS
  local cycle = {tool = "pve", input = {verb = "cycle"}, verb = "cycle", mutating = true}
  local reset = {tool = "pve", input = {verb = "reset"}, verb = "reset", mutating = true}
  local function act(verb, started, finished)
    return {tool = "pve", verb = verb, source = "model", session_id = "s-1",
            started_ms = started, finished_ms = finished}
  end
  local function decide(c, actions)
    return policy.before(t.ctx{now_ms = now, actions = actions}, c)
  end
  -- In terms of the settings above, so that editing them keeps the test true.
  local step = WINDOW_MS // (MAX_MUTATING + 1)
  local full = {}
  for i = 1, MAX_MUTATING do
    local started = now - WINDOW_MS + i * step
    full[i] = act("reset", started, started + 1)
  end
  local d = decide(reset, full)
  local wait = string.format("allowed again in %d s", seconds(step))
  assert(d and d.deny:find(wait, 1, true), d and d.deny or "a full window: deny")
  assert(d.overridable == true, "the operator may press again over it")
  assert(decide(reset, {table.unpack(full, 2)}) == nil, "one fewer: allowed")
  full[1].started_ms = now - WINDOW_MS
  assert(decide(reset, full) == nil, "the oldest has left the window")
  if CYCLE_GAP_MS > 0 then
    local ended = now - CYCLE_GAP_MS // 2
    -- Started before the window, so that only the gap can deny it.
    local recent = {act("cycle", math.min(ended, now - WINDOW_MS), ended)}
    d = decide(cycle, recent)
    wait = string.format("between two cycles; allowed again in %d s",
                         seconds(CYCLE_GAP_MS - CYCLE_GAP_MS // 2))
    assert(d and d.deny:find(wait, 1, true), d and d.deny or "gap")
    assert(decide(reset, recent) == nil, "the gap is for cycles only")
    recent[1].finished_ms = now - CYCLE_GAP_MS
    assert(decide(cycle, recent) == nil, "gap over")
  end
  -- The walk stops once past the window and the last cycle: what is older
  -- is never read.
  local unread = setmetatable({}, {__index = function() error("read past the window") end})
  local old_cycle = act("cycle", now - 2 * WINDOW_MS, now - 2 * WINDOW_MS + 1)
  local stopped, why = pcall(decide, reset, {unread, act("reset", now - 3 * WINDOW_MS), old_cycle,
                                             act("reset", now - 1000, now - 999)})
  assert(stopped, "stops early: " .. tostring(why))
  local status = {tool = "pve", input = {verb = "status"}, verb = "status", mutating = false}
  assert(decide(status, {act("cycle", now - 1000), table.unpack(full)}) == nil, "reads pass")
end

return policy
