-- Shell words, for policies that judge a command line before it runs.
--
-- shell.parse(line) reads a line the way bash reads it before running
-- anything: quotes ('', "", $'') and backslashes removed, words split,
-- lists, pipelines, subshells, groups and control structures (if, while,
-- until, for, case) split into simple commands, redirections and
-- here-documents seen, and prefixes and wrappers (sudo, su -c, env, nice,
-- timeout, xargs, bash -c '...', find -exec, watch, ssh, ...) unwrapped to
-- the command they run, however deeply they nest. It expands nothing: a
-- word holding $x, $(...) or `...` is dynamic, one with an unquoted
-- * ? [...] or {a,b} is a glob. What bash could run that the line does not
-- show (command substitution, eval, a variable or glob as a command name,
-- a shell reading commands from a pipe...) is listed in unseen, so that a
-- policy can ask instead of guessing.
--
-- The result of shell.parse(line):
--   commands  every simple command that would run, in the order written:
--             {name = "reboot" (argv[1] without its folder), argv = {"reboot"},
--              words = {word, ...}, via = "sudo, bash -c" (what it was unwrapped from),
--              fed = true when its input is a pipe, a file or a here-document,
--              extra = true when xargs or find adds arguments of their own,
--              cwd = the folder it runs in: "/x", "~" (home) or false (unknown)}
--   writes    every file an output redirection or tee writes:
--             {target = word, how = ">", cwd = as for commands}
--   unseen    what the check cannot see through, as "what: text" strings
-- A word is {value = the text after quote removal, dynamic = true|false,
-- glob = true|false, pattern = an anchored Lua pattern when it is a glob}.
--
-- Bounded: a line longer than MAX_INPUT_BYTES is not read; nesting past
-- MAX_DEPTH or shells in shells past MAX_SHELLS stop there. Each of those
-- is reported in unseen. Every character is read once, and the text of a
-- bash -c '...' or `...` once more for each level it is nested in.

local M = {}

M.MAX_INPUT_BYTES = 16384
M.MAX_DEPTH = 48
M.MAX_SHELLS = 6
-- Alternative readings of an ambiguous option (sudo --us root x ...).
M.MAX_BRANCHES = 4
-- Words and operators read in one line, all levels together: past this the
-- line is not read further (and asks), so that every line costs a policy
-- well under its instruction limit.
M.MAX_TOKENS = 1500

local MAX_UNSEEN = 16
local EXCERPT_MAX_BYTES = 120

-- Variables that make bash (or every program) run code of their choosing.
local CODE_VARIABLES = {BASH_ENV = true, ENV = true, PROMPT_COMMAND = true, PS0 = true,
                        PS1 = true, PS2 = true, PS3 = true, PS4 = true, SHELLOPTS = true,
                        BASHOPTS = true, LD_PRELOAD = true, LD_AUDIT = true,
                        LD_LIBRARY_PATH = true}

--------------------------------------------------------------------------------
-- Text helpers

-- s on one line, as valid UTF-8 ("?" for bytes that are not): fit for a
-- reason the model and the page read.
function M.printable(s)
  s = s:gsub("%c+", " ")
  if utf8.len(s) == nil then
    s = s:gsub("[\128-\255]", "?")
  end
  return s
end

local function excerpt(s)
  s = M.printable(s)
  if #s > EXCERPT_MAX_BYTES then
    local cut = EXCERPT_MAX_BYTES
    while cut > 0 and (s:byte(cut + 1) or 0) & 0xC0 == 0x80 do
      cut = cut - 1
    end
    s = s:sub(1, cut) .. "..."
  end
  return s
end

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

function M.glob_pattern(glob)
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

local compiled = {}

-- Whether the path matches the glob ("/dev/sd*", "**/.ssh").
function M.glob_match(glob, path)
  local pattern = compiled[glob]
  if pattern == nil then
    pattern = M.glob_pattern(glob)
    compiled[glob] = pattern
  end
  return path:find(pattern) ~= nil
end

-- "/", "/a/b", "~" or "~/a": path with "." and ".." and repeated "/" gone,
-- relative ones taken from cwd ("~" when nil, unknown when false). nil
-- when it cannot be known: a relative path in an unknown folder, or one
-- that climbs out of the home folder, whose place is not known.
function M.resolve(path, cwd)
  local root
  if path:sub(1, 1) == "/" then
    root = "/"
  elseif path == "~" or path:sub(1, 2) == "~/" then
    root, path = "~", path:sub(2)
  elseif cwd == false then
    return nil
  else
    local base = M.resolve(cwd or "~", "/")
    if base == nil then
      return nil
    end
    return M.resolve(base .. "/" .. path, false)
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

--------------------------------------------------------------------------------
-- Words

local WORD_END = "^[ \t\n;&|<>()]"
-- Characters that are themselves, outside quotes.
local PLAIN = "^[^ \t\n;&|<>()'\"\\$`*?[{~]+"
-- What ends a word outside quotes.
local WORD_STOP = {[""] = true, [" "] = true, ["\t"] = true, ["\n"] = true, [";"] = true,
                   ["&"] = true, ["|"] = true, ["<"] = true, [">"] = true, ["("] = true,
                   [")"] = true}

local function add(W, text)
  local n = W.n + 1
  W.n = n
  W.parts[n] = text
end

local function add_glob(W, text, pattern)
  add(W, text)
  W.glob = true
  W.globs = W.globs or {}
  W.globs[W.n] = pattern
end

local function add_dynamic(W, text)
  add(W, text)
  W.dynamic = true
end

local function finish(P, W)
  local value = table.concat(W.parts, "", 1, W.n)
  local w = {value = value, dynamic = W.dynamic, glob = W.glob, quoted = W.quoted,
             assign = W.assign}
  if W.glob and not W.dynamic then
    local pat = {}
    for k = 1, W.n do
      pat[k] = W.globs[k] or (W.parts[k]:gsub("%W", "%%%0"))
    end
    w.pattern = "^" .. table.concat(pat) .. "$"
  end
  if not W.dynamic and value:find("[$`]")
      and (value:find("$(", 1, true) or value:find("`", 1, true)) then
    -- Text that bash would run if it expanded it again (in arithmetic).
    P.r.code_text = value
  end
  return w
end

local parse_list, sub_parse

-- The end of a ${...}, $((...)) or $[...] opened before i: the index of
-- its closing character, skipping quoted text. nil when it is missing.
local function closing(s, i, open, close)
  local depth = 1
  local class = "[%" .. open .. "%" .. close .. "\\'\"]"
  while true do
    local a = s:find(class, i)
    if a == nil then
      return nil
    end
    local c = s:sub(a, a)
    if c == open then
      depth = depth + 1
    elseif c == close then
      depth = depth - 1
      if depth == 0 then
        return a
      end
    elseif c == "\\" then
      a = a + 1
    elseif c == "'" then
      a = s:find("'", a + 1, true)
      if a == nil then
        return nil
      end
    else
      a = s:find('"', a + 1, true)
      if a == nil then
        return nil
      end
    end
    i = a + 1
  end
end

local function code_inside(P, text)
  if text:find("$(", 1, true) or text:find("`", 1, true) then
    see(P.r, "command substitution", text)
  end
end

local ANSI_ESCAPES = {n = "\n", t = "\t", r = "\r", a = "\a", b = "\b", e = "\27", E = "\27",
                      f = "\f", v = "\v", ["\\"] = "\\", ["'"] = "'", ['"'] = '"', ["?"] = "?"}

local function code_point(hex)
  local n = tonumber(hex, 16)
  return n <= 0x10FFFF and utf8.char(n) or "?"
end

-- $'...' from i (at the quote): bash's escapes, up to the first \0.
local function read_ansi(P, i, W)
  local s = P.s
  W.quoted = true
  local j, ended = i + 1, false
  while true do
    local a = s:find("[\\']", j)
    if a == nil then
      see(P.r, "an unbalanced quote", s:sub(i))
      if not ended then
        add(W, s:sub(j))
      end
      return P.n + 1
    end
    if not ended then
      add(W, s:sub(j, a - 1))
    end
    if s:sub(a, a) == "'" then
      return a + 1
    end
    local d = s:sub(a + 1, a + 1)
    local text, e = ANSI_ESCAPES[d], a + 2
    if text == nil then
      local hex, e2 = s:match("^x(%x%x?)()", a + 1)
      local oct, e3 = s:match("^([0-7][0-7]?[0-7]?)()", a + 1)
      local u, e4 = s:match("^u(%x%x?%x?%x?)()", a + 1)
      local U, e5 = s:match("^U(%x%x?%x?%x?%x?%x?%x?%x?)()", a + 1)
      if hex then
        text, e = string.char(tonumber(hex, 16)), e2
      elseif oct then
        text, e = string.char(tonumber(oct, 8) & 0xFF), e3
      elseif u then
        text, e = code_point(u), e4
      elseif U then
        text, e = code_point(U), e5
      elseif d == "c" and a + 2 <= P.n then
        text, e = string.char(s:byte(a + 2) & 0x1F), a + 3
      else
        text = "\\" .. d
      end
    end
    if text == "\0" then
      ended = true -- bash ends the word's text at a NUL
    elseif not ended then
      add(W, text)
    end
    j = e
  end
end

local read_dquote

-- $... from i (at the $): a substitution, an expansion or a literal $.
local function read_dollar(P, i, W, in_dquote)
  local s = P.s
  local c = s:sub(i + 1, i + 1)
  if c == "(" then
    if s:sub(i + 2, i + 2) == "(" then
      local e = closing(s, i + 3, "(", ")")
      if e == nil then
        see(P.r, "an unclosed $((", s:sub(i))
        add_dynamic(W, s:sub(i))
        return P.n + 1
      elseif s:sub(e + 1, e + 1) == ")" then
        P.r.arith = true
        code_inside(P, s:sub(i + 3, e - 1))
        add_dynamic(W, s:sub(i, e + 1))
        return e + 2
      end
    end
    if P.depth >= M.MAX_DEPTH then
      see(P.r, "nested too deep to check", s:sub(i))
      add_dynamic(W, s:sub(i))
      return P.n + 1
    end
    P.i, P.depth = i + 2, P.depth + 1
    local t = parse_list(P, {[")"] = true})
    P.depth = P.depth - 1
    if t.kind == "op" and t.op == ")" then
      P.tok = nil
    else
      see(P.r, "an unclosed $(", s:sub(i))
    end
    local text = s:sub(i, P.i - 1)
    see(P.r, "command substitution", text)
    add_dynamic(W, text)
    return P.i
  elseif c == "{" then
    local e = closing(s, i + 2, "{", "}")
    if e == nil then
      see(P.r, "an unclosed ${", s:sub(i))
      add_dynamic(W, s:sub(i))
      return P.n + 1
    end
    local text = s:sub(i, e)
    code_inside(P, s:sub(i + 2, e - 1))
    if text:find("@P}", 1, true) then
      see(P.r, "prompt expansion", text)
    end
    add_dynamic(W, text)
    return e + 1
  elseif c == "'" and not in_dquote then
    return read_ansi(P, i + 1, W)
  elseif c == '"' and not in_dquote then
    W.quoted = true
    return read_dquote(P, i + 2, W)
  elseif c == "[" then
    local e = closing(s, i + 2, "[", "]") or P.n
    P.r.arith = true
    code_inside(P, s:sub(i + 2, e - 1))
    add_dynamic(W, s:sub(i, e))
    return e + 1
  end
  local _, e = s:find("^[%a_][%w_]*", i + 1)
  if e == nil and c:find("^[%d@*#?$!%-]") then
    e = i + 1
  end
  if e then
    add_dynamic(W, s:sub(i, e))
    return e + 1
  end
  add(W, "$")
  return i + 1
end

-- `...` from i (at the backquote): its text, unescaped, is parsed as a line.
local function read_backquote(P, i, W)
  local s = P.s
  local pieces, j = {}, i + 1
  while true do
    local a = s:find("[\\`]", j)
    if a == nil then
      see(P.r, "an unclosed `", s:sub(i))
      pieces[#pieces + 1] = s:sub(j)
      j = P.n + 1
      break
    end
    pieces[#pieces + 1] = s:sub(j, a - 1)
    if s:sub(a, a) == "`" then
      j = a + 1
      break
    end
    local d = s:sub(a + 1, a + 1)
    pieces[#pieces + 1] = (d == "$" or d == "`" or d == "\\") and d or ("\\" .. d)
    j = a + 2
  end
  local text = s:sub(i, j - 1)
  see(P.r, "command substitution", text)
  sub_parse(P, table.concat(pieces), 0, P.via)
  add_dynamic(W, text)
  return j
end

-- "..." from i (after the quote).
function read_dquote(P, i, W)
  local s = P.s
  W.quoted = true
  while true do
    local _, e = s:find('^[^"\\$`]+', i)
    if e then
      add(W, s:sub(i, e))
      i = e + 1
    end
    local c = s:sub(i, i)
    if c == '"' then
      return i + 1
    elseif c == "" then
      see(P.r, "an unbalanced quote", s:sub(math.max(1, i - 40)))
      return i
    elseif c == "\\" then
      local d = s:sub(i + 1, i + 1)
      if d == "\n" then
        i = i + 2
      elseif d ~= "" and d:find('^[$`"\\]') then
        add(W, d)
        i = i + 2
      else
        add(W, "\\")
        i = i + 1
      end
    elseif c == "$" then
      i = read_dollar(P, i, W, true)
    else
      i = read_backquote(P, i, W)
    end
  end
end

-- ~, ~user at the start of a word.
local function read_tilde(P, i, W)
  local user, e = P.s:match("^~([%w_.%-+]*)()", i)
  local after = P.s:sub(e, e)
  if not (after == "" or after == "/" or after:find(WORD_END)) then
    return i
  end
  if user == "" then
    add(W, "~")
  elseif user == "+" or user == "-" then
    add_dynamic(W, "~" .. user)
  elseif user == "root" then
    add(W, "/root")
  else
    add(W, "/home/" .. user)
  end
  return e
end

-- [...] from i: a glob class when it closes before the next blank,
-- operator or quote. When it does not, no "[" before that point does
-- either, and they are not searched again.
local function read_class(P, i, W)
  if W.no_class_until and i < W.no_class_until then
    add(W, "[")
    return i + 1
  end
  local e = class_end(P.s, i, "^[ \t\n;&|<>()'\"]")
  if e == nil then
    W.no_class_until = P.s:find("[ \t\n;&|<>()'\"]", i + 1) or P.n + 1
    add(W, "[")
    return i + 1
  end
  add_glob(W, P.s:sub(i, e), class_pattern(P.s:sub(i + 1, e - 1)))
  return e + 1
end

-- { from i: brace expansion when the rest of the word holds a "}" and a
-- "," or ".."; seen as a glob that can match anything. Looked at once a
-- word, so that a word of many braces costs no more than one.
local function read_brace(P, i, W)
  if not W.braces_seen then
    W.braces_seen = true
    local stop = P.s:find("[ \t\n;&|<>()]", i) or P.n + 1
    local rest = P.s:sub(i, stop - 1)
    if rest:find("}", 1, true) and (rest:find(",", 1, true) or rest:find("..", 1, true)) then
      add_glob(W, "{", ".-")
      return i + 1
    end
  end
  add(W, "{")
  return i + 1
end

-- <(...) or >(...) at i: the commands inside run; the word is a path.
local function read_process(P, i, W)
  if P.depth >= M.MAX_DEPTH then
    see(P.r, "nested too deep to check", P.s:sub(i))
    add_dynamic(W, P.s:sub(i))
    return P.n + 1
  end
  local first = #P.r.commands + 1
  P.i, P.depth = i + 2, P.depth + 1
  local t = parse_list(P, {[")"] = true})
  P.depth = P.depth - 1
  if t.kind == "op" and t.op == ")" then
    P.tok = nil
  end
  local text = P.s:sub(i, P.i - 1)
  see(P.r, "process substitution", text)
  if text:sub(1, 1) == ">" then
    for k = first, #P.r.commands do
      P.r.commands[k].fed = true
    end
  end
  add_dynamic(W, text)
  return P.i
end

-- How each character that is not itself starts a part of a word.
local PARTS = {
  ["'"] = function(P, i, W)
    W.quoted = true
    local close = P.s:find("'", i + 1, true)
    if close == nil then
      see(P.r, "an unbalanced quote", P.s:sub(i))
      add(W, P.s:sub(i + 1))
      return P.n + 1
    end
    add(W, P.s:sub(i + 1, close - 1))
    return close + 1
  end,
  ['"'] = function(P, i, W)
    return read_dquote(P, i + 1, W)
  end,
  ["\\"] = function(P, i, W)
    local d = P.s:sub(i + 1, i + 1)
    if d == "\n" then
      return i + 2 -- a line continued
    elseif d == "" then
      add(W, "\\")
      return i + 1
    end
    W.quoted = true
    add(W, d)
    return i + 2
  end,
  ["$"] = function(P, i, W)
    return read_dollar(P, i, W, false)
  end,
  ["`"] = read_backquote,
  ["*"] = function(P, i, W)
    add_glob(W, "*", "[^/]*")
    return i + 1
  end,
  ["?"] = function(P, i, W)
    add_glob(W, "?", "[^/]")
    return i + 1
  end,
  ["["] = read_class,
  ["{"] = read_brace,
  ["~"] = function(P, i, W)
    add(W, "~")
    return i + 1
  end,
}

local function read_word(P)
  local s = P.s
  local i = P.i
  local _, e = s:find(PLAIN, i)
  if e and WORD_STOP[s:sub(e + 1, e + 1)] then
    -- The common case: plain text up to a blank or an operator.
    local value = s:sub(i, e)
    P.i = e + 1
    return {value = value, dynamic = false, glob = false, quoted = false,
            assign = value:match("^([%a_][%w_]*)%+?=")}
  end
  local W = {parts = {}, n = 0, dynamic = false, glob = false, quoted = false}
  W.assign = s:match("^([%a_][%w_]*)%+?=", i)
  local c = s:sub(i, i)
  if c == "~" then
    i = read_tilde(P, i, W)
  elseif (c == "<" or c == ">") and s:sub(i + 1, i + 1) == "(" then
    i = read_process(P, i, W)
  end
  while true do
    _, e = s:find(PLAIN, i)
    if e then
      add(W, s:sub(i, e))
      i = e + 1
    end
    local read = PARTS[s:sub(i, i)]
    if read == nil then
      break
    end
    i = read(P, i, W)
  end
  P.i = i
  return finish(P, W)
end

--------------------------------------------------------------------------------
-- Tokens: words, operators, redirections, newlines

-- Operators by their first character, longest first.
local OPERATORS = {[";"] = {";;&", ";;", ";&", ";"}, ["&"] = {"&>>", "&&", "&>", "&"},
                   ["|"] = {"||", "|&", "|"}, ["<"] = {"<<<", "<<-", "<<", "<&", "<>", "<"},
                   [">"] = {">>", ">|", ">&", ">"}, ["("] = {"("}, [")"] = {")"}}
local REDIRECTIONS = {["<"] = true, [">"] = true, [">>"] = true, [">|"] = true, ["<>"] = true,
                      ["<<"] = true, ["<<-"] = true, ["<<<"] = true, ["<&"] = true,
                      [">&"] = true, ["&>"] = true, ["&>>"] = true}

-- The bodies of the here-documents whose operators the line just ended.
local function read_heredocs(P)
  local pending = P.heredocs
  if #pending == 0 then
    return
  end
  P.heredocs = {}
  local s = P.s
  for _, h in ipairs(pending) do
    while P.i <= P.n do
      local e = s:find("\n", P.i, true) or P.n + 1
      local line = s:sub(P.i, e - 1)
      P.i = math.min(e + 1, P.n + 1)
      if h.strip then
        line = line:gsub("^\t+", "")
      end
      if line == h.delimiter then
        break
      end
      if not h.quoted then
        code_inside(P, line)
      end
    end
  end
end

local EOF = {kind = "eof"}

local function lex(P)
  local s, i, r = P.s, P.i, P.r
  while true do
    local _, e = s:find("^[ \t]*", i)
    i = e + 1
    local c = s:sub(i, i)
    if c == "\\" and s:sub(i + 1, i + 1) == "\n" then
      i = i + 2
    elseif c == "#" then
      i = s:find("\n", i, true) or P.n + 1
    else
      break
    end
  end
  P.i = i
  local c = s:sub(i, i)
  if c == "" or r.stopped then
    return EOF
  end
  r.tokens = r.tokens + 1
  if r.tokens > M.MAX_TOKENS then
    r.stopped = true
    see(r, "a line of more than " .. M.MAX_TOKENS .. " words and operators, not read past "
        .. "that point")
    P.i = P.n + 1
    return EOF
  elseif c == "\n" then
    P.i = i + 1
    read_heredocs(P)
    return {kind = "nl"}
  end
  local fd, at
  if c:find("^[%d{]") then
    fd, at = s:match("^(%d+)()[<>]", i)
    if fd == nil then
      fd, at = s:match("^({[%a_][%w_]*})()[<>]", i)
    end
  end
  local ops = OPERATORS[fd and s:sub(at, at) or c]
  if ops == nil or (fd == nil and (c == "<" or c == ">") and s:sub(i + 1, i + 1) == "(") then
    return {kind = "word", word = read_word(P)}
  end
  at = at or i
  for _, op in ipairs(ops) do
    if s:sub(at, at + #op - 1) == op then
      P.i = at + #op
      if REDIRECTIONS[op] then
        return {kind = "redirect", op = op, fd = fd}
      end
      return {kind = "op", op = op}
    end
  end
end

local function peek(P)
  local t = P.tok
  if t == nil then
    t = lex(P)
    P.tok = t
  end
  return t
end

local function take(P)
  local t = peek(P)
  P.tok = nil
  return t
end

-- A plain (unquoted, unexpanded) word: the only kind that can be a reserved word.
local function plain(t)
  return t.kind == "word" and not t.word.quoted and not t.word.dynamic and not t.word.glob
      and t.word.value or nil
end

local function token_text(t)
  return t.kind == "word" and t.word.value or t.op or t.kind
end

local function unexpected(P, t)
  see(P.r, "a line that does not parse as shell, near", token_text(t))
end

local function skip_newlines(P)
  while peek(P).kind == "nl" do
    take(P)
  end
end

local function expect(P, word)
  local t = peek(P)
  if plain(t) == word then
    take(P)
    return true
  end
  unexpected(P, t)
  return false
end

--------------------------------------------------------------------------------
-- Commands: unwrapping prefixes and wrappers

local function record(P, words, k, ctx)
  local argv, ws = {}, {}
  for j = k, #words do
    argv[#argv + 1] = words[j].value
    ws[#ws + 1] = words[j]
  end
  local via = table.concat(ctx.via, ", ")
  if P.via ~= "" then
    via = via ~= "" and (P.via .. ", " .. via) or P.via
  end
  local c = {name = basename(argv[1]), argv = argv, words = ws, via = via, extra = ctx.extra,
             cwd = P.r.cwd, fed = false}
  local commands = P.r.commands
  commands[#commands + 1] = c
  return c
end

local function write(P, w, how)
  local writes = P.r.writes
  writes[#writes + 1] = {target = w, how = how, cwd = P.r.cwd}
end

local function copy_ctx(ctx)
  local via = {}
  for k, v in ipairs(ctx.via) do
    via[k] = v
  end
  return {via = via, extra = ctx.extra}
end

-- A string a shell will run: parsed as a line of its own.
local function run_string(P, w, ctx, label)
  if w.dynamic then
    see(P.r, label .. " of a command the check cannot read", w.value)
    return
  end
  local c = copy_ctx(ctx)
  c.via[#c.via + 1] = label
  local via = table.concat(c.via, ", ")
  if P.via ~= "" then
    via = P.via .. ", " .. via
  end
  sub_parse(P, w.value, 1, via)
end

-- Reads options the way getopt does, from words[k + 1]. spec.arg: short
-- options that take an argument; spec.optarg: short ones whose argument
-- can only be attached (-e[eof]); spec.long: long names, true when they
-- take an argument; spec.numeric: -10 is an option (nice); spec.plus: +o
-- is an option too (shells). Returns the index of the first operand, the
-- options ({letter or name = true or a word}), and, when an abbreviated
-- long option may be a flag rather than take the next word, the index of
-- that word, where the other reading goes on.
local function getopt(words, k, spec)
  local opts, alt = {}, nil
  local j = k + 1
  while true do
    local w = words[j]
    if w == nil or w.dynamic then
      return j, opts, alt
    end
    local v = w.value
    local lead = v:sub(1, 1)
    if v == "--" then
      return j + 1, opts, alt
    end
    if v == "-" or (lead ~= "-" and not (lead == "+" and spec.plus and #v > 1)) then
      return j, opts, alt
    end
    if spec.numeric and v:find("^%-[+-]?%d+$") then
      opts.numeric = true
    elseif v:sub(1, 2) == "--" then
      local name, value = v:match("^%-%-([^=]+)=(.*)$")
      if name then
        opts[name] = {value = value, dynamic = w.dynamic}
      else
        name = v:sub(3)
        local takes = spec.long and spec.long[name]
        if takes == nil and spec.long then
          local found, n = nil, 0
          for full, arg in pairs(spec.long) do
            if full:sub(1, #name) == name then
              found, takes, n = full, arg, n + 1
            end
          end
          if n == 1 then
            name = found
            if takes then
              alt = alt or j + 1
            end
          else
            takes = false
          end
        end
        if takes then
          opts[name] = words[j + 1] or {value = ""}
          j = j + 1
        else
          opts[name] = true
        end
      end
    else
      for p = 2, #v do
        local ch = v:sub(p, p)
        if spec.arg and spec.arg:find(ch, 1, true) then
          if p < #v then
            opts[ch] = {value = v:sub(p + 1), dynamic = w.dynamic}
          else
            opts[ch] = words[j + 1] or {value = ""}
            j = j + 1
          end
          break
        elseif spec.optarg and spec.optarg:find(ch, 1, true) then
          opts[ch] = {value = v:sub(p + 1)}
          break
        end
        opts[ch] = true
      end
    end
    j = j + 1
  end
end

local function any_option(opts, letters, longs)
  for ch in (letters or ""):gmatch(".") do
    if opts[ch] then
      return true
    end
  end
  for _, name in ipairs(longs or {}) do
    if opts[name] then
      return true
    end
  end
  return false
end

-- Wrappers: commands that run the command in their operands. arg, optarg,
-- long, numeric as for getopt; skip: operands before the command
-- (timeout's duration, chroot's folder); none/none_long: options with
-- which no command runs (sudo -l, ionice -p PID); shell/shell_long: options
-- with which, given no command, a shell starts that reads its input (sudo
-- -s); shell = true: that shell starts whenever no command is given;
-- string/string_long: an option whose value is a line for a shell
-- (flock -c); extra: the wrapper adds arguments (xargs); opaque: options
-- whose effect the check cannot see (env -S).
local WRAPPERS = {
  sudo = {arg = "aCcDgpRrTtUu", optarg = "h", none = "eKlVv", shell = "si",
          none_long = {"edit", "list", "version", "validate", "help", "remove-timestamp"},
          shell_long = {"shell", "login"},
          long = {["auth-type"] = true, ["close-from"] = true, ["login-class"] = true,
                  chdir = true, group = true, host = true, prompt = true, chroot = true,
                  role = true, type = true, ["command-timeout"] = true, ["other-user"] = true,
                  user = true, askpass = false, background = false, bell = false,
                  ["preserve-env"] = false, edit = false, ["set-home"] = false, help = false,
                  login = false, ["remove-timestamp"] = false, ["reset-timestamp"] = false,
                  list = false, ["no-update"] = false, ["non-interactive"] = false,
                  ["preserve-groups"] = false, stdin = false, shell = false, version = false,
                  validate = false}},
  doas = {arg = "aCu", none = "CL", shell = "s"},
  pkexec = {shell = true, long = {user = true, ["disable-internal-agent"] = false,
                                  ["keep-cwd"] = false, help = false, version = false}},
  env = {arg = "uCS", opaque = "S", opaque_long = {"split-string"}, assignments = true,
         long = {unset = true, chdir = true, ["split-string"] = true,
                 ["ignore-environment"] = false, null = false, debug = false,
                 ["list-signal-handling"] = false, help = false, version = false}},
  nice = {arg = "n", numeric = true, long = {adjustment = true, help = false, version = false}},
  nohup = {},
  timeout = {arg = "ks", skip = 1,
             long = {["kill-after"] = true, signal = true, foreground = false,
                     ["preserve-status"] = false, verbose = false, help = false,
                     version = false}},
  stdbuf = {arg = "ioe", long = {input = true, output = true, error = true}},
  ionice = {arg = "cnpPu", none = "pPu", none_long = {"pid", "pgid", "uid"},
            long = {class = true, classdata = true, pid = true, pgid = true, uid = true,
                    ignore = false, help = false, version = false}},
  chroot = {skip = 1, shell = true,
            long = {userspec = true, groups = true, ["skip-chdir"] = false}},
  setsid = {long = {ctty = false, fork = false, wait = false}},
  taskset = {skip = 1, none = "p", long = {["all-tasks"] = false, pid = false,
                                           ["cpu-list"] = false}},
  chrt = {arg = "TPD", skip = 1, none = "pm",
          long = {["sched-runtime"] = true, ["sched-period"] = true,
                  ["sched-deadline"] = true, pid = false, max = false}},
  flock = {arg = "wEc", skip = 1, string = "c", string_long = {"command"},
           long = {timeout = true, wait = true, ["conflict-exit-code"] = true, command = true,
                   shared = false, exclusive = false, unlock = false, nonblock = false,
                   close = false, ["no-fork"] = false, verbose = false}},
  exec = {arg = "a"},
  command = {none = "vV"},
  builtin = {},
  coproc = {},
  time = {arg = "fo", long = {format = true, output = true, append = false,
                              portability = false, quiet = false, verbose = false}},
  busybox = {},
  nsenter = {arg = "tSG", optarg = "muinpCUTrw", shell = true,
             long = {target = true, setuid = true, setgid = true}},
  unshare = {arg = "RwSG", optarg = "muinpUCT", shell = true,
             long = {root = true, wd = true, setuid = true, setgid = true,
                     ["map-user"] = true, ["map-group"] = true, ["map-users"] = true,
                     ["map-groups"] = true, propagation = true, setgroups = true}},
  ["systemd-run"] = {arg = "upEHMC", shell = "S", shell_long = {"shell"},
                     long = {unit = true, property = true, description = true, slice = true,
                             setenv = true, host = true, machine = true, uid = true,
                             gid = true, nice = true, ["working-directory"] = true,
                             ["on-active"] = true, ["on-boot"] = true, ["on-startup"] = true,
                             ["on-unit-active"] = true, ["on-unit-inactive"] = true,
                             ["on-calendar"] = true, ["path-property"] = true,
                             ["socket-property"] = true, ["timer-property"] = true,
                             ["service-type"] = true, capsule = true, shell = false,
                             wait = false, pty = false, pipe = false, quiet = false,
                             scope = false, user = false, system = false}},
  strace = {arg = "abeEIoOpPsSUuX"},
  ltrace = {arg = "aAeEfFIlLnopSsTuwX"},
  xargs = {arg = "adEILnPs", optarg = "eil", extra = true,
           long = {["arg-file"] = true, delimiter = true, ["max-args"] = true,
                   ["max-procs"] = true, ["process-slot-var"] = true, ["max-chars"] = true,
                   ["max-lines"] = false, replace = false, eof = false, null = false,
                   ["open-tty"] = false, interactive = false, ["no-run-if-empty"] = false,
                   verbose = false, exit = false, ["show-limits"] = false}},
  eatmydata = {},
  fakeroot = {},
  catchsegv = {},
}

local SHELLS = {sh = true, bash = true, dash = true, zsh = true, ksh = true, ksh93 = true,
                mksh = true, pdksh = true, ash = true, rbash = true, yash = true, posh = true,
                lksh = true, fish = true, tcsh = true, csh = true}

local SHELL_SPEC = {arg = "oO", plus = true,
                    long = {rcfile = true, ["init-file"] = true, command = true,
                            ["init-command"] = true}}

-- Interpreters and the options that hand them code in the line.
local INLINE_CODE = {python = "c", perl = "eE", ruby = "e", node = "ep", nodejs = "ep",
                     php = "rBRE", lua = "e", luajit = "e", Rscript = "e", expect = "c",
                     tclsh = "", wish = ""}
local INLINE_LONG = {eval = true, print = true, command = true}

local unwrap

local HANDLERS = {}

local function wrapper(P, words, k, ctx, name)
  local spec = WRAPPERS[name]
  local j, opts, alt = getopt(words, k, spec)
  if any_option(opts, spec.none, spec.none_long) then
    record(P, words, k, ctx)
    return nil
  end
  if any_option(opts, spec.opaque, spec.opaque_long) then
    see(P.r, name .. " options the check cannot follow",
        table.concat(record(P, words, k, ctx).argv, " "))
    return nil
  end
  local str = spec.string and (opts[spec.string] or opts[spec.string_long[1]])
  if str == nil and spec.string and words[j + 1] and (words[j + 1].value == "-c"
      or words[j + 1].value == "--command") then
    str = words[j + 2] or {value = ""} -- flock FILE -c 'command'
  end
  if type(str) == "table" then
    run_string(P, str, ctx, name .. " -c")
    return nil
  end
  if spec.assignments then
    -- env reads NAME=value from its arguments, after the shell removed
    -- the quotes: 'F'OO=1 is an assignment to env, not to the shell.
    while words[j] and not words[j].dynamic do
      local assigned = words[j].value:match("^([%a_][%w_]*)=")
      if assigned == nil then
        break
      elseif CODE_VARIABLES[assigned] then
        see(P.r, "an assignment that makes programs run other code", words[j].value)
      end
      j = j + 1
    end
  end
  j = j + (spec.skip or 0)
  if alt then
    P.r.branches = P.r.branches + 1
    if P.r.branches > M.MAX_BRANCHES then
      see(P.r, "too many ambiguous options to check", name)
    else
      local c = copy_ctx(ctx)
      c.via[#c.via + 1] = name
      unwrap(P, words, getopt(words, alt - 1, spec) + (spec.skip or 0), c)
    end
  end
  if spec.extra then
    ctx.extra = true
  end
  if words[j] == nil then
    if ctx.extra and not spec.extra then
      see(P.r, "a command that xargs reads from its input", name)
    elseif spec.shell == true or (spec.shell and any_option(opts, spec.shell, spec.shell_long)) then
      record(P, words, k, ctx).stdin_code = true
    end
    return nil
  end
  ctx.via[#ctx.via + 1] = name
  return j
end

local function shell(P, words, k, ctx, name)
  local j, opts = getopt(words, k, SHELL_SPEC)
  local command = opts.command
  if opts.c or type(command) == "table" then
    local str = type(command) == "table" and command or words[j]
    if str then
      run_string(P, str, ctx, name .. " -c")
    end
    return nil
  end
  local c = record(P, words, k, ctx)
  if words[j] and not opts.s then
    see(P.r, "a shell running a script file", table.concat(c.argv, " "))
  else
    c.stdin_code = true
  end
  return nil
end

local SU_SPEC = {arg = "cgGswu",
                 long = {command = true, ["session-command"] = true, group = true,
                         ["supp-group"] = true, shell = true, ["whitelist-environment"] = true,
                         user = true, login = false, ["preserve-environment"] = false,
                         pty = false, fast = false, help = false, version = false}}

-- su and runuser read options after the user name too.
local function su(P, words, k, ctx, name)
  local opts, operands = {}, {}
  local j = k
  while words[j + 1] do
    local first, o = getopt(words, j, SU_SPEC)
    for key, v in pairs(o) do
      opts[key] = v
    end
    if words[first] == nil then
      break
    end
    if words[first - 1] and words[first - 1].value == "--" then
      for m = first, #words do
        operands[#operands + 1] = words[m]
      end
      break
    end
    if words[first].value ~= "-" then
      operands[#operands + 1] = words[first]
    end
    j = first
  end
  if name == "runuser" and (opts.u or opts.user) then
    local first = getopt(words, k, SU_SPEC)
    ctx.via[#ctx.via + 1] = name
    return words[first] and first or nil
  end
  local command = opts.c or opts.command or opts["session-command"]
  if type(command) == "table" then
    run_string(P, command, ctx, name .. " -c")
    return nil
  end
  local c = record(P, words, k, ctx)
  if #operands > 1 then
    see(P.r, name .. " passing arguments to a shell", table.concat(c.argv, " "))
  else
    c.stdin_code = true
  end
  return nil
end

-- watch runs its operands joined, through sh -c; ssh sends them to the
-- remote shell.
local function joined(P, words, j, ctx, label)
  local parts = {}
  for m = j, #words do
    if words[m].dynamic then
      see(P.r, label .. " of a command the check cannot read", words[m].value)
      return
    end
    parts[#parts + 1] = words[m].value
  end
  run_string(P, {value = table.concat(parts, " ")}, ctx, label)
end

HANDLERS.watch = function(P, words, k, ctx)
  local j, opts = getopt(words, k, {arg = "nq", optarg = "d",
                                    long = {interval = true, equexit = true, shotsdir = true,
                                            exec = false, differences = false}})
  if opts.x or opts.exec then
    ctx.via[#ctx.via + 1] = "watch"
    return words[j] and j or nil
  end
  if words[j] then
    joined(P, words, j, ctx, "watch")
  end
  return nil
end

HANDLERS.ssh = function(P, words, k, ctx)
  local j, opts = getopt(words, k, {arg = "BbcDEeFIiJLlmOopQRSWw"})
  if words[j] == nil then
    return nil
  end
  if words[j + 1] then
    joined(P, words, j + 1, ctx, "ssh")
  elseif not opts.N then
    record(P, words, k, ctx).stdin_code = true
  end
  return nil
end

HANDLERS.script = function(P, words, k, ctx)
  local _, opts = getopt(words, k, {arg = "cTBIOmEo", optarg = "t",
                                    long = {command = true, timing = true, ["log-io"] = true,
                                            ["log-in"] = true, ["log-out"] = true}})
  local command = opts.c or opts.command
  if type(command) == "table" then
    run_string(P, command, ctx, "script -c")
  else
    record(P, words, k, ctx).stdin_code = true
  end
  return nil
end

HANDLERS.eval = function(P, words, k, ctx)
  see(P.r, "eval", table.concat(record(P, words, k, ctx).argv, " "))
  if words[k + 1] then
    joined(P, words, k + 1, ctx, "eval")
  end
  return nil
end

HANDLERS.source = function(P, words, k, ctx)
  see(P.r, "a file run by the shell itself", table.concat(record(P, words, k, ctx).argv, " "))
  return nil
end
HANDLERS["."] = HANDLERS.source

HANDLERS.alias = function(P, words, k, ctx)
  local c = record(P, words, k, ctx)
  for m = k + 1, #words do
    if words[m].value:find("=", 1, true) or words[m].dynamic then
      see(P.r, "an alias defined in the line", table.concat(c.argv, " "))
      break
    end
  end
  return nil
end

HANDLERS.trap = function(P, words, k, ctx)
  record(P, words, k, ctx)
  local j = getopt(words, k, {})
  local action = words[j]
  if action and words[j + 1] and action.value ~= "-" then
    run_string(P, action, ctx, "trap")
  end
  return nil
end

HANDLERS.hash = function(P, words, k, ctx)
  local _, opts = getopt(words, k, {arg = "pd"})
  local c = record(P, words, k, ctx)
  if opts.p then
    see(P.r, "hash -p gives a command name another program", table.concat(c.argv, " "))
  end
  return nil
end

HANDLERS.enable = function(P, words, k, ctx)
  local _, opts = getopt(words, k, {arg = "f"})
  local c = record(P, words, k, ctx)
  if opts.f then
    see(P.r, "enable -f loads a builtin from a library", table.concat(c.argv, " "))
  end
  return nil
end

HANDLERS.fc = function(P, words, k, ctx)
  see(P.r, "fc re-runs commands from the history", table.concat(record(P, words, k, ctx).argv, " "))
  return nil
end

local function at(P, words, k, ctx)
  local _, opts = getopt(words, k, {arg = "fqtM", optarg = ""})
  local c = record(P, words, k, ctx)
  if opts.f then
    see(P.r, c.name .. " running a file", table.concat(c.argv, " "))
  else
    c.stdin_code = true
  end
  return nil
end
HANDLERS.at = at
HANDLERS.batch = at

HANDLERS.crontab = function(P, words, k, ctx)
  local j, opts = getopt(words, k, {arg = "u"})
  local c = record(P, words, k, ctx)
  if not (opts.l or opts.r or opts.e or opts.i or opts.T) then
    if words[j] and words[j].value ~= "-" then
      see(P.r, "crontab installing jobs from a file", table.concat(c.argv, " "))
    else
      c.stdin_code = true
    end
  end
  return nil
end

local function cd(P, words, k, ctx)
  record(P, words, k, ctx)
  local name = basename(words[k].value)
  local j = getopt(words, k, {})
  local w = words[j]
  if name ~= "cd" then
    P.r.cwd = false
  elseif w == nil then
    P.r.cwd = "~"
  elseif w.dynamic or w.glob or w.value == "-" then
    P.r.cwd = false
  else
    P.r.cwd = M.resolve(w.value, P.r.cwd) or false
  end
  return nil
end
HANDLERS.cd = cd
HANDLERS.pushd = cd
HANDLERS.popd = cd

HANDLERS.tee = function(P, words, k, ctx)
  record(P, words, k, ctx)
  local j = getopt(words, k, {long = {append = false, ["ignore-interrupts"] = false,
                                      ["output-error"] = false}})
  for m = j, #words do
    write(P, words[m], "tee")
  end
  return nil
end

local FIND_EXEC = {["-exec"] = true, ["-execdir"] = true, ["-ok"] = true, ["-okdir"] = true}
local FIND_WRITES = {["-fprint"] = true, ["-fprint0"] = true, ["-fprintf"] = true,
                     ["-fls"] = true}

HANDLERS.find = function(P, words, k, ctx)
  record(P, words, k, ctx)
  local j = k + 1
  while words[j] do
    local v = words[j].value
    if FIND_EXEC[v] then
      local run, m = {}, j + 1
      while words[m] and words[m].value ~= ";"
          and not (words[m].value == "+" and words[m - 1].value:find("{}", 1, true)) do
        local w = words[m]
        if w.value:find("{}", 1, true) then
          w = {value = w.value, dynamic = true, glob = false}
        end
        run[#run + 1] = w
        m = m + 1
      end
      if run[1] then
        local c = copy_ctx(ctx)
        c.via[#c.via + 1] = "find " .. v
        unwrap(P, run, 1, c)
      end
      j = m + 1
    elseif FIND_WRITES[v] and words[j + 1] then
      write(P, words[j + 1], "find " .. v)
      j = j + 2
    else
      j = j + 1
    end
  end
  return nil
end

local function awk(P, words, k, ctx)
  local c = record(P, words, k, ctx)
  local j, opts = getopt(words, k, {arg = "Fvfeil", optarg = "",
                                    long = {["field-separator"] = true, assign = true,
                                            file = true, source = true, include = true,
                                            load = true, exec = true}})
  if opts.f or opts.file or opts.exec or opts.E then
    see(P.r, "awk running a program file", table.concat(c.argv, " "))
    return nil
  end
  local program = opts.e or opts.source
  if type(program) ~= "table" then
    program = words[j]
  end
  if program == nil then
    return nil
  end
  local text = program.value
  if program.dynamic then
    see(P.r, "an awk program the check cannot read", text)
  elseif text:find("system%s*%(") or text:find("getline") or text:find('|%s*"')
      or text:find("|&", 1, true) then
    see(P.r, "an awk program that runs commands", text)
  end
  for target in text:gmatch('>>?%s*"([^"]*)"') do
    write(P, {value = target, dynamic = false, glob = false}, "awk >")
  end
  return nil
end
for _, name in ipairs({"awk", "gawk", "mawk", "nawk"}) do
  HANDLERS[name] = awk
end

local function interpreter(P, words, k, ctx, name)
  local c = record(P, words, k, ctx)
  local family = name:match("^(%a+)[%d.]*$")
  local letters = INLINE_CODE[family]
  local j = k + 1
  while words[j] do
    local w = words[j]
    local v = w.value
    if w.dynamic or v == "--" or v == "-" or v:sub(1, 1) ~= "-" then
      break
    end
    if (v:sub(1, 2) == "--" and INLINE_LONG[v:match("^%-%-([^=]*)")])
        or (v:sub(1, 2) ~= "--" and letters ~= "" and v:find("[" .. letters .. "]", 2)) then
      see(P.r, name .. " running code written in the line", table.concat(c.argv, " "))
      return nil
    end
    if family == "python" and v:find("m", 2, true) then
      return nil
    end
    j = j + 1
  end
  if words[j] == nil or words[j].value == "-" then
    c.stdin_code = true
  end
  return nil
end

local function handler_for(name, path)
  if path:find("^/etc/init%.d/") then
    return nil -- a service script, whatever its name
  elseif HANDLERS[name] then
    return HANDLERS[name]
  elseif WRAPPERS[name] then
    return wrapper
  elseif SHELLS[name] then
    return shell
  elseif name == "su" or name == "runuser" then
    return su
  elseif INLINE_CODE[name:match("^(%a+)[%d.]*$") or ""] then
    return interpreter
  end
  return nil
end

-- Follows wrappers from words[k] to the command that runs, recording it.
function unwrap(P, words, k, ctx)
  while true do
    local w = words[k]
    if w == nil then
      if ctx.extra then
        see(P.r, "a command that xargs reads from its input", table.concat(ctx.via, ", "))
      end
      return
    end
    if w.dynamic or w.glob then
      see(P.r, "a command name the check cannot read", w.value)
      record(P, words, k, ctx)
      return
    end
    local name = basename(w.value)
    local handler = handler_for(name, w.value)
    if handler == nil then
      record(P, words, k, ctx)
      return
    end
    if ctx.extra and (SHELLS[name] or name == "su" or name == "eval") then
      see(P.r, "xargs running a shell", name)
    end
    local next_k = handler(P, words, k, ctx, name)
    if next_k == nil then
      return
    end
    k = next_k
  end
end

--------------------------------------------------------------------------------
-- The grammar

local function mark_fed(P, first)
  local commands = P.r.commands
  for k = first, #commands do
    commands[k].fed = true
  end
end

-- One redirection whose operator t was just taken. Whether it gives the
-- command an input.
local function redirect(P, t)
  local target = peek(P)
  if target.kind ~= "word" then
    unexpected(P, target)
    return false
  end
  take(P)
  local w, op, fd = target.word, t.op, t.fd
  local stdin = fd == nil or fd == "0"
  if op == "<<" or op == "<<-" then
    local heredocs = P.heredocs
    heredocs[#heredocs + 1] = {delimiter = w.value, strip = op == "<<-",
                               quoted = w.quoted or w.dynamic}
    return stdin
  elseif op == "<<<" or op == "<" then
    return stdin
  elseif (op == ">&" or op == "<&") and not w.dynamic and w.value:find("^%d*%-?$") then
    return op == "<&" and stdin
  elseif op == "<&" then
    return stdin
  end
  write(P, w, (fd or "") .. op)
  return op == "<>" and stdin
end

local function redirects(P, first)
  while peek(P).kind == "redirect" do
    if redirect(P, take(P)) then
      mark_fed(P, first)
    end
  end
end

local parse_command, parse_pipeline, expect_close

local function nested(P, parse, ...)
  if P.depth >= M.MAX_DEPTH then
    see(P.r, "nested too deep to check", P.s:sub(P.i, P.i + 40))
    P.i, P.tok = P.n + 1, nil
    return
  end
  P.depth = P.depth + 1
  parse(P, ...)
  P.depth = P.depth - 1
end

local function simple_command(P)
  local words, fed = {}, false
  local first = #P.r.commands + 1
  while true do
    local t = peek(P)
    if t.kind == "word" then
      take(P)
      local w = t.word
      words[#words + 1] = w
      if w.assign and w.value:sub(-1) == "=" and P.s:sub(P.i, P.i) == "(" then
        P.i = P.i + 1 -- an array: a=(one two)
        while true do
          local item = take(P)
          if item.kind == "eof" then
            see(P.r, "an unclosed array", w.value)
            break
          elseif item.kind == "op" and item.op == ")" then
            break
          end
        end
      elseif #words == 1 and not w.quoted and peek(P).kind == "op" and P.tok.op == "(" then
        take(P)
        expect_close(P)
        see(P.r, "a function defined in the line", w.value)
        skip_newlines(P)
        nested(P, parse_command)
        return
      end
    elseif t.kind == "redirect" then
      take(P)
      fed = redirect(P, t) or fed
    else
      break
    end
  end
  local k = 1
  while words[k] and words[k].assign do
    if CODE_VARIABLES[words[k].assign] then
      see(P.r, "an assignment that makes programs run other code", words[k].value)
    end
    k = k + 1
  end
  if words[k] then
    unwrap(P, words, k, {via = {}, extra = false})
  end
  if fed then
    mark_fed(P, first)
  end
end

function expect_close(P)
  local t = peek(P)
  if t.kind == "op" and t.op == ")" then
    take(P)
  else
    unexpected(P, t)
  end
end

local function arithmetic_command(P)
  -- P.i is just past "((".
  local e = closing(P.s, P.i, "(", ")")
  if e == nil or P.s:sub(e + 1, e + 1) ~= ")" then
    see(P.r, "an unclosed ((", P.s:sub(P.i - 2))
    P.i = P.n + 1
    return
  end
  P.r.arith = true
  code_inside(P, P.s:sub(P.i, e - 1))
  P.i = e + 2
end

local function if_clause(P)
  take(P)
  parse_list(P, {["then"] = true})
  expect(P, "then")
  while true do
    local t = parse_list(P, {["elif"] = true, ["else"] = true, ["fi"] = true})
    local word = plain(t)
    if word == "elif" then
      take(P)
      parse_list(P, {["then"] = true})
      expect(P, "then")
    elseif word == "else" then
      take(P)
    else
      expect(P, "fi")
      return
    end
  end
end

local function do_group(P)
  skip_newlines(P)
  if plain(peek(P)) == "{" then
    take(P)
    parse_list(P, {["}"] = true})
    expect(P, "}")
    return
  end
  expect(P, "do")
  parse_list(P, {["done"] = true})
  expect(P, "done")
end

local function while_clause(P)
  take(P)
  parse_list(P, {["do"] = true})
  do_group(P)
end

local function for_clause(P)
  take(P)
  local t = peek(P)
  if t.kind == "op" and t.op == "(" and P.s:sub(P.i, P.i) == "(" then
    take(P)
    P.i = P.i + 1
    arithmetic_command(P)
  else
    take(P) -- the name
    skip_newlines(P)
    if plain(peek(P)) == "in" then
      take(P)
      while peek(P).kind == "word" do
        take(P)
      end
    end
  end
  t = peek(P)
  if t.kind == "op" and t.op == ";" then
    take(P)
  end
  do_group(P)
end

local CASE_ENDS = {[";;"] = true, [";&"] = true, [";;&"] = true, ["esac"] = true}

local function case_clause(P)
  take(P)
  take(P) -- the word
  skip_newlines(P)
  if not expect(P, "in") then
    return
  end
  while true do
    skip_newlines(P)
    local t = peek(P)
    if plain(t) == "esac" or t.kind == "eof" then
      expect(P, "esac")
      return
    end
    if t.kind == "op" and t.op == "(" then
      take(P)
    end
    while true do -- the patterns: a | b )
      t = take(P)
      if t.kind == "op" and t.op == ")" then
        break
      elseif t.kind == "eof" then
        unexpected(P, t)
        return
      end
    end
    t = parse_list(P, CASE_ENDS)
    if t.kind == "op" then
      take(P)
    end
  end
end

local function test_clause(P)
  take(P)
  while true do
    local t = take(P)
    if plain(t) == "]]" then
      return
    elseif t.kind == "eof" or t.kind == "nl" then
      unexpected(P, t)
      return
    elseif t.kind == "word" and t.word.value:find("^%-[eglnt][qte]$") then
      P.r.arith = true
    end
  end
end

local function function_clause(P)
  take(P)
  local name = take(P)
  see(P.r, "a function defined in the line", token_text(name))
  local t = peek(P)
  if t.kind == "op" and t.op == "(" then
    take(P)
    expect_close(P)
  end
  skip_newlines(P)
  nested(P, parse_command)
end

local COMPOUND = {["if"] = if_clause, ["while"] = while_clause, ["until"] = while_clause,
                  ["for"] = for_clause, ["select"] = for_clause, ["case"] = case_clause,
                  ["[["] = test_clause, ["function"] = function_clause}

-- Reserved words that end a list; they start no command.
local CLOSERS = {["then"] = true, ["else"] = true, ["elif"] = true, ["fi"] = true,
                 ["do"] = true, ["done"] = true, ["esac"] = true, ["}"] = true, ["in"] = true,
                 ["]]"] = true}

function parse_command(P)
  local first = #P.r.commands + 1
  local t = peek(P)
  local word = plain(t)
  if t.kind == "op" and t.op == "(" then
    take(P)
    -- "((" is arithmetic when it closes with "))", as bash reads it;
    -- otherwise it is a subshell in a subshell.
    local e = P.s:sub(P.i, P.i) == "(" and closing(P.s, P.i + 1, "(", ")")
    if e and P.s:sub(e + 1, e + 1) == ")" then
      P.i = P.i + 1
      arithmetic_command(P)
    else
      nested(P, function()
        parse_list(P, {[")"] = true})
        expect_close(P)
      end)
    end
  elseif word == "{" then
    take(P)
    nested(P, function()
      parse_list(P, {["}"] = true})
      expect(P, "}")
    end)
  elseif word and COMPOUND[word] then
    nested(P, COMPOUND[word])
  elseif word and CLOSERS[word] or t.kind == "op" or t.kind == "eof" then
    unexpected(P, take(P))
    return
  else
    simple_command(P)
    return
  end
  redirects(P, first)
end

function parse_pipeline(P)
  while true do
    local word = plain(peek(P))
    if word == "!" then
      take(P)
    elseif word == "time" then
      take(P)
      if plain(peek(P)) == "-p" then
        take(P)
      end
    else
      break
    end
  end
  parse_command(P)
  while true do
    local t = peek(P)
    if t.kind ~= "op" or (t.op ~= "|" and t.op ~= "|&") then
      return
    end
    take(P)
    skip_newlines(P)
    local first = #P.r.commands + 1
    parse_command(P)
    mark_fed(P, first)
  end
end

local function and_or(P)
  parse_pipeline(P)
  while true do
    local t = peek(P)
    if t.kind ~= "op" or (t.op ~= "&&" and t.op ~= "||") then
      return
    end
    take(P)
    skip_newlines(P)
    parse_pipeline(P)
  end
end

local function stops_at(t, stops)
  if t.kind == "op" then
    return stops[t.op] == true
  end
  local word = plain(t)
  return word ~= nil and stops[word] == true
end

-- Commands up to the end of the text or a token in stops, which it
-- returns without taking it.
function parse_list(P, stops)
  while true do
    local t = peek(P)
    if t.kind == "eof" or stops_at(t, stops) then
      return t
    elseif t.kind == "nl" or (t.kind == "op" and (t.op == ";" or t.op == "&")) then
      take(P)
    else
      and_or(P)
      t = peek(P)
      if not (t.kind == "eof" or t.kind == "nl" or stops_at(t, stops)
          or (t.kind == "op" and (t.op == ";" or t.op == "&"))) then
        unexpected(P, t)
        take(P)
      end
    end
  end
end

local function new_parser(text, r, depth, shells, via)
  return {s = text, i = 1, n = #text, r = r, depth = depth, shells = shells, via = via,
          heredocs = {}, tok = nil}
end

-- text as a line of its own (bash -c '...', `...`), one level deeper.
function sub_parse(P, text, shell_level, via)
  if P.r.stopped then
    return
  end
  if P.depth >= M.MAX_DEPTH or P.shells + shell_level > M.MAX_SHELLS then
    see(P.r, "shells nested too deep to check", text)
    return
  end
  local Q = new_parser(text, P.r, P.depth + 1, P.shells + shell_level, via)
  parse_list(Q, {})
end

function M.parse(line)
  local r = {commands = {}, writes = {}, unseen = {}, cwd = nil, branches = 0, tokens = 0}
  if #line > M.MAX_INPUT_BYTES then
    see(r, "a line longer than " .. M.MAX_INPUT_BYTES .. " bytes, not read")
    return r
  end
  parse_list(new_parser(line, r, 0, 0, ""), {})
  for _, c in ipairs(r.commands) do
    if c.stdin_code and c.fed then
      see(r, "a shell or interpreter reading commands from its input",
          table.concat(c.argv, " "))
    end
  end
  if r.arith and r.code_text then
    see(r, "arithmetic that can run the command in a variable", r.code_text)
  end
  r.cwd, r.branches, r.tokens, r.stopped, r.arith, r.code_text = nil, nil, nil, nil, nil, nil
  return r
end

return M
