#include "standby.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

int pve_standby_read(int fd, char *buf, size_t cap, size_t *len, int64_t wait_ms) {
  int64_t deadline_ms = pve_now_ms() + wait_ms;
  size_t got = 0;
  for (;;) {
    int64_t left = deadline_ms - pve_now_ms();
    if (left <= 0) return -1;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc = poll(&p, 1, (int)left);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return -1;
    /* One byte at a time: nothing after the newline may be taken from
     * stdin, and a verb is a few bytes. */
    char ch;
    ssize_t n = read(fd, &ch, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return -1;
    if (ch == '\n') {
      *len = got;
      return 0;
    }
    if (got == cap) {
      *len = cap + 1;
      return 0;
    }
    buf[got++] = ch;
  }
}
