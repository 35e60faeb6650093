-- The words and tokens of a shell line, for the parser (shell.lua): quotes,
-- $'...' and backslashes removed, expansions and globs marked, operators,
-- redirections and newlines told apart, here-document bodies skipped. A
-- $(...), `...` or <(...) is a line of its own, read by the parser
-- (P.parse_list, P.sub_parse) from inside a word.

local text = require("shell_text")

local see, class_end, class_pattern = text.see, text.class_end, text.class_pattern

local L = {}

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
    if P.depth >= P.limits.MAX_DEPTH then
      see(P.r, "nested too deep to check", s:sub(i))
      add_dynamic(W, s:sub(i))
      return P.n + 1
    end
    P.i, P.depth = i + 2, P.depth + 1
    local t = P.parse_list(P, {[")"] = true})
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
    if text:find("[[:]") then -- ${a[i]} and ${a:i:n} evaluate i and n as arithmetic
      P.r.arith = true
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
  P.sub_parse(P, table.concat(pieces), 0, P.via)
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
  if P.depth >= P.limits.MAX_DEPTH then
    see(P.r, "nested too deep to check", P.s:sub(i))
    add_dynamic(W, P.s:sub(i))
    return P.n + 1
  end
  local first = #P.r.commands + 1
  P.i, P.depth = i + 2, P.depth + 1
  local t = P.parse_list(P, {[")"] = true})
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
  if r.tokens > P.limits.MAX_TOKENS then
    r.stopped = true
    see(r, "a line of more than " .. P.limits.MAX_TOKENS .. " words and operators, not read past "
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

L.peek, L.take, L.plain, L.expect = peek, take, plain, expect
L.unexpected, L.token_text, L.skip_newlines = unexpected, token_text, skip_newlines
L.closing, L.code_inside = closing, code_inside

return L
