#include "buf.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t max_bytes) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max_bytes = max_bytes;
}

void buf_free(buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void buf_reset(buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

/* Grows so that need bytes plus the terminating NUL fit. A need past half
 * the address space fails here, so that neither need + 1 nor the doubling
 * can wrap, whatever max_bytes is (SIZE_MAX included). */
static int buf_reserve(buf *b, size_t need) {
  if (need > b->max_bytes || need > SIZE_MAX / 2) return -1;
  if (need + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need + 1) cap *= 2;
  if (cap - 1 > b->max_bytes) cap = b->max_bytes + 1;
  char *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int buf_append(buf *b, const void *p, size_t n) {
  if (n > b->max_bytes - b->len) return -1;
  if (buf_reserve(b, b->len + n) != 0) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int buf_append_str(buf *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_vappendf(buf *b, const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0) return -1;
  if ((size_t)n > b->max_bytes - b->len) return -1;
  if (buf_reserve(b, b->len + (size_t)n) != 0) return -1;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int buf_appendf(buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = buf_vappendf(b, fmt, ap);
  va_end(ap);
  return rc;
}

char *buf_steal(buf *b, size_t *len_out) {
  if (!b->data) {
    if (buf_reserve(b, 0) != 0) return NULL;
    b->data[0] = '\0'; /* an empty buffer hands out an empty string */
  }
  char *p = b->data;
  if (len_out) *len_out = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

const char *buf_cstr(const buf *b) { return b->data ? b->data : ""; }
