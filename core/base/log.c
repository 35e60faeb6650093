#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "limits_table.h"
#include "redactor.h"
#include "utf8_text.h"

/* The log is the process's stderr: one of each, like the loop. */
static log_level min_level = LOG_INFO;
static log_format format = LOG_FORMAT_PLAIN;
static const redactor *secrets;
static log_context current;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level min) { min_level = min; }
void log_set_format(log_format f) { format = f; }
void log_set_redactor(const redactor *r) { secrets = r; }

unsigned long long log_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)(ts.tv_nsec / 1000000);
}

void log_format_utc(char *out, unsigned long long epoch_ms) {
  time_t secs = (time_t)(epoch_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  /* strftime bounds every field, which snprintf's analysis cannot see. */
  size_t n = strftime(out, 21, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 6, ".%03uZ", (unsigned)(epoch_ms % 1000));
}

/* --- context --------------------------------------------------------------- */

log_context *log_context_now(void) { return &current; }

static void field_set(char *field, const char *value) {
  if (!value) return;
  size_t n = utf8_text_cut(value, strlen(value), LOG_MAX_FIELD_BYTES - 1);
  memcpy(field, value, n);
  field[n] = '\0';
}

void log_context_set(log_context *c, const char *request_id, const char *session,
                     const char *call_id, const char *identity) {
  field_set(c->request_id, request_id);
  field_set(c->session, session);
  field_set(c->call_id, call_id);
  field_set(c->identity, identity);
}

log_context log_context_enter(const log_context *c) {
  log_context previous = current;
  if (c != &current) current = *c;
  return previous;
}

void log_context_leave(const log_context *previous) { current = *previous; }

/* --- records ----------------------------------------------------------------- */

/* s as the inside of a JSON string, escaped as jansson escapes (so the
 * redactor's JSON forms of secrets match), invalid UTF-8 as U+FFFD. */
static int json_escape(buf *out, const char *s, size_t len) {
  int rc = 0;
  for (size_t i = 0; i < len && rc == 0;) {
    unsigned char c = (unsigned char)s[i];
    size_t seq = c < 0x80 ? 1 : utf8_text_seq_len((const unsigned char *)s + i, len - i);
    if (seq == 0) {
      rc = buf_append(out, "\xEF\xBF\xBD", 3);
      i++;
      continue;
    }
    const char *esc = utf8_text_json_escape(c);
    if (esc)
      rc = buf_append(out, esc, 2);
    else if (c < 0x20)
      rc = buf_appendf(out, "\\u%04X", c);
    else
      rc = buf_append(out, s + i, seq);
    i += seq;
  }
  return rc;
}

static int json_field(buf *out, const char *key, const char *value) {
  if (!value[0]) return 0;
  int rc = buf_appendf(out, ",\"%s\":\"", key);
  if (rc == 0) rc = json_escape(out, value, strlen(value));
  if (rc == 0) rc = buf_append(out, "\"", 1);
  return rc;
}

static int record_build(buf *out, log_format f, log_level level, unsigned long long epoch_ms,
                        const char *msg, size_t len, const log_context *c) {
  char stamp[32];
  log_format_utc(stamp, epoch_ms);
  if (f == LOG_FORMAT_PLAIN) {
    int rc = buf_appendf(out, "%s %s ", stamp, level_names[level]);
    return rc == 0 ? buf_append(out, msg, len) : rc;
  }
  int rc = buf_appendf(out, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", stamp,
                       level_names[level]);
  if (rc == 0) rc = json_escape(out, msg, len);
  if (rc == 0) rc = buf_append(out, "\"", 1);
  if (rc == 0) rc = json_field(out, "request_id", c->request_id);
  if (rc == 0) rc = json_field(out, "session", c->session);
  if (rc == 0) rc = json_field(out, "call_id", c->call_id);
  if (rc == 0) rc = json_field(out, "identity", c->identity);
  if (rc == 0) rc = buf_append(out, "}", 1);
  return rc;
}

size_t log_format_record(char *out, size_t size, log_format f, log_level level,
                         unsigned long long epoch_ms, const char *msg, const log_context *c) {
  buf b;
  buf_init(&b, LOG_MAX_RECORD_BYTES);
  size_t n = 0;
  if (record_build(&b, f, level, epoch_ms, msg, strlen(msg), c) == 0 && size > 0) {
    n = b.len < size - 1 ? b.len : size - 1;
    memcpy(out, b.data, n);
  }
  if (size > 0) out[n] = '\0';
  buf_free(&b);
  return n;
}

/* All of it, retried after a signal or a partial write: one record is one
 * write() unless the pipe cannot take it at once. */
static void write_all(const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(STDERR_FILENO, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    len -= (size_t)n;
  }
}

/* The message, redacted while whole (a secret cut in two by the length
 * limit would escape the redactor), then cut to the limit. */
static char *message_of(const char *fmt, va_list ap, size_t *len)
    __attribute__((format(printf, 1, 0)));
static char *message_of(const char *fmt, va_list ap, size_t *len) {
  char *raw = NULL;
  int n = vasprintf(&raw, fmt, ap);
  if (n < 0) return NULL;
  char *msg = redactor_apply(secrets, raw, (size_t)n, len);
  free(raw);
  if (msg) {
    *len = utf8_text_cut(msg, *len, LOG_MAX_MESSAGE_BYTES);
    msg[*len] = '\0';
  }
  return msg;
}

/* The context fields hold values from outside too (a client's
 * X-Request-Id may be anything): each is redacted before it is written. */
static int context_redacted(log_context *out) {
  char *const fields[] = {out->request_id, out->session, out->call_id, out->identity};
  const char *const from[] = {current.request_id, current.session, current.call_id,
                              current.identity};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    size_t n;
    char *clean = redactor_apply(secrets, from[i], strlen(from[i]), &n);
    if (!clean) return -1;
    field_set(fields[i], clean);
    free(clean);
  }
  return 0;
}

void log_write(log_level level, const char *fmt, ...) {
  if (level < min_level) return;
  va_list ap;
  va_start(ap, fmt);
  size_t len = 0;
  char *msg = message_of(fmt, ap, &len);
  va_end(ap);
  log_context ctx;
  buf b;
  buf_init(&b, LOG_MAX_RECORD_BYTES);
  int rc = msg && context_redacted(&ctx) == 0
               ? record_build(&b, format, level, log_now_ms(), msg, len, &ctx)
               : -1;
  free(msg);
  if (rc == 0) rc = buf_append(&b, "\n", 1);
  if (rc != 0) {
    static const char oom[] = "log: out of memory writing a record\n";
    write_all(oom, sizeof oom - 1);
  } else {
    write_all(b.data, b.len);
  }
  buf_free(&b);
}
