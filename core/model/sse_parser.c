#include "sse_parser.h"

#include <string.h>

void sse_parser_init(sse_parser *p, size_t max_event_bytes, sse_event_cb on_event, void *ud) {
  p->on_event = on_event;
  p->ud = ud;
  p->max_event_bytes = max_event_bytes;
  /* The combined cap is checked here; each buf only needs the same bound. */
  buf_init(&p->line, max_event_bytes);
  buf_init(&p->event, max_event_bytes);
  buf_init(&p->data, max_event_bytes);
  p->after_cr = 0;
  p->failed = 0;
}

void sse_parser_free(sse_parser *p) {
  buf_free(&p->line);
  buf_free(&p->event);
  buf_free(&p->data);
}

/* Bytes of the event being built, the current line excluded. */
static size_t sse_event_bytes(const sse_parser *p) { return p->event.len + p->data.len; }

static int sse_fail(sse_parser *p, int err) {
  p->failed = err;
  return err;
}

static int sse_append(sse_parser *p, buf *b, const char *s, size_t n, size_t held) {
  if (n > p->max_event_bytes || held > p->max_event_bytes - n)
    return sse_fail(p, SSE_ERR_TOO_LARGE);
  if (buf_append(b, s, n) != 0) return sse_fail(p, SSE_ERR_NOMEM);
  return 0;
}

static int sse_dispatch(sse_parser *p) {
  int rc = 0;
  /* Every data line added a "\n"; none at all means there is no event. */
  if (p->data.len > 0) {
    p->data.len--;
    p->data.data[p->data.len] = '\0';
    rc = p->on_event(p->ud, buf_cstr(&p->event), p->event.len, buf_cstr(&p->data), p->data.len);
  }
  buf_reset(&p->event);
  buf_reset(&p->data);
  return rc;
}

static int sse_field(sse_parser *p, const char *line, size_t n) {
  const char *colon = memchr(line, ':', n);
  size_t name_len = colon ? (size_t)(colon - line) : n;
  const char *value = colon ? colon + 1 : line + n;
  size_t value_len = (size_t)(line + n - value);
  if (value_len > 0 && value[0] == ' ') {
    value++;
    value_len--;
  }
  if (name_len == 5 && memcmp(line, "event", 5) == 0) {
    buf_reset(&p->event);
    return sse_append(p, &p->event, value, value_len, sse_event_bytes(p));
  }
  if (name_len == 4 && memcmp(line, "data", 4) == 0) {
    int rc = sse_append(p, &p->data, value, value_len, sse_event_bytes(p));
    return rc ? rc : sse_append(p, &p->data, "\n", 1, sse_event_bytes(p));
  }
  /* id, retry and unknown fields: nothing here uses reconnection state. */
  return 0;
}

static int sse_line_end(sse_parser *p) {
  int rc = 0;
  if (p->line.len == 0)
    rc = sse_dispatch(p);
  else if (p->line.data[0] != ':')
    rc = sse_field(p, p->line.data, p->line.len);
  buf_reset(&p->line);
  return rc;
}

int sse_parser_feed(sse_parser *p, const char *bytes, size_t len) {
  if (p->failed) return p->failed;
  size_t i = 0;
  while (i < len) {
    if (p->after_cr) {
      p->after_cr = 0;
      if (bytes[i] == '\n') {
        i++;
        continue;
      }
    }
    size_t j = i;
    while (j < len && bytes[j] != '\n' && bytes[j] != '\r') j++;
    int rc = sse_append(p, &p->line, bytes + i, j - i, p->line.len + sse_event_bytes(p));
    if (rc) return rc;
    if (j == len) break;
    p->after_cr = bytes[j] == '\r';
    i = j + 1;
    rc = sse_line_end(p);
    if (rc) return rc;
  }
  return 0;
}
