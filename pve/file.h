/* Opening the files breakglass-pve trusts: its config, log and lock.
 *
 * Each must be a regular file (a symlink in the last component is refused,
 * so a link planted in a shared directory cannot redirect us), owned by
 * root, and without the mode bits the caller forbids. The checks run on the
 * opened descriptor, so nothing can be swapped in between check and use.
 */
#ifndef BG_PVE_FILE_H
#define BG_PVE_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "bytes.h"

/* 0 and *fd_out (close-on-exec), or -1 with a sentence in err naming path.
 * flags are open(2) flags; O_CREAT creates the file with mode 0600. */
int pve_file_open_trusted(const char *path, int flags, mode_t forbidden_bits, int *fd_out,
                          char *err, size_t err_len);

/* Reads fd to its end into out. 0, or -1 when out's cap is reached or read
 * fails (errno set; EFBIG for the cap). */
int pve_file_read_all(int fd, pve_bytes *out);

#endif
