/* Log records on stderr, one a line: plain (UTC time with milliseconds,
 * level, text; the lab's default) or JSON (one object a line: ts, level,
 * msg, and request_id, session, call_id, identity where they apply).
 *
 * Each record is built whole and written with one write(), so records
 * never interleave. Every record passes the redactor (redactor.h)
 * before it is written: the same secrets the journal keeps out stay out of
 * the log, whatever a call site formats (a model error that quotes the API
 * key, say). Values from outside are written as given; callers quote them.
 *
 * The context fields are not passed at each call site: the code that
 * handles a request or a step of an action sets the current context on
 * entry (log_context_enter) and puts the previous one back when it returns
 * (log_context_leave); every record written meanwhile carries it. Work
 * that outlives its caller (an action, a model call) keeps a copy and
 * enters it from each of its callbacks. The loop thread only.
 */
#ifndef BG_LOG_H
#define BG_LOG_H

#include <stddef.h>

#include "limits_table.h"

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
typedef enum { LOG_FORMAT_PLAIN, LOG_FORMAT_JSON } log_format;

struct redactor;

void log_set_level(log_level min);
void log_set_format(log_format format);
/* The redactor every record passes from now on (NULL: none). It must
 * outlive its use: set NULL before freeing it. */
void log_set_redactor(const struct redactor *r);

void log_write(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

/* What a record is about; "" where a field does not apply. Plain values:
 * copying one keeps it. */
typedef struct log_context {
  char request_id[LOG_MAX_FIELD_BYTES];
  char session[LOG_MAX_FIELD_BYTES];
  char call_id[LOG_MAX_FIELD_BYTES];
  char identity[LOG_MAX_FIELD_BYTES];
} log_context;

/* The context records are written with now; a handler may fill in what it
 * learns (the identity, once authenticated) while it runs. */
log_context *log_context_now(void);
/* Sets each field that is not NULL (NULL leaves it as it is). */
void log_context_set(log_context *c, const char *request_id, const char *session,
                     const char *call_id, const char *identity);
/* Makes *c current and returns the context it replaces, for
 * log_context_leave when the handler returns. */
log_context log_context_enter(const log_context *c);
void log_context_leave(const log_context *previous);

/* One record as the format writes it, without the newline: what log_write
 * sends, for tests. Returns the length written to out (cut to fit size). */
size_t log_format_record(char *out, size_t size, log_format format, log_level level,
                         unsigned long long epoch_ms, const char *msg, const log_context *c);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" for ms since the epoch; out >= 32 bytes. */
void log_format_utc(char *out, unsigned long long epoch_ms);
unsigned long long log_now_ms(void);

#endif
