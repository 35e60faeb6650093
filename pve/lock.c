#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "run.h"

int pve_lock_wait(int fd, int64_t wait_ms) {
  int64_t until = pve_now_ms() + wait_ms;
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno != EWOULDBLOCK && errno != EINTR) return -1;
    if (pve_now_ms() >= until) return -1;
    struct timespec pause = {.tv_sec = 0, .tv_nsec = PVE_LOCK_POLL_MS * 1000000L};
    nanosleep(&pause, NULL);
  }
}

int pve_lock_acquire(const char *path, int64_t wait_ms, int *fd_out, char *err, size_t err_len) {
  int fd;
  if (pve_file_open_trusted(path, O_RDWR | O_CREAT, S_IRWXG | S_IRWXO, &fd, err, err_len) != 0)
    return -EPERM;
  if (pve_lock_wait(fd, wait_ms) != 0) {
    snprintf(err, err_len, "another mutating verb holds %s; gave up after %lld s", path,
             (long long)(wait_ms / 1000));
    close(fd);
    return -EBUSY;
  }
  *fd_out = fd;
  return 0;
}
