-- Evidence before change: a mutating call needs a forensics capture that
-- succeeded in this session since the last mutating call and within the last
-- MAX_AGE_MS. Without one, the runtime runs `pve forensics` first, records it
-- in the session, and then asks again.

local MAX_AGE_MS = 10 * 60 * 1000
local FORENSICS = {tool = "pve", input = {verb = "forensics"}}

local function absent(v)
  return v == nil or v == json.null
end

-- A call that actually ran (a denied one, or one the operator declined, did not).
local function ran(c)
  return c.decision ~= "deny"
end

local function is_good_forensics(c)
  return c.tool == FORENSICS.tool and c.verb == FORENSICS.input.verb and ran(c)
      and not absent(c.finished_ms) and c.is_error ~= true
end

-- Walks back from the newest call: a good capture wins, a mutating call that
-- ran or a capture too old ends the search.
local function has_fresh_forensics(history, now)
  for i = #history, 1, -1 do
    local c = history[i]
    if type(c.started_ms) == "number" and now - c.started_ms > MAX_AGE_MS then
      return false
    end
    if is_good_forensics(c) then
      return true
    end
    if c.mutating == true and ran(c) then
      return false
    end
  end
  return false
end

local policy = {
  name = "forensics_first",
  description = "a forensics capture from this session, since the last mutating call and "
    .. "at most 10 minutes old, before any mutating call",
}

function policy.before(ctx, call)
  if call.mutating ~= true or has_fresh_forensics(ctx.history(), ctx.now_ms()) then
    return nil
  end
  return {
    run_first = FORENSICS,
    reason = "no forensics capture in this session since the last mutating call and within "
      .. "the last " .. MAX_AGE_MS // 60000 .. " minutes; capturing one first",
  }
end

function policy.self_test(t)
  local now = 100 * MAX_AGE_MS
  local cycle = {tool = "pve", input = {verb = "cycle"}, verb = "cycle", mutating = true}
  local function forensics(started, extra)
    local c = {tool = "pve", input = {verb = "forensics"}, verb = "forensics", mutating = false,
               started_ms = started, finished_ms = started + 1, is_error = false,
               decision = "allow"}
    for k, v in pairs(extra or {}) do c[k] = v end
    return c
  end
  local function decide(history)
    return policy.before(t.ctx{now_ms = now, history = history}, cycle)
  end
  -- In terms of MAX_AGE_MS, so that editing it keeps the test true.
  local fresh = now - MAX_AGE_MS // 2
  assert(decide({}).run_first == FORENSICS, "empty history: forensics first")
  assert(decide({forensics(fresh)}) == nil, "fresh capture: allowed")
  assert(decide({forensics(now - MAX_AGE_MS - 1)}).run_first, "stale capture")
  assert(decide({forensics(fresh, {is_error = true})}).run_first, "failed capture")
  assert(decide({forensics(fresh, {finished_ms = json.null})}).run_first, "running")
  local done_cycle = {tool = "pve", verb = "cycle", mutating = true, started_ms = fresh + 2,
                      decision = "allow"}
  assert(decide({forensics(fresh), done_cycle}).run_first, "used by the last cycle")
  done_cycle.decision = "deny"
  assert(decide({forensics(fresh), done_cycle}) == nil, "a denied cycle did not use it")
  local status = {tool = "pve", input = {verb = "status"}, verb = "status", mutating = false}
  assert(policy.before(t.ctx{now_ms = now}, status) == nil, "reading needs no capture")
end

return policy
