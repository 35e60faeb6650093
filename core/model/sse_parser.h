/* A server-sent events decoder (WHATWG "event stream interpretation").
 *
 * Pure: bytes go in through sse_parser_feed, whole events come out through
 * a callback; it never touches a socket, so it is fed by the model client's
 * write callback, by unit tests at every chunk split, and by the fuzzer.
 *
 * Lines end in LF, CRLF or a lone CR, and a CR ending one chunk followed by
 * an LF starting the next is one terminator. Comment lines (":...") and the
 * id and retry fields are ignored (the caller restarts its idle timer on
 * every byte, so comments still count as activity). An event that ends
 * without a blank line before EOF is never dispatched.
 */
#ifndef BG_SSE_PARSER_H
#define BG_SSE_PARSER_H

#include <stddef.h>

#include "buf.h"

/* One event too large for the cap given to sse_parser_init. */
#define SSE_ERR_TOO_LARGE (-1)
/* Memory ran out. */
#define SSE_ERR_NOMEM (-2)

/* Called once per dispatched event. event is the "event:" field ("" when the
 * stream named none; WHATWG calls that "message"); data is the "data:" lines
 * joined with "\n". Both are NUL-terminated and live only during the call.
 * A non-zero return stops sse_parser_feed, which returns that value. */
typedef int (*sse_event_cb)(void *ud, const char *event, size_t event_len, const char *data,
                            size_t data_len);

typedef struct sse_parser {
  sse_event_cb on_event;
  void *ud;
  size_t max_event_bytes; /* line being read + data gathered so far */
  buf line;               /* the current, unterminated line */
  buf event;              /* the last "event:" value of this event */
  buf data;               /* "data:" values, each followed by "\n" */
  int after_cr;           /* the last byte seen was a CR: skip one LF */
  int failed;             /* an SSE_ERR_ code that every later feed returns */
} sse_parser;

void sse_parser_init(sse_parser *p, size_t max_event_bytes, sse_event_cb on_event, void *ud);
void sse_parser_free(sse_parser *p);

/* 0 when every byte was taken; SSE_ERR_TOO_LARGE once one event passes the
 * cap, or SSE_ERR_NOMEM (the parser then stays failed); or the callback's
 * non-zero return, in which case the bytes after that event were not read.
 * Callback returns should therefore not collide with the SSE_ERR_ codes. */
int sse_parser_feed(sse_parser *p, const char *bytes, size_t len);

#endif
