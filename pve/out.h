/* Output to the SSH client, and captured output with a size cap.
 *
 * The client may vanish (EPIPE) or stop reading (a full pipe) at any time;
 * neither may stop or stall a verb. A write that cannot make progress for
 * PVE_CLIENT_STALL_MS, or fails, marks the client gone and later writes are
 * dropped. A capture keeps the first max bytes of a step's output for the
 * log and mirrors exactly those bytes to the client.
 */
#ifndef BG_PVE_OUT_H
#define BG_PVE_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"

#define PVE_CLIENT_STALL_MS 10000

typedef struct pve_client {
  int fd;
  int saved_flags; /* restored at close: a terminal's flags are shared */
  bool gone;
} pve_client;

void pve_client_open(pve_client *c, int fd);
void pve_client_close(pve_client *c);
void pve_client_write(pve_client *c, const void *data, size_t len);
void pve_client_printf(pve_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct pve_capture {
  pve_bytes b;
  size_t limit_bytes;
  bool truncated;
  pve_client *mirror; /* NULL: keep only */
} pve_capture;

void pve_capture_init(pve_capture *cap, size_t limit_bytes, pve_client *mirror);
void pve_capture_free(pve_capture *cap);
/* Keeps what fits under the limit; on the first overflow appends a marker
 * line saying so. Never fails: running out of memory counts as overflow. */
void pve_capture_append(pve_capture *cap, const void *data, size_t len);
void pve_capture_printf(pve_capture *cap, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
