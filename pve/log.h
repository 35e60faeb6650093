/* The request log: what was asked, by whom, what was seen and done.
 *
 * A record is a header line
 *   2026-06-11T10:00:00.123Z breakglass-pve[4242] client=192.0.2.7 verb="cycle" <event>
 * followed by its body, each line as "  | <text>". Bytes outside printable
 * ASCII are written as \xNN, so neither the client's input nor qm's output
 * can forge a header line. Every record goes out in one write(2) under a
 * short flock of the log, so records never mix; a request's records are
 * told apart from another's by the pid in every header. Mutating verbs
 * hold the verb lock for their whole run, so their records never alternate
 * with another mutating verb's.
 */
#ifndef BG_PVE_LOG_H
#define BG_PVE_LOG_H

#include <stddef.h>

#include "bytes.h"

#define PVE_LOG_CLIENT_MAX_BYTES 64
#define PVE_LOG_INPUT_MAX_BYTES 64
#define PVE_LOG_LOCK_WAIT_MS 5000
#define PVE_LOG_TIME_BYTES 32

typedef struct pve_log {
  int fd;
  pve_bytes who; /* "breakglass-pve[pid] client=... verb=..." */
} pve_log;

/* Opens path for appending (created 0600; must be root's and not writable
 * by group or others). 0, or -1 with err. */
int pve_log_open(pve_log *log, const char *path, char *err, size_t err_len);
void pve_log_close(pve_log *log);

/* Names the request in every later header: the client address (first field
 * of SSH_CLIENT, or NULL) and the client's input (NULL when unset; kept is
 * how many of its total bytes the caller still has). */
void pve_log_set_request(pve_log *log, const char *client, const char *input, size_t kept,
                         size_t total);

/* Appends one record. 0, or -1 when it could not be written whole. */
int pve_log_record(pve_log *log, const char *body, size_t body_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* fsync: records written so far survive a crash. 0 or -1. */
int pve_log_sync(pve_log *log);

/* "YYYY-MM-DDTHH:MM:SS.mmmZ", now; out_len >= PVE_LOG_TIME_BYTES. */
void pve_log_utc_now(char *out, size_t out_len);

/* Appends s (len bytes) to out with bytes outside printable ASCII, '"' and
 * '\\' as \xNN. */
void pve_log_escape(pve_bytes *out, const char *s, size_t len);

#endif
