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
-- MAX_DEPTH, shells in shells past MAX_SHELLS and words past MAX_TOKENS
-- stop there. Each of those is reported in unseen. Every character is read
-- once, and the text of a bash -c '...' or `...` once more for each level
-- it is nested in.
--
-- This file is the grammar and the result; shell_lex.lua reads words and
-- tokens, shell_unwrap.lua follows wrappers, shell_options.lua reads the
-- commands and files programs take in options of their own (ssh -o
-- ProxyCommand, tar --to-command), shell_text.lua holds the text, glob and
-- path helpers (also given here: shell.glob_match, shell.resolve,
-- shell.glob_pattern, shell.printable).

local text = require("shell_text")
local lex = require("shell_lex")
local wrappers = require("shell_unwrap")

local see = text.see
local peek, take, plain, expect = lex.peek, lex.take, lex.plain, lex.expect
local unexpected, token_text, skip_newlines = lex.unexpected, lex.token_text, lex.skip_newlines
local closing, code_inside = lex.closing, lex.code_inside
local unwrap, write, assignment = wrappers.unwrap, wrappers.write, wrappers.assignment

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

local parse_list, sub_parse

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
    assignment(P, words[k].assign, words[k])
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
      if plain(peek(P)) == "--" then -- bash 5.2: time -- cmd runs cmd
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

local function new_parser(line, r, depth, shells, via)
  return {s = line, i = 1, n = #line, r = r, depth = depth, shells = shells, via = via,
          heredocs = {}, tok = nil, parse_list = parse_list, sub_parse = sub_parse, limits = M}
end

-- line as a line of its own (bash -c '...', `...`), one level deeper.
function sub_parse(P, line, shell_level, via)
  if P.r.stopped then
    return
  end
  if P.depth >= M.MAX_DEPTH or P.shells + shell_level > M.MAX_SHELLS then
    see(P.r, "shells nested too deep to check", line)
    return
  end
  local Q = new_parser(line, P.r, P.depth + 1, P.shells + shell_level, via)
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

M.printable, M.glob_pattern, M.glob_match, M.resolve = text.printable, text.glob_pattern,
    text.glob_match, text.resolve

return M