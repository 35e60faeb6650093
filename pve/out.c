#include "out.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#define PVE_PRINTF_MAX_BYTES 1024
#define PVE_CAPTURE_MARKER_MAX_BYTES 96

void pve_client_open(pve_client *c, int fd) {
  c->fd = fd;
  c->gone = false;
  c->saved_flags = fcntl(fd, F_GETFL);
  if (c->saved_flags < 0 || fcntl(fd, F_SETFL, c->saved_flags | O_NONBLOCK) != 0) c->gone = true;
}

void pve_client_close(pve_client *c) {
  if (c->saved_flags >= 0) fcntl(c->fd, F_SETFL, c->saved_flags);
}

void pve_client_write(pve_client *c, const void *data, size_t len) {
  const char *p = data;
  while (!c->gone && len > 0) {
    ssize_t n = write(c->fd, p, len);
    if (n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
      int rc = poll(&pfd, 1, PVE_CLIENT_STALL_MS);
      if (rc > 0 || (rc < 0 && errno == EINTR)) continue;
    }
    c->gone = true;
  }
}

/* fmt's text in line, cut to fit; its length (0 when fmt cannot be
 * formatted). */
static size_t line_format(char line[PVE_PRINTF_MAX_BYTES], const char *fmt, va_list ap) {
  int n = vsnprintf(line, PVE_PRINTF_MAX_BYTES, fmt, ap);
  if (n < 0) return 0;
  return (size_t)n < PVE_PRINTF_MAX_BYTES ? (size_t)n : PVE_PRINTF_MAX_BYTES - 1;
}

void pve_client_printf(pve_client *c, const char *fmt, ...) {
  char line[PVE_PRINTF_MAX_BYTES];
  va_list ap;
  va_start(ap, fmt);
  size_t len = line_format(line, fmt, ap);
  va_end(ap);
  pve_client_write(c, line, len);
}

void pve_capture_init(pve_capture *cap, size_t limit_bytes, pve_client *mirror) {
  /* Without the memory b has no room: the capture is cut at its first byte. */
  pve_bytes_init(&cap->b, limit_bytes + PVE_CAPTURE_MARKER_MAX_BYTES);
  cap->limit_bytes = limit_bytes;
  cap->truncated = false;
  cap->mirror = mirror;
}

void pve_capture_free(pve_capture *cap) { pve_bytes_free(&cap->b); }

static void capture_keep(pve_capture *cap, const char *data, size_t len) {
  if (pve_bytes_add(&cap->b, data, len) != 0) return;
  if (cap->mirror) pve_client_write(cap->mirror, data, len);
}

void pve_capture_append(pve_capture *cap, const void *data, size_t len) {
  if (cap->truncated) return;
  size_t room = cap->limit_bytes > cap->b.len ? cap->limit_bytes - cap->b.len : 0;
  size_t take = len < room ? len : room;
  size_t before = cap->b.len;
  if (take) capture_keep(cap, data, take);
  if (take == len && cap->b.len == before + take) return;
  cap->truncated = true;
  char marker[PVE_CAPTURE_MARKER_MAX_BYTES];
  int n = snprintf(marker, sizeof marker, "\n[output cut here: limit of %zu bytes reached]\n",
                   cap->limit_bytes);
  if (n > 0 && (size_t)n < sizeof marker) capture_keep(cap, marker, (size_t)n);
}

void pve_capture_printf(pve_capture *cap, const char *fmt, ...) {
  char line[PVE_PRINTF_MAX_BYTES];
  va_list ap;
  va_start(ap, fmt);
  size_t len = line_format(line, fmt, ap);
  va_end(ap);
  pve_capture_append(cap, line, len);
}
