-- What the words of a command that shell.parse saw say, for policies: its
-- operands and options, and whether a word may name something in a list of
-- globs (a literal path, a glob that could reach an entry, a relative path
-- in a folder the line left unknown).

local shell = require("shell")

local A = {}

-- A list indexed by the first component of its entries, so that a path is
-- matched only against the entries that can match it.
function A.list(globs)
  local by_first, any = {}, {}
  for _, g in ipairs(globs) do
    local first = g:match("^/?([^/]*)")
    if first:find("[*?[]") then
      any[#any + 1] = g
    else
      by_first[first] = by_first[first] or {}
      table.insert(by_first[first], g)
    end
  end
  return {globs = globs, by_first = by_first, any = any}
end

-- Whether name matches one of globs, or, when patterns is set, is itself
-- a pattern (systemctl takes "ssh*") that matches one.
function A.matches_any(name, globs, patterns)
  local pattern = patterns and name:find("[*?[]")
  for _, g in ipairs(globs) do
    if shell.glob_match(g, name) or (pattern and shell.glob_match(name, g)) then
      return true
    end
  end
  return false
end

-- Whether path matches an entry of list (one A.list made).
function A.listed(path, list)
  for _, group in ipairs({list.by_first[path:match("^/?([^/]*)")] or {}, list.any}) do
    for _, g in ipairs(group) do
      if shell.glob_match(g, path) then
        return true
      end
    end
  end
  return false
end

-- The components of a path or glob after its root ("/", "~" or "**").
local function components(path)
  local root = path:sub(1, 1) == "/" and "/" or path:sub(1, 1) == "~" and "~" or "**"
  local parts = {}
  for p in path:gmatch("[^/]+") do
    parts[#parts + 1] = p
  end
  if root ~= "/" then
    table.remove(parts, 1)
  end
  return root, parts
end

-- Whether the glob rest, below the folder dir, could reach an entry
-- "**/tail" (a name anywhere): the tail, or its end when dir already ends
-- with its start, matches rest, directly or one folder down. "*" does not
-- match a leading "." (bash's rule): a tail part such as ".ssh" is reached
-- only by a rest that has a "." starting a component.
local function reaches_anywhere(dir, rest, tail)
  local pattern = shell.glob_pattern(rest)
  local dotted = rest:find("^%.") or rest:find("/.", 1, true)
  local _, tparts = components("**/" .. tail)
  for skip = 0, #tparts - 1 do
    local inside = table.concat(tparts, "/", 1, skip)
    if skip == 0 or dir:sub(-#inside - 1) == "/" .. inside or dir == inside then
      local sample = table.concat(tparts, "/", skip + 1)
      if (dotted or not sample:find("^%.")) and (sample:find(pattern)
          or ("x/" .. sample):find(pattern)) then
        return true
      end
    end
  end
  return false
end

-- Whether the glob rest, in the folder dir, could reach one of list's
-- entries: dir is above the entry, or the entry is "**/tail" and
-- reaches_anywhere says so.
local function glob_reaches(dir, rest, list)
  local root, parts = components(dir)
  local candidates = list.globs
  if #parts > 0 then
    candidates = {table.unpack(list.any)}
    for _, g in ipairs(list.by_first[parts[1]] or {}) do
      candidates[#candidates + 1] = g
    end
  end
  for _, g in ipairs(candidates) do
    local groot, gparts = components(g)
    if groot == "**" then
      if reaches_anywhere(dir, rest, g:sub(4)) then
        return true
      end
    elseif groot == root then
      local ok = #parts < #gparts or gparts[#gparts] == "**"
      for k = 1, math.min(#parts, #gparts) do
        if gparts[k] == "**" then
          break
        end
        ok = ok and shell.glob_match(gparts[k], parts[k])
      end
      if ok then
        return true
      end
    end
  end
  return false
end

-- Whether words[i] of c may name something in list. A glob may when it
-- could reach an entry, a path the check cannot place (a relative one in
-- an unknown folder) always may. A word the check cannot read is left to
-- the caller, which can say so.
function A.may_name(c, i, list)
  local w = c.words[i]
  if w.dynamic then
    return false
  end
  if w.glob then
    -- The folder before the first glob character, and the glob below it.
    local literal = w.value:match("^[^*?[{]*")
    local dir = literal:match("^(.*)/")
    local rest = w.value:sub(dir and #dir + 2 or 1)
    if dir == "" then
      dir = "/"
    end
    dir = shell.resolve(dir or ".", c.cwd)
    return dir == nil or glob_reaches(dir, rest, list)
  end
  local path = shell.resolve(w.value, c.cwd)
  return path == nil or A.listed(path, list)
end

-- Operands of c (indexes into argv) and option values: short_args and
-- long_args name the options that take a value.
function A.operands(c, short_args, long_args)
  local out, values, done = {}, {}, false
  local i = 2
  while i <= #c.argv do
    local a = c.argv[i]
    if done or a == "-" or a:sub(1, 1) ~= "-" or c.words[i].dynamic then
      out[#out + 1] = i
    elseif a == "--" then
      done = true
    elseif a:sub(1, 2) == "--" then
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      if name then
        values[name] = value
      elseif long_args and long_args[a:sub(3)] then
        values[a:sub(3)] = c.argv[i + 1] or ""
        i = i + 1
      else
        values[a:sub(3)] = true
      end
    else
      for p = 2, #a do
        local ch = a:sub(p, p)
        if short_args and short_args:find(ch, 1, true) then
          if p == #a then
            values[ch] = c.argv[i + 1] or ""
            i = i + 1
          else
            values[ch] = a:sub(p + 1)
          end
          break
        end
        values[ch] = true
      end
    end
    i = i + 1
  end
  return out, values
end

-- Whether one of c's arguments is a key of set.
function A.has_word(c, set)
  for i = 2, #c.argv do
    if set[c.argv[i]] then
      return true
    end
  end
  return false
end

return A
