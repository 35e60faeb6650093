/* The bounds of the HTTP server and the page's files. Each is a macro of
 * its own for the code; HTTP_LIMITS lists them all, X(NAME, unit, what it
 * bounds), for `breakglass --help --limits`. A name ends in its unit. The
 * settings' timeouts are in core/base/config.c. */
#ifndef BG_HTTP_LIMITS_H
#define BG_HTTP_LIMITS_H

#include <stdint.h>

#define HTTP_MAX_HEADER_BYTES (16u * 1024)
#define HTTP_MAX_BODY_BYTES (1024u * 1024)
/* Unread bytes a stream may hold. Replay is paced, so this bounds only a
 * client that falls behind live events: it is dropped and re-attaches.
 * It must hold the largest event a turn makes (a text event, 256 KiB, or
 * a tool_output chunk) many times over; each slow client costs this. */
#define HTTP_MAX_STREAM_BUFFER_BYTES (4u * 1024 * 1024)
#define HTTP_MAX_CONNECTIONS_COUNT 256
/* Unproven connections (no credentials yet, see http_server.h) from one
 * address: a quarter of the slots, so one address alone never fills them,
 * and far more than one browser or probe keeps open. The auth proxy's
 * address is not held to it for the requests it forwards: they carry the
 * proxy's header and make their connections trusted. */
#define HTTP_MAX_UNPROVEN_PER_ADDRESS_COUNT 64
/* More is answered with 431. */
#define HTTP_REQUEST_MAX_HEADER_COUNT 64
/* A client's X-Request-Id is kept when it is 1 to this many bytes of
 * [A-Za-z0-9._:-]; otherwise the server makes one. */
#define HTTP_REQUEST_ID_MAX_BYTES 64
/* The kernel drops what overflows the backlog without looking at it;
 * accepted, a burst is sorted by server_admit, which spares a probe. */
#define HTTP_LISTEN_BACKLOG_COUNT 1024
/* Per connection: one read's worth, also the cap on pipelined bytes held
 * while a request is being answered (reading pauses when it is full). */
#define HTTP_READ_BUFFER_BYTES (16 * 1024)
/* Status line and our own headers; extra_headers and the body add to it. */
#define HTTP_RESPONSE_HEAD_MAX_BYTES 2048
/* After an answer that closes the connection we send FIN and keep reading
 * (and discarding) for this long, so a client still sending (say, the rest
 * of a body we refused with 413) is not answered by a reset that destroys
 * the response before it reads it. */
#define HTTP_LINGER_TIMEOUT_MS UINT64_C(2000)
/* Closing connections to make room is news, but under attack it happens
 * thousands of times a second: one log line per this interval says how
 * many. */
#define HTTP_PRESSURE_LOG_INTERVAL_MS UINT64_C(10000)
/* Files are the page's own assets: few and small. Asking for a larger one
 * is a 500. */
#define HTTP_STATIC_MAX_FILE_BYTES (8u << 20)
/* Every representation; files past it are refused like a file too large. */
#define HTTP_STATIC_MAX_SITE_BYTES (32u << 20)
#define HTTP_STATIC_MAX_FILES_COUNT 512
/* Deeper folders are not served. */
#define HTTP_STATIC_MAX_DEPTH_LEVELS 8
/* File times can be coarser than the clock. */
#define HTTP_STATIC_CLOCK_SLACK_NS 1000000000LL

#define HTTP_LIMITS(X)                                                                             \
  X(HTTP_MAX_HEADER_BYTES, "bytes", "a request's head")                                            \
  X(HTTP_MAX_BODY_BYTES, "bytes", "a request's body (past it: 413)")                               \
  X(HTTP_MAX_STREAM_BUFFER_BYTES, "bytes", "unread bytes an event stream may hold")                \
  X(HTTP_MAX_CONNECTIONS_COUNT, "count", "open connections")                                       \
  X(HTTP_MAX_UNPROVEN_PER_ADDRESS_COUNT, "count",                                                  \
    "connections without credentials yet from one address")                                        \
  X(HTTP_REQUEST_MAX_HEADER_COUNT, "count", "headers of one request (past it: 431)")               \
  X(HTTP_REQUEST_ID_MAX_BYTES, "bytes", "a client's X-Request-Id that is kept")                    \
  X(HTTP_LISTEN_BACKLOG_COUNT, "count", "connections the kernel queues before accept")             \
  X(HTTP_READ_BUFFER_BYTES, "bytes", "one read, and pipelined bytes held per connection")          \
  X(HTTP_RESPONSE_HEAD_MAX_BYTES, "bytes", "a response's status line and own headers")             \
  X(HTTP_LINGER_TIMEOUT_MS, "ms", "reading on after an answer that closes the connection")         \
  X(HTTP_PRESSURE_LOG_INTERVAL_MS, "ms", "between two log lines on connections closed for room")   \
  X(HTTP_STATIC_MAX_FILE_BYTES, "bytes", "one file of the page kept in memory")                    \
  X(HTTP_STATIC_MAX_SITE_BYTES, "bytes", "the page's files kept in memory together")               \
  X(HTTP_STATIC_MAX_FILES_COUNT, "count", "files of the page")                                     \
  X(HTTP_STATIC_MAX_DEPTH_LEVELS, "levels", "folders below the page's root that are served")       \
  X(HTTP_STATIC_CLOCK_SLACK_NS, "ns", "a file this much newer than its last read is read again")

#endif
