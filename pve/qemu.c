#include "qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "run.h"

#define PVE_QEMU_PID_FILE_MAX_BYTES 32
#define PVE_QEMU_PID_MAX 4194304 /* the kernel's PID_MAX_LIMIT */

void pve_qemu_pid_path(const pve_config *cfg, char *out, size_t out_len) {
  snprintf(out, out_len, "%s/%u.pid", cfg->pid_file_dir, cfg->vmid);
}

int pve_qemu_pid_read(const pve_config *cfg, pid_t *pid) {
  char path[PVE_PATH_MAX_BYTES + 32];
  pve_qemu_pid_path(cfg, path, sizeof path);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno == ENOENT ? -ENOENT : -EINVAL;
  char text[PVE_QEMU_PID_FILE_MAX_BYTES + 1];
  ssize_t n = read(fd, text, PVE_QEMU_PID_FILE_MAX_BYTES);
  close(fd);
  if (n <= 0) return -EINVAL;
  long value = 0;
  ssize_t i = 0;
  for (; i < n && text[i] >= '0' && text[i] <= '9' && value <= PVE_QEMU_PID_MAX; i++)
    value = value * 10 + (text[i] - '0');
  for (ssize_t j = i; j < n; j++)
    if (text[j] != '\n' && text[j] != ' ') return -EINVAL;
  if (i == 0 || value < 2 || value > PVE_QEMU_PID_MAX) return -EINVAL;
  *pid = (pid_t)value;
  return 0;
}

static bool arg_is(const char *arg, size_t arg_len, const char *want) {
  return strlen(want) == arg_len && memcmp(arg, want, arg_len) == 0;
}

static bool is_qemu_binary(const char *arg, size_t arg_len) {
  const char *slash = memrchr(arg, '/', arg_len);
  const char *base = slash ? slash + 1 : arg;
  size_t base_len = arg_len - (size_t)(base - arg);
  static const char prefix[] = "qemu-system-";
  return arg_is(base, base_len, "kvm") || arg_is(base, base_len, "qemu-kvm") ||
         (base_len > sizeof prefix - 1 && memcmp(base, prefix, sizeof prefix - 1) == 0);
}

bool pve_qemu_cmdline_matches(const char *cmdline, size_t len, unsigned vmid,
                              const char *pid_file_dir) {
  char id[16], pidfile[PVE_PATH_MAX_BYTES + 32];
  snprintf(id, sizeof id, "%u", vmid);
  snprintf(pidfile, sizeof pidfile, "%s/%u.pid", pid_file_dir, vmid);
  const char *prev = NULL;
  size_t prev_len = 0, pos = 0;
  bool first = true;
  while (pos < len) {
    const char *arg = cmdline + pos;
    const char *nul = memchr(arg, '\0', len - pos);
    size_t arg_len = nul ? (size_t)(nul - arg) : len - pos;
    if (first && !is_qemu_binary(arg, arg_len)) return false;
    if (prev && arg_is(prev, prev_len, "-id") && arg_is(arg, arg_len, id)) return true;
    if (prev && arg_is(prev, prev_len, "-pidfile") && arg_is(arg, arg_len, pidfile)) return true;
    first = false;
    prev = arg;
    prev_len = arg_len;
    pos += arg_len + 1;
  }
  return false;
}

/* A pidfd turns readable when its process exits, zombie or reaped. */
static bool pidfd_alive(int pidfd) {
  struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
  return poll(&pfd, 1, 0) == 0;
}

static int64_t until(int64_t deadline_ms, int64_t limit_ms) {
  int64_t now = pve_now_ms();
  return deadline_ms - now < limit_ms ? deadline_ms : now + limit_ms;
}

/* Reads /proc/PID/cmdline in a child: a QEMU stuck in D state can block its
 * readers. 0 on success. */
static int read_cmdline(pid_t pid, int64_t timeout_ms, pve_capture *out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
  pve_run_spec spec = {.read_path = path, .timeout_ms = timeout_ms};
  pve_run_result res;
  if (pve_run(&spec, out, &res) != 0 || !pve_run_ok(&res) || out->truncated) return -1;
  return 0;
}

static pve_kill_outcome kill_held(const pve_config *cfg, pid_t pid, int pidfd,
                                  int64_t read_timeout_ms, int64_t deadline_ms, char *msg,
                                  size_t msg_len) {
  pve_capture cmdline;
  pve_capture_init(&cmdline, PVE_QEMU_CMDLINE_MAX_BYTES, NULL);
  int rc = read_cmdline(pid, until(deadline_ms, read_timeout_ms) - pve_now_ms(), &cmdline);
  bool ours = rc == 0 &&
              pve_qemu_cmdline_matches(cmdline.b.data, cmdline.b.len, cfg->vmid, cfg->pid_file_dir);
  pve_capture_free(&cmdline);
  /* Alive now means it held the pid throughout, so the cmdline was its. */
  if (!pidfd_alive(pidfd)) {
    snprintf(msg, msg_len, "pid %ld exited on its own", (long)pid);
    return PVE_KILL_NOT_RUNNING;
  }
  if (rc != 0) {
    snprintf(msg, msg_len, "could not read /proc/%ld/cmdline in time; not killing it", (long)pid);
    return PVE_KILL_ERROR;
  }
  if (!ours) {
    snprintf(msg, msg_len,
             "pid %ld is not VM %u's QEMU (its cmdline has no QEMU binary with -id %u or "
             "-pidfile %s/%u.pid); not killing it",
             (long)pid, cfg->vmid, cfg->vmid, cfg->pid_file_dir, cfg->vmid);
    return PVE_KILL_REFUSED;
  }
  if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) != 0) {
    int err = errno;
    snprintf(msg, msg_len, "SIGKILL to pid %ld failed: %s", (long)pid, strerror(err));
    return err == ESRCH ? PVE_KILL_NOT_RUNNING : PVE_KILL_ERROR;
  }
  int64_t wait_until = until(deadline_ms, PVE_QEMU_KILL_WAIT_MS);
  struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
  for (;;) {
    int64_t left = wait_until - pve_now_ms();
    int prc = poll(&pfd, 1, left > 0 ? (int)left : 0);
    if (prc > 0) {
      snprintf(msg, msg_len, "sent SIGKILL to VM %u's QEMU, pid %ld; it exited", cfg->vmid,
               (long)pid);
      return PVE_KILL_KILLED;
    }
    if (prc < 0 && errno == EINTR) continue;
    snprintf(msg, msg_len,
             "sent SIGKILL to VM %u's QEMU, pid %ld, but it has not exited (uninterruptible "
             "sleep?); not starting a second QEMU on the same disks",
             cfg->vmid, (long)pid);
    return PVE_KILL_STUCK;
  }
}

pve_kill_outcome pve_qemu_kill_checked(const pve_config *cfg, int64_t read_timeout_ms,
                                       int64_t deadline_ms, char *msg, size_t msg_len) {
  pid_t pid;
  int rc = pve_qemu_pid_read(cfg, &pid);
  if (rc == -ENOENT) {
    snprintf(msg, msg_len, "no pid file for VM %u: nothing to kill", cfg->vmid);
    return PVE_KILL_NOT_RUNNING;
  }
  if (rc != 0) {
    snprintf(msg, msg_len, "the pid file of VM %u does not hold a pid; not killing anything",
             cfg->vmid);
    return PVE_KILL_ERROR;
  }
  int pidfd = pidfd_open(pid, 0);
  if (pidfd < 0) {
    int err = errno;
    snprintf(msg, msg_len, "pid %ld from the pid file: %s", (long)pid,
             err == ESRCH ? "not running" : strerror(err));
    return err == ESRCH ? PVE_KILL_NOT_RUNNING : PVE_KILL_ERROR;
  }
  pve_kill_outcome out = kill_held(cfg, pid, pidfd, read_timeout_ms, deadline_ms, msg, msg_len);
  close(pidfd);
  return out;
}
