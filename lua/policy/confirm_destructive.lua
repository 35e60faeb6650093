-- Asks the operator before a devvm_shell command that could destroy the
-- devvm's data or take it down. The owner chose autonomy, so power verbs
-- through the pve tool are not confirmed unless confirm_power_verbs is true.
--
-- What needs confirmation (each simple command of the line is checked, after
-- sudo, env, nohup, timeout and similar prefixes; "/dev/<disk>" is sd*, vd*,
-- xvd*, hd*, nvme*, mmcblk*, dm-*, md*, zd*, rbd*, mapper/*, disk/*):
--   mkfs, mkfs.*, wipefs, blkdiscard             file systems and signatures
--   dd ... of=/dev/<disk>                        raw writes to a disk
--   > /dev/<disk> anywhere in the line            redirection onto a disk
--   shred, mkswap on /dev/<disk>
--   fdisk, sfdisk, gdisk, cfdisk, parted, sgdisk on /dev/<disk>
--                                                 (not fdisk -l, parted ... print, sgdisk -p)
--   rm -r / or /* (any flag spelling, --no-preserve-root)
--   poweroff, reboot, halt, shutdown, kexec, systemctl poweroff|reboot|halt|kexec,
--   init 0 / 6, telinit 0 / 6, a write to /proc/sysrq-trigger
--   zpool destroy, zfs destroy, lvremove, vgremove, pvremove
-- Patterns are Lua patterns (not regexes). A false alarm costs one click; a
-- miss can cost the devvm, so the checks lean towards asking.

local confirm_power_verbs = false
local EXCERPT_MAX_CHARS = 200

local DISKS = {"sd%a", "vd%a", "xvd%a", "hd%a", "nvme%d", "mmcblk%d", "dm%-%d", "md%d", "zd%d",
               "rbd%d", "mapper/", "disk/"}

-- Words that run the command after them; their flags and arguments are skipped.
local PREFIXES = {sudo = true, doas = true, env = true, exec = true, nohup = true, nice = true,
                  ionice = true, timeout = true, command = true, busybox = true, time = true}

local ALWAYS = {mkfs = "mkfs makes a new file system",
                wipefs = "wipefs erases signatures", blkdiscard = "blkdiscard discards a device",
                poweroff = "poweroff", reboot = "reboot", halt = "halt", shutdown = "shutdown",
                kexec = "kexec replaces the kernel", lvremove = "lvremove", vgremove = "vgremove",
                pvremove = "pvremove"}

local PARTITIONERS = {fdisk = {["-l"] = true, ["--list"] = true},
                      sfdisk = {["-l"] = true, ["--list"] = true, ["-d"] = true, ["--dump"] = true},
                      gdisk = {["-l"] = true}, cfdisk = {},
                      parted = {["-l"] = true, ["--list"] = true, print = true},
                      sgdisk = {["-p"] = true, ["--print"] = true, ["-v"] = true,
                                ["--verify"] = true}}

local function is_disk(path)
  for _, d in ipairs(DISKS) do
    if path:find("^/dev/" .. d) then
      return true
    end
  end
  return false
end

local function any_word(words, from, test)
  for i = from, #words do
    if test(words[i]) then
      return true
    end
  end
  return false
end

-- The words of one simple command, quotes dropped, prefixes skipped.
local function command_words(text)
  local words = {}
  for w in text:gmatch("%S+") do
    words[#words + 1] = w
  end
  local i = 1
  while i <= #words and (PREFIXES[words[i]] or words[i]:find("^%-") or words[i]:find("^%w+=")
      or (words[i]:find("^[%d.]+[smhd]?$") and i > 1 and words[i - 1] == "timeout")) do
    i = i + 1
  end
  local rest = {}
  for j = i, #words do
    rest[#rest + 1] = words[j]
  end
  if rest[1] then
    rest[1] = rest[1]:match("[^/]*$") -- /sbin/reboot is reboot
  end
  return rest
end

local function rm_root(w)
  local recursive, root = false, false
  for i = 2, #w do
    local a = w[i]
    if a == "--recursive" or (a:find("^%-[^%-]") and a:find("[rR]")) then
      recursive = true
    elseif a == "/" or a == "/*" or a == "--no-preserve-root" then
      root = true
    end
  end
  return recursive and root
end

-- Why one simple command needs confirmation, or nil.
local function judge(w)
  local cmd = w[1]
  if cmd == nil then
    return nil
  end
  if ALWAYS[cmd] then
    return ALWAYS[cmd]
  end
  if cmd:find("^mkfs%.") then
    return "mkfs makes a new file system"
  end
  if cmd == "systemctl" and any_word(w, 2, function(a)
        return a == "poweroff" or a == "reboot" or a == "halt" or a == "kexec"
      end) then
    return "systemctl powers the devvm off or restarts it"
  end
  if (cmd == "init" or cmd == "telinit") and (w[2] == "0" or w[2] == "6") then
    return cmd .. " " .. w[2] .. " powers the devvm off or restarts it"
  end
  if cmd == "dd" and any_word(w, 2, function(a) return is_disk(a:match("^of=(.*)") or "") end) then
    return "dd writes onto a disk"
  end
  if (cmd == "shred" or cmd == "mkswap") and any_word(w, 2, is_disk) then
    return cmd .. " overwrites a disk"
  end
  local readonly = PARTITIONERS[cmd]
  if readonly and any_word(w, 2, is_disk)
      and not any_word(w, 2, function(a) return readonly[a] end) then
    return cmd .. " changes a partition table"
  end
  if cmd == "rm" and rm_root(w) then
    return "rm -r of the root file system"
  end
  if (cmd == "zpool" or cmd == "zfs") and w[2] == "destroy" then
    return cmd .. " destroy"
  end
  return nil
end

-- Redirections anywhere in the line: onto a disk, or into sysrq-trigger.
local function judge_redirects(line)
  for target in line:gmatch(">>?%s*([^%s;&|)]+)") do
    if is_disk(target) then
      return "a redirection onto a disk"
    end
    if target:find("^/proc/sysrq%-trigger") then
      return "a write to /proc/sysrq-trigger"
    end
  end
  return nil
end

local function excerpt(s)
  s = s:gsub("^%s+", ""):gsub("%s+$", "")
  if utf8.len(s) ~= nil and utf8.len(s) > EXCERPT_MAX_CHARS then
    s = s:sub(1, utf8.offset(s, EXCERPT_MAX_CHARS + 1) - 1) .. "..."
  end
  return s
end

local function check_command(line)
  local why = judge_redirects(line)
  if why then
    return why, line
  end
  -- Separators, subshells and quotes all start a new simple command: a
  -- command inside sh -c '...' or $(...) is checked too.
  for part in line:gmatch("[^;&|()`{}\n\"']+") do
    why = judge(command_words(part))
    if why then
      return why, part
    end
  end
  return nil
end

local policy = {
  name = "confirm_destructive",
  description = "operator confirmation for catastrophic devvm commands (mkfs, dd onto a "
    .. "disk, rm -rf /, poweroff, ...); for power verbs only when confirm_power_verbs is set",
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
  local why, part = check_command(call.input.command)
  if why then
    return {confirm = "a catastrophic devvm command (" .. why .. "): " .. excerpt(part)}
  end
  return nil
end

function policy.self_test(t)
  local ctx = t.ctx{now_ms = 0}
  local function decide(command)
    return policy.before(ctx, {tool = "devvm_shell", input = {command = command}, mutating = false})
  end
  local catastrophic = {
    "mkfs.ext4 /dev/vdb1", "sudo mkfs -t xfs /dev/sdb", "wipefs -a /dev/sda",
    "dd if=/dev/zero of=/dev/sda bs=1M", "sudo -n dd if=x.img of=/dev/nvme0n1",
    "echo x > /dev/sda", "cat img >/dev/mapper/vg-root", "shred -n1 /dev/vdb",
    "fdisk /dev/vda", "parted -s /dev/sdb mklabel gpt", "sgdisk -Z /dev/sda",
    "rm -rf /", "sudo rm -fr /*", "rm -r -f --no-preserve-root /", "rm -Rf / ",
    "poweroff", "sudo reboot", "/sbin/halt -p", "shutdown -h now", "systemctl reboot",
    "sudo systemctl --force poweroff", "init 0", "echo b > /proc/sysrq-trigger",
    "zpool destroy tank", "lvremove -f vg/root", "mkswap /dev/vdc", "uptime; sudo reboot",
    "sh -c 'reboot'", "nohup timeout 5 reboot", "x=$(mkfs.ext4 /dev/sdc)",
  }
  for _, c in ipairs(catastrophic) do
    local d = decide(c)
    assert(d and d.confirm, "should confirm: " .. c)
  end
  local harmless = {
    "uptime", "df -h", "dd if=/dev/sda of=/tmp/mbr bs=512 count=1", "ls 2>/dev/null",
    "fdisk -l /dev/sda", "parted /dev/sda print", "sgdisk -p /dev/sda", "rm -rf /tmp/x",
    "rm -rf ./build", "last reboot", "journalctl -b -1 | grep -i shutdown",
    "systemctl status", "echo hi > /tmp/sda", "mkswap /swapfile", "cat /proc/sysrq-trigger",
  }
  for _, c in ipairs(harmless) do
    assert(decide(c) == nil, "should pass: " .. c)
  end
  local d = decide("sudo mkfs.ext4 /dev/vdb1")
  assert(d.confirm == "a catastrophic devvm command (mkfs makes a new file system): "
    .. "sudo mkfs.ext4 /dev/vdb1", d.confirm)
  local cycle = {tool = "pve", input = {verb = "cycle"}, verb = "cycle", mutating = true}
  assert((policy.before(ctx, cycle) == nil) == not confirm_power_verbs, "power verbs")
end

return policy
