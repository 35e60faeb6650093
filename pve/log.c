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
/* Worst case per body byte (\xNN) plus a prefix and newline per line. */
#define PVE_LOG_BODY_EXPANSION 9

int pve_log_open(pve_log *log, const char *path, char *err, size_t err_len) {
  buf_init(&log->who, PVE_LOG_WHO_MAX_BYTES);
  log->fd = -1;
  char why[512];
  if (pve_file_open_trusted(path, O_WRONLY | O_APPEND | O_CREAT, S_IWGRP | S_IWOTH, &log->fd,
                            why, sizeof why) != 0) {
    snprintf(err, err_len, "log: %s", why);
    return -1;
  }
  return 0;
}

void pve_log_close(pve_log *log) {
  if (log->fd >= 0) close(log->fd);
  log->fd = -1;
  buf_free(&log->who);
}

static void escape_byte(buf *out, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
  buf_append(out, esc, sizeof esc);
}

void pve_log_escape(buf *out, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= ' ' && c <= '~' && c != '"' && c != '\\')
      buf_append(out, &s[i], 1);
    else
      escape_byte(out, c);
  }
}

void pve_log_set_request(pve_log *log, const char *client, const char *input, size_t kept,
                         size_t total) {
  buf_reset(&log->who);
  buf_appendf(&log->who, "breakglass-pve[%ld] client=", (long)getpid());
  if (client && *client) {
    size_t n = strcspn(client, " ");
    pve_log_escape(&log->who, client, n < PVE_LOG_CLIENT_MAX_BYTES ? n : PVE_LOG_CLIENT_MAX_BYTES);
  } else {
    buf_append_str(&log->who, "-");
  }
  if (!input) {
    buf_append_str(&log->who, " verb=(unset)");
    return;
  }
  size_t shown = kept < PVE_LOG_INPUT_MAX_BYTES ? kept : PVE_LOG_INPUT_MAX_BYTES;
  buf_append_str(&log->who, " verb=\"");
  pve_log_escape(&log->who, input, shown);
  buf_append_str(&log->who, "\"");
  if (total > shown) buf_appendf(&log->who, " verb_cut_from_bytes=%zu", total);
}

void pve_log_utc_now(char *out, size_t out_len) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, out_len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, out_len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void append_body(buf *rec, const char *body, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    const char *nl = memchr(body + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - body) : len;
    size_t line_end = end;
    if (line_end > pos && body[line_end - 1] == '\r') line_end--;
    buf_append_str(rec, PVE_LOG_BODY_PREFIX);
    for (size_t i = pos; i < line_end; i++) {
      unsigned char c = (unsigned char)body[i];
      if ((c >= ' ' && c <= '~') || c == '\t')
        buf_append(rec, &body[i], 1);
      else
        escape_byte(rec, c);
    }
    buf_append_str(rec, "\n");
    pos = end + 1;
  }
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

  buf rec;
  buf_init(&rec, PVE_LOG_TIME_BYTES + PVE_LOG_WHO_MAX_BYTES + PVE_LOG_EVENT_MAX_BYTES +
                     body_len * PVE_LOG_BODY_EXPANSION + 16);
  int rc = buf_appendf(&rec, "%s %s %s\n", when, buf_cstr(&log->who), event);
  append_body(&rec, body, body_len);
  /* A lock that cannot be had in time is no reason to lose the record. */
  bool locked = pve_lock_wait(log->fd, PVE_LOG_LOCK_WAIT_MS) == 0;
  if (rc == 0 && rec.data) rc = write_all(log->fd, rec.data, rec.len);
  if (locked) flock(log->fd, LOCK_UN);
  buf_free(&rec);
  return rc == 0 ? 0 : -1;
}

int pve_log_sync(pve_log *log) { return fsync(log->fd) == 0 ? 0 : -1; }
