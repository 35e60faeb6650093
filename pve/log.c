#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "lock.h"

#define PVE_LOG_WHO_MAX_BYTES 1024
#define PVE_LOG_EVENT_MAX_BYTES 1024
#define PVE_LOG_BODY_PREFIX "  | "
/* A body line costs its prefix and newline (5 bytes) and needs at least
 * one byte of body (its '\n', or one byte for a last line without one);
 * an escaped byte costs 4. So a body of n bytes takes at most 5 n + 5. */
#define PVE_LOG_BODY_EXPANSION 5

int pve_log_open(pve_log *log, const char *path, char *err, size_t err_len) {
  log->fd = -1;
  if (pve_bytes_init(&log->who, PVE_LOG_WHO_MAX_BYTES) != 0) {
    snprintf(err, err_len, "log: out of memory");
    return -1;
  }
  char why[512];
  if (pve_file_open_trusted(path, O_WRONLY | O_APPEND | O_CREAT, S_IWGRP | S_IWOTH, &log->fd, why,
                            sizeof why) != 0) {
    snprintf(err, err_len, "log: %s", why);
    pve_bytes_free(&log->who);
    return -1;
  }
  return 0;
}

void pve_log_close(pve_log *log) {
  if (log->fd >= 0) close(log->fd);
  log->fd = -1;
  pve_bytes_free(&log->who);
}

static int escape_byte(pve_bytes *out, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
  return pve_bytes_add(out, esc, sizeof esc);
}

void pve_log_escape(pve_bytes *out, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= ' ' && c <= '~' && c != '"' && c != '\\')
      pve_bytes_add(out, &s[i], 1);
    else
      escape_byte(out, c);
  }
}

void pve_log_set_request(pve_log *log, const char *client, const char *input, size_t kept,
                         size_t total) {
  pve_bytes_clear(&log->who);
  pve_bytes_printf(&log->who, "breakglass-pve[%ld] client=", (long)getpid());
  if (client && *client) {
    size_t n = strcspn(client, " ");
    pve_log_escape(&log->who, client, n < PVE_LOG_CLIENT_MAX_BYTES ? n : PVE_LOG_CLIENT_MAX_BYTES);
  } else {
    pve_bytes_add_str(&log->who, "-");
  }
  if (!input) {
    pve_bytes_add_str(&log->who, " verb=(unset)");
    return;
  }
  size_t shown = kept < PVE_LOG_INPUT_MAX_BYTES ? kept : PVE_LOG_INPUT_MAX_BYTES;
  pve_bytes_add_str(&log->who, " verb=\"");
  pve_log_escape(&log->who, input, shown);
  pve_bytes_add_str(&log->who, "\"");
  if (total > shown) pve_bytes_printf(&log->who, " verb_cut_from_bytes=%zu", total);
}

void pve_log_utc_now(char *out, size_t out_len) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, out_len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, out_len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static int append_body(pve_bytes *rec, const char *body, size_t len) {
  int rc = 0;
  size_t pos = 0;
  while (pos < len) {
    const char *nl = memchr(body + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - body) : len;
    size_t line_end = end;
    if (line_end > pos && body[line_end - 1] == '\r') line_end--;
    rc |= pve_bytes_add_str(rec, PVE_LOG_BODY_PREFIX);
    for (size_t i = pos; i < line_end; i++) {
      unsigned char c = (unsigned char)body[i];
      if ((c >= ' ' && c <= '~') || c == '\t')
        rc |= pve_bytes_add(rec, &body[i], 1);
      else
        rc |= escape_byte(rec, c);
    }
    rc |= pve_bytes_add_str(rec, "\n");
    pos = end + 1;
  }
  return rc;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int pve_log_record(pve_log *log, const char *body, size_t body_len, const char *fmt, ...) {
  char event[PVE_LOG_EVENT_MAX_BYTES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(event, sizeof event, fmt, ap);
  va_end(ap);
  char when[PVE_LOG_TIME_BYTES];
  pve_log_utc_now(when, sizeof when);

  /* The header is its three parts, two spaces and a newline. */
  pve_bytes rec;
  pve_bytes_init(&rec, PVE_LOG_TIME_BYTES + PVE_LOG_WHO_MAX_BYTES + PVE_LOG_EVENT_MAX_BYTES + 3 +
                           body_len * PVE_LOG_BODY_EXPANSION + PVE_LOG_BODY_EXPANSION);
  int rc = pve_bytes_printf(&rec, "%s %s %s\n", when, log->who.data, event);
  if (rc == 0) rc = append_body(&rec, body, body_len);
  /* A lock that cannot be had in time is no reason to lose the record. */
  bool locked = pve_lock_wait(log->fd, PVE_LOG_LOCK_WAIT_MS) == 0;
  if (rc == 0) rc = write_all(log->fd, rec.data, rec.len);
  if (locked) flock(log->fd, LOCK_UN);
  pve_bytes_free(&rec);
  return rc == 0 ? 0 : -1;
}

int pve_log_sync(pve_log *log) { return fsync(log->fd) == 0 ? 0 : -1; }
