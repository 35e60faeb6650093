#include "session_stream.h"

#include <stdio.h>
#include <stdlib.h>

#include "limits_table.h"
#include "log.h"
#include "session_data.h"

typedef struct session_subscriber {
  struct session *session; /* NULL once detached */
  http_conn *conn;         /* NULL once the connection is gone */
  uv_timer_t keepalive;
  size_t next;            /* index in session->events of the next to send */
  int caught_up;          /* replay done: the caught-up marker went out */
  int waiting_drain;      /* paused until the client takes its share */
  int stalled_ticks;      /* keepalive ticks spent waiting */
  metric_series *clients; /* the connected-clients gauge, or NULL */
  metric_series *bytes;   /* bytes sent, or NULL */
  struct session_subscriber *next_sub;
} session_subscriber;

/* caught-up says how often a quiet stream gets a keepalive, so that a
 * client can tell a hung daemon from a quiet one: nothing for twice that
 * long and the connection is dead, whatever TCP says. */
#define SSE_CAUGHT_UP_FRAME_MAX 96
static const char keepalive_frame[] = ": keepalive\n\n";

static void subscriber_unlink(session_subscriber *sub) {
  if (!sub->session) return;
  for (session_subscriber **p = &sub->session->subscribers; *p; p = &(*p)->next_sub)
    if (*p == sub) {
      *p = sub->next_sub;
      break;
    }
  sub->session = NULL;
  uv_timer_stop(&sub->keepalive);
}

static void subscriber_free(uv_handle_t *h) {
  session_subscriber *sub = h->data;
  metric_gauge_add(sub->clients, -1);
  free(sub);
}

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
  metric_add(sub->bytes, (double)len);
  subscriber_rearm(sub);
}

/* Ends the stream from this side. Answering drops the close callback, so
 * the subscriber is freed here. */
static void subscriber_end(session_subscriber *sub) {
  http_conn *c = sub->conn;
  if (!c) return;
  sub->conn = NULL;
  subscriber_unlink(sub);
  http_stream_end(c);
  uv_close((uv_handle_t *)&sub->keepalive, subscriber_free);
}

static void subscriber_on_keepalive(uv_timer_t *t) {
  session_subscriber *sub = t->data;
  if (sub->waiting_drain && ++sub->stalled_ticks >= SSE_MAX_STALLED_TICKS) {
    log_info("session %s: let go of an SSE client that stopped taking its events",
             sub->session ? sub->session->id : "?");
    subscriber_end(sub);
    return;
  }
  subscriber_write(sub, keepalive_frame, sizeof keepalive_frame - 1);
}

static void subscriber_pump(session_subscriber *sub);

static void subscriber_on_drain(void *ud, http_conn *c) {
  (void)c;
  session_subscriber *sub = ud;
  sub->waiting_drain = 0;
  sub->stalled_ticks = 0;
  subscriber_pump(sub);
}

/* Sends what the client has not had yet, a share at a time. */
static void subscriber_pump(session_subscriber *sub) {
  struct session *s = sub->session;
  while (s && sub->conn && sub->next < s->event_count) {
    if (http_stream_queued(sub->conn) >= SSE_QUEUE_BYTES) {
      sub->waiting_drain = 1;
      http_stream_on_drain(sub->conn, subscriber_on_drain, sub);
      return;
    }
    const session_event *e = &s->events[sub->next++];
    if (!e->frame) continue; /* a delta its text block replaced */
    subscriber_write(sub, e->frame, e->frame_len);
    s = sub->session;
  }
  if (s && sub->conn && !sub->caught_up) {
    sub->caught_up = 1;
    char frame[SSE_CAUGHT_UP_FRAME_MAX];
    int n = snprintf(frame, sizeof frame, "event: caught-up\ndata: {\"keepalive_ms\":%lld}\n\n",
                     (long long)s->app->options.session.sse_keepalive_s * 1000);
    subscriber_write(sub, frame, (size_t)n);
  }
}

static void subscriber_rearm(session_subscriber *sub) {
  struct session *s = sub->session;
  if (!s) return;
  uint64_t ms = (uint64_t)s->app->options.session.sse_keepalive_s * 1000;
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
  if (s->app->metrics) {
    sub->clients = s->app->metrics->sse_clients;
    sub->bytes = s->app->metrics->sse_bytes;
    metric_gauge_add(sub->clients, 1);
  }
  uv_timer_init(s->app->loop, &sub->keepalive);
  sub->keepalive.data = sub;
  http_conn_on_close(c, subscriber_on_conn_close, sub);
  sub->next_sub = s->subscribers;
  s->subscribers = sub;
  while (sub->next < s->event_count && s->events[sub->next].id <= after_id) sub->next++;
  subscriber_pump(sub);
  return 0;
}

/* The new event is the session's last; a client still replaying, or
 * waiting to take its share, gets it in turn. */
void session_stream_broadcast(struct session *s) {
  /* A write may drop a client and so unlink it: fetch next first. */
  session_subscriber *next;
  for (session_subscriber *sub = s->subscribers; sub; sub = next) {
    next = sub->next_sub;
    if (sub->caught_up && !sub->waiting_drain) subscriber_pump(sub);
  }
}

void session_stream_detach_all(struct session *s) {
  while (s->subscribers) subscriber_end(s->subscribers);
}
