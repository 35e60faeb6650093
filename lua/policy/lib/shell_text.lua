-- Text, globs and paths, for the shell parser (shell.lua) and the policies
-- that judge what it saw: printable excerpts, the notes of what the parser
-- could not see through, globs as Lua patterns, paths made absolute.

local T = {}

local MAX_UNSEEN = 16
local EXCERPT_MAX_BYTES = 120

--------------------------------------------------------------------------------
-- Text helpers

-- s on one line, as valid UTF-8 ("?" for bytes that are not): fit for a
-- reason the model and the page read.
function T.printable(s)
  s = s:gsub("%c+", " ")
  if utf8.len(s) == nil then
    s = s:gsub("[\128-\255]", "?")
  end
  return s
end

local function excerpt(s)
  s = T.printable(s)
  if #s > EXCERPT_MAX_BYTES then
    local cut = EXCERPT_MAX_BYTES
    while cut > 0 and (s:byte(cut + 1) or 0) & 0xC0 == 0x80 do
      cut = cut - 1
    end
    s = s:sub(1, cut) .. "..."
  end
  return s
end

-- Notes in r.unseen (at most MAX_UNSEEN) what the parser could not see
-- through, with an excerpt of the text it saw it in.
local function see(r, what, text)
  local u = r.unseen
  if #u < MAX_UNSEEN then
    u[#u + 1] = text ~= nil and (what .. ": " .. excerpt(text)) or what
  end
end

local function basename(path)
  return path:match("[^/]*$")
end

--------------------------------------------------------------------------------
-- Paths and globs, for policies

-- A glob as a Lua pattern: "*" is one path component or part of one, "**"
-- any number of components, "?" one character, "[...]" a class.
local POSIX_CLASSES = {alpha = "%a", digit = "%d", alnum = "%w", upper = "%u", lower = "%l",
                       space = "%s", punct = "%p", xdigit = "%x", cntrl = "%c",
                       print = " -~", graph = "!-~", blank = " \t"}

-- The index of the "]" that closes the class opened at i, or nil when a
-- character of stop (or the end) comes first. "[:alpha:]" is one item.
local function class_end(s, i, stop)
  local j = i + 1
  if s:find("^[!^]", j) then
    j = j + 1
  end
  if s:sub(j, j) == "]" then
    j = j + 1
  end
  while true do
    local c = s:sub(j, j)
    if c == "]" then
      return j
    elseif c == "" or c:find(stop) then
      return nil
    elseif c == "[" and s:find("^%[:%a+:%]", j) then
      j = s:find(":]", j, true) + 2
    else
      j = j + 1
    end
  end
end

local function class_pattern(body)
  local negate = body:find("^[!^]") ~= nil
  if negate then
    body = body:sub(2)
  end
  body = body:gsub("%%", "%%%%"):gsub("%]", "%%]")
      :gsub("%[:(%a+):%%%]", function(c) return POSIX_CLASSES[c] or "" end)
  return "[" .. (negate and "^" or "") .. body .. "]"
end

function T.glob_pattern(glob)
  local out, i = {}, 1
  while i <= #glob do
    local c = glob:sub(i, i)
    if c == "*" and glob:sub(i + 1, i + 1) == "*" then
      out[#out + 1] = ".*"
      i = i + 2
    elseif c == "*" then
      out[#out + 1] = "[^/]*"
      i = i + 1
    elseif c == "?" then
      out[#out + 1] = "[^/]"
      i = i + 1
    elseif c == "[" and class_end(glob, i, "^/") then
      local e = class_end(glob, i, "^/")
      out[#out + 1] = class_pattern(glob:sub(i + 1, e - 1))
      i = e + 1
    else
      out[#out + 1] = (c:gsub("%W", "%%%0"))
      i = i + 1
    end
  end
  return "^" .. table.concat(out) .. "$"
end

-- Globs compiled so far: the policies' lists, mostly. Emptied when full,
-- so that globs from command lines cannot make it grow without end.
local COMPILED_MAX = 512
local compiled, compiled_count = {}, 0

-- Whether the path matches the glob ("/dev/sd*", "**/.ssh").
function T.glob_match(glob, path)
  local pattern = compiled[glob]
  if pattern == nil then
    if compiled_count >= COMPILED_MAX then
      compiled, compiled_count = {}, 0
    end
    pattern = T.glob_pattern(glob)
    compiled[glob], compiled_count = pattern, compiled_count + 1
  end
  return path:find(pattern) ~= nil
end

-- "/", "/a/b", "~" or "~/a": path with "." and ".." and repeated "/" gone,
-- relative ones taken from cwd ("~" when nil, unknown when false). nil
-- when it cannot be known: a relative path in an unknown folder, or one
-- that climbs out of the home folder, whose place is not known.
function T.resolve(path, cwd)
  local root
  if path:sub(1, 1) == "/" then
    root = "/"
  elseif path == "~" or path:sub(1, 2) == "~/" then
    root, path = "~", path:sub(2)
  elseif cwd == false then
    return nil
  else
    local base = T.resolve(cwd or "~", "/")
    if base == nil then
      return nil
    end
    return T.resolve(base .. "/" .. path, false)
  end
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." then
      if #parts == 0 and root == "~" then
        return nil
      end
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  if #parts == 0 then
    return root
  end
  return (root == "~" and "~/" or "/") .. table.concat(parts, "/")
end

T.excerpt, T.see, T.basename = excerpt, see, basename
T.class_end, T.class_pattern = class_end, class_pattern

return T
