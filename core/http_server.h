/* HTTP/1.1 server on libuv, parsing with llhttp.
 *
 * One handler sees every complete request. It answers exactly once, at once
 * or later (after I/O); a connection handles its next keep-alive request
 * only after the current one is answered. A response may also be a stream
 * (SSE) that stays open until either side ends it.
 *
 * Limits (http_limits) turn abuse into clean answers: 431 for oversized
 * headers, 413 for an oversized body, a closed connection for a client too
 * slow to send its request head or idle past the keep-alive limit, and a
 * dropped stream for a client too slow to read it.
 */
#ifndef BG_HTTP_SERVER_H
#define BG_HTTP_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct http_server http_server;
typedef struct http_conn http_conn;

typedef struct http_header {
  const char *name;
  const char *value;
} http_header;

typedef struct http_request {
  const char *method; /* "GET", "POST", ... */
  const char *target; /* the request target as received */
  const char *path;   /* percent-decoded path without the query; NULL when it
                         does not decode (bad escape, NUL byte) */
  const char *query;  /* raw query after '?', "" when none */
  const http_header *headers;
  size_t header_count;
  const char *body; /* NUL-terminated copy, "" when none */
  size_t body_len;
  const char *peer; /* client IP address as text */
} http_request;

typedef struct http_limits {
  size_t max_header_bytes;        /* request line + headers; past it: 431 */
  size_t max_body_bytes;          /* past it: 413 */
  uint64_t header_timeout_ms;     /* a request head must be complete within */
  uint64_t idle_timeout_ms;       /* keep-alive connection with no request */
  size_t max_stream_buffer_bytes; /* unsent stream bytes per connection */
  unsigned max_connections;       /* past it, new connections are closed */
} http_limits;

typedef void (*http_handler_fn)(void *ud, http_conn *c, const http_request *req);

int http_server_new(http_server **out, uv_loop_t *loop, const http_limits *limits,
                    http_handler_fn handler, void *ud);
/* Binds and listens; port 0 picks a free port (see http_server_port). */
int http_server_listen(http_server *s, const char *host, int port);
int http_server_port(const http_server *s);
/* Stops accepting, closes every connection (streams included) and calls
 * on_closed once all handles are closed; then s is freed. */
void http_server_close(http_server *s, void (*on_closed)(void *ud), void *ud);

/* First header with this name (case-insensitive), or NULL. */
const char *http_request_header(const http_request *req, const char *name);

/* The Content-Security-Policy of every response, unless extra_headers sets
 * one (the page adds the hash of its inline import map to it).
 * style-src-attr lets the web client set style attributes (its layout needs
 * them); inline <style> elements and every script stay 'self'. */
#define HTTP_CONTENT_SECURITY_POLICY                                                    \
  "default-src 'self'; style-src-attr 'unsafe-inline'; frame-ancestors 'none'; "        \
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
/* Bytes written to the stream that libuv has not handed to the kernel. */
size_t http_stream_queued(const http_conn *c);
/* cb runs once, from the loop, when every write queued so far has gone to
 * the kernel: a producer that paces itself writes a share, then waits for
 * it. Set it only while http_stream_queued() > 0. Dropped when the stream
 * ends or the connection closes. */
void http_stream_on_drain(http_conn *c, void (*cb)(void *ud, http_conn *c), void *ud);

/* Runs once when the connection goes away for any reason; c is invalid
 * afterwards. A handler that answers later or streams must set one. */
void http_conn_on_close(http_conn *c, void (*cb)(void *ud, http_conn *c), void *ud);

#endif
