-- At most one mutating action in flight across all sessions and the
-- buttons: two power verbs racing on one VM leave it in a state nobody chose.

local function absent(v)
  return v == nil or v == json.null
end

local policy = {
  name = "one_at_a_time",
  description = "at most one mutating action in flight across all sessions and the buttons",
}

function policy.before(ctx, call)
  if call.mutating ~= true then
    return nil
  end
  -- Only the newest action can be in flight: by this very rule no mutating
  -- action starts while another one is, so every older one had ended before
  -- the newest started. (Reading them all would cost each decision as much
  -- as the list is long.)
  local actions = ctx.actions()
  local a = actions[#actions]
  if a == nil or not absent(a.finished_ms) then
    return nil
  end
  local what = a.verb ~= nil and a.verb ~= json.null and (a.tool .. " " .. a.verb) or a.tool
  local who = a.source == "button" and "a button" or ("session " .. tostring(a.session_id))
  return {deny = string.format(
    "another mutating action is in flight: %s from %s, started %d s ago; "
      .. "try again when it has finished",
    what, who, (ctx.now_ms() - a.started_ms) // 1000)}
end

function policy.self_test(t)
  local now = 1000000
  local stop = {tool = "pve", input = {verb = "stop"}, verb = "stop", mutating = true}
  local running = {tool = "pve", verb = "cycle", session_id = "s-2", source = "model",
                   started_ms = now - 42000}
  local finished = {tool = "pve", verb = "reset", session_id = "s-3", source = "button",
                    started_ms = now - 90000, finished_ms = now - 80000}
  local d = policy.before(t.ctx{now_ms = now, actions = {finished, running}}, stop)
  assert(d and d.deny:find("pve cycle from session s-2, started 42 s ago", 1, true), "in flight")
  assert(policy.before(t.ctx{now_ms = now, actions = {finished}}, stop) == nil, "all finished")
  local unread = setmetatable({}, {__index = function() error("read an older action") end})
  assert(policy.before(t.ctx{now_ms = now, actions = {unread, finished}}, stop) == nil,
         "only the newest is read")
  local status = {tool = "pve", input = {verb = "status"}, verb = "status", mutating = false}
  assert(policy.before(t.ctx{now_ms = now, actions = {running}}, status) == nil, "reads pass")
end

return policy
