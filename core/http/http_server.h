/* HTTP/1.1 server on libuv, parsing with llhttp.
 *
 * One handler sees every complete request. It answers exactly once, at once
 * or later (after I/O); a connection handles its next keep-alive request
 * only after the current one is answered. A response may also be a stream
 * (SSE) that stays open until either side ends it.
 *
 * Every request has an id (http_request.id), sent back as X-Request-Id and
 * set as the log context's request_id while the handler runs, so that every
 * line logged for it carries it.
 *
 * Limits (http_limits) turn abuse into clean answers: 431 for oversized
 * headers, 413 for an oversized body, a closed connection for a client too
 * slow to send its request head or its body (each has a total deadline, not
 * just a limit on the gap between bytes) or idle past the keep-alive limit,
 * and a dropped stream for a client too slow to read it.
 *
 * Connection slots are shared so that clients without credentials cannot
 * hold them all, however slowly they send:
 *  - An optional head check sees each request's head before a byte of its
 *    body is read. It marks the connection trusted (credentials shown),
 *    leaves it anonymous, or answers at once (a 401, say): the body is then
 *    never read and the connection closes after the answer.
 *  - An anonymous connection that the handler is not working on (waiting
 *    for or reading a request, being answered, lingering after a last
 *    answer) is "unproven". One address may hold max_unproven_per_address
 *    of them; a new connection from an address at that cap closes one of
 *    the address's unproven ones that has sent something (those that have
 *    not yet are left to the next rule). Only unproven connections count,
 *    so an auth proxy whose address every user shares is not throttled for
 *    the trusted requests it forwards.
 *  - When every slot is taken, a new connection closes an unproven
 *    connection, else the trusted keep-alive connection idle the longest;
 *    only when every slot is trusted and busy is the newcomer refused.
 *  - Which unproven one: the cheapest to close (an answer already sent, a
 *    connection between requests, a body or head trickling in, an answer
 *    being written, and last one that has sent nothing yet), the oldest
 *    among equals.
 *  - A connection with bytes in its socket that the server has not read yet
 *    is never closed to make room. A probe (GET /health) sends its whole
 *    request with its connection, so it is answered before any newcomer
 *    can push it out, however many arrive at once.
 */
#ifndef BG_HTTP_SERVER_H
#define BG_HTTP_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http_request.h"
#include "limits_table.h"
#include "log.h"

struct daemon_metrics;

typedef struct http_server http_server;
typedef struct http_conn http_conn;

typedef struct http_limits {
  size_t max_header_bytes;           /* request line + headers; past it: 431 */
  size_t max_body_bytes;             /* past it: 413 */
  uint64_t header_timeout_ms;        /* a request head must be complete within this of the
                                 connection's start or, kept alive, of its first byte */
  uint64_t body_timeout_ms;          /* the body must be complete within this of the head */
  uint64_t idle_timeout_ms;          /* keep-alive connection with no request; a reader
                                 that stops taking an answer */
  size_t max_stream_buffer_bytes;    /* unsent stream bytes per connection */
  unsigned max_connections;          /* slots; see the top of the file */
  unsigned max_unproven_per_address; /* at least 1 */
} http_limits;

typedef void (*http_handler_fn)(void *ud, http_conn *c, const http_request *req);

typedef enum http_head_verdict {
  HTTP_HEAD_ANONYMOUS, /* read the body; the connection stays unproven */
  HTTP_HEAD_TRUSTED,   /* read the body; the connection has shown credentials */
  HTTP_HEAD_ANSWERED,  /* answered with http_respond from within the check */
} http_head_verdict;

/* Sees a request's head (body "") before its body is read. It may answer
 * only from within the call, with http_respond, and must then return
 * HTTP_HEAD_ANSWERED; the handler still runs for the complete request
 * otherwise, and decides on its own again (the check is an early answer,
 * not a replacement for the handler's). */
typedef http_head_verdict (*http_head_check_fn)(void *ud, http_conn *c, const http_request *head);

int http_server_new(http_server **out, uv_loop_t *loop, const http_limits *limits,
                    http_handler_fn handler, void *ud);
/* Counts answers by status code (NULL: not counted). */
void http_server_set_metrics(http_server *s, struct daemon_metrics *m);
/* Sets the head check (same ud as the handler); without one every
 * connection is anonymous. */
void http_server_set_head_check(http_server *s, http_head_check_fn check);
/* Binds and listens; port 0 picks a free port (see http_server_port). */
int http_server_listen(http_server *s, const char *host, int port);
int http_server_port(const http_server *s);
/* Stops accepting, closes every connection (streams included) and calls
 * on_closed once all handles are closed; then s is freed. */
void http_server_close(http_server *s, void (*on_closed)(void *ud), void *ud);

/* The Content-Security-Policy of every response, unless extra_headers sets
 * one (the page adds the hash of its inline import map to it).
 * style-src-attr lets the web client set style attributes (its layout needs
 * them); inline <style> elements and every script stay 'self'. */
#define HTTP_CONTENT_SECURITY_POLICY                                                               \
  "default-src 'self'; style-src-attr 'unsafe-inline'; frame-ancestors 'none'; "                   \
  "base-uri 'none'; form-action 'self'"

/* Answers a request. extra_headers is NULL or "Name: value\r\n" lines.
 * Every response carries the security headers (CSP, nosniff, no-referrer,
 * frame denial) and Cache-Control: no-store, each unless extra_headers sets
 * it (CSP and Cache-Control only). */
void http_respond(http_conn *c, int status, const char *content_type, const char *extra_headers,
                  const void *body, size_t len);
/* Serialises body compactly and releases it. */
void http_respond_json(http_conn *c, int status, json_t *body);
/* {"error": message} */
void http_respond_error(http_conn *c, int status, const char *message);

/* Streams: headers now, body bytes as they come, no Content-Length; the
 * connection closes when the stream ends. */
int http_stream_begin(http_conn *c, int status, const char *content_type,
                      const char *extra_headers);
/* 0, or -1 when the client has more than max_stream_buffer_bytes unread:
 * the connection is then closed (the close callback runs later). */
int http_stream_write(http_conn *c, const void *data, size_t len);
void http_stream_end(http_conn *c);
/* Bytes written to the stream whose copies this side still holds: those
 * libuv has not handed to the kernel, and those it has in a burst, whose
 * callbacks run on the loop's next turn (a producer that counted only the
 * first could pile up a whole answer before one of them is freed). */
size_t http_stream_queued(const http_conn *c);
/* cb runs once, from the loop, when every write queued so far has gone to
 * the kernel: a producer that paces itself writes a share, then waits for
 * it. Set it only while http_stream_queued() > 0. Dropped when the stream
 * ends or the connection closes. */
void http_stream_on_drain(http_conn *c, void (*cb)(void *ud, http_conn *c), void *ud);

/* The level of the request's access line ("http: GET /path 200 (3 ms)",
 * logged when the answer starts); LOG_DEBUG unless the handler says. */
void http_conn_log_at(http_conn *c, log_level level);

/* Runs once when the connection goes away for any reason; c is invalid
 * afterwards. A handler that answers later or streams must set one. */
void http_conn_on_close(http_conn *c, void (*cb)(void *ud, http_conn *c), void *ud);

#endif
