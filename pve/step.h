/* One qm command as a step of a verb: `qm <sub> VMID [extra]`, run with a
 * time limit, its output shown to the client and recorded in the log.
 *
 * A step that changes the VM is first written to the log and flushed, so a
 * crash or power loss mid-step still leaves the intent on record.
 */
#ifndef BG_PVE_STEP_H
#define BG_PVE_STEP_H

#include <stdint.h>

#include "ctx.h"
#include "run.h"

#define PVE_STEP_OUTPUT_MAX_BYTES (64 * 1024)
#define PVE_STEP_ARGV_MAX 6

enum {
  PVE_STEP_INTENT = 1, /* log and fsync "run: ..." before running */
  PVE_STEP_HEADER = 2, /* frame the output for the client with === lines */
};

/* Fills argv with {qm, sub, vmid, extra (if any), NULL}. */
void pve_step_argv(const pve_ctx *ctx, const char *sub, const char *extra,
                   const char *argv[PVE_STEP_ARGV_MAX]);

/* Time left before the verb's deadline, at most cap_ms, never below 0. */
int64_t pve_step_left_ms(const pve_ctx *ctx, int64_t cap_ms);

/* Runs the step. 0 with *res; -EIO when the intent could not be logged
 * (nothing ran); another negative errno when qm could not be started. */
int pve_step_qm(pve_ctx *ctx, const char *sub, const char *extra, int64_t timeout_ms,
                unsigned flags, pve_run_result *res);

/* The verb's exit code for a step's result; tells the client on stderr why
 * when it is not OK. qm's own code (255 included) appears only in words. */
pve_exit pve_step_exit(pve_ctx *ctx, const char *sub, const pve_run_result *res);

/* The verb's exit code when pve_step_qm failed with rc; tells the client. */
pve_exit pve_step_error(pve_ctx *ctx, int rc);

/* A line of progress for the client and a record in the log. */
void pve_step_note(pve_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
