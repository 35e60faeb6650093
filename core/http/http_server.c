/* The HTTP/1.1 server: sockets, connection lifecycle, timers, responses.
 * Parsing is http_request_parser's; this file only moves bytes and decides
 * when a connection has waited long enough, and which one gives up its
 * slot to a newcomer (server_admit; the rules are in http_server.h).
 *
 * A connection is in one phase at a time (conn_phase). Its only timer is
 * armed by conn_timer_update() from the phase, so every timeout rule is in
 * conn_deadline().
 *
 * Lifetime of http_conn: the struct is freed once both of its handles are
 * closed and no answer is owed. When the socket closes while the handler
 * still owes an answer, the on_close callback runs (and releases the
 * handler from answering); without one, the struct stays as a detached
 * husk until the handler answers, so a late http_respond or
 * http_stream_end is a safe no-op rather than a use after free.
 */
#include "http_server.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "buf.h"
#include "dlist.h"
#include "http_request_parser.h"
#include "limits_table.h"
#include "log.h"
#include "metrics_daemon.h"

static const char HTTP_SECURITY_HEADERS[] = "X-Content-Type-Options: nosniff\r\n"
                                            "Referrer-Policy: no-referrer\r\n"
                                            "X-Frame-Options: DENY\r\n";

typedef enum conn_phase {
  CONN_READING,   /* waiting for or parsing a request */
  CONN_HANDLING,  /* a complete request is with the handler */
  CONN_WRITING,   /* the answer is being written; parsing resumes after */
  CONN_STREAMING, /* a stream is open; it ends by closing */
  CONN_LINGERING, /* answer sent with FIN; draining until EOF or timeout */
} conn_phase;

struct http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  http_limits limits;
  http_handler_fn handler;
  http_head_check_fn head_check; /* NULL: every connection is anonymous */
  void *ud;
  struct daemon_metrics *metrics; /* NULL: answers are not counted */
  http_conn *conns;               /* open connections, newest first, a doubly linked list */
  unsigned conn_count;
  unsigned refused_closing; /* refused sockets whose close is pending */
  bool closing;
  bool listener_closed;
  void (*on_closed)(void *ud);
  void *closed_ud;
  /* Room made or refused since the last pressure log line. */
  unsigned evicted_per_address, evicted_for_room, refused;
  bool pressure_logged;
  uint64_t pressure_logged_ms;
};

struct http_conn {
  http_server *server; /* NULL once detached (see the top of the file) */
  http_conn *prev, *next;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown_req;
  int handles_open;
  conn_phase phase;
  http_request_parser *parser;
  http_request req; /* what the handler got; valid until it answers */
  char peer[64];
  char request_id[HTTP_REQUEST_ID_MAX_BYTES + 1];
  uint64_t dispatch_ms; /* when the request went to the handler */
  log_level access_level;
  /* Received bytes not yet parsed: [rpos, rlen). */
  char rbuf[HTTP_READ_BUFFER_BYTES];
  size_t rpos, rlen;
  bool reading;
  bool closed;      /* uv_close called */
  bool finished;    /* both handles closed */
  bool owed;        /* the handler owes an answer */
  bool streaming;   /* http_stream_begin was called */
  bool is_head;     /* the request was HEAD: no body goes out */
  bool keep_alive;  /* the client allows another request */
  bool close_after; /* close once the current answer is written */
  bool peer_eof;    /* the client has shut down its side */
  bool trusted;     /* the last head check found credentials */
  unsigned served;  /* requests handed to the handler */
  unsigned writes_pending;
  size_t bytes_held;  /* of writes not called back yet: queued in libuv, or
                        written but freed only on the loop's next turn */
  size_t unsent_seen; /* conn_unsent_bytes() when progress was last seen */
  uint64_t phase_start_ms;
  uint64_t body_start_ms; /* when the current request's head was complete */
  uint64_t write_progress_ms;
  void (*on_close)(void *ud, http_conn *c);
  void *on_close_ud;
  void (*on_drain)(void *ud, http_conn *c); /* once, when every queued write has gone */
  void *on_drain_ud;
};

typedef struct conn_write {
  uv_write_t req;
  char *data;
  size_t len;
} conn_write;

static void conn_close(http_conn *c);
static void conn_process(http_conn *c);

static uint64_t conn_now(const http_conn *c) { return uv_now(c->tcp.loop); }

/* --- timers ------------------------------------------------------------ */

/* Answer bytes the client has not taken yet: what libuv still queues plus
 * the kernel's unacknowledged send queue, which can hold megabytes that
 * drain while libuv's queue stands still. */
static size_t conn_unsent_bytes(const http_conn *c) {
  size_t unsent = uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
  uv_os_fd_t fd;
  int kernel_queued = 0;
  if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) == 0 &&
      ioctl(fd, SIOCOUTQ, &kernel_queued) == 0 && kernel_queued > 0)
    unsent += (size_t)kernel_queued;
  return unsent;
}

/* When the connection has waited too long in its current phase; false when
 * no limit applies (the handler is working, or a stream is open). */
static bool conn_deadline(const http_conn *c, uint64_t *deadline) {
  const http_limits *l = &c->server->limits;
  switch (c->phase) {
  case CONN_READING:
    switch (http_request_parser_state(c->parser)) {
    case HTTP_PARSE_IDLE:
      /* A new connection must start its request within the head limit; a
       * kept-alive one may sit idle for the idle limit. */
      *deadline = c->phase_start_ms + (c->served ? l->idle_timeout_ms : l->header_timeout_ms);
      return true;
    case HTTP_PARSE_HEAD:
      *deadline = c->phase_start_ms + l->header_timeout_ms;
      return true;
    case HTTP_PARSE_BODY:
      /* A total, not a gap between bytes: a byte now and then must not
       * hold the slot for ever. */
      *deadline = c->body_start_ms + l->body_timeout_ms;
      return true;
    default:
      return false;
    }
  case CONN_WRITING:
    *deadline = c->write_progress_ms + l->idle_timeout_ms;
    return true;
  case CONN_STREAMING:
    /* A stream may stay quiet for ever (events come when they come), but
     * not sit on writes its client has stopped taking. */
    if (c->writes_pending == 0) return false;
    *deadline = c->write_progress_ms + l->idle_timeout_ms;
    return true;
  case CONN_LINGERING:
    *deadline = c->phase_start_ms + HTTP_LINGER_TIMEOUT_MS;
    return true;
  default:
    return false;
  }
}

/* Which limit a connection hit, for the log; NULL for the expected end of
 * an idle keep-alive connection or of lingering, which are not news. */
static const char *conn_timeout_reason(const http_conn *c) {
  switch (c->phase) {
  case CONN_READING:
    switch (http_request_parser_state(c->parser)) {
    case HTTP_PARSE_IDLE:
      return c->served ? NULL : "no request within header_timeout_ms";
    case HTTP_PARSE_HEAD:
      return "request head not complete within header_timeout_ms";
    default:
      return "request body not complete within body_timeout_ms";
    }
  case CONN_WRITING:
    return "client stopped reading the response for idle_timeout_ms";
  case CONN_STREAMING:
    return "client stopped reading the stream for idle_timeout_ms";
  default:
    return NULL;
  }
}

static void on_conn_timer(uv_timer_t *t);

static void conn_timer_update(http_conn *c) {
  if (c->closed) return;
  uint64_t deadline = 0, now = conn_now(c);
  if (!conn_deadline(c, &deadline)) {
    uv_timer_stop(&c->timer);
    return;
  }
  uv_timer_start(&c->timer, on_conn_timer, deadline > now ? deadline - now : 0, 0);
}

static void on_conn_timer(uv_timer_t *t) {
  http_conn *c = t->data;
  if (c->phase == CONN_WRITING || c->phase == CONN_STREAMING) {
    /* A big answer to a slow reader is fine while the client keeps taking
     * bytes; only a writer that stopped moving is cut off. */
    size_t unsent = conn_unsent_bytes(c);
    if (unsent < c->unsent_seen) {
      c->unsent_seen = unsent;
      c->write_progress_ms = conn_now(c);
    }
  }
  uint64_t deadline = 0;
  if (!conn_deadline(c, &deadline)) return;
  if (conn_now(c) < deadline) {
    conn_timer_update(c);
    return;
  }
  const char *reason = conn_timeout_reason(c);
  if (reason) log_info("http: closing connection from %s: %s", c->peer, reason);
  conn_close(c);
}

/* --- reading ----------------------------------------------------------- */

static bool conn_discards_input(const http_conn *c) {
  return c->phase == CONN_STREAMING || c->phase == CONN_LINGERING;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out) {
  (void)suggested;
  http_conn *c = h->data;
  if (conn_discards_input(c)) {
    c->rpos = c->rlen = 0;
  } else if (c->rpos > 0) {
    memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
    c->rlen -= c->rpos;
    c->rpos = 0;
  }
  *out = uv_buf_init(c->rbuf + c->rlen, (unsigned)(sizeof(c->rbuf) - c->rlen));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b);

/* Reads while there is room; pipelined bytes wait in rbuf while a request
 * is answered, and the kernel holds the rest (backpressure). */
static void conn_update_reading(http_conn *c) {
  if (c->closed) return;
  bool want = !c->peer_eof && (conn_discards_input(c) || c->rlen - c->rpos < sizeof(c->rbuf));
  if (want == c->reading) return;
  if (want) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
      conn_close(c);
      return;
    }
  } else {
    uv_read_stop((uv_stream_t *)&c->tcp);
  }
  c->reading = want;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b) {
  (void)b;
  http_conn *c = stream->data;
  if (nread == 0 || c->closed) return;
  if (nread < 0) {
    /* A client that shuts down its side while we write an answer still
     * gets it; at any other point it has gone away. */
    if (nread == UV_EOF && c->phase == CONN_WRITING) {
      c->peer_eof = true;
      c->close_after = true;
      conn_update_reading(c);
      return;
    }
    conn_close(c);
    return;
  }
  if (conn_discards_input(c)) return;
  c->rlen += (size_t)nread;
  if (c->phase == CONN_READING)
    conn_process(c);
  else
    conn_update_reading(c);
}

/* --- writing ----------------------------------------------------------- */

static void conn_write_done(http_conn *c);

static void on_write(uv_write_t *req, int status) {
  conn_write *w = (conn_write *)req;
  http_conn *c = req->data;
  c->bytes_held -= w->len;
  free(w->data);
  free(w);
  c->writes_pending--;
  if (status < 0) {
    conn_close(c);
    return;
  }
  c->write_progress_ms = conn_now(c);
  if (c->writes_pending == 0 && c->phase == CONN_WRITING) conn_write_done(c);
  if (c->writes_pending == 0 && c->on_drain && !c->closed) {
    void (*cb)(void *, http_conn *) = c->on_drain;
    c->on_drain = NULL;
    cb(c->on_drain_ud, c);
  }
}

/* Queues data (malloc'd; owned from here on) for the client. */
static int conn_write_owned(http_conn *c, char *data, size_t len) {
  conn_write *w = malloc(sizeof(*w));
  if (!w) {
    free(data);
    conn_close(c);
    return UV_ENOMEM;
  }
  w->data = data;
  w->len = len;
  w->req.data = c;
  uv_buf_t b = uv_buf_init(data, (unsigned)len);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc != 0) {
    free(data);
    free(w);
    conn_close(c);
    return rc;
  }
  c->writes_pending++;
  c->bytes_held += len;
  c->unsent_seen = conn_unsent_bytes(c);
  if (c->writes_pending == 1 && c->phase == CONN_STREAMING) {
    /* A stream's first write since all went out starts its clock. */
    c->write_progress_ms = conn_now(c);
    conn_timer_update(c);
  }
  return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  http_conn *c = req->data;
  if (status < 0) conn_close(c);
}

/* The answer is out: close (politely) or wait for the next request. */
static void conn_write_done(http_conn *c) {
  if (c->closed) return;
  if (c->close_after) {
    if (c->peer_eof) {
      conn_close(c);
      return;
    }
    c->phase = CONN_LINGERING;
    c->phase_start_ms = conn_now(c);
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
      conn_close(c);
      return;
    }
    conn_update_reading(c);
    conn_timer_update(c);
    return;
  }
  http_request_parser_next(c->parser);
  memset(&c->req, 0, sizeof(c->req));
  c->phase = CONN_READING;
  c->phase_start_ms = conn_now(c);
  conn_process(c);
}

/* --- parsing and dispatch ---------------------------------------------- */

/* --- request ids ------------------------------------------------------- */

static bool request_id_sane(const char *v) {
  size_t n = 0;
  for (; v[n]; n++) {
    char ch = v[n];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == ':' || ch == '-';
    if (!ok || n == HTTP_REQUEST_ID_MAX_BYTES) return false;
  }
  return n > 0;
}

/* The proxy's id when it gave a sane one (so that its log and ours join
 * up), else 128 random bits. */
static void conn_pick_request_id(http_conn *c, const char *given) {
  if (given && request_id_sane(given)) {
    snprintf(c->request_id, sizeof c->request_id, "%s", given);
    return;
  }
  unsigned char bytes[16];
  if (uv_random(NULL, NULL, bytes, sizeof bytes, 0, NULL) != 0) {
    /* No entropy: still unique within this process. */
    static unsigned long long fallback;
    snprintf(c->request_id, sizeof c->request_id, "%016llx%016llx", (unsigned long long)uv_hrtime(),
             ++fallback);
    return;
  }
  for (size_t i = 0; i < sizeof bytes; i++) snprintf(c->request_id + 2 * i, 3, "%02x", bytes[i]);
}

/* Makes the request's id the log context (ctx lives in the caller's
 * frame); log_context_leave(&returned) ends it. */
static log_context conn_context_enter(http_conn *c, log_context *ctx) {
  *ctx = (log_context){.request_id = ""};
  log_context_set(ctx, c->request_id, NULL, NULL, NULL);
  return log_context_enter(ctx);
}

/* Runs the handler with the request's id as the log context. */
static void conn_call_handler(http_conn *c) {
  log_context ctx;
  log_context previous = conn_context_enter(c, &ctx);
  http_server *s = c->server;
  s->handler(s->ud, c, &c->req);
  log_context_leave(&previous);
}

/* The request in c->req gets its id and its clock, whoever answers it:
 * the head check or the handler. */
static void conn_begin_request(http_conn *c) {
  c->req.peer = c->peer;
  conn_pick_request_id(c, http_request_header(&c->req, "X-Request-Id"));
  c->req.id = c->request_id;
  c->dispatch_ms = conn_now(c);
  c->access_level = LOG_DEBUG;
}

static void conn_dispatch(http_conn *c) {
  c->req = *http_request_parser_request(c->parser);
  conn_begin_request(c);
  c->phase = CONN_HANDLING;
  c->owed = true;
  c->is_head = strcmp(c->req.method, "HEAD") == 0;
  c->keep_alive = http_request_parser_keep_alive(c->parser);
  c->served++;
  conn_timer_update(c);
  conn_update_reading(c);
  conn_call_handler(c);
}

static void conn_answer_parse_error(http_conn *c) {
  int status = http_request_parser_error_status(c->parser);
  const char *reason = http_request_parser_error_reason(c->parser);
  conn_pick_request_id(c, NULL);
  c->dispatch_ms = conn_now(c);
  c->access_level = LOG_DEBUG;
  log_context ctx;
  log_context previous = conn_context_enter(c, &ctx);
  log_info("http: %d for %s: %s", status, c->peer, reason);
  log_context_leave(&previous);
  c->phase = CONN_HANDLING;
  c->owed = true;
  c->is_head = false;
  c->keep_alive = false;
  http_respond_error(c, status, reason);
}

/* A head is complete and no body byte read: the head check decides
 * whether the body is worth reading. False when the request is answered
 * (or the connection closed) from the head alone. */
static bool conn_check_head(http_conn *c) {
  http_server *s = c->server;
  c->body_start_ms = conn_now(c);
  c->trusted = false;
  if (!s->head_check) return true;
  c->req = *http_request_parser_head(c->parser);
  conn_begin_request(c);
  c->phase = CONN_HANDLING;
  c->owed = true;
  c->is_head = strcmp(c->req.method, "HEAD") == 0;
  /* The body stays unread: nothing after it can be parsed. */
  c->keep_alive = false;
  log_context ctx;
  log_context previous = conn_context_enter(c, &ctx);
  http_head_verdict verdict = s->head_check(s->ud, c, &c->req);
  log_context_leave(&previous);
  if (!c->owed) {
    if (verdict != HTTP_HEAD_ANSWERED) log_error("http: head check answered without saying so");
    return false;
  }
  if (verdict == HTTP_HEAD_ANSWERED) {
    log_error("http: head check said it answered but did not");
    conn_close(c);
    return false;
  }
  c->owed = false;
  memset(&c->req, 0, sizeof(c->req));
  c->phase = CONN_READING;
  c->trusted = verdict == HTTP_HEAD_TRUSTED;
  return true;
}

/* Parses buffered bytes until a request is complete or they run out. */
static void conn_process(http_conn *c) {
  while (!c->closed && c->phase == CONN_READING &&
         (c->rpos < c->rlen || http_request_parser_state(c->parser) == HTTP_PARSE_HEAD_DONE)) {
    bool was_idle = http_request_parser_state(c->parser) == HTTP_PARSE_IDLE;
    size_t used = 0;
    http_parse_state st = http_request_parser_feed(c->parser, c->rbuf + c->rpos, c->rlen - c->rpos,
                                                   &used);
    c->rpos += used;
    if (c->rpos == c->rlen) c->rpos = c->rlen = 0;
    /* The head clock of a kept-alive connection starts at the first byte;
     * a new connection's started when it was accepted. */
    if (was_idle && st != HTTP_PARSE_IDLE && c->served) c->phase_start_ms = conn_now(c);
    if (st == HTTP_PARSE_HEAD_DONE && !conn_check_head(c)) return;
    if (st == HTTP_PARSE_DONE) {
      conn_dispatch(c);
      return;
    }
    if (st == HTTP_PARSE_ERROR) {
      conn_answer_parse_error(c);
      return;
    }
  }
  conn_timer_update(c);
  conn_update_reading(c);
}

/* --- connection lifecycle ---------------------------------------------- */

static void server_maybe_finish(http_server *s) {
  if (!s->closing || !s->listener_closed || s->conn_count || s->refused_closing) return;
  void (*cb)(void *) = s->on_closed;
  void *ud = s->closed_ud;
  free(s);
  if (cb) cb(ud);
}

static void conn_free(http_conn *c) {
  http_request_parser_free(c->parser);
  free(c);
}

static void conn_finish(http_conn *c) {
  http_server *s = c->server;
  c->finished = true;
  DLIST_UNLINK(s->conns, c);
  s->conn_count--;
  c->server = NULL;
  if (c->on_close) {
    void (*cb)(void *, http_conn *) = c->on_close;
    c->on_close = NULL;
    /* The callback releases the handler from answering. */
    c->owed = false;
    cb(c->on_close_ud, c);
  }
  if (!c->owed) conn_free(c);
  server_maybe_finish(s);
}

static void on_conn_handle_closed(uv_handle_t *h) {
  http_conn *c = h->data;
  if (--c->handles_open == 0) conn_finish(c);
}

static void conn_close(http_conn *c) {
  if (c->closed) return;
  c->closed = true;
  uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void conn_set_peer(http_conn *c) {
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  strcpy(c->peer, "unknown");
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &len) != 0) return;
  if (addr.ss_family == AF_INET6)
    uv_ip6_name((struct sockaddr_in6 *)&addr, c->peer, sizeof(c->peer));
  else if (addr.ss_family == AF_INET)
    uv_ip4_name((struct sockaddr_in *)&addr, c->peer, sizeof(c->peer));
}

static void on_refused_closed(uv_handle_t *h) {
  http_server *s = h->data;
  free(h);
  s->refused_closing--;
  server_maybe_finish(s);
}

/* Accepts and closes at once, so the client learns now rather than after
 * waiting in the backlog (libuv stops accepting until the pending socket is
 * taken). */
static void server_refuse(http_server *s) {
  uv_tcp_t *t = malloc(sizeof(*t));
  if (!t || uv_tcp_init(s->loop, t) != 0) {
    free(t);
    return;
  }
  t->data = s;
  (void)uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)t);
  s->refused_closing++;
  uv_close((uv_handle_t *)t, on_refused_closed);
  log_warn("http: refused a connection: out of memory with %u open", s->conn_count);
}

/* --- slots -------------------------------------------------------------- */

/* The rules are at the top of http_server.h. The handler owns a connection
 * it is working on or streaming to; any other anonymous one may give up its
 * slot. */
static bool conn_unproven(const http_conn *c) {
  return !c->trusted && c->phase != CONN_HANDLING && c->phase != CONN_STREAMING;
}

/* A trusted connection with nothing in flight: between keep-alive requests
 * or lingering after its last answer. */
static bool conn_idle_trusted(const http_conn *c) {
  if (!c->trusted) return false;
  return c->phase == CONN_LINGERING ||
         (c->phase == CONN_READING && http_request_parser_state(c->parser) == HTTP_PARSE_IDLE);
}

/* Bytes in the socket the server has not read yet. Such a connection never
 * gives up its slot: libuv reads a new socket only from the loop pass after
 * its accept, and one pass accepts every connection waiting in the
 * backlog, so without this a burst of newcomers could push out a probe
 * accepted in the same burst, its whole request waiting unread. */
static bool conn_has_unread(const http_conn *c) {
  uv_os_fd_t fd;
  int unread = 0;
  return uv_fileno((const uv_handle_t *)&c->tcp, &fd) == 0 && ioctl(fd, FIONREAD, &unread) == 0 &&
         unread > 0;
}

/* What closing an unproven connection costs, least first. So clients
 * trickling bodies or heads give up their slots before a newcomer that has
 * not had the time to send its request does. */
typedef enum close_cost {
  CLOSE_ANSWERED,         /* lingering after its last answer */
  CLOSE_BETWEEN_REQUESTS, /* kept alive: its client reconnects */
  CLOSE_BODY,             /* a body no credentials vouch for */
  CLOSE_HEAD,             /* a head still arriving */
  CLOSE_WRITING,          /* an answer being written */
  CLOSE_NOTHING_SENT,     /* may be a probe whose request is on its way */
} close_cost;

static close_cost conn_close_cost(const http_conn *c) {
  if (c->phase == CONN_LINGERING) return CLOSE_ANSWERED;
  if (c->phase == CONN_WRITING) return CLOSE_WRITING;
  switch (http_request_parser_state(c->parser)) {
  case HTTP_PARSE_IDLE:
    return c->served ? CLOSE_BETWEEN_REQUESTS : CLOSE_NOTHING_SENT;
  case HTTP_PARSE_HEAD:
    return CLOSE_HEAD;
  default:
    return CLOSE_BODY;
  }
}

/* A connection that may give up its slot for newcomer, or NULL. For the
 * per-address cap (same_peer): the cheapest unproven one from newcomer's
 * address that has sent something; one that has not is left to the
 * global rule, where a burst from one address cannot push out another
 * address's probe before its request arrives, nor its own. Otherwise: the
 * cheapest unproven one from anywhere, else the trusted one idle the
 * longest. The oldest among equals: the walk goes from the oldest, and
 * asks the kernel about unread bytes only of a connection that would be
 * chosen. */
static http_conn *server_victim(const http_server *s, const http_conn *newcomer, bool same_peer) {
  http_conn *oldest = s->conns;
  while (oldest && oldest->next) oldest = oldest->next;
  http_conn *cheapest = NULL, *idle = NULL;
  close_cost cheapest_cost = CLOSE_ANSWERED;
  for (http_conn *c = oldest; c; c = c->prev) {
    if (c == newcomer || c->closed) continue;
    if (conn_unproven(c)) {
      close_cost cost = conn_close_cost(c);
      if (same_peer && (cost == CLOSE_NOTHING_SENT || strcmp(c->peer, newcomer->peer) != 0))
        continue;
      if ((!cheapest || cost < cheapest_cost) && !conn_has_unread(c)) {
        cheapest = c;
        cheapest_cost = cost;
      }
    } else if (!same_peer && conn_idle_trusted(c) &&
               (!idle || c->phase_start_ms < idle->phase_start_ms) && !conn_has_unread(c)) {
      idle = c;
    }
  }
  return cheapest ? cheapest : idle;
}

static void server_note_pressure(http_server *s) {
  uint64_t now = uv_now(s->loop);
  if (s->pressure_logged && now - s->pressure_logged_ms < HTTP_PRESSURE_LOG_INTERVAL_MS) return;
  log_warn("http: under connection pressure: closed %u unproven connections at "
           "max_unproven_per_address and %u to make room at max_connections, refused %u "
           "(every slot trusted and busy), since the last such line",
           s->evicted_per_address, s->evicted_for_room, s->refused);
  s->evicted_per_address = s->evicted_for_room = s->refused = 0;
  s->pressure_logged = true;
  s->pressure_logged_ms = now;
}

/* Makes room for c, accepted and with its peer known; false when there is
 * none and c must go. Closing an old connection rather than refusing the
 * newest means a slow client loses its slot to a quick one, not the
 * reverse. An address may pass its cap by connections server_victim spares
 * (max_connections still holds), and when only spared ones could make room
 * the newcomer is refused. */
static bool server_admit(http_server *s, http_conn *c) {
  unsigned open = 0, peer_unproven = 0;
  for (http_conn *o = s->conns; o; o = o->next) {
    if (o == c || o->closed) continue;
    open++;
    if (conn_unproven(o) && strcmp(o->peer, c->peer) == 0) peer_unproven++;
  }
  http_conn *victim;
  if (peer_unproven >= s->limits.max_unproven_per_address && (victim = server_victim(s, c, true))) {
    conn_close(victim);
    open--;
    s->evicted_per_address++;
    server_note_pressure(s);
  }
  if (open < s->limits.max_connections) return true;
  if (!(victim = server_victim(s, c, false))) {
    s->refused++;
    server_note_pressure(s);
    return false;
  }
  conn_close(victim);
  s->evicted_for_room++;
  server_note_pressure(s);
  return true;
}

static void on_connection(uv_stream_t *listener, int status) {
  http_server *s = listener->data;
  if (status < 0) {
    log_warn("http: accept failed: %s", uv_strerror(status));
    return;
  }
  http_conn *c = calloc(1, sizeof(*c));
  if (!c) {
    server_refuse(s);
    return;
  }
  c->server = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles_open = 2;
  DLIST_PUSH(s->conns, c);
  s->conn_count++;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
      http_request_parser_new(&c->parser, s->limits.max_header_bytes, s->limits.max_body_bytes) !=
          0) {
    conn_close(c);
    return;
  }
  /* Answers and SSE frames are small and latency-bound: no waiting for
   * the client's delayed ACK (test_http_server checks the socket). */
  uv_tcp_nodelay(&c->tcp, 1);
  conn_set_peer(c);
  c->phase = CONN_READING;
  if (!server_admit(s, c)) {
    conn_close(c);
    return;
  }
  c->phase_start_ms = conn_now(c);
  conn_update_reading(c);
  conn_timer_update(c);
}

/* --- server ------------------------------------------------------------ */

int http_server_new(http_server **out, uv_loop_t *loop, const http_limits *limits,
                    http_handler_fn handler, void *ud) {
  if (!out || !loop || !limits || !handler || limits->max_connections == 0 ||
      limits->max_unproven_per_address == 0)
    return UV_EINVAL;
  http_server *s = calloc(1, sizeof(*s));
  if (!s) return UV_ENOMEM;
  s->loop = loop;
  s->limits = *limits;
  s->handler = handler;
  s->ud = ud;
  int rc = uv_tcp_init(loop, &s->listener);
  if (rc != 0) {
    free(s);
    return rc;
  }
  s->listener.data = s;
  *out = s;
  return 0;
}

void http_server_set_metrics(http_server *s, struct daemon_metrics *m) { s->metrics = m; }
void http_server_set_head_check(http_server *s, http_head_check_fn check) { s->head_check = check; }

int http_server_listen(http_server *s, const char *host, int port) {
  struct sockaddr_storage addr;
  int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                             : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc == 0) rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, HTTP_LISTEN_BACKLOG_COUNT, on_connection);
  if (rc != 0) log_error("http: cannot listen on %s port %d: %s", host, port, uv_strerror(rc));
  return rc;
}

int http_server_port(const http_server *s) {
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  int rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len);
  if (rc != 0) return rc;
  if (addr.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
  return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

static void on_listener_closed(uv_handle_t *h) {
  http_server *s = h->data;
  s->listener_closed = true;
  server_maybe_finish(s);
}

void http_server_close(http_server *s, void (*on_closed)(void *ud), void *ud) {
  if (s->closing) return;
  s->closing = true;
  s->on_closed = on_closed;
  s->closed_ud = ud;
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
  for (http_conn *c = s->conns; c; c = c->next) conn_close(c);
}

/* --- responses --------------------------------------------------------- */

static const char *status_reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 409:
    return "Conflict";
  case 413:
    return "Content Too Large";
  case 415:
    return "Unsupported Media Type";
  case 417:
    return "Expectation Failed";
  case 422:
    return "Unprocessable Content";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "";
  }
}

/* Whether "Name: value\r\n" lines set the named header. */
static bool extra_sets(const char *extra, const char *name) {
  size_t n = strlen(name);
  for (const char *line = extra; line && *line;) {
    if (strncasecmp(line, name, n) == 0 && line[n] == ':') return true;
    line = strstr(line, "\r\n");
    if (line) line += 2;
  }
  return false;
}

/* Status line and headers, ending with the empty line. */
static int response_head(buf *out, const http_conn *c, int status, const char *content_type,
                         const char *extra, bool with_length, size_t len) {
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  int rc = buf_appendf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n%s", status, status_reason(status), date,
                       HTTP_SECURITY_HEADERS);
  if (rc == 0 && !extra_sets(extra, "Content-Security-Policy"))
    rc = buf_append_str(out, "Content-Security-Policy: " HTTP_CONTENT_SECURITY_POLICY "\r\n");
  if (rc == 0 && content_type) rc = buf_appendf(out, "Content-Type: %s\r\n", content_type);
  if (rc == 0 && with_length) rc = buf_appendf(out, "Content-Length: %zu\r\n", len);
  if (rc == 0 && !extra_sets(extra, "Cache-Control"))
    rc = buf_append_str(out, "Cache-Control: no-store\r\n");
  if (rc == 0 && c->close_after) rc = buf_append_str(out, "Connection: close\r\n");
  if (rc == 0 && c->request_id[0] && !extra_sets(extra, "X-Request-Id"))
    rc = buf_appendf(out, "X-Request-Id: %s\r\n", c->request_id);
  if (rc == 0 && extra) rc = buf_append_str(out, extra);
  if (rc == 0) rc = buf_append_str(out, "\r\n");
  return rc;
}

/* The answer starts: the access line and the count. The line carries the
 * request's id, and the rest of the context when the answer comes while
 * the request is still being handled (or from its action, which keeps it). */
static void conn_answered(http_conn *c, int status) {
  if (c->server->metrics) {
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    metric_inc(metric_at(c->server->metrics->http_responses, code));
  }
  log_context ctx = *log_context_now();
  if (strcmp(ctx.request_id, c->request_id) != 0) {
    memset(&ctx, 0, sizeof ctx);
    log_context_set(&ctx, c->request_id, NULL, NULL, NULL);
  }
  log_context previous = log_context_enter(&ctx);
  /* The target as received, without its query: the path is decoded and
   * could hold a line break; a query is none of the log's business. */
  const char *target = c->req.target ? c->req.target : "-";
  int path_len = (int)strcspn(target, "?");
  log_write(c->access_level, "http: %s %.*s %d (%llu ms)", c->req.method ? c->req.method : "-",
            path_len, target, status, (unsigned long long)(conn_now(c) - c->dispatch_ms));
  log_context_leave(&previous);
}

/* Takes the one answer a request is owed. False when there is nothing to
 * send it on; a detached connection is freed here, its last use. */
static bool conn_take_answer(http_conn *c) {
  if (!c->owed) {
    log_error("http: answer given twice or to no request");
    return false;
  }
  c->owed = false;
  c->on_close = NULL;
  c->on_drain = NULL;
  if (c->finished) {
    conn_free(c);
    return false;
  }
  return !c->closed;
}

void http_respond(http_conn *c, int status, const char *content_type, const char *extra_headers,
                  const void *body, size_t len) {
  if (c->streaming) {
    log_error("http: http_respond on a stream; use http_stream_end");
    return;
  }
  if (!conn_take_answer(c)) return;
  conn_answered(c, status);
  c->close_after = !c->keep_alive || c->server->closing;
  /* 204 and 304 have no body by definition, nor its length. */
  bool bodyless = status == 204 || status == 304;
  bool send_body = !bodyless && !c->is_head;
  size_t extra_len = extra_headers ? strlen(extra_headers) : 0;
  buf out;
  buf_init(&out, HTTP_RESPONSE_HEAD_MAX_BYTES + extra_len + (send_body ? len : 0));
  int rc = response_head(&out, c, status, content_type, extra_headers, !bodyless, len);
  if (rc == 0 && send_body) rc = buf_append(&out, body, len);
  if (rc != 0) {
    log_error("http: cannot build a %d response for %s", status, c->peer);
    buf_free(&out);
    conn_close(c);
    return;
  }
  size_t n = 0;
  char *data = buf_steal(&out, &n);
  c->phase = CONN_WRITING;
  c->write_progress_ms = conn_now(c);
  if (conn_write_owned(c, data, n) != 0) return;
  conn_timer_update(c);
}

void http_respond_json(http_conn *c, int status, json_t *body) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!text) {
    http_respond(c, 500, "application/json", NULL, "{\"error\":\"cannot encode response\"}", 34);
    return;
  }
  http_respond(c, status, "application/json", NULL, text, strlen(text));
  free(text);
}

void http_respond_error(http_conn *c, int status, const char *message) {
  json_t *msg = json_string(message);
  if (!msg) msg = json_string("error");
  http_respond_json(c, status, json_pack("{s:o}", "error", msg));
}

/* On failure the request is still owed its answer: on_close (when the
 * connection is gone) or http_respond settles it. */
int http_stream_begin(http_conn *c, int status, const char *content_type,
                      const char *extra_headers) {
  if (!c->owed || c->streaming) return UV_EINVAL;
  if (c->closed) return UV_ECONNRESET;
  conn_answered(c, status);
  c->streaming = true;
  c->close_after = true;
  c->phase = CONN_STREAMING;
  buf out;
  buf_init(&out, HTTP_RESPONSE_HEAD_MAX_BYTES + (extra_headers ? strlen(extra_headers) : 0));
  if (response_head(&out, c, status, content_type, extra_headers, false, 0) != 0) {
    buf_free(&out);
    conn_close(c);
    return UV_ENOMEM;
  }
  size_t n = 0;
  char *data = buf_steal(&out, &n);
  conn_timer_update(c);
  conn_update_reading(c);
  return conn_write_owned(c, data, n);
}

int http_stream_write(http_conn *c, const void *data, size_t len) {
  if (!c->streaming || !c->owed || c->closed) return -1;
  if (c->is_head) return 0;
  /* What this side holds; the kernel's share is bounded by the kernel. */
  if (c->bytes_held + len > c->server->limits.max_stream_buffer_bytes) {
    log_warn("http: dropping stream to %s: %zu bytes unread (max_stream_buffer_bytes)", c->peer,
             c->bytes_held + len);
    conn_close(c);
    return -1;
  }
  char *copy = malloc(len ? len : 1);
  if (!copy) {
    conn_close(c);
    return -1;
  }
  memcpy(copy, data, len);
  return conn_write_owned(c, copy, len) == 0 ? 0 : -1;
}

void http_stream_end(http_conn *c) {
  if (!c->streaming) {
    log_error("http: http_stream_end without a stream");
    return;
  }
  if (!conn_take_answer(c)) return;
  c->phase = CONN_WRITING;
  c->write_progress_ms = conn_now(c);
  if (c->writes_pending == 0)
    conn_write_done(c);
  else
    conn_timer_update(c);
}

/* The callback covers the request being handled: once it is answered
 * (http_respond, http_stream_end) the handler is done with c and the
 * callback is dropped, so a handler may free its context right after
 * answering. Register it before the handler returns. */
size_t http_stream_queued(const http_conn *c) { return c->bytes_held; }

void http_stream_on_drain(http_conn *c, void (*cb)(void *ud, http_conn *c), void *ud) {
  c->on_drain = cb;
  c->on_drain_ud = ud;
}

void http_conn_log_at(http_conn *c, log_level level) { c->access_level = level; }

void http_conn_on_close(http_conn *c, void (*cb)(void *ud, http_conn *c), void *ud) {
  c->on_close = cb;
  c->on_close_ud = ud;
}
