#include "step.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PVE_STEP_NOTE_MAX_BYTES 512

void pve_step_argv(const pve_ctx *ctx, const char *sub, const char *extra,
                   const char *argv[PVE_STEP_ARGV_MAX]) {
  size_t n = 0;
  argv[n++] = ctx->cfg->qm;
  argv[n++] = sub;
  argv[n++] = ctx->vmid;
  if (extra) argv[n++] = extra;
  argv[n] = NULL;
}

int64_t pve_step_left_ms(const pve_ctx *ctx, int64_t cap_ms) {
  int64_t left = ctx->deadline_ms - pve_now_ms();
  if (left < 0) left = 0;
  return left < cap_ms ? left : cap_ms;
}

int pve_step_qm(pve_ctx *ctx, const char *sub, const char *extra, int64_t timeout_ms,
                unsigned flags, pve_run_result *res) {
  const char *argv[PVE_STEP_ARGV_MAX];
  pve_step_argv(ctx, sub, extra, argv);
  const char *sp = extra ? " " : "", *ex = extra ? extra : "";
  if (flags & PVE_STEP_INTENT) {
    if (pve_log_record(ctx->log, NULL, 0, "run: qm %s %s%s%s", sub, ctx->vmid, sp, ex) != 0 ||
        pve_log_sync(ctx->log) != 0)
      return -EIO;
  }
  if (flags & PVE_STEP_HEADER)
    pve_client_printf(ctx->out, "=== qm %s %s%s%s ===\n", sub, ctx->vmid, sp, ex);
  pve_capture output;
  pve_capture_init(&output, PVE_STEP_OUTPUT_MAX_BYTES, ctx->out);
  pve_run_spec spec = {.argv = argv, .timeout_ms = timeout_ms};
  int rc = pve_run(&spec, &output, res);
  char how[PVE_RUN_DESCRIBE_BYTES];
  if (rc == 0)
    pve_run_describe(res, how, sizeof how);
  else
    snprintf(how, sizeof how, "could not be started (errno %d)", -rc);
  if (flags & PVE_STEP_HEADER) pve_client_printf(ctx->out, "[qm %s: %s]\n", sub, how);
  pve_log_record(ctx->log, output.b.data, output.b.len, "done: qm %s %s%s%s: %s", sub, ctx->vmid,
                 sp, ex, how);
  pve_capture_free(&output);
  return rc;
}

pve_exit pve_step_exit(pve_ctx *ctx, const char *sub, const pve_run_result *res) {
  if (pve_run_ok(res)) return PVE_EXIT_OK;
  char how[PVE_RUN_DESCRIBE_BYTES];
  pve_run_describe(res, how, sizeof how);
  bool out_of_time = res->timed_out && pve_now_ms() >= ctx->deadline_ms;
  pve_client_printf(ctx->err, "breakglass-pve: qm %s %s failed: %s%s\n", sub, ctx->vmid, how,
                    out_of_time ? " (verb_timeout_seconds reached)" : "");
  return out_of_time ? PVE_EXIT_TIMEOUT : PVE_EXIT_FAILED;
}

pve_exit pve_step_error(pve_ctx *ctx, int rc) {
  if (rc == -EIO) {
    pve_client_printf(ctx->err, "breakglass-pve: cannot write to %s; not acting\n", ctx->cfg->log);
    return PVE_EXIT_LOG;
  }
  pve_client_printf(ctx->err, "breakglass-pve: cannot run %s: %s\n", ctx->cfg->qm, strerror(-rc));
  return PVE_EXIT_INTERNAL;
}

void pve_step_note(pve_ctx *ctx, const char *fmt, ...) {
  char note[PVE_STEP_NOTE_MAX_BYTES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(note, sizeof note, fmt, ap);
  va_end(ap);
  pve_client_printf(ctx->out, "--- %s\n", note);
  pve_log_record(ctx->log, NULL, 0, "note: %s", note);
}
