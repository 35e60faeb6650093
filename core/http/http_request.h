/* A parsed HTTP request as handlers see it. Apart from http_server.h
 * because the parser that fills it (http_request_parser.c, which also
 * holds http_request_header) sits below the server.
 */
#ifndef BG_HTTP_REQUEST_H
#define BG_HTTP_REQUEST_H

#include <stddef.h>

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
  const char *id;   /* the request id: a sane X-Request-Id from the proxy, else
                       one made here; every answer carries it as X-Request-Id */
} http_request;

/* First header with this name (case-insensitive), or NULL. */
const char *http_request_header(const http_request *req, const char *name);

#endif
