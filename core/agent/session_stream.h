/* The SSE side of a session: clients attached to it.
 *
 * A client that does not read is never waited for: its unsent bytes are
 * bounded by the HTTP layer, and past that bound it is dropped and comes
 * back with Last-Event-ID. A keepalive comment goes out when a client has
 * had nothing for BREAKGLASS_SSE_KEEPALIVE_SECONDS.
 */
#ifndef BG_SESSION_STREAM_H
#define BG_SESSION_STREAM_H

#include <stddef.h>

#include "http_server.h"

struct session;

int session_stream_attach(struct session *s, http_conn *c, unsigned long long after_id);
/* Sends the session's newest event to every client that has caught up. */
void session_stream_broadcast(struct session *s);
/* Ends every client's stream (server shutdown, session freed). */
void session_stream_detach_all(struct session *s);

#endif
