/* Standby: breakglass-pve started ahead of the verb, waiting for it.
 *
 * sshd's fork and exec of the forced command are most of a power verb's
 * time. A client that wants its next verb to start at once runs
 * PVE_STANDBY_COMMAND ahead of the press; breakglass-pve then sets itself
 * up and waits for one line on stdin, the verb, which it checks exactly as
 * it checks SSH_ORIGINAL_COMMAND. A standby nobody uses ends quietly after
 * PVE_STANDBY_WAIT_MAX_MS or when the client goes away, and leaves no
 * record: it did nothing.
 */
#ifndef BG_PVE_STANDBY_H
#define BG_PVE_STANDBY_H

#include <stddef.h>
#include <stdint.h>

#define PVE_STANDBY_WAIT_MAX_MS (10 * 60 * 1000)

/* Reads from fd until a newline, at most cap bytes, waiting at most
 * wait_ms in all. Returns 0 with the line in buf (without its newline; not
 * NUL-terminated) and its length in *len, or its first cap bytes when the
 * line is longer (then *len is cap + 1, so that a length check rejects it);
 * -1 when the client went away, wait_ms ran out or a read failed. */
int pve_standby_read(int fd, char *buf, size_t cap, size_t *len, int64_t wait_ms);

#endif
