-- Programs that run commands, or write files, through options of their
-- own, for the parser (shell_unwrap.lua adds these handlers to its own):
-- ssh -o ProxyCommand, git -c core.pager, tar --to-command, zip -TT,
-- rsync -e, vim -c, socat EXEC:, nc -e, mapfile -C, man -P; openssl -out and
-- sort -o write. A command an option holds is parsed as a line of its own,
-- so that what it runs is judged as if the line said it.

local text = require("shell_text")

local see = text.see

local O = {}

-- The unwrapper's helpers, given by O.add.
local getopt, getopt_all, record, write, run_string, joined

local HANDLERS = {}

-- run_string for a command whose input is a connection (nc -e, socat
-- EXEC:): a shell or interpreter there reads what the other end sends.
local function run_fed(P, w, ctx, label)
  local first = #P.r.commands + 1
  run_string(P, w, ctx, label)
  for m = first, #P.r.commands do
    P.r.commands[m].fed = true
  end
end

-- ssh's -o options whose value is a command: run here (ProxyCommand,
-- LocalCommand, KnownHostsCommand) or by the remote shell (RemoteCommand;
-- the remote may be the devvm itself); and those that load a library.
local SSH_COMMANDS = {proxycommand = true, localcommand = true, knownhostscommand = true,
                      remotecommand = true}
local SSH_LIBRARIES = {pkcs11provider = true, securitykeyprovider = true}
-- The options of ssh, scp and sftp that take a value.
local SSH_SPECS = {ssh = {arg = "BbcDEeFIiJLlmOopQRSWw"}, scp = {arg = "cDFiJlOoPSX"},
                   sftp = {arg = "BbcDFiJloPRSsX"}}

-- One option of ssh, scp or sftp (name), letter ch, value w.
local function ssh_option(P, ctx, name, ch, w)
  if ch == "o" then
    local key, value = w.value:match("^%s*(%w+)%s*=?%s*(.*)$")
    local lower = key and key:lower()
    if w.dynamic or (key and SSH_LIBRARIES[lower]) then
      see(P.r, name .. " -o the check cannot follow", w.value)
    elseif key and SSH_COMMANDS[lower] then
      run_string(P, {value = value}, ctx, name .. " -o " .. key)
    end
  elseif ch == "F" and (w.dynamic or w.value ~= "/dev/null") then
    see(P.r, name .. " reading a config file (its ProxyCommand and the like run)", w.value)
  elseif ch == "I" and name == "ssh" then
    see(P.r, "ssh -I loads a library", w.value)
  elseif (ch == "S" and name ~= "ssh") or ch == "D" and name ~= "ssh" then
    run_string(P, w, ctx, name .. " -" .. ch) -- the program run as ssh, or as the sftp server
  elseif ch == "b" and name == "sftp" then
    see(P.r, "sftp running a batch file (its ! lines run commands)", w.value)
  end
end

-- ssh reads options after the host too; what follows them is sent to the
-- remote shell.
HANDLERS.ssh = function(P, words, k, ctx)
  local function each(ch, w)
    ssh_option(P, ctx, "ssh", ch, w)
  end
  local j, opts = getopt(words, k, SSH_SPECS.ssh, each)
  if words[j] == nil then
    return nil
  end
  local m, more = getopt(words, j, SSH_SPECS.ssh, each)
  if words[m] then
    joined(P, words, m, ctx, "ssh")
  elseif not (opts.N or more.N) then
    record(P, words, k, ctx).stdin_code = true
  end
  return nil
end

local function scp(P, words, k, ctx, name)
  record(P, words, k, ctx)
  getopt_all(words, k, SSH_SPECS[name], function(ch, w)
    ssh_option(P, ctx, name, ch, w)
  end)
  return nil
end
HANDLERS.scp, HANDLERS.sftp = scp, scp

-- git's configuration keys (lower case, as Lua patterns) whose value is a
-- command git runs, and those whose effect the check cannot follow (hooks
-- from another folder, an included file, a transport that runs commands).
local GIT_COMMAND_KEYS = {"^core%.pager$", "^core%.sshcommand$", "^core%.editor$",
                          "^core%.askpass$", "^core%.gitproxy$", "^core%.fsmonitor$",
                          "^sequence%.editor$", "^diff%.external$", "^gpg%..*program$",
                          "^credential%..*helper$", "^web%.browser$", "^pager%.",
                          "^sendemail%..*smtpserver$", "^uploadpack%.packobjectshook$",
                          "^remote%..*%.uploadpack$", "^remote%..*%.receivepack$",
                          "^diff%..*%.command$", "^diff%..*%.textconv$", "^merge%..*%.driver$",
                          "^filter%..*%.clean$", "^filter%..*%.smudge$",
                          "^filter%..*%.process$", "^browser%..*%.cmd$", "^man%..*%.cmd$",
                          "^difftool%..*%.cmd$", "^mergetool%..*%.cmd$"}
local GIT_OPAQUE_KEYS = {"^core%.hookspath$", "^include", "^protocol%.", "^core%.worktree$"}

-- One git configuration entry, key and value, given in the line (git -c,
-- git config): a command it names is read as a line; an alias starting
-- with ! is one.
local function git_config(P, ctx, key, value)
  key = key:lower()
  if value.dynamic or key:find("[^%w%.%-_]") then
    see(P.r, "git configuration the check cannot read", key)
    return
  end
  local command = key:find("^alias%.") and value.value:match("^!(.*)$")
  for _, pattern in ipairs(command and {} or GIT_COMMAND_KEYS) do
    if key:find(pattern) then
      command = value.value
      break
    end
  end
  if command then
    run_string(P, {value = command}, ctx, "git " .. key)
    return
  end
  for _, pattern in ipairs(GIT_OPAQUE_KEYS) do
    if key:find(pattern) then
      see(P.r, "git configuration the check cannot follow", key .. "=" .. value.value)
      return
    end
  end
end

local GIT_SPEC = {arg = "cC", long = {["git-dir"] = true, ["work-tree"] = true,
                                     namespace = true, ["super-prefix"] = true,
                                     ["config-env"] = true, ["exec-path"] = false,
                                     ["list-cmds"] = true, ["attr-source"] = true}}

-- git -c KEY=VALUE, git config [--scope] KEY VALUE: a command in the
-- configuration runs now or at a later git command.
HANDLERS.git = function(P, words, k, ctx)
  local c = record(P, words, k, ctx)
  local j, opts = getopt(words, k, GIT_SPEC, function(ch, w)
    if ch == "c" then
      local key, value = w.value:match("^([^=]*)=?(.*)$")
      git_config(P, ctx, key, {value = value, dynamic = w.dynamic})
    elseif ch == "config-env" then
      see(P.r, "git configuration from a variable", w.value)
    end
  end)
  if opts["exec-path"] and opts["exec-path"] ~= true then
    see(P.r, "git running its commands from another folder", table.concat(c.argv, " "))
  end
  if words[j] and words[j].value == "config" then
    local _, ops = getopt_all(words, j, {arg = "f", long = {file = true, blob = true,
                                                             type = true, default = true,
                                                             comment = true, value = true}})
    -- git config KEY VALUE, and git config set KEY VALUE of git 2.46.
    local first = ops[1] and ops[1].value == "set" and 2 or 1
    if ops[first] and ops[first + 1] then
      git_config(P, ctx, ops[first].value, ops[first + 1])
    end
  end
  return nil
end

-- The long option full in opts, by its name or an abbreviation that is
-- not also the name of one of others (tar --checkpoint is not
-- --checkpoint-action): its value, or nil.
local function long_option(opts, full, others)
  for key, v in pairs(opts) do
    if #key > 1 and full:sub(1, #key) == key and (key == full or not others[key]) then
      return v
    end
  end
  return nil
end

-- tar's options whose value is a command it runs (through a shell, or a
-- program with its arguments), and those of its long options that take a
-- value. The first word may be old-style letters without a dash (tar xf
-- x.tar), whose values follow in order.
local TAR_RUNS = {["to-command"] = "", ["use-compress-program"] = "I", ["info-script"] = "F",
                  ["new-volume-script"] = "", ["rsh-command"] = "", ["rmt-command"] = ""}
local TAR_SPEC = {arg = "bCfFgHIKLNTVX",
                  long = {["to-command"] = true, ["use-compress-program"] = true,
                          ["info-script"] = true, ["new-volume-script"] = true,
                          ["rsh-command"] = true, ["rmt-command"] = true,
                          ["checkpoint-action"] = true, checkpoint = false, directory = true,
                          file = true, exclude = true, ["files-from"] = true,
                          ["exclude-from"] = true, ["to-stdout"] = false,
                          ["newer-mtime"] = true, format = true, label = true,
                          ["blocking-factor"] = true, ["listed-incremental"] = true,
                          ["starting-file"] = true, owner = true, group = true, mode = true,
                          transform = true, xform = true, ["strip-components"] = true}}
local TAR_OTHERS = {checkpoint = true, ["to-stdout"] = true}

HANDLERS.tar = function(P, words, k, ctx)
  record(P, words, k, ctx)
  local opts, start = {}, k
  local first = words[k + 1]
  if first and not first.dynamic and first.value:find("^%a") then
    start = k + 1
    for ch in first.value:gmatch(".") do
      if TAR_SPEC.arg:find(ch, 1, true) then
        start = start + 1
        opts[ch] = words[start] or {value = ""}
      end
    end
  end
  for key, v in pairs(getopt_all(words, start, TAR_SPEC)) do
    opts[key] = v
  end
  for long, short in pairs(TAR_RUNS) do
    local v = long_option(opts, long, TAR_OTHERS) or (short ~= "" and opts[short])
    if type(v) == "table" then
      run_string(P, v, ctx, "tar --" .. long)
    end
  end
  local action = long_option(opts, "checkpoint-action", TAR_OTHERS)
  if type(action) == "table" and (action.dynamic or action.value:find("^exec=")) then
    run_string(P, {value = action.value:sub(6), dynamic = action.dynamic}, ctx,
               "tar --checkpoint-action")
  end
  return nil
end

-- zip -TT CMD (--unzip-command) tests the archive with CMD, through a shell.
HANDLERS.zip = function(P, words, k, ctx)
  record(P, words, k, ctx)
  for m = k + 1, #words do
    local v = words[m].value
    local cmd = v:match("^%-%-unzip%-command=(.*)$") or v:match("^%-TT=?(.+)$")
    if cmd then
      run_string(P, {value = cmd, dynamic = words[m].dynamic}, ctx, "zip -TT")
    elseif (v == "-TT" or v == "--unzip-command") and words[m + 1] then
      run_string(P, words[m + 1], ctx, "zip -TT")
    end
  end
  return nil
end

-- rsync -e runs its remote shell here, --rsync-path on the remote (which
-- may be the devvm itself).
local RSYNC_SPEC = {arg = "efBTM@", long = {rsh = true, ["rsync-path"] = true, filter = true,
                                           exclude = true, include = true,
                                           ["exclude-from"] = true, ["include-from"] = true,
                                           ["files-from"] = true, ["backup-dir"] = true,
                                           suffix = true, ["temp-dir"] = true,
                                           ["compare-dest"] = true, ["copy-dest"] = true,
                                           ["link-dest"] = true, ["partial-dir"] = true,
                                           chmod = true, chown = true, usermap = true,
                                           groupmap = true, ["log-file"] = true,
                                           ["out-format"] = true, ["password-file"] = true}}
HANDLERS.rsync = function(P, words, k, ctx)
  record(P, words, k, ctx)
  getopt_all(words, k, RSYNC_SPEC, function(name, w)
    if name == "e" or name == "rsh" or name == "rsync-path" then
      run_string(P, w, ctx, "rsync --" .. (name == "e" and "rsh" or name))
    end
  end)
  return nil
end

-- vim runs editor commands given in the line (-c, --cmd, +cmd, -S, -s,
-- -u): :!, system(), :w anywhere. Only +N (a line) and +/pattern do
-- not; ex and vim -e/-E read commands from their input.
-- In Ex mode -s is silent, not a script to read.
local VIM_LONG = {cmd = true, ["remote-send"] = true, ["remote-expr"] = true, servername = true,
                  startuptime = true}
local VIM_SPEC = {arg = "cSsuiTUwWrtqoOp", long = VIM_LONG}
local EX_SPEC = {arg = "cSuiTUwWrtqoOp", long = VIM_LONG}
local function vim(P, words, k, ctx, name)
  local c = record(P, words, k, ctx)
  local ex = name:find("^ex") ~= nil
  for m = k + 1, #words do
    ex = ex or (words[m].value:find("^%-%a*[eE]%a*$") ~= nil)
  end
  local opts, operands = getopt_all(words, k, ex and EX_SPEC or VIM_SPEC)
  for _, key in ipairs({"c", "cmd", "S", "s", "remote-send", "remote-expr"}) do
    if type(opts[key]) == "table" then
      see(P.r, name .. " running editor commands", table.concat(c.argv, " "))
      return nil
    end
  end
  local rc = opts.u
  if type(rc) == "table" and (rc.dynamic or not (rc.value == "NONE" or rc.value == "NORC"
                                                 or rc.value == "DEFAULTS")) then
    see(P.r, name .. " running editor commands", table.concat(c.argv, " "))
    return nil
  end
  for _, w in ipairs(operands) do
    if w.dynamic or (w.value:sub(1, 1) == "+" and not w.value:find("^%+%d*$")
                     and not w.value:find("^%+/")) then
      see(P.r, name .. " running editor commands", table.concat(c.argv, " "))
      return nil
    end
  end
  if ex then
    c.stdin_code = true
  end
  return nil
end
for _, name in ipairs({"vi", "vim", "nvim", "view", "vimdiff", "gvim", "rvim", "rview", "ex",
                       "evim", "vimx", "vim.basic", "vim.tiny", "vim.nox", "vim.gtk3"}) do
  HANDLERS[name] = vim
end

-- emacs evaluates Lisp given in the line or loaded from a file.
HANDLERS.emacs = function(P, words, k, ctx)
  local c = record(P, words, k, ctx)
  for m = k + 1, #words do
    local v = words[m].value
    if v:find("^%-%-eval") or v:find("^%-%-load") or v:find("^%-%-funcall")
        or v:find("^%-%-script") or v == "-l" or v == "-f" or v:find("^%-%-batch")
        or v == "-batch" or v == "-script" or v == "-eval" or v == "-x" then
      see(P.r, "emacs running Lisp", table.concat(c.argv, " "))
      return nil
    end
  end
  return nil
end

-- openssl writes its output (-out, -keyout, ...) to the file named.
local OPENSSL_WRITES = {out = true, keyout = true, certout = true, sigout = true,
                        reqout = true, rspout = true, respout = true}
HANDLERS.openssl = function(P, words, k, ctx)
  record(P, words, k, ctx)
  for m = k + 1, #words - 1 do
    local name = words[m].value:match("^%-%-?(%a+)$")
    if name and OPENSSL_WRITES[name] then
      write(P, words[m + 1], "openssl -" .. name)
    end
  end
  return nil
end

-- sort -o writes its output to the file named; --compress-program runs.
HANDLERS.sort = function(P, words, k, ctx)
  record(P, words, k, ctx)
  getopt_all(words, k, {arg = "kotST", long = {key = true, output = true,
                                                ["field-separator"] = true,
                                                ["buffer-size"] = true,
                                                ["temporary-directory"] = true,
                                                ["compress-program"] = true,
                                                ["files0-from"] = true, ["batch-size"] = true,
                                                parallel = true, ["random-source"] = true,
                                                sort = true}},
             function(name, w)
               if name == "o" or name == "output" then
                 write(P, w, "sort -o")
               elseif name == "compress-program" then
                 run_string(P, w, ctx, "sort --compress-program")
               end
             end)
  return nil
end

-- socat's addresses: EXEC: runs a program, SYSTEM: and SHELL: a line
-- through sh; OPEN:, CREATE:, GOPEN: and a bare path write a file. An
-- address's options follow its first unescaped comma.
local SOCAT_RUNS = {exec = true, system = true, shell = true}
local SOCAT_FILES = {open = true, create = true, gopen = true}
HANDLERS.socat = function(P, words, k, ctx)
  local c = record(P, words, k, ctx)
  for m = k + 1, #words do
    local w = words[m]
    local kind, rest = w.value:match("^(%a+):(.*)$")
    kind = kind and kind:lower()
    if w.dynamic then
      see(P.r, "a socat address the check cannot read", w.value)
    elseif kind and SOCAT_RUNS[kind] then
      if rest:find("\\", 1, true) then -- an escaped comma: where the options start is unsure
        see(P.r, "socat running a command", table.concat(c.argv, " "))
      else
        run_fed(P, {value = rest:match("^[^,]*")}, ctx, "socat " .. kind:upper())
      end
    elseif (kind and SOCAT_FILES[kind]) or w.value:find("^/") then
      write(P, {value = (kind and rest or w.value):match("^[^,]*")}, "socat")
    end
  end
  return nil
end

-- nc -e PROG and -c CMD (nc.traditional, ncat --exec, --sh-exec) run a
-- program for each connection; ncat --lua-exec a Lua script.
local NC_SPEC = {arg = "cdegGiImopPqsTVwWx", long = {exec = true, ["sh-exec"] = true,
                                                     ["lua-exec"] = true, output = true,
                                                     ["hex-dump"] = true, proxy = true,
                                                     ["proxy-type"] = true, wait = true,
                                                     source = true, ["source-port"] = true}}
local function nc(P, words, k, ctx, name)
  record(P, words, k, ctx)
  getopt_all(words, k, NC_SPEC, function(key, w)
    if key == "e" or key == "c" or key == "exec" or key == "sh-exec" then
      run_fed(P, w, ctx, name .. (#key > 1 and " --" or " -") .. key)
    elseif key == "lua-exec" then
      see(P.r, name .. " running a Lua script", w.value)
    end
  end)
  return nil
end
for _, name in ipairs({"nc", "netcat", "ncat", "nc.traditional", "nc.openbsd"}) do
  HANDLERS[name] = nc
end

-- man runs its pager (-P, --pager) and its browser (-H, --html=) through
-- a shell; a config file (-C) may name either.
local MAN_SPEC = {arg = "CMPrELmSsepR", optarg = "HT",
                  long = {["config-file"] = true, manpath = true, pager = true, prompt = true,
                          encoding = true, locale = true, systems = true, sections = true,
                          extension = true, preprocessor = true, recode = true}}
HANDLERS.man = function(P, words, k, ctx)
  record(P, words, k, ctx)
  local opts = getopt_all(words, k, MAN_SPEC, function(key, w)
    if key == "P" or key == "pager" or key == "html" then
      run_string(P, w, ctx, "man --" .. (key == "P" and "pager" or key))
    elseif key == "C" or key == "config-file" then
      see(P.r, "man reading a config file (its pager runs)", w.value)
    end
  end)
  if type(opts.H) == "table" and opts.H.value ~= "" then
    run_string(P, opts.H, ctx, "man -H")
  end
  return nil
end

-- mapfile -C runs a callback with each line it reads.
local function mapfile(P, words, k, ctx)
  local c = record(P, words, k, ctx)
  if getopt_all(words, k, {arg = "dnOsuCc"}).C then
    see(P.r, c.name .. " -C running a callback", table.concat(c.argv, " "))
  end
  return nil
end
HANDLERS.mapfile, HANDLERS.readarray = mapfile, mapfile

-- Adds the handlers to handlers, with the unwrapper's helpers h.
function O.add(handlers, h)
  getopt, getopt_all, record, write = h.getopt, h.getopt_all, h.record, h.write
  run_string, joined = h.run_string, h.joined
  for name, handler in pairs(HANDLERS) do
    handlers[name] = handler
  end
end

return O
