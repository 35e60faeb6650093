#include "session_stream.h"

#include <stdlib.h>

#include "log.h"
#include "session.h"

typedef struct session_subscriber {
  struct session *session; /* NULL once detached */
  http_conn *conn;         /* NULL once the connection is gone */
  uv_timer_t keepalive;
  struct session_subscriber *next;
} session_subscriber;

static const char caught_up_frame[] = "event: caught-up\ndata: {}\n\n";
static const char keepalive_frame[] = ": keepalive\n\n";

static void subscriber_unlink(session_subscriber *sub) {
  if (!sub->session) return;
  for (session_subscriber **p = &sub->session->subscribers; *p; p = &(*p)->next)
    if (*p == sub) {
      *p = sub->next;
      break;
    }
  sub->session = NULL;
  uv_timer_stop(&sub->keepalive);
}

static void subscriber_free(uv_handle_t *h) { free(h->data); }

static void subscriber_on_conn_close(void *ud, http_conn *c) {
  (void)c;
  session_subscriber *sub = ud;
  sub->conn = NULL;
  subscriber_unlink(sub);
  uv_close((uv_handle_t *)&sub->keepalive, subscriber_free);
}

static void subscriber_rearm(session_subscriber *sub);

/* A failed write means the HTTP layer dropped a client that did not keep
 * up; its close callback does the cleanup. */
static void subscriber_write(session_subscriber *sub, const char *frame, size_t len) {
  if (!sub->conn) return;
  if (http_stream_write(sub->conn, frame, len) != 0) {
    log_info("session %s: dropped an SSE client that was not reading",
             sub->session ? sub->session->id : "?");
    sub->conn = NULL;
    subscriber_unlink(sub);
    return;
  }
  subscriber_rearm(sub);
}

static void subscriber_on_keepalive(uv_timer_t *t) {
  session_subscriber *sub = t->data;
  subscriber_write(sub, keepalive_frame, sizeof keepalive_frame - 1);
}

static void subscriber_rearm(session_subscriber *sub) {
  struct session *s = sub->session;
  if (!s) return;
  uint64_t ms = (uint64_t)s->app->config->sse_keepalive_s * 1000;
  uv_timer_start(&sub->keepalive, subscriber_on_keepalive, ms, 0);
}

int session_stream_attach(struct session *s, http_conn *c, unsigned long long after_id) {
  session_subscriber *sub = calloc(1, sizeof *sub);
  if (!sub) return -1;
  if (http_stream_begin(c, 200, "text/event-stream",
                        "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n") != 0) {
    free(sub);
    return -1;
  }
  sub->session = s;
  sub->conn = c;
  uv_timer_init(s->app->loop, &sub->keepalive);
  sub->keepalive.data = sub;
  http_conn_on_close(c, subscriber_on_conn_close, sub);
  sub->next = s->subscribers;
  s->subscribers = sub;

  for (size_t i = 0; i < s->event_count && sub->conn; i++)
    if (s->events[i].id > after_id)
      subscriber_write(sub, s->events[i].frame, s->events[i].frame_len);
  subscriber_write(sub, caught_up_frame, sizeof caught_up_frame - 1);
  return 0;
}

void session_stream_broadcast(struct session *s, const char *frame, size_t len) {
  /* A write may drop a client and so unlink it: fetch next first. */
  session_subscriber *next;
  for (session_subscriber *sub = s->subscribers; sub; sub = next) {
    next = sub->next;
    subscriber_write(sub, frame, len);
  }
}

void session_stream_detach_all(struct session *s) {
  while (s->subscribers) {
    session_subscriber *sub = s->subscribers;
    http_conn *c = sub->conn;
    subscriber_unlink(sub);
    if (c) http_stream_end(c);
  }
}
