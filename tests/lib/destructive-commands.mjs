// Command lines for the tests of confirm_destructive.lua: the spellings
// issue 12 found running unasked, and everyday diagnostics that must not
// ask.

/** The lines of the report (item 7), and the ones with the same effect it named. */
export const ISSUE_12_REPORT = [
  'bash -c reboot', 'sudo -u root reboot', 'su -c reboot', 'if true; then reboot; fi',
  'r\\eboot', "re''boot", '$(printf reboot)', "echo b > '/proc/sysrq-trigger'",
  'echo b | sudo tee /proc/sysrq-trigger', 'rm -rf "/"', "rm -rf '/'", 'dd of="/dev/vda"',
  'cat /dev/zero | sudo tee /dev/vda',
  'systemctl start reboot.target', 'loginctl reboot', 'rm -rf //', 'rm -rf /.', 'mke2fs', 'kill -9 1',
];

/** Diagnostics an agent runs on a sick devvm. */
export const EVERYDAY = [
  'uptime', 'df -h', 'free -m', 'journalctl -u ssh --since "1 hour ago" --no-pager | tail -n 50',
  'systemctl status nginx', 'dmesg | tail -n 50', 'ps aux | grep -v grep | grep sshd',
  'cat /proc/meminfo', 'ip addr', 'ss -tlnp', 'top -bn1 | head -20', 'ls -la /var/log',
  'grep -r error /var/log/syslog | tail', 'du -sh /var/* 2>/dev/null | sort -h', 'iostat -x 1 3',
  'cat /etc/os-release', 'sudo journalctl -p err -b --no-pager | tail -n 100',
];
