#include "cycle.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qemu.h"
#include "step.h"

#define PVE_CYCLE_MSG_BYTES 512
#define PVE_CYCLE_STOPPED_LINE "status: stopped"

static bool out_of_time(const pve_ctx *ctx) { return pve_now_ms() >= ctx->deadline_ms; }

static pve_exit timed_out(pve_ctx *ctx) {
  pve_client_printf(ctx->err, "breakglass-pve: cycle: verb_timeout_seconds reached\n");
  return PVE_EXIT_TIMEOUT;
}

static bool has_line(const pve_capture *cap, const char *line) {
  size_t n = strlen(line);
  const char *p = cap->b.data, *end = p + cap->b.len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (len == n && memcmp(p, line, n) == 0) return true;
    p += len + 1;
  }
  return false;
}

static void pause_ms(int64_t ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) continue;
}

/* Polls `qm status` until it says stopped or until_ms passes; the first
 * poll happens even when until_ms already has. */
static bool wait_stopped(pve_ctx *ctx, int64_t until_ms) {
  const char *argv[PVE_STEP_ARGV_MAX];
  pve_step_argv(ctx, "status", NULL, argv);
  int64_t step_cap = (int64_t)ctx->cfg->step_timeout_seconds * 1000;
  int polls = 0;
  char last[64] = "no answer";
  for (;;) {
    pve_capture answer;
    pve_capture_init(&answer, PVE_CYCLE_STATUS_MAX_BYTES, NULL);
    pve_run_spec spec = {.argv = argv, .timeout_ms = pve_step_left_ms(ctx, step_cap)};
    pve_run_result res;
    polls++;
    bool stopped = pve_run(&spec, &answer, &res) == 0 && pve_run_ok(&res) &&
                   has_line(&answer, PVE_CYCLE_STOPPED_LINE);
    if (answer.b.len)
      snprintf(last, sizeof last, "%.*s", (int)strcspn(answer.b.data, "\n"), answer.b.data);
    pve_capture_free(&answer);
    if (stopped) {
      pve_step_note(ctx, "VM %s stopped (qm status polls: %d)", ctx->vmid, polls);
      return true;
    }
    if (pve_now_ms() + PVE_CYCLE_POLL_INTERVAL_MS >= until_ms || out_of_time(ctx)) break;
    pause_ms(PVE_CYCLE_POLL_INTERVAL_MS);
  }
  /* last is qm's own text: the log escapes it, the client gets it as is. */
  pve_step_note(ctx,
                "VM %s did not stop within stop_wait_seconds=%u (qm status polls: %d, "
                "last answer: %s)",
                ctx->vmid, ctx->cfg->stop_wait_seconds, polls, last);
  return false;
}

/* The fallback when the clean stop failed. OK when the VM's QEMU is gone. */
static pve_exit force_stop(pve_ctx *ctx) {
  char pid_path[PVE_PATH_MAX_BYTES + 32];
  pve_qemu_pid_path(ctx->cfg, pid_path, sizeof pid_path);
  if (pve_log_record(ctx->log, NULL, 0, "run: checked SIGKILL of the process in %s", pid_path) !=
          0 ||
      pve_log_sync(ctx->log) != 0)
    return pve_step_error(ctx, -EIO);
  char msg[PVE_CYCLE_MSG_BYTES];
  pve_kill_outcome k = pve_qemu_kill_checked(
      ctx->cfg, (int64_t)ctx->cfg->step_timeout_seconds * 1000, ctx->deadline_ms, msg, sizeof msg);
  pve_step_note(ctx, "checked kill: %s", msg);
  if (k != PVE_KILL_KILLED && k != PVE_KILL_NOT_RUNNING) {
    if (out_of_time(ctx)) return timed_out(ctx);
    pve_client_printf(ctx->err, "breakglass-pve: cycle stopped: %s\n", msg);
    return PVE_EXIT_FAILED;
  }
  pve_run_result res;
  int rc = pve_step_qm(ctx, "unlock", NULL, pve_step_left_ms(ctx, INT64_MAX),
                       PVE_STEP_INTENT | PVE_STEP_HEADER, &res);
  if (rc != 0) return pve_step_error(ctx, rc);
  /* A failed unlock is not fatal: start then says why it cannot go on. */
  return out_of_time(ctx) ? timed_out(ctx) : PVE_EXIT_OK;
}

pve_exit pve_cycle_run(pve_ctx *ctx) {
  int64_t stop_until = pve_now_ms() + (int64_t)ctx->cfg->stop_wait_seconds * 1000;
  if (stop_until > ctx->deadline_ms) stop_until = ctx->deadline_ms;
  pve_run_result res;
  int rc = pve_step_qm(ctx, "stop", NULL, stop_until - pve_now_ms(),
                       PVE_STEP_INTENT | PVE_STEP_HEADER, &res);
  if (rc != 0) return pve_step_error(ctx, rc);
  if (out_of_time(ctx)) return timed_out(ctx);
  if (!wait_stopped(ctx, stop_until)) {
    if (out_of_time(ctx)) return timed_out(ctx);
    pve_exit forced = force_stop(ctx);
    if (forced != PVE_EXIT_OK) return forced;
  }
  rc = pve_step_qm(ctx, "start", NULL, pve_step_left_ms(ctx, INT64_MAX),
                   PVE_STEP_INTENT | PVE_STEP_HEADER, &res);
  if (rc != 0) return pve_step_error(ctx, rc);
  return pve_step_exit(ctx, "start", &res);
}
