#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PVE_FILE_CREATE_MODE 0600
#define PVE_FILE_READ_CHUNK_BYTES 4096

int pve_file_open_trusted(const char *path, int flags, mode_t forbidden_bits, int *fd_out,
                          char *err, size_t err_len) {
  /* O_NONBLOCK: opening a FIFO planted at path must not hang us; the
   * regular-file check below then refuses it. */
  int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, PVE_FILE_CREATE_MODE);
  if (fd < 0) {
    if (errno == ELOOP)
      snprintf(err, err_len, "%s is a symbolic link; refusing it", path);
    else
      snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  const char *problem = NULL;
  if (fstat(fd, &st) != 0)
    problem = "cannot be examined";
  else if (!S_ISREG(st.st_mode))
    problem = "is not a regular file";
  else if (st.st_uid != 0)
    problem = "is not owned by root";
  else if (st.st_mode & forbidden_bits)
    problem = (forbidden_bits & (S_IRGRP | S_IROTH)) ? "is accessible to group or others"
                                                     : "is writable by group or others";
  if (problem) {
    snprintf(err, err_len, "%s %s; refusing it (want a root-owned file, mode %04o or stricter)",
             path, problem, (unsigned)(07777 & ~forbidden_bits & 0666));
    close(fd);
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  *fd_out = fd;
  return 0;
}

int pve_file_read_all(int fd, pve_bytes *out) {
  char chunk[PVE_FILE_READ_CHUNK_BYTES];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return 0;
    if (pve_bytes_add(out, chunk, (size_t)n) != 0) {
      errno = EFBIG;
      return -1;
    }
  }
}
