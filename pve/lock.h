/* The exclusive lock that serialises mutating verbs, and bounded flock waits.
 *
 * flock(2) has no timeout, so waits poll a non-blocking attempt every
 * PVE_LOCK_POLL_MS until the bound: simple, and a lock held by a process
 * that died is released by the kernel with its descriptor.
 */
#ifndef BG_PVE_LOCK_H
#define BG_PVE_LOCK_H

#include <stddef.h>
#include <stdint.h>

#define PVE_LOCK_POLL_MS 50

/* 0 when fd is flocked exclusively, -1 when wait_ms passed first (or
 * flock failed otherwise; errno tells). */
int pve_lock_wait(int fd, int64_t wait_ms);

/* Opens (creating, mode 0600) the lock file at path and takes the lock.
 * The file must be root's and closed to group and others: anyone who can
 * open it could hold the lock forever. 0 and *fd_out (kept open for the
 * lock's life); -EPERM with err when the file is unsafe; -EBUSY with err
 * when wait_ms passed first. */
int pve_lock_acquire(const char *path, int64_t wait_ms, int *fd_out, char *err, size_t err_len);

#endif
