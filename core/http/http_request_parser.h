/* HTTP/1.1 request parsing over llhttp, as a pure layer: bytes in, one of
 * "need more", "request complete" or "error with the status to answer" out.
 * It never touches a socket, so it can be tested and fuzzed on its own.
 *
 * Usage: feed bytes; on HTTP_PARSE_HEAD_DONE the head is complete and no
 * body byte has been taken: read it with http_request_parser_head() (to
 * decide whether the body is worth reading at all), then feed on. On
 * HTTP_PARSE_DONE read the request, answer it, then call
 * http_request_parser_next() and feed the bytes that were not consumed
 * (pipelined requests are yielded one at a time). On HTTP_PARSE_ERROR answer
 * http_request_parser_error_status() and close the connection: the stream
 * is out of sync and nothing after the error can be trusted.
 */
#ifndef BG_HTTP_REQUEST_PARSER_H
#define BG_HTTP_REQUEST_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "http_request.h"
#include "limits_table.h"

typedef enum http_parse_state {
  HTTP_PARSE_IDLE,      /* no byte of the next request seen yet */
  HTTP_PARSE_HEAD,      /* inside the request line or the headers */
  HTTP_PARSE_HEAD_DONE, /* head complete, not one body byte taken yet */
  HTTP_PARSE_BODY,      /* head complete, body still arriving */
  HTTP_PARSE_DONE,      /* a request is complete */
  HTTP_PARSE_ERROR,     /* malformed or over a limit; see error_status */
} http_parse_state;

typedef struct http_request_parser http_request_parser;

/* max_header_bytes bounds the request line plus headers (through the empty
 * line, leading empty lines included); max_body_bytes bounds the decoded
 * body, checked against Content-Length up front and while chunks arrive. */
int http_request_parser_new(http_request_parser **out, size_t max_header_bytes,
                            size_t max_body_bytes);
void http_request_parser_free(http_request_parser *p);

/* Parses data[0..len) and stores how many bytes it used in *consumed. It
 * stops right after a complete head (HEAD_DONE: feed again, even with no
 * bytes, to go on; a request without a body then completes), right after a
 * complete request (DONE: the rest belongs to the next one) or at an error;
 * otherwise it consumes everything and returns the state it is in. In DONE
 * or ERROR it consumes nothing until next(). */
http_parse_state http_request_parser_feed(http_request_parser *p, const char *data, size_t len,
                                          size_t *consumed);
http_parse_state http_request_parser_state(const http_request_parser *p);

/* In DONE: the request (peer is NULL: the parser knows no socket). Valid
 * until next() or free(). */
const http_request *http_request_parser_request(const http_request_parser *p);
/* From HEAD_DONE on (BODY, DONE): the request line and headers, with an
 * empty body; NULL before. The strings stay where they are until next():
 * nothing read after the head (body, trailers) moves them. */
const http_request *http_request_parser_head(const http_request_parser *p);
/* In DONE: whether the connection may carry another request (HTTP/1.1
 * without "Connection: close", or HTTP/1.0 with "Connection: keep-alive"
 * and no Transfer-Encoding, whose framing RFC 9112 section 6.1 says not to
 * trust past this request). */
bool http_request_parser_keep_alive(const http_request_parser *p);

/* In ERROR: 400 malformed (including an HTTP/1.1 request without Host, or
 * any with two Host fields or a Host value that is no host[:port], per
 * RFC 9112 section 3.2), 413 body too large, 417 any Expect header (we do
 * not send 100 Continue), 431 head too large, 501 CONNECT or a transfer
 * coding other than plain chunked. */
int http_request_parser_error_status(const http_request_parser *p);
/* In ERROR: a short static description for logs and the error body. */
const char *http_request_parser_error_reason(const http_request_parser *p);

/* From DONE: forgets the request and gets ready for the next one. */
void http_request_parser_next(http_request_parser *p);

#endif
