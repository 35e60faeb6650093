#include "bytes.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a buffer holds when its memory could not be had, or after free: an
 * empty string with no room, so readers need no NULL check and writers
 * find it full. Only its NUL is ever written. */
static char no_room[1];

int pve_bytes_init(pve_bytes *b, size_t cap) {
  b->len = 0;
  b->cap = 0;
  b->data = cap < SIZE_MAX ? malloc(cap + 1) : NULL;
  if (!b->data) {
    b->data = no_room;
    return -1;
  }
  b->cap = cap;
  b->data[0] = '\0';
  return 0;
}

void pve_bytes_free(pve_bytes *b) {
  if (b->data != no_room) free(b->data);
  b->data = no_room;
  b->len = b->cap = 0;
}

void pve_bytes_clear(pve_bytes *b) {
  b->len = 0;
  b->data[0] = '\0';
}

int pve_bytes_add(pve_bytes *b, const void *p, size_t n) {
  if (n > b->cap - b->len) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int pve_bytes_add_str(pve_bytes *b, const char *s) { return pve_bytes_add(b, s, strlen(s)); }

/* Formats straight into the free room (and its NUL); a result that does
 * not fit is taken back by restoring the NUL at len. */
int pve_bytes_printf(pve_bytes *b, const char *fmt, ...) {
  size_t room = b->cap - b->len;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->data + b->len, room + 1, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n > room) {
    b->data[b->len] = '\0';
    return -1;
  }
  b->len += (size_t)n;
  return 0;
}
