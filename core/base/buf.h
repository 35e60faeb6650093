/* A growable byte buffer with a hard size cap.
 *
 * Every buffer that holds bytes from outside (a request, a model stream, a
 * command's output) is one of these, so that "nothing unbounded" is a
 * property of the type rather than of each caller's care.
 */
#ifndef BG_BUF_H
#define BG_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
  char *data; /* always NUL-terminated past len once allocated */
  size_t len;
  size_t cap;
  size_t max_bytes; /* appends that would pass this fail */
} buf;

void buf_init(buf *b, size_t max_bytes);
void buf_free(buf *b);
void buf_reset(buf *b);

/* 0, or -1 when the cap would be passed or memory ran out; b is unchanged. */
int buf_append(buf *b, const void *p, size_t n);
int buf_append_str(buf *b, const char *s);
int buf_appendf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vappendf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Hands the bytes to the caller (free() them) and leaves b empty. */
char *buf_steal(buf *b, size_t *len_out);

/* A string view of the contents, "" when empty. */
const char *buf_cstr(const buf *b);

#endif
