/* Running one child with a time limit and its output in a pipe we own.
 *
 * The child is either a program (execve of a fixed argv: never a shell) or
 * a file copier (for /proc files of a process that may be stuck in D state,
 * whose readers can block). Either way it starts in its own session, so it
 * has no controlling terminal (qm monitor then reads stdin rather than
 * /dev/tty) and a hang-up of the SSH session's process group never reaches
 * it; it gets a scrubbed environment, stdin from the given bytes or
 * /dev/null, stdout and stderr both into our pipe, and no other descriptor.
 *
 * When the limit passes, the child's whole process group gets SIGKILL. A
 * process that does not die even then (uninterruptible sleep) is left
 * behind after PVE_RUN_KILL_GRACE_MS rather than waited for.
 */
#ifndef BG_PVE_RUN_H
#define BG_PVE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"

#define PVE_RUN_KILL_GRACE_MS 2000
#define PVE_RUN_DESCRIBE_BYTES 96

typedef struct pve_run_spec {
  const char *const *argv; /* argv[0] is an absolute path; NULL to copy read_path */
  const char *read_path;
  const char *input; /* bytes for stdin, or NULL for /dev/null */
  size_t input_len;
  int64_t timeout_ms;
} pve_run_spec;

typedef struct pve_run_result {
  int exit_code; /* 0..255 when it exited, else -1 */
  int signal;    /* the signal that ended it, else 0 */
  bool timed_out;
  bool unreaped; /* still alive after SIGKILL and the grace period */
  int64_t elapsed_ms;
} pve_run_result;

/* 0 with *res filled in (output appended to out), or a negative errno when
 * the child could not be started. */
int pve_run(const pve_run_spec *spec, pve_capture *out, pve_run_result *res);

bool pve_run_ok(const pve_run_result *res);

/* "exit code 0", "timed out after 5000 ms; process group killed", ... */
void pve_run_describe(const pve_run_result *res, char *out, size_t out_len);

/* Milliseconds on the monotonic clock. */
int64_t pve_now_ms(void);

#endif
