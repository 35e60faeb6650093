#include "ssh_capture.h"

#include <stdlib.h>
#include <string.h>

void ssh_capture_init(ssh_capture *c, size_t max_bytes) {
  memset(c, 0, sizeof *c);
  c->max_bytes = max_bytes;
}

static size_t capture_head_cap(const ssh_capture *c) { return c->max_bytes / 2; }
static size_t capture_tail_cap(const ssh_capture *c) { return c->max_bytes - c->max_bytes / 2; }

int ssh_capture_append(ssh_capture *c, const char *p, size_t n) {
  c->total_bytes += n;
  size_t room = capture_head_cap(c) - c->head_len;
  if (room > 0) {
    if (!c->head && !(c->head = malloc(capture_head_cap(c)))) return -1;
    size_t take = n < room ? n : room;
    memcpy(c->head + c->head_len, p, take);
    c->head_len += take;
    p += take;
    n -= take;
  }
  size_t cap = capture_tail_cap(c);
  if (n == 0 || cap == 0) return 0;
  if (!c->tail && !(c->tail = malloc(cap))) return -1;
  /* Only the last cap bytes of this chunk can survive. */
  if (n > cap) {
    p += n - cap;
    n = cap;
  }
  while (n > 0) {
    size_t end = (c->tail_start + c->tail_len) % cap;
    size_t chunk = cap - end < n ? cap - end : n;
    memcpy(c->tail + end, p, chunk);
    p += chunk;
    n -= chunk;
    c->tail_len += chunk;
    if (c->tail_len > cap) {
      c->tail_start = (c->tail_start + c->tail_len - cap) % cap;
      c->tail_len = cap;
    }
  }
  return 0;
}

char *ssh_capture_join(const ssh_capture *c, size_t *len, uint64_t *cut) {
  size_t n = c->head_len + c->tail_len;
  char *s = malloc(n + 1);
  if (!s) return NULL;
  if (c->head_len) memcpy(s, c->head, c->head_len);
  size_t cap = capture_tail_cap(c);
  for (size_t i = 0; i < c->tail_len; i++) s[c->head_len + i] = c->tail[(c->tail_start + i) % cap];
  s[n] = '\0';
  *len = n;
  *cut = c->total_bytes - n;
  return s;
}

void ssh_capture_free(ssh_capture *c) {
  free(c->head);
  free(c->tail);
  memset(c, 0, sizeof *c);
}
