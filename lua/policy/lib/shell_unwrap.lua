-- Prefixes and wrappers, for the parser (shell.lua): from a simple
-- command's words to the command that runs (sudo, su -c, env, nice,
-- timeout, xargs, bash -c '...', find -exec, watch, ssh, ...), recorded with
-- what it came through, and what each wrapper hides from sight (a shell
-- reading its input, inline code, eval). A line a wrapper hands to a shell
-- is parsed as a line of its own (P.sub_parse).

local text = require("shell_text")

local see, basename = text.see, text.basename

local U = {}

-- Variables that make bash (or every program) run code of their choosing.
local CODE_VARIABLES = {BASH_ENV = true, ENV = true, PROMPT_COMMAND = true, PS0 = true,
                        PS1 = true, PS2 = true, PS3 = true, PS4 = true, SHELLOPTS = true,
                        BASHOPTS = true, LD_PRELOAD = true, LD_AUDIT = true,
                        LD_LIBRARY_PATH = true, GIT_CONFIG_PARAMETERS = true,
                        GIT_CONFIG_COUNT = true, GIT_CONFIG_GLOBAL = true,
                        GIT_CONFIG_SYSTEM = true, GIT_EXEC_PATH = true, GIT_TEMPLATE_DIR = true}
-- Variables whose value is a command that programs run (git, ssh, rsync,
-- man, sudo, the pagers and editors): the value is read as a line.
local COMMAND_VARIABLES = {GIT_SSH_COMMAND = true, GIT_SSH = true, GIT_PAGER = true,
                           GIT_EDITOR = true, GIT_SEQUENCE_EDITOR = true,
                           GIT_EXTERNAL_DIFF = true, GIT_PROXY_COMMAND = true,
                           GIT_ASKPASS = true, SSH_ASKPASS = true, SUDO_ASKPASS = true,
                           RSYNC_RSH = true, PAGER = true, MANPAGER = true, SYSTEMD_PAGER = true,
                           EDITOR = true, VISUAL = true, SUDO_EDITOR = true, LESSOPEN = true,
                           LESSCLOSE = true}

local run_string

-- Notes an assignment (the word NAME=value) to one of CODE_VARIABLES, and
-- reads the value of one of COMMAND_VARIABLES as a line.
local function assignment(P, name, word)
  if CODE_VARIABLES[name] then
    see(P.r, "an assignment that makes programs run other code", word.value)
  elseif COMMAND_VARIABLES[name] then
    local value = word.value:match("^[^=]*=(.*)$") or ""
    if value:find("^|") then -- LESSOPEN's pipe form
      value = value:sub(2)
    end
    run_string(P, {value = value, dynamic = word.dynamic}, {via = {}, extra = false}, name)
  end
end

-- Records words[k..] as a command that runs, with what it came through
-- (ctx.via, and P.via for a line a wrapper handed to a shell).
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
function run_string(P, w, ctx, label)
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
  P.sub_parse(P, w.value, 1, via)
end

-- Reads options the way getopt does, from words[k + 1]. spec.arg: short
-- options that take an argument; spec.optarg: short ones whose argument
-- can only be attached (-e[eof]); spec.long: long names, true when they
-- take an argument; spec.numeric: -10 is an option (nice); spec.plus: +o
-- is an option too (shells). Returns the index of the first operand, the
-- options ({letter or name = true or a word}), and, when an abbreviated
-- long option may be a flag rather than take the next word, the index of
-- that word, where the other reading goes on. each, when given, is called
-- with every option and its value word, for options given more than once
-- (ssh -o A -o B).
local function getopt(words, k, spec, each)
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
        if each then
          each(name, opts[name])
        end
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
          if each then
            each(name, opts[name])
          end
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
          if each then
            each(ch, opts[ch])
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

-- getopt over every word, as GNU getopt permutes them: options after
-- operands count too, up to "--". Returns the options and the operands.
local function getopt_all(words, k, spec, each)
  local opts, operands = {}, {}
  local j = k
  while true do
    local first, o = getopt(words, j, spec, each)
    for key, v in pairs(o) do
      opts[key] = v
    end
    if words[first] == nil then
      break
    end
    if first > j + 1 and words[first - 1].value == "--" then
      for m = first, #words do
        operands[#operands + 1] = words[m]
      end
      break
    end
    operands[#operands + 1] = words[first]
    j = first
  end
  return opts, operands
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
  sudo = {arg = "aCcDgpRrTtUu", optarg = "h", none = "eKlVv", shell = "si", assignments = true,
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
  toybox = {},
  ["systemd-inhibit"] = {none_long = {"list"},
                         long = {what = true, who = true, why = true, mode = true, list = false,
                                 ["no-pager"] = false, ["no-legend"] = false}},
  proxychains = {arg = "f"},
  proxychains4 = {arg = "f"},
  firejail = {shell = true},
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
  chronic = {},
  valgrind = {},
  ["dbus-run-session"] = {},
  unbuffer = {},
  faketime = {arg = "f", skip = 1},
  cgexec = {arg = "g"},
  numactl = {arg = "CimNpSfL",
             long = {physcpubind = true, interleave = true, membind = true,
                     cpunodebind = true, preferred = true, shm = true, file = true,
                     length = true}},
  prlimit = {arg = "p", none = "p", none_long = {"pid"}, long = {pid = true}},
  setpriv = {long = {reuid = true, regid = true, groups = true, ["inh-caps"] = true,
                     ["ambient-caps"] = true, ["bounding-set"] = true, securebits = true,
                     pdeathsig = true, ["selinux-label"] = true, ["apparmor-profile"] = true,
                     ["clear-groups"] = false, ["keep-groups"] = false, ["init-groups"] = false,
                     ["no-new-privs"] = false, ["reset-env"] = false, dump = false}},
}

-- The dynamic loader runs the program named after its options, under any
-- of its file names.
local LOADER = {none_long = {"list", "verify", "help", "version", "list-tunables",
                             "list-diagnostics"},
                long = {["library-path"] = true, ["inhibit-rpath"] = true, audit = true,
                        preload = true, argv0 = true, ["glibc-hwcaps-prepend"] = true,
                        ["glibc-hwcaps-mask"] = true, ["inhibit-cache"] = false, list = false,
                        verify = false, help = false, version = false,
                        ["list-tunables"] = false, ["list-diagnostics"] = false}}
for _, name in ipairs({"ld.so", "ld-linux.so.2", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
                       "ld-linux-armhf.so.3", "ld64.so.1", "ld64.so.2",
                       "ld-linux-riscv64-lp64d.so.1"}) do
  WRAPPERS[name] = LOADER
end

-- Programs that run commands in forms the check does not follow (a tmux
-- session's shell, gdb's inferior, what parallel reads, bwrap's two-word
-- options), with the first arguments with which they only read.
local OPAQUE = {tmux = {ls = true, ["list-sessions"] = true, ["list-windows"] = true,
                        ["list-panes"] = true, ["has-session"] = true, has = true,
                        ["capture-pane"] = true, capturep = true, ["-V"] = true},
                screen = {["-ls"] = true, ["-list"] = true, ["-v"] = true},
                parallel = {["--version"] = true}, ["start-stop-daemon"] = {}, daemonize = {},
                dtach = {}, abduco = {}, gdb = {}, bwrap = {}, ["systemd-nspawn"] = {},
                machinectl = {list = true, status = true, show = true, ["list-images"] = true}}

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
      end
      assignment(P, assigned, words[j])
      j = j + 1
    end
  end
  j = j + (spec.skip or 0)
  if alt then
    P.r.branches = P.r.branches + 1
    if P.r.branches > P.limits.MAX_BRANCHES then
      see(P.r, "too many ambiguous options to check", name)
    else
      local c = copy_ctx(ctx)
      c.via[#c.via + 1] = name
      unwrap(P, words, getopt(words, alt - 1, spec) + (spec.skip or 0), c)
    end
  end
  if spec.extra then
    ctx.extra = true
    -- xargs -I R puts what it reads where R is, in the command name too.
    local replace = opts.I or opts.i or opts.replace
    local r = type(replace) == "table" and replace.value ~= "" and replace.value or "{}"
    if replace and words[j] and (words[j].dynamic or words[j].value:find(r, 1, true)) then
      see(P.r, "a command that xargs reads from its input", words[j].value)
    end
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

-- Programs that run commands or write files through options of their own.
require("shell_options").add(HANDLERS, {getopt = getopt, getopt_all = getopt_all, record = record,
                                        write = write, run_string = run_string,
                                        joined = joined})

-- sg GROUP [-c] COMMAND runs COMMAND through /bin/sh -c.
HANDLERS.sg = function(P, words, k, ctx)
  local j = k + 2
  if words[j] and words[j].value == "-c" then
    j = j + 1
  end
  if words[j] then
    joined(P, words, j, ctx, "sg")
  else -- a shell, as newgrp starts
    record(P, words, k, ctx).stdin_code = true
  end
  return nil
end

HANDLERS.newgrp = function(P, words, k, ctx)
  record(P, words, k, ctx).stdin_code = true
  return nil
end

-- capsh hands what follows "--" to bash: capsh -- -c 'command'.
HANDLERS.capsh = function(P, words, k, ctx)
  for j = k + 1, #words do
    if words[j].value == "--" then
      return shell(P, words, j, ctx, "capsh --")
    end
  end
  record(P, words, k, ctx)
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

-- let, and declare -i and its kin, evaluate their arguments as arithmetic,
-- which runs a $(...) held in a variable the arithmetic names. declare and
-- its kin also assign, as NAME=value before a command does.
HANDLERS.let = function(P, words, k, ctx)
  P.r.arith = true
  record(P, words, k, ctx)
  return nil
end

local function declare(P, words, k, ctx)
  for m = k + 1, #words do
    if words[m].dynamic or words[m].value:find("^[-+]%a*i") then
      P.r.arith = true
    end
    local assigned = not words[m].dynamic and words[m].value:match("^([%a_][%w_]*)%+?=")
    if assigned then
      assignment(P, assigned, words[m])
    end
  end
  record(P, words, k, ctx)
  return nil
end
for _, name in ipairs({"declare", "typeset", "local", "export", "readonly"}) do
  HANDLERS[name] = declare
end

local function opaque(P, words, k, ctx, name)
  local c = record(P, words, k, ctx)
  if not OPAQUE[name][c.argv[2] or ""] then
    see(P.r, name .. " runs commands the check cannot follow", table.concat(c.argv, " "))
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

-- at and batch run a job later, read from -f FILE (anywhere in the line,
-- as getopt permutes: at now -f x) or from their input; -l, -c, -r and
-- -d only list, show or remove jobs.
local function at(P, words, k, ctx)
  local opts = getopt_all(words, k, {arg = "fqtu"})
  local c = record(P, words, k, ctx)
  if opts.f then
    see(P.r, c.name .. " running a file", table.concat(c.argv, " "))
  elseif not any_option(opts, "lcrdVh") then
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
    P.r.cwd = text.resolve(w.value, P.r.cwd) or false
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
-- GNU sed's e command (at a command's start, after its address) and its
-- s///e flag run a command; w and s///w write a file. Read as loosely as
-- awk's programs are: a false alarm costs a click.
local SED_RUNS = {"^[%d$,~+!%s]*e[%s;}]", "^[%d$,~+!%s]*e$", "[;\n{}][%d$,~+!%s]*e[%s;}]",
                  "[;\n{}][%d$,~+!%s]*e$", "%p[gpiImM%d]*e[gpiImM%d]*%s*[;}\n]",
                  "%p[gpiImM%d]*e[gpiImM%d]*%s*$", "%pe%s"}
local SED_WRITES = {"^[%d$,~+!%s]*w%s*([^\n]+)", "[;\n{}][%d$,~+!%s]*w%s*([^\n]+)",
                    "%p[gpiImM%d]*w%s*([^\n]+)"}

local function sed_script(P, w)
  if w.dynamic then
    see(P.r, "a sed script the check cannot read", w.value)
    return
  end
  for _, pattern in ipairs(SED_RUNS) do
    if w.value:find(pattern) then
      see(P.r, "a sed script that runs commands", w.value)
      break
    end
  end
  for _, pattern in ipairs(SED_WRITES) do
    local target = w.value:match(pattern)
    if target then
      write(P, {value = target, dynamic = false, glob = false}, "sed w")
      break
    end
  end
end

-- sed's options, read as GNU sed reads them (anywhere among the operands,
-- -i's suffix attached): the scripts of -e, or else the first operand.
HANDLERS.sed = function(P, words, k, ctx)
  local c = record(P, words, k, ctx)
  local scripts, operands, sandbox, done = {}, {}, false, false
  local m = k + 1
  while words[m] do
    local w, v = words[m], words[m].value
    if done or w.dynamic or v == "-" or v:sub(1, 1) ~= "-" then
      operands[#operands + 1] = w
    elseif v == "--" then
      done = true
    elseif v:sub(1, 2) == "--" then
      local name, eq, value = v:match("^%-%-([^=]*)(=?)(.*)$")
      local takes = name ~= "" and (("expression"):sub(1, #name) == name
                                    or ("file"):sub(1, #name) == name)
      sandbox = sandbox or (name ~= "" and ("sandbox"):sub(1, #name) == name)
      local arg = eq == "=" and {value = value, dynamic = w.dynamic} or words[m + 1]
      if takes and eq == "" then
        m = m + 1
      end
      if takes and arg and ("expression"):sub(1, #name) == name then
        scripts[#scripts + 1] = arg
      elseif takes then
        see(P.r, "sed running a script file", table.concat(c.argv, " "))
      end
    else
      for p = 2, #v do
        local ch = v:sub(p, p)
        if ch == "e" or ch == "f" or ch == "l" then
          local arg = p < #v and {value = v:sub(p + 1), dynamic = w.dynamic} or words[m + 1]
          m = m + (p < #v and 0 or 1)
          if ch == "e" and arg then
            scripts[#scripts + 1] = arg
          elseif ch == "f" then
            see(P.r, "sed running a script file", table.concat(c.argv, " "))
          end
          break
        elseif ch == "i" then
          break
        end
      end
    end
    m = m + 1
  end
  if #scripts == 0 then
    scripts[1] = operands[1]
  end
  for _, w in ipairs(sandbox and {} or scripts) do
    sed_script(P, w)
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
  elseif OPAQUE[name] then
    return opaque
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

U.unwrap, U.write, U.assignment = unwrap, write, assignment

return U
