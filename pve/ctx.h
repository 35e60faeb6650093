/* What every part of a breakglass-pve request shares: settings, the log,
 * the client's stdout and stderr, the verb's deadline, and the exit codes.
 */
#ifndef BG_PVE_CTX_H
#define BG_PVE_CTX_H

#include <stdint.h>

#include "config.h"
#include "log.h"
#include "out.h"

/* Exit codes. None is 255, which the SSH client uses for its own errors. */
typedef enum pve_exit {
  PVE_EXIT_OK = 0,
  PVE_EXIT_FAILED = 1,   /* qm or a verb step failed */
  PVE_EXIT_REJECTED = 2, /* SSH_ORIGINAL_COMMAND is not exactly one verb */
  PVE_EXIT_BUSY = 3,     /* another mutating verb held the lock too long */
  PVE_EXIT_CONFIG = 4,   /* bad arguments, config file or lock file */
  PVE_EXIT_TIMEOUT = 5,  /* verb_timeout_seconds ran out */
  PVE_EXIT_LOG = 6,      /* the log could not be opened or written: not acting */
  PVE_EXIT_INTERNAL = 7, /* a system call failed (fork, pipe, memory) */
} pve_exit;

#define PVE_VMID_BYTES 16

typedef struct pve_ctx {
  const pve_config *cfg;
  pve_log *log;
  pve_client *out;
  pve_client *err;
  int64_t deadline_ms; /* monotonic; the verb stops here */
  char vmid[PVE_VMID_BYTES];
} pve_ctx;

#endif
