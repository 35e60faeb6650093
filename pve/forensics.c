#include "forensics.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qemu.h"
#include "run.h"
#include "step.h"

#define PVE_FORENSICS_FILE_MAX_BYTES (128 * 1024)
#define PVE_FORENSICS_MEMINFO_LINES 16
#define PVE_FORENSICS_MAX_THREADS 64
#define PVE_FORENSICS_MONITOR_INPUT "info status\ninfo block-jobs\ninfo block\n"

static const char *const process_status_keys[] = {"Name:", "State:", "VmRSS:", "Threads:", NULL};
static const char *const thread_status_keys[] = {"Name:", "State:", NULL};

static bool out_of_time(const pve_ctx *ctx) { return pve_now_ms() >= ctx->deadline_ms; }

static int64_t step_ms(const pve_ctx *ctx) {
  return pve_step_left_ms(ctx, (int64_t)ctx->cfg->step_timeout_seconds * 1000);
}

static void section(pve_capture *cap, const char *title) {
  pve_capture_printf(cap, "=== %s ===\n", title);
}

static void ensure_newline(pve_capture *cap, size_t from) {
  if (cap->b.len > from && cap->b.data[cap->b.len - 1] != '\n') pve_capture_append(cap, "\n", 1);
}

/* One qm step; its output, then how it ended. true when qm exited 0. */
static bool qm_step(pve_ctx *ctx, pve_capture *cap, const char *title, const char *sub,
                    const char *extra, const char *input) {
  if (out_of_time(ctx)) return false;
  section(cap, title);
  const char *argv[PVE_STEP_ARGV_MAX];
  pve_step_argv(ctx, sub, extra, argv);
  pve_run_spec spec = {.argv = argv,
                       .input = input,
                       .input_len = input ? strlen(input) : 0,
                       .timeout_ms = step_ms(ctx)};
  pve_run_result res;
  size_t from = cap->b.len;
  if (pve_run(&spec, cap, &res) != 0) {
    pve_capture_printf(cap, "[could not run %s]\n", ctx->cfg->qm);
    return false;
  }
  ensure_newline(cap, from);
  char how[PVE_RUN_DESCRIBE_BYTES];
  pve_run_describe(&res, how, sizeof how);
  pve_capture_printf(cap, "[%s]\n", how);
  return pve_run_ok(&res);
}

/* Reads a file through a child (see run.h) into a private buffer. 0 when
 * it was read whole in time. */
static int read_file(const pve_ctx *ctx, const char *path, int64_t until_ms, pve_capture *into) {
  int64_t left = until_ms - pve_now_ms();
  int64_t budget = step_ms(ctx);
  pve_run_spec spec = {.read_path = path, .timeout_ms = left < budget ? left : budget};
  pve_run_result res;
  if (spec.timeout_ms <= 0) return -1;
  if (pve_run(&spec, into, &res) != 0) return -1;
  return pve_run_ok(&res) ? 0 : -1;
}

/* Appends the first max_lines lines of the file (all when 0) whose start is
 * one of keys (all when NULL), each line prefixed by indent. */
static void file_lines(const pve_ctx *ctx, pve_capture *cap, const char *path, int64_t until_ms,
                       size_t max_lines, const char *const *keys, const char *indent) {
  pve_capture text;
  pve_capture_init(&text, PVE_FORENSICS_FILE_MAX_BYTES, NULL);
  if (read_file(ctx, path, until_ms, &text) != 0) {
    /* The reader's first line says why; silence means it ran out of time. */
    if (text.b.len)
      pve_capture_printf(cap, "%s[%.*s]\n", indent, (int)strcspn(text.b.data, "\n"), text.b.data);
    else
      pve_capture_printf(cap, "%s[%s: not read in time]\n", indent, path);
    pve_capture_free(&text);
    return;
  }
  const char *p = text.b.data, *end = p + text.b.len;
  size_t shown = 0;
  while (p < end && (max_lines == 0 || shown < max_lines)) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    bool wanted = !keys;
    for (size_t k = 0; keys && keys[k] && !wanted; k++)
      wanted = strncmp(p, keys[k], strlen(keys[k])) == 0;
    if (wanted) {
      pve_capture_printf(cap, "%s", indent);
      pve_capture_append(cap, p, n);
      pve_capture_append(cap, "\n", 1);
      shown++;
    }
    p += n + 1;
  }
  if (text.truncated)
    pve_capture_printf(cap, "%s[%s: cut at %d bytes]\n", indent, path,
                       PVE_FORENSICS_FILE_MAX_BYTES);
  pve_capture_free(&text);
}

static void host_sections(pve_ctx *ctx, pve_capture *cap) {
  int64_t until = pve_now_ms() + step_ms(ctx);
  section(cap, "host uptime and load (/proc/uptime, /proc/loadavg)");
  file_lines(ctx, cap, "/proc/uptime", until, 0, NULL, "uptime: ");
  file_lines(ctx, cap, "/proc/loadavg", until, 0, NULL, "loadavg: ");
  section(cap, "host memory (/proc/meminfo, head)");
  file_lines(ctx, cap, "/proc/meminfo", until, PVE_FORENSICS_MEMINFO_LINES, NULL, "");
}

static void diskstats_sections(pve_ctx *ctx, pve_capture *cap) {
  if (out_of_time(ctx)) return;
  section(cap, "host /proc/diskstats, sample 1");
  file_lines(ctx, cap, "/proc/diskstats", pve_now_ms() + step_ms(ctx), 0, NULL, "");
  int64_t pause_ms = pve_step_left_ms(ctx, ctx->cfg->diskstats_interval_ms);
  struct timespec pause = {.tv_sec = pause_ms / 1000, .tv_nsec = (pause_ms % 1000) * 1000000L};
  while (nanosleep(&pause, &pause) != 0 && errno == EINTR) continue;
  if (out_of_time(ctx)) return;
  pve_capture_printf(cap, "=== host /proc/diskstats, sample 2 (%lld ms later) ===\n",
                     (long long)pause_ms);
  file_lines(ctx, cap, "/proc/diskstats", pve_now_ms() + step_ms(ctx), 0, NULL, "");
}

static void thread_sections(pve_ctx *ctx, pve_capture *cap, long pid, int64_t until) {
  char dir_path[64];
  snprintf(dir_path, sizeof dir_path, "/proc/%ld/task", pid);
  DIR *dir = opendir(dir_path);
  if (!dir) {
    pve_capture_printf(cap, "[%s: not readable]\n", dir_path);
    return;
  }
  size_t seen = 0;
  struct dirent *e;
  while ((e = readdir(dir)) && pve_now_ms() < until) {
    char *end;
    long tid = strtol(e->d_name, &end, 10);
    if (*end != '\0' || tid <= 0) continue;
    if (++seen > PVE_FORENSICS_MAX_THREADS) {
      pve_capture_printf(cap, "[more than %d threads; the rest are left out]\n",
                         PVE_FORENSICS_MAX_THREADS);
      break;
    }
    char path[96];
    pve_capture_printf(cap, "--- thread %ld\n", tid);
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/status", pid, tid);
    file_lines(ctx, cap, path, until, 0, thread_status_keys, "  ");
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/wchan", pid, tid);
    file_lines(ctx, cap, path, until, 0, NULL, "  wchan: ");
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/stack", pid, tid);
    file_lines(ctx, cap, path, until, 0, NULL, "  stack: ");
  }
  if (pve_now_ms() >= until) pve_capture_printf(cap, "[out of time: later threads left out]\n");
  closedir(dir);
}

static void qemu_section(pve_ctx *ctx, pve_capture *cap) {
  if (out_of_time(ctx)) return;
  char pid_path[PVE_PATH_MAX_BYTES + 32];
  pve_qemu_pid_path(ctx->cfg, pid_path, sizeof pid_path);
  pve_capture_printf(cap, "=== QEMU process (%s) ===\n", pid_path);
  pid_t pid;
  int rc = pve_qemu_pid_read(ctx->cfg, &pid);
  if (rc != 0) {
    pve_capture_printf(cap, "%s\n", rc == -ENOENT ? "no pid file" : "the pid file holds no pid");
    return;
  }
  if (kill(pid, 0) != 0 && errno == ESRCH) {
    pve_capture_printf(cap, "pid %ld is not running (stale pid file)\n", (long)pid);
    return;
  }
  int64_t until = pve_now_ms() + step_ms(ctx);
  char path[64];
  pve_capture cmdline;
  pve_capture_init(&cmdline, PVE_QEMU_CMDLINE_MAX_BYTES, NULL);
  snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
  bool read_ok = read_file(ctx, path, until, &cmdline) == 0;
  bool ours = read_ok && pve_qemu_cmdline_matches(cmdline.b.data, cmdline.b.len, ctx->cfg->vmid,
                                                  ctx->cfg->pid_file_dir);
  for (size_t i = 0; i < cmdline.b.len; i++)
    if (cmdline.b.data[i] == '\0') cmdline.b.data[i] = ' ';
  pve_capture_printf(cap, "pid %ld, VM %u's QEMU: %s\ncmdline: ", (long)pid, ctx->cfg->vmid,
                     ours      ? "yes"
                     : read_ok ? "NO"
                               : "unknown (cmdline not readable)");
  pve_capture_append(cap, cmdline.b.data, cmdline.b.len);
  pve_capture_append(cap, "\n", 1);
  pve_capture_free(&cmdline);
  snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
  file_lines(ctx, cap, path, until, 0, process_status_keys, "");
  snprintf(path, sizeof path, "/proc/%ld/wchan", (long)pid);
  file_lines(ctx, cap, path, until, 0, NULL, "wchan: ");
  snprintf(path, sizeof path, "/proc/%ld/stack", (long)pid);
  file_lines(ctx, cap, path, until, 0, NULL, "stack: ");
  thread_sections(ctx, cap, (long)pid, until);
}

int pve_forensics_capture(pve_ctx *ctx, pve_capture *cap) {
  char when[PVE_LOG_TIME_BYTES];
  pve_log_utc_now(when, sizeof when);
  pve_capture_printf(cap, "%s: VM %s at %s ===\n", PVE_FORENSICS_TITLE, ctx->vmid, when);
  if (!qm_step(ctx, cap, "qm status --verbose", "status", "--verbose", NULL))
    qm_step(ctx, cap, "qm status (plain: --verbose failed)", "status", NULL, NULL);
  qm_step(ctx, cap, "qm config", "config", NULL, NULL);
  qm_step(ctx, cap, "qm pending", "pending", NULL, NULL);
  qm_step(ctx, cap, "qm agent ping", "agent", "ping", NULL);
  qm_step(ctx, cap, "qm monitor: info status, info block-jobs, info block", "monitor", NULL,
          PVE_FORENSICS_MONITOR_INPUT);
  if (!out_of_time(ctx)) host_sections(ctx, cap);
  diskstats_sections(ctx, cap);
  qemu_section(ctx, cap);
  if (out_of_time(ctx)) {
    pve_capture_printf(cap, "=== forensics cut short: verb_timeout_seconds reached ===\n");
    return -ETIMEDOUT;
  }
  pve_capture_printf(cap, "=== end of forensics ===\n");
  return 0;
}
