/* The HTTP server over real loopback sockets. The loop runs in the test
 * thread; each scenario's client runs in a second thread with blocking
 * sockets, records the first failed check as text, and wakes the loop when
 * it is done. The main thread asserts after joining it. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <brotli/decode.h>

#include <cmocka.h>

#include "http_server.h"
#include "http_static.h"
#include "scratch.h"

enum {
  CLIENT_IO_TIMEOUT_MS = 5000,
  CLIENT_BUFFER_BYTES = 1 << 17,
  FLOOD_CHUNK_BYTES = 16 * 1024,
  BIG_BODY_BYTES = 4 * 1024 * 1024,
  BURST_FRAMES = 15, /* of BURST_FRAME_BYTES: with the head, under max_stream_buffer_bytes */
  BURST_FRAME_BYTES = 4 * 1024,
  BLOCK_LOOP_MS = 300,
};

/* Limits that stay out of the way; tests shorten the ones they exercise. */
static const http_limits roomy_limits = {
    .max_header_bytes = 1024,
    .max_body_bytes = 1024,
    .header_timeout_ms = 10000,
    .body_timeout_ms = 10000,
    .idle_timeout_ms = 10000,
    .max_stream_buffer_bytes = 64 * 1024,
    .max_connections = 16,
    .max_unproven_per_address = 16,
};

typedef struct test_ctx test_ctx;
struct test_ctx {
  uv_loop_t loop;
  http_server *server;
  http_static *www;
  int port;
  uv_async_t done;
  uv_timer_t late_timer;
  uv_timer_t stream_timer;
  http_conn *late_conn;
  http_conn *stream_conn;
  const char *stream_chunk;
  size_t stream_chunk_len;
  char root[512]; /* static files: <base>/www */
  char base[256];
  void (*scenario)(test_ctx *t);
  char failure[512];
  bool server_closed;
  atomic_int on_close_count;
  atomic_int late_answered;
  atomic_int stream_dropped;
  atomic_int hangs_started;
  atomic_int secrets_handled;
  size_t burst_held; /* http_stream_queued() right after /burst's writes */
};

static void sleep_ms(unsigned ms);

static char flood_chunk[FLOOD_CHUNK_BYTES];
static char big_body[BIG_BODY_BYTES];

/* --- the server side (loop thread) ------------------------------------- */

static void on_late(uv_timer_t *timer) {
  test_ctx *t = timer->data;
  http_conn *c = t->late_conn;
  t->late_conn = NULL;
  if (!c) return;
  http_respond(c, 200, "text/plain", NULL, "later", 5);
  atomic_fetch_add(&t->late_answered, 1);
}

static void on_counted_close(void *ud, http_conn *c) {
  (void)c;
  test_ctx *t = ud;
  atomic_fetch_add(&t->on_close_count, 1);
}

static void on_stream_close(void *ud, http_conn *c) {
  test_ctx *t = ud;
  if (t->stream_conn == c) t->stream_conn = NULL;
  uv_timer_stop(&t->stream_timer);
  on_counted_close(ud, c);
}

static void on_stream_tick(uv_timer_t *timer) {
  test_ctx *t = timer->data;
  if (!t->stream_conn) return;
  if (http_stream_write(t->stream_conn, t->stream_chunk, t->stream_chunk_len) != 0) {
    /* The server closes the connection; on_close still follows. */
    t->stream_conn = NULL;
    uv_timer_stop(&t->stream_timer);
    atomic_store(&t->stream_dropped, 1);
  }
}

/* A producer that writes a chunk each time the last has gone out (as a
 * journal download does): it never overfills the buffer, so only its
 * client's silence can end it. */
static void paced_next(void *ud, http_conn *c) {
  if (http_stream_write(c, flood_chunk, sizeof(flood_chunk)) == 0)
    http_stream_on_drain(c, paced_next, ud);
}

static void stream_start(test_ctx *t, http_conn *c, const char *chunk, size_t len,
                         uint64_t every_ms) {
  http_conn_on_close(c, on_stream_close, t);
  if (http_stream_begin(c, 200, "text/event-stream", NULL) != 0) return;
  t->stream_conn = c;
  t->stream_chunk = chunk;
  t->stream_chunk_len = len;
  uv_timer_start(&t->stream_timer, on_stream_tick, every_ms, every_ms);
}

/* "X-Key: k" is the credential. Paths under /secret need it: without it
 * they are answered at once from the head, body unread. */
static http_head_verdict test_head_check(void *ud, http_conn *c, const http_request *head) {
  (void)ud;
  const char *key = http_request_header(head, "X-Key");
  if (key && strcmp(key, "k") == 0) return HTTP_HEAD_TRUSTED;
  if (head->path && strncmp(head->path, "/secret", 7) == 0) {
    http_respond(c, 401, "text/plain", NULL, "no", 2);
    return HTTP_HEAD_ANSWERED;
  }
  return HTTP_HEAD_ANONYMOUS;
}

static void test_handler(void *ud, http_conn *c, const http_request *req) {
  test_ctx *t = ud;
  const char *p = req->path ? req->path : "";
  if (strcmp(p, "/hello") == 0) {
    http_respond(c, 200, "text/plain", NULL, "hello", 5);
  } else if (strcmp(p, "/echo") == 0) {
    http_respond(c, 200, "application/octet-stream", NULL, req->body, req->body_len);
  } else if (strcmp(p, "/block") == 0) {
    /* Holds the loop: connections pile up in the backlog meanwhile. */
    sleep_ms(BLOCK_LOOP_MS);
    http_respond(c, 200, "text/plain", NULL, "blocked", 7);
  } else if (strcmp(p, "/secret") == 0) {
    atomic_fetch_add(&t->secrets_handled, 1);
    http_respond(c, 200, "application/octet-stream", NULL, req->body, req->body_len);
  } else if (strcmp(p, "/big") == 0) {
    http_respond(c, 200, "application/octet-stream", NULL, big_body, sizeof(big_body));
  } else if (strcmp(p, "/cache") == 0) {
    http_respond(c, 200, "text/plain", "Cache-Control: max-age=5\r\n", "c", 1);
  } else if (strcmp(p, "/json") == 0) {
    http_respond_json(c, 201, json_pack("{s:i}", "n", 7));
  } else if (strcmp(p, "/later") == 0 || strcmp(p, "/later-watched") == 0) {
    if (strcmp(p, "/later-watched") == 0) http_conn_on_close(c, on_counted_close, t);
    t->late_conn = c;
    uv_timer_start(&t->late_timer, on_late, 50, 0);
  } else if (strcmp(p, "/hang") == 0) {
    http_conn_on_close(c, on_counted_close, t);
    atomic_fetch_add(&t->hangs_started, 1);
  } else if (strcmp(p, "/hang-noclose") == 0) {
    /* Answers after the client is gone, without an on_close callback. */
    t->late_conn = c;
    uv_timer_start(&t->late_timer, on_late, 400, 0);
  } else if (strcmp(p, "/flood") == 0) {
    stream_start(t, c, flood_chunk, sizeof(flood_chunk), 1);
  } else if (strcmp(p, "/paced") == 0) {
    http_conn_on_close(c, on_counted_close, t);
    if (http_stream_begin(c, 200, "application/octet-stream", NULL) == 0) paced_next(t, c);
  } else if (strcmp(p, "/tick") == 0) {
    stream_start(t, c, "data: tick\n\n", 12, 50);
  } else if (strcmp(p, "/burst") == 0) {
    if (http_stream_begin(c, 200, "text/event-stream", NULL) == 0) {
      for (int i = 0; i < BURST_FRAMES; i++) http_stream_write(c, flood_chunk, BURST_FRAME_BYTES);
      t->burst_held = http_stream_queued(c);
      http_stream_end(c);
    }
  } else if (strcmp(p, "/events") == 0) {
    if (http_stream_begin(c, 200, "text/event-stream", NULL) == 0) {
      http_stream_write(c, "data: one\n\n", 11);
      http_stream_end(c);
    }
  } else {
    http_static_serve(t->www, c, req);
  }
}

static void on_server_closed(void *ud) {
  test_ctx *t = ud;
  t->server_closed = true;
  http_static_close(t->www);
}

static void on_scenario_done(uv_async_t *a) {
  test_ctx *t = a->data;
  http_server_close(t->server, on_server_closed, t);
  if (t->late_conn) on_late(&t->late_timer);
  uv_close((uv_handle_t *)&t->late_timer, NULL);
  uv_close((uv_handle_t *)&t->stream_timer, NULL);
  uv_close((uv_handle_t *)&t->done, NULL);
}

static void *client_main(void *arg) {
  test_ctx *t = arg;
  t->scenario(t);
  uv_async_send(&t->done);
  return NULL;
}

static void run_scenario(test_ctx *t, const http_limits *limits, void (*scenario)(test_ctx *)) {
  assert_int_equal(uv_loop_init(&t->loop), 0);
  assert_int_equal(http_static_new(&t->www, &t->loop, t->root), 0);
  assert_int_equal(http_server_new(&t->server, &t->loop, limits, test_handler, t), 0);
  http_server_set_head_check(t->server, test_head_check);
  assert_int_equal(http_server_listen(t->server, "127.0.0.1", 0), 0);
  t->port = http_server_port(t->server);
  assert_true(t->port > 0);
  uv_async_init(&t->loop, &t->done, on_scenario_done);
  uv_timer_init(&t->loop, &t->late_timer);
  uv_timer_init(&t->loop, &t->stream_timer);
  t->done.data = t->late_timer.data = t->stream_timer.data = t;
  t->scenario = scenario;
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, client_main, t), 0);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  pthread_join(thread, NULL);
  assert_true(t->server_closed);
  assert_int_equal(uv_loop_close(&t->loop), 0);
  if (t->failure[0]) fail_msg("%s", t->failure);
}

/* run_scenario on a zeroed test_ctx (one for all: the tests run one at a
 * time); returns it for what the test checks after. */
static test_ctx *run_fresh(const http_limits *limits, void (*scenario)(test_ctx *)) {
  static test_ctx t;
  memset(&t, 0, sizeof(t));
  run_scenario(&t, limits, scenario);
  return &t;
}

/* A test that is one scenario on a fresh server with these limits, and
 * SCENARIO_TEST, its entry in main's table, named as the test. */
typedef struct scenario_test {
  void (*scenario)(test_ctx *t);
  const http_limits *limits;
} scenario_test;

static void run_scenario_test(void **state) {
  const scenario_test *st = *state;
  run_fresh(st->limits, st->scenario);
}

#define SCENARIO_TEST(name, scenario, limits)                                                      \
  {                                                                                                \
#name, run_scenario_test, NULL, NULL, &(scenario_test) { scenario, &(limits) }                 \
  }

/* --- the client side (client thread) ----------------------------------- */

#define CHECK(t, cond)                                                                             \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      if (!(t)->failure[0])                                                                        \
        snprintf((t)->failure, sizeof((t)->failure), "line %d: %s", __LINE__, #cond);              \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

typedef struct client {
  int fd;
  size_t len;
  char in[CLIENT_BUFFER_BYTES];
} client;

typedef struct response {
  int status;
  char head[4096];
  size_t body_len;
  char body[CLIENT_BUFFER_BYTES];
} response;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* A client from source (a loopback address: every 127/8 one is ours), to
 * stand for another host; NULL for 127.0.0.1. rcvbuf > 0 shrinks the
 * receive buffer, for a client that reads nothing. */
static bool client_open_from(client *cl, int port, int rcvbuf, const char *source) {
  cl->len = 0;
  cl->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (cl->fd < 0) return false;
  struct timeval tv = {.tv_sec = CLIENT_IO_TIMEOUT_MS / 1000};
  setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (rcvbuf > 0) setsockopt(cl->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (source) {
    struct sockaddr_in from = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
        bind(cl->fd, (struct sockaddr *)&from, sizeof(from)) != 0)
      return false;
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return connect(cl->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
}

static bool client_open(client *cl, int port, int rcvbuf) {
  return client_open_from(cl, port, rcvbuf, NULL);
}

static void client_close(client *cl) {
  if (cl->fd >= 0) close(cl->fd);
  cl->fd = -1;
}

static bool client_send(client *cl, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(cl->fd, data, len, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    len -= (size_t)n;
  }
  return true;
}

static bool client_send_str(client *cl, const char *s) { return client_send(cl, s, strlen(s)); }

static ssize_t client_read_more(client *cl) {
  if (cl->len == sizeof(cl->in)) return -1;
  ssize_t n = recv(cl->fd, cl->in + cl->len, sizeof(cl->in) - cl->len, 0);
  if (n > 0) cl->len += (size_t)n;
  return n;
}

static bool head_value(const char *head, const char *name, char *out, size_t out_len) {
  size_t n = strlen(name);
  for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
    line += 2;
    if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
      const char *v = line + n + 1;
      while (*v == ' ') v++;
      size_t len = strcspn(v, "\r");
      if (len >= out_len) len = out_len - 1;
      memcpy(out, v, len);
      out[len] = '\0';
      return true;
    }
  }
  return false;
}

static bool resp_has(const response *r, const char *name) {
  char v[512];
  return head_value(r->head, name, v, sizeof(v));
}

static bool resp_is(const response *r, const char *name, const char *value) {
  char v[512];
  return head_value(r->head, name, v, sizeof(v)) && strcmp(v, value) == 0;
}

static bool resp_secure(const response *r) {
  return resp_is(r, "Content-Security-Policy",
                 "default-src 'self'; style-src-attr 'unsafe-inline'; frame-ancestors 'none'; "
                 "base-uri 'none'; form-action 'self'") &&
         resp_is(r, "X-Content-Type-Options", "nosniff") &&
         resp_is(r, "Referrer-Policy", "no-referrer") && resp_is(r, "X-Frame-Options", "DENY");
}

/* Reads one response; a body is read by Content-Length unless no_body
 * (answers to HEAD, and 204 and 304) or, without the header, until the
 * server closes. */
static bool client_read_response(client *cl, response *r, bool no_body) {
  memset(r, 0, offsetof(response, body));
  char *end;
  while (!(end = memmem(cl->in, cl->len, "\r\n\r\n", 4)))
    if (client_read_more(cl) <= 0) return false;
  size_t head_len = (size_t)(end - cl->in) + 4;
  if (head_len >= sizeof(r->head)) return false;
  memcpy(r->head, cl->in, head_len);
  if (sscanf(r->head, "HTTP/1.1 %d ", &r->status) != 1) return false;
  if (r->status == 204 || r->status == 304) no_body = true; /* never one */
  char v[64];
  bool has_length = head_value(r->head, "Content-Length", v, sizeof(v));
  size_t want = has_length && !no_body ? strtoul(v, NULL, 10) : 0;
  if (!has_length && !no_body) {
    while (client_read_more(cl) > 0) {
    }
    want = cl->len - head_len;
  }
  while (cl->len - head_len < want)
    if (client_read_more(cl) <= 0) return false;
  if (want >= sizeof(r->body)) return false;
  memcpy(r->body, cl->in + head_len, want);
  r->body[want] = '\0';
  r->body_len = want;
  memmove(cl->in, cl->in + head_len + want, cl->len - head_len - want);
  cl->len -= head_len + want;
  return true;
}

static bool client_get(client *cl, const char *request, response *r) {
  return client_send_str(cl, request) && client_read_response(cl, r, false);
}

/* Milliseconds until the server closes (EOF or reset), discarding what
 * arrives meanwhile; -1 if it stays open for timeout_ms. */
static int client_wait_closed(client *cl, int timeout_ms) {
  uint64_t start = now_ms();
  for (;;) {
    int left = timeout_ms - (int)(now_ms() - start);
    if (left <= 0) return -1;
    struct pollfd pfd = {.fd = cl->fd, .events = POLLIN};
    if (poll(&pfd, 1, left) <= 0) continue;
    char scratch[4096];
    ssize_t n = recv(cl->fd, scratch, sizeof(scratch), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return (int)(now_ms() - start);
  }
}

/* Reads until the server closes cleanly (EOF); false on a reset or when it
 * stays open past the socket timeout. What arrives is kept in cl->in. */
static bool client_read_to_close(client *cl) {
  ssize_t n;
  while ((n = client_read_more(cl)) > 0) {
  }
  return n == 0;
}

static bool wait_for(atomic_int *flag, int want, int timeout_ms) {
  uint64_t start = now_ms();
  while (atomic_load(flag) < want) {
    if (now_ms() - start > (uint64_t)timeout_ms) return false;
    sleep_ms(10);
  }
  return true;
}

/* --- scenarios --------------------------------------------------------- */

#define GET_HELLO "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
#define GET_HELLO_TRUSTED "GET /hello HTTP/1.1\r\nHost: t\r\nX-Key: k\r\n\r\n"

static void sc_keep_alive(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r));
  CHECK(t, r.status == 200 && r.body_len == 5 && memcmp(r.body, "hello", 5) == 0);
  CHECK(t, resp_is(&r, "Content-Length", "5") && !resp_has(&r, "Connection"));
  CHECK(t, resp_is(&r, "Cache-Control", "no-store"));
  CHECK(t, client_get(&cl, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc", &r));
  CHECK(t, r.status == 200 && r.body_len == 3 && memcmp(r.body, "abc", 3) == 0);
  CHECK(t, client_get(&cl, "GET /json HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, r.status == 201 && resp_is(&r, "Content-Type", "application/json"));
  CHECK(t, strcmp(r.body, "{\"n\":7}") == 0);
  /* Connection: close is honoured. */
  CHECK(t, client_get(&cl, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r));
  CHECK(t, r.status == 200 && resp_is(&r, "Connection", "close"));
  CHECK(t, client_wait_closed(&cl, CLIENT_IO_TIMEOUT_MS) >= 0);
  client_close(&cl);
  /* HTTP/1.0 closes unless it asks for keep-alive. */
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, "GET /hello HTTP/1.0\r\n\r\n", &r));
  CHECK(t, r.status == 200 && resp_is(&r, "Connection", "close"));
  CHECK(t, client_wait_closed(&cl, CLIENT_IO_TIMEOUT_MS) >= 0);
  client_close(&cl);
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r));
  CHECK(t, client_get(&cl, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r));
  CHECK(t, r.status == 200);
  /* RFC 9112 section 6.1: HTTP/1.0 with Transfer-Encoding is answered and
   * the connection closed, keep-alive or not; what follows is not read. */
  CHECK(t, client_send_str(&cl, "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
                                "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  CHECK(t, client_read_response(&cl, &r, false));
  CHECK(t, r.status == 200 && strcmp(r.body, "ok") == 0 && resp_is(&r, "Connection", "close"));
  CHECK(t, client_read_to_close(&cl) && cl.len == 0);
  client_close(&cl);
}

/* The slow first answer still comes first; the second request waits. */
static void sc_pipelining(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t,
        client_send_str(
            &cl, "GET /later HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, client_read_response(&cl, &r, false));
  CHECK(t, r.status == 200 && strcmp(r.body, "later") == 0);
  CHECK(t, client_read_response(&cl, &r, false));
  CHECK(t, r.status == 200 && strcmp(r.body, "hello") == 0);
  client_close(&cl);
}

/* Each refused request gets its status, the security headers and a close. */
static void expect_refusal(test_ctx *t, const char *request, size_t len, int status) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_send(&cl, request, len));
  CHECK(t, client_read_response(&cl, &r, false));
  if (r.status != status)
    snprintf(t->failure, sizeof(t->failure), "wanted %d, got %d", status, r.status);
  CHECK(t, r.status == status);
  CHECK(t, resp_secure(&r) && resp_is(&r, "Connection", "close"));
  CHECK(t, resp_is(&r, "Content-Type", "application/json") && strstr(r.body, "\"error\""));
  CHECK(t, client_wait_closed(&cl, CLIENT_IO_TIMEOUT_MS) >= 0);
  client_close(&cl);
}

static void sc_refusals(test_ctx *t) {
  static char big[4096];
  int n = snprintf(big, sizeof(big), "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: %02000d\r\n\r\n", 0);
  expect_refusal(t, big, (size_t)n, 431);
  const char *too_long = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n";
  expect_refusal(t, too_long, strlen(too_long), 413);
  /* The client keeps sending the refused body; the answer still arrives. */
  n = snprintf(big, sizeof(big),
               "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n%03000d", 0);
  expect_refusal(t, big, (size_t)n, 413);
  n = snprintf(big, sizeof(big),
               "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "300\r\n%0768d\r\n300\r\n%0768d\r\n0\r\n\r\n",
               0, 0);
  expect_refusal(t, big, (size_t)n, 413);
  const char *bare_lf = "GET /hello HTTP/1.1\nHost: x\n\n";
  expect_refusal(t, bare_lf, strlen(bare_lf), 400);
  const char *expect =
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
  expect_refusal(t, expect, strlen(expect), 417);
  /* RFC 9112 section 3.2: one Host in HTTP/1.1, exactly. */
  const char *no_host = "GET /hello HTTP/1.1\r\n\r\n";
  expect_refusal(t, no_host, strlen(no_host), 400);
  const char *two_hosts = "GET /hello HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n";
  expect_refusal(t, two_hosts, strlen(two_hosts), 400);
}

/* The client is still sending a body (more than every socket buffer holds)
 * when the 413 goes out: the server must drain it rather than close with
 * unread bytes, which resets the connection and fails the client's send. */
static void sc_refused_while_sending(test_ctx *t) {
  static client cl;
  static response r;
  static char chunk[64 * 1024];
  enum { BODY_CHUNKS = 512 };
  memset(chunk, 'h', sizeof(chunk));
  CHECK(t, client_open(&cl, t->port, 0));
  char head[128];
  snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
           sizeof(chunk) * BODY_CHUNKS);
  CHECK(t, client_send_str(&cl, head));
  for (int i = 0; i < BODY_CHUNKS; i++) CHECK(t, client_send(&cl, chunk, sizeof(chunk)));
  shutdown(cl.fd, SHUT_WR);
  CHECK(t, client_read_response(&cl, &r, false));
  CHECK(t, r.status == 413 && resp_is(&r, "Connection", "close"));
  CHECK(t, client_wait_closed(&cl, CLIENT_IO_TIMEOUT_MS) >= 0);
  client_close(&cl);
}

static void sc_body_at_limit(test_ctx *t) {
  static client cl;
  static response r;
  static char req[2048];
  int n = snprintf(req, sizeof(req),
                   "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n%01024d", 7);
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_send(&cl, req, (size_t)n));
  CHECK(t, client_read_response(&cl, &r, false));
  CHECK(t, r.status == 200 && r.body_len == 1024 && r.body[1023] == '7');
  client_close(&cl);
}

/* One byte every 100 ms never completes the head: the connection must be
 * closed about header_timeout_ms after it opened, not reprieved by each
 * byte. */
static void sc_slow_header(test_ctx *t) {
  static client cl;
  const char *req = "GET /hello HTTP/1.1\r\nHost: a-very-slow-client\r\n\r\n";
  uint64_t start = now_ms();
  CHECK(t, client_open(&cl, t->port, 0));
  bool closed = false;
  for (size_t i = 0; req[i] && !closed && now_ms() - start < 3000; i++)
    closed = send(cl.fd, req + i, 1, MSG_NOSIGNAL) != 1 || client_wait_closed(&cl, 100) >= 0;
  uint64_t elapsed = now_ms() - start;
  CHECK(t, closed);
  CHECK(t, elapsed >= 250 && elapsed < 3000);
  client_close(&cl);
}

static void sc_idle_timeout(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  /* Timed from before the request: the server's idle clock starts later,
   * so a client slow to read the answer cannot make the wait look short. */
  uint64_t asked = now_ms();
  CHECK(t, client_get(&cl, GET_HELLO, &r));
  CHECK(t, r.status == 200);
  int closed_after = client_wait_closed(&cl, 3000);
  CHECK(t, closed_after >= 0 && now_ms() - asked >= 250);
  client_close(&cl);
  /* A connection that never sends a byte is closed by the head limit. */
  CHECK(t, client_open(&cl, t->port, 0));
  closed_after = client_wait_closed(&cl, 3000);
  CHECK(t, closed_after >= 0);
  client_close(&cl);
  /* A body that stops arriving is cut off by the idle limit. */
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_send_str(&cl, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
  closed_after = client_wait_closed(&cl, 3000);
  CHECK(t, closed_after >= 250);
  client_close(&cl);
}

static const http_limits short_timeouts = {
    .max_header_bytes = 1024,
    .max_body_bytes = 1024,
    .header_timeout_ms = 300,
    .body_timeout_ms = 300,
    .idle_timeout_ms = 300,
    .max_stream_buffer_bytes = 64 * 1024,
    .max_connections = 16,
    .max_unproven_per_address = 16,
};

/* A client that stops reading a large answer holds its connection only for
 * idle_timeout_ms; with max_connections 1, the next client gets in after.
 * (It is trusted: an anonymous one would lose its slot to the next at once.) */
static void sc_stalled_reader(test_ctx *t) {
  static client stalled, next;
  static response r;
  CHECK(t, client_open(&stalled, t->port, 4096));
  CHECK(t, client_send_str(&stalled, "GET /big HTTP/1.1\r\nHost: t\r\nX-Key: k\r\n\r\n"));
  CHECK(t, client_read_more(&stalled) > 0); /* the answer has started */
  uint64_t start = now_ms();
  bool served = false;
  while (!served && now_ms() - start < 5000) {
    CHECK(t, client_open(&next, t->port, 0));
    served = client_get(&next, GET_HELLO, &r) && r.status == 200;
    client_close(&next);
    if (!served) sleep_ms(20);
  }
  CHECK(t, served);
  CHECK(t, now_ms() - start >= 250);
  client_close(&stalled);
}

/* A reader that is slow but keeps taking bytes gets the whole answer, though
 * it takes many times idle_timeout_ms. */
static void sc_slow_reader_finishes(test_ctx *t) {
  static client cl;
  static char scratch[64 * 1024];
  enum { READ_BURST_BYTES = 256 * 1024, PAUSE_MS = 150 };
  /* A small receive buffer keeps most of the answer queued in the server. */
  CHECK(t, client_open(&cl, t->port, 64 * 1024));
  CHECK(t, client_send_str(&cl, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n"));
  size_t total = 0, burst = 0;
  for (;;) {
    ssize_t n = recv(cl.fd, scratch, sizeof(scratch), 0);
    if (n <= 0) break;
    total += (size_t)n;
    burst += (size_t)n;
    if (total >= BIG_BODY_BYTES) break;
    if (burst >= READ_BURST_BYTES) {
      burst = 0;
      sleep_ms(PAUSE_MS);
    }
  }
  /* The head comes first, so the whole body has arrived once total passes
   * its size. */
  CHECK(t, total > BIG_BODY_BYTES);
  client_close(&cl);
}

static void test_stalled_reader_cut_off(void **state) {
  (void)state;
  http_limits limits = short_timeouts;
  limits.max_connections = 1;
  run_fresh(&limits, sc_stalled_reader);
}

/* A stream whose client reads nothing is dropped; another client is served
 * promptly the whole time. */
static void sc_slow_stream_reader(test_ctx *t) {
  static client slow, other;
  static response r;
  CHECK(t, client_open(&slow, t->port, 4096));
  CHECK(t, client_send_str(&slow, "GET /flood HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, client_open(&other, t->port, 0));
  uint64_t start = now_ms();
  int served = 0;
  while (!atomic_load(&t->stream_dropped) && now_ms() - start < 10000) {
    uint64_t asked = now_ms();
    CHECK(t, client_get(&other, GET_HELLO, &r));
    CHECK(t, r.status == 200 && now_ms() - asked < 2000);
    served++;
  }
  CHECK(t, atomic_load(&t->stream_dropped));
  CHECK(t, served > 0);
  CHECK(t, client_get(&other, GET_HELLO, &r));
  CHECK(t, r.status == 200);
  CHECK(t, wait_for(&t->on_close_count, 1, CLIENT_IO_TIMEOUT_MS));
  CHECK(t, client_wait_closed(&slow, CLIENT_IO_TIMEOUT_MS) >= 0);
  client_close(&slow);
  client_close(&other);
}

/* A paced stream whose client stops reading waits on writes that never
 * drain: it is closed after idle_timeout_ms without progress, as an
 * answer's writer is; a stream whose writes go out is not, however long
 * it lasts. */
static void sc_stalled_paced_stream(test_ctx *t) {
  static client stalled, quiet;
  CHECK(t, client_open(&quiet, t->port, 0));
  CHECK(t, client_send_str(&quiet, "GET /tick HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, client_open(&stalled, t->port, 4096));
  CHECK(t, client_send_str(&stalled, "GET /paced HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, client_read_more(&stalled) > 0); /* the stream has started */
  CHECK(t, wait_for(&t->on_close_count, 1, CLIENT_IO_TIMEOUT_MS));
  CHECK(t, client_wait_closed(&stalled, CLIENT_IO_TIMEOUT_MS) >= 0);
  client_close(&stalled);
  sleep_ms(400);
  CHECK(t, atomic_load(&t->on_close_count) == 1); /* /tick's stream is still open */
  client_close(&quiet);
}

static void test_stalled_paced_stream_cut_off(void **state) {
  (void)state;
  http_limits limits = roomy_limits;
  limits.idle_timeout_ms = 300;
  run_fresh(&limits, sc_stalled_paced_stream);
}

static void sc_stream(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, r.status == 200 && resp_secure(&r));
  CHECK(t, resp_is(&r, "Content-Type", "text/event-stream"));
  CHECK(t, !resp_has(&r, "Content-Length") && resp_is(&r, "Connection", "close"));
  CHECK(t, strcmp(r.body, "data: one\n\n") == 0);
  client_close(&cl);
}

/* Frames written in one turn of the loop mostly go straight to the
 * kernel, but their copies are freed only on the next turn: a producer
 * pacing itself on what is queued must count them, or a burst (a long
 * answer's text events) piles up whole before one is freed. */
static void sc_burst_counted(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, "GET /burst HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, r.status == 200);
  CHECK(t, r.body_len == (size_t)BURST_FRAMES * BURST_FRAME_BYTES);
  CHECK(t, t->burst_held > (size_t)BURST_FRAMES * BURST_FRAME_BYTES); /* and the head */
  client_close(&cl);
}

/* HEAD: the GET headers with the GET length, and no body bytes (the next
 * response on the connection parses cleanly). */
static void sc_head(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_send_str(&cl, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, client_read_response(&cl, &r, true));
  CHECK(t, r.status == 200 && resp_is(&r, "Content-Length", "5") && resp_secure(&r));
  CHECK(t, client_send_str(&cl, "HEAD /app.js HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, client_read_response(&cl, &r, true));
  CHECK(t, r.status == 200 && resp_is(&r, "Content-Length", "14"));
  CHECK(t, client_get(&cl, GET_HELLO, &r));
  CHECK(t, r.status == 200 && strcmp(r.body, "hello") == 0);
  client_close(&cl);
}

/* A scratch folder, t->base, with the root to serve, t->root, in it. */
static void tree_make(test_ctx *t, const char *name) {
  scratch_dir_make(t->base, sizeof(t->base), name);
  snprintf(t->root, sizeof(t->root), "%s/www", t->base);
  assert_int_equal(mkdir(t->root, 0755), 0);
}

/* run_scenario with roomy limits on a zeroed test_ctx, serving the files
 * make_tree writes into a scratch folder, which is removed after. */
static void run_serving_tree(void (*make_tree)(test_ctx *), void (*scenario)(test_ctx *)) {
  static test_ctx t;
  memset(&t, 0, sizeof(t));
  make_tree(&t);
  run_scenario(&t, &roomy_limits, scenario);
  scratch_remove(t.base);
}

/* <base>/secret.txt outside root; <base>/www with files, a folder, a
 * symlink to the secret and a symlink to <base>. */
static void static_tree_make(test_ctx *t) {
  tree_make(t, "http-test");
  scratch_write_text(t->base, "secret.txt", "secret");
  scratch_write_text(t->root, "index.html", "<!doctype html>");
  scratch_write_text(t->root, "app.js", "console.log(1)");
  scratch_write_text(t->root, "site.webmanifest", "{}");
  scratch_write_text(t->root, "data.bin", "x");
  char path[1024];
  snprintf(path, sizeof(path), "%s/sub", t->root);
  assert_int_equal(mkdir(path, 0755), 0);
  snprintf(path, sizeof(path), "%s/escape", t->root);
  assert_int_equal(symlink("../secret.txt", path), 0);
  snprintf(path, sizeof(path), "%s/up", t->root);
  assert_int_equal(symlink("..", path), 0);
}

static void test_head(void **state) {
  (void)state;
  run_serving_tree(static_tree_make, sc_head);
}

static void sc_static(test_ctx *t) {
  static client cl;
  static response r;
  static char etag[128], req[512];
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, r.status == 200 && strcmp(r.body, "<!doctype html>") == 0);
  CHECK(t, resp_is(&r, "Content-Type", "text/html; charset=utf-8"));
  CHECK(t, resp_is(&r, "Cache-Control", "no-cache") && resp_secure(&r));
  CHECK(t, head_value(r.head, "ETag", etag, sizeof(etag)) && etag[0] == '"');
  CHECK(t, client_get(&cl, "GET /app.js HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, r.status == 200 && resp_is(&r, "Content-Type", "text/javascript; charset=utf-8"));
  CHECK(t, client_get(&cl, "GET /site.webmanifest HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, resp_is(&r, "Content-Type", "application/manifest+json"));
  CHECK(t, client_get(&cl, "GET /data.bin HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, resp_is(&r, "Content-Type", "application/octet-stream"));
  /* Revalidation. */
  snprintf(req, sizeof(req),
           "GET /index.html HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"x\", W/%s\r\n\r\n", etag);
  CHECK(t, client_send_str(&cl, req));
  CHECK(t, client_read_response(&cl, &r, true));
  CHECK(t, r.status == 304 && resp_is(&r, "ETag", etag) && resp_secure(&r));
  CHECK(t, !resp_has(&r, "Content-Length"));
  CHECK(t, client_get(&cl, "GET / HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"other\"\r\n\r\n", &r));
  CHECK(t, r.status == 200);
  CHECK(t, client_get(&cl, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", &r));
  CHECK(t, r.status == 405 && resp_is(&r, "Allow", "GET, HEAD"));
  /* Every way out of root is a 404, sent with the security headers. */
  static const char *const escapes[] = {
      "/../../etc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/%2E%2E%2Fetc/passwd",
      "/a/%00",
      "//etc/passwd",
      "/..%5c..%5cetc/passwd",
      "/escape",
      "/up/secret.txt",
      "/sub",
      "/missing.html",
      "/%zz",
      "/up/www/index.html/",
  };
  for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", escapes[i]);
    CHECK(t, client_get(&cl, req, &r));
    if (r.status != 404) snprintf(t->failure, sizeof(t->failure), "%s: %d", escapes[i], r.status);
    CHECK(t, r.status == 404 && resp_secure(&r) && resp_is(&r, "Cache-Control", "no-store"));
    CHECK(t, strstr(r.body, "secret") == NULL);
  }
  /* A symlink that stays inside root is fine. */
  CHECK(t, client_get(&cl, "GET /up/www/app.js HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, r.status == 200 && strcmp(r.body, "console.log(1)") == 0);
  client_close(&cl);
}

static void test_static_files(void **state) {
  (void)state;
  run_serving_tree(static_tree_make, sc_static);
}

/* A file written from the client thread; false when it could not be. */
static bool put_file(const char *dir, const char *name, const char *text) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) return false;
  bool ok = fputs(text, f) >= 0;
  return fclose(f) == 0 && ok;
}

/* The value of "name=" in an HTML text up to the closing quote. */
static bool version_in(const char *text, const char *name, char *out, size_t len) {
  const char *at = strstr(text, name);
  if (!at) return false;
  at += strlen(name);
  size_t n = strcspn(at, "\"");
  if (n >= len) return false;
  memcpy(out, at, n);
  out[n] = '\0';
  return true;
}

static void site_tree_make(test_ctx *t) {
  tree_make(t, "http-site");
  scratch_write_text(t->root, "index.html",
                     "<!doctype html><link rel=\"stylesheet\" href=\"app.css\">"
                     "<script type=\"module\" src=\"app.mjs\"></script>");
  char css[4096] = "";
  for (int i = 0; i < 60; i++) strcat(css, ".a { color: red; }\n");
  scratch_write_text(t->root, "app.css", css);
  scratch_write_text(t->root, "app.mjs", "console.log(1);\n");
  scratch_write_text(t->root, ".hidden", "no");
}

/* GET path with an Accept-Encoding (NULL: none) and If-None-Match (NULL: none). */
static bool get_with(client *cl, const char *path, const char *accept, const char *inm,
                     response *r) {
  char req[512];
  snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n%s%s%s%s%s%s\r\n", path,
           accept ? "Accept-Encoding: " : "", accept ? accept : "", accept ? "\r\n" : "",
           inm ? "If-None-Match: " : "", inm ? inm : "", inm ? "\r\n" : "");
  return client_get(cl, req, r);
}

/* The page: compressed as the client allows, versioned URLs cached for a
 * year, everything else and index.html revalidated, 304 per representation,
 * and an edit on disk seen on the next request. */
static void sc_static_site(test_ctx *t) {
  static client cl;
  static response r;
  static char page[8192], v[32], v2[32], path[128], etag[64];
  static const char immutable[] = "max-age=31536000, immutable";
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, get_with(&cl, "/", "gzip, deflate, br", NULL, &r));
  CHECK(t, r.status == 200 && resp_is(&r, "Content-Encoding", "br"));
  CHECK(t, resp_is(&r, "Vary", "Accept-Encoding") && resp_is(&r, "Cache-Control", "no-cache"));
  size_t n = sizeof(page) - 1;
  CHECK(t, BrotliDecoderDecompress(r.body_len, (const uint8_t *)r.body, &n, (uint8_t *)page) ==
               BROTLI_DECODER_RESULT_SUCCESS);
  page[n] = '\0';
  CHECK(t, strstr(page, "<script type=\"importmap\">{\"imports\":{\"./app.mjs\":"));
  CHECK(t, version_in(page, "href=\"app.css?v=", v, sizeof(v)) && strlen(v) == 12);
  char csp[512];
  CHECK(t, head_value(r.head, "Content-Security-Policy", csp, sizeof(csp)));
  CHECK(t, strstr(csp, "default-src 'self'") && strstr(csp, "; script-src 'self' 'sha256-"));
  /* The versioned URL, each representation with its own tag. */
  snprintf(path, sizeof(path), "/app.css?v=%s", v);
  CHECK(t, get_with(&cl, path, "gzip", NULL, &r));
  CHECK(t, r.status == 200 && resp_is(&r, "Content-Encoding", "gzip"));
  CHECK(t, resp_is(&r, "Cache-Control", immutable) && resp_secure(&r));
  snprintf(etag, sizeof(etag), "\"%s-gzip\"", v);
  CHECK(t, resp_is(&r, "ETag", etag));
  CHECK(t, get_with(&cl, path, "gzip", etag, &r));
  CHECK(t, r.status == 304 && resp_is(&r, "ETag", etag) && resp_is(&r, "Vary", "Accept-Encoding"));
  CHECK(t, resp_is(&r, "Cache-Control", immutable) && r.body_len == 0);
  CHECK(t, get_with(&cl, path, "br", etag, &r)); /* the gzip tag: another representation */
  CHECK(t, r.status == 200 && resp_is(&r, "Content-Encoding", "br"));
  snprintf(etag, sizeof(etag), "\"%s-br\"", v);
  CHECK(t, resp_is(&r, "ETag", etag));
  CHECK(t, get_with(&cl, path, NULL, NULL, &r));
  CHECK(t, r.status == 200 && !resp_has(&r, "Content-Encoding") && r.body_len > 1000);
  snprintf(etag, sizeof(etag), "\"%s\"", v);
  CHECK(t, resp_is(&r, "ETag", etag));
  /* What each Accept-Encoding gets. */
  static const struct {
    const char *accept, *coding;
  } choices[] = {
      {"br;q=0, gzip", "gzip"}, {"*", "br"},      {"identity", NULL}, {"br;q=0, *", "gzip"},
      {"gzip;q=0", NULL},       {"GZIP", "gzip"}, {"deflate", NULL},  {"gzip;q=0.5, br;q=1", "br"}};
  for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
    CHECK(t, get_with(&cl, path, choices[i].accept, NULL, &r) && r.status == 200);
    bool ok = choices[i].coding ? resp_is(&r, "Content-Encoding", choices[i].coding)
                                : !resp_has(&r, "Content-Encoding");
    if (!ok) snprintf(t->failure, sizeof(t->failure), "Accept-Encoding %s", choices[i].accept);
    CHECK(t, ok);
  }
  /* Unversioned, or another version: revalidated. */
  CHECK(t, get_with(&cl, "/app.css", "br", NULL, &r) && resp_is(&r, "Cache-Control", "no-cache"));
  CHECK(t, get_with(&cl, "/app.css?v=000000000000", "br", NULL, &r));
  CHECK(t, resp_is(&r, "Cache-Control", "no-cache"));
  CHECK(t,
        client_send_str(&cl, "HEAD /app.css HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br\r\n\r\n"));
  CHECK(t, client_read_response(&cl, &r, true));
  CHECK(t, r.status == 200 && resp_is(&r, "Content-Encoding", "br") && r.body_len == 0);
  CHECK(t, get_with(&cl, "/.hidden", NULL, NULL, &r) && r.status == 404);
  /* An edit: the old version is no longer immutable, the page names the new. */
  CHECK(t, put_file(t->root, "app.css", ".b { color: blue; }\n"));
  CHECK(t, get_with(&cl, path, NULL, NULL, &r));
  CHECK(t, r.status == 200 && strcmp(r.body, ".b { color: blue; }\n") == 0);
  CHECK(t, resp_is(&r, "Cache-Control", "no-cache"));
  CHECK(t, get_with(&cl, "/", NULL, NULL, &r));
  CHECK(t, version_in(r.body, "href=\"app.css?v=", v2, sizeof(v2)) && strcmp(v, v2) != 0);
  /* A file that appears is served. */
  CHECK(t, put_file(t->root, "new.txt", "new"));
  CHECK(t, get_with(&cl, "/new.txt", NULL, NULL, &r));
  CHECK(t, r.status == 200 && strcmp(r.body, "new") == 0);
  client_close(&cl);
}

static void test_static_site(void **state) {
  (void)state;
  run_serving_tree(site_tree_make, sc_static_site);
}

static void sc_cache_control(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, "GET /cache HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, r.status == 200 && resp_is(&r, "Cache-Control", "max-age=5") && resp_secure(&r));
  CHECK(t, strstr(r.head, "no-store") == NULL);
  client_close(&cl);
}

/* TCP_NODELAY of this process's TCP socket from local_port to peer_port:
 * 0 or 1, or -1 when there is no such socket. */
static int nodelay_of(int local_port, int peer_port) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int found = -1;
  for (struct dirent *e; found < 0 && (e = readdir(d));) {
    int fd = atoi(e->d_name);
    struct sockaddr_in local, peer;
    socklen_t llen = sizeof(local), plen = sizeof(peer);
    if (e->d_name[0] == '.' || fd == dirfd(d) ||
        getsockname(fd, (struct sockaddr *)&local, &llen) != 0 ||
        getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 || local.sin_family != AF_INET ||
        ntohs(local.sin_port) != local_port || ntohs(peer.sin_port) != peer_port)
      continue;
    int on = 0;
    socklen_t len = sizeof(on);
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0) found = on != 0;
  }
  closedir(d);
  return found;
}

/* Accepted sockets have Nagle's algorithm off: SSE deltas and small answers
 * are latency-bound (issue 13). The client's own socket, left as it is,
 * shows that the check can tell. */
static void sc_nodelay(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, GET_HELLO, &r));
  CHECK(t, r.status == 200);
  struct sockaddr_in me;
  socklen_t len = sizeof(me);
  CHECK(t, getsockname(cl.fd, (struct sockaddr *)&me, &len) == 0);
  int client_port = ntohs(me.sin_port);
  CHECK(t, nodelay_of(t->port, client_port) == 1);
  CHECK(t, nodelay_of(client_port, t->port) == 0);
  client_close(&cl);
}

/* A client that leaves while its request is being handled: the handler's
 * on_close runs; a handler without one that answers late is harmless (the
 * sanitizer build checks for use after free and leaks). */
static void sc_client_leaves(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_send_str(&cl, "GET /hang HTTP/1.1\r\nHost: t\r\n\r\n"));
  sleep_ms(50);
  client_close(&cl);
  CHECK(t, wait_for(&t->on_close_count, 1, CLIENT_IO_TIMEOUT_MS));
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_send_str(&cl, "GET /hang-noclose HTTP/1.1\r\nHost: t\r\n\r\n"));
  sleep_ms(50);
  client_close(&cl);
  CHECK(t, wait_for(&t->late_answered, 1, CLIENT_IO_TIMEOUT_MS));
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, GET_HELLO, &r));
  CHECK(t, r.status == 200);
  client_close(&cl);
}

/* Once a request is answered its on_close callback is dropped: closing the
 * connection later must not call into a handler that has moved on. */
static client cl_answered;

static void sc_answered_then_closed(test_ctx *t) {
  client *cl2 = &cl_answered;
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(&cl, "GET /later-watched HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  CHECK(t, r.status == 200 && strcmp(r.body, "later") == 0);
  client_close(&cl);
  CHECK(t, client_open(cl2, t->port, 0));
  CHECK(t, client_get(cl2, "GET /later-watched HTTP/1.1\r\nHost: t\r\n\r\n", &r));
}

static void test_on_close_dropped_after_answer(void **state) {
  (void)state;
  test_ctx *t = run_fresh(&roomy_limits, sc_answered_then_closed);
  /* Both connections have closed by now: one by the client, one by the
   * server's shutdown. */
  assert_int_equal(atomic_load(&t->on_close_count), 0);
  client_close(&cl_answered);
}

/* --- slots: the rules at the top of http_server.h ------------------------ */

static bool served_hello(client *cl, const char *request) {
  static response r;
  return client_get(cl, request, &r) && r.status == 200 && strcmp(r.body, "hello") == 0;
}

/* Closed by the server within a second: a slot given up, not a timeout. */
static bool closed_soon(client *cl) {
  int after = client_wait_closed(cl, 3000);
  return after >= 0 && after < 1000;
}

/* The head check answers a request from its head: the body is never read
 * (the client has not even sent it), the handler never runs, and the
 * connection closes after the answer. With the credential the same request
 * reaches the handler with its body. */
static void sc_head_check(test_ctx *t) {
  static client cl;
  static response r;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t,
        client_send_str(&cl, "POST /secret HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"));
  CHECK(t, client_read_response(&cl, &r, false));
  CHECK(t, r.status == 401 && strcmp(r.body, "no") == 0 && resp_is(&r, "Connection", "close"));
  CHECK(t, resp_secure(&r));
  CHECK(t, client_read_to_close(&cl) && cl.len == 0);
  client_close(&cl);
  CHECK(t, atomic_load(&t->secrets_handled) == 0);
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_get(
               &cl, "POST /secret HTTP/1.1\r\nHost: t\r\nX-Key: k\r\nContent-Length: 3\r\n\r\nabc",
               &r));
  CHECK(t, r.status == 200 && strcmp(r.body, "abc") == 0 && !resp_has(&r, "Connection"));
  CHECK(t, atomic_load(&t->secrets_handled) == 1);
  CHECK(t, served_hello(&cl, GET_HELLO));
  client_close(&cl);
}

/* A body that keeps trickling (a byte every 50 ms, well inside any gap
 * limit) is cut off body_timeout_ms after its head, unanswered. */
static void sc_slow_body(test_ctx *t) {
  static client cl;
  CHECK(t, client_open(&cl, t->port, 0));
  CHECK(t, client_send_str(&cl, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"));
  uint64_t start = now_ms();
  bool closed = false;
  for (int i = 0; i < 100 && !closed && now_ms() - start < 3000; i++)
    closed = send(cl.fd, "b", 1, MSG_NOSIGNAL) != 1 || client_wait_closed(&cl, 50) >= 0;
  uint64_t elapsed = now_ms() - start;
  CHECK(t, closed);
  CHECK(t, elapsed >= 250 && elapsed < 3000);
  client_close(&cl);
}

/* Cap 2 unproven connections per address. A third connection from
 * 127.0.0.1 closes that address's oldest one that has sent something (a
 * half head); 127.0.0.2's and the trusted ones (three of them, past the
 * cap) are left alone, and so is a silent one, whose request may be on
 * its way. */
static void sc_per_address_cap(test_ctx *t) {
  static client trusted[3], a1, a2, a3, a4, b1, silent;
  for (int i = 0; i < 3; i++) {
    CHECK(t, client_open(&trusted[i], t->port, 0));
    CHECK(t, served_hello(&trusted[i], GET_HELLO_TRUSTED));
  }
  CHECK(t, client_open(&a1, t->port, 0));
  CHECK(t, client_send_str(&a1, "GET /hel"));
  CHECK(t, client_open(&a2, t->port, 0));
  CHECK(t, client_send_str(&a2, "GET /hel"));
  CHECK(t, client_open_from(&b1, t->port, 0, "127.0.0.2"));
  CHECK(t, client_send_str(&b1, "GET /hel"));
  sleep_ms(50);
  CHECK(t, client_open(&a3, t->port, 0));
  CHECK(t, served_hello(&a3, GET_HELLO));
  CHECK(t, closed_soon(&a1));
  CHECK(t, served_hello(&a2, "lo HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, served_hello(&b1, "lo HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (int i = 0; i < 3; i++) CHECK(t, served_hello(&trusted[i], GET_HELLO_TRUSTED));
  /* 127.0.0.1 holds a2 and a3, between requests, and a silent one. */
  CHECK(t, client_open(&silent, t->port, 0));
  sleep_ms(50);
  CHECK(t, client_open(&a4, t->port, 0));
  CHECK(t, served_hello(&a4, GET_HELLO));
  CHECK(t, closed_soon(&a2));
  CHECK(t, served_hello(&silent, GET_HELLO));
  for (int i = 0; i < 3; i++) client_close(&trusted[i]);
  client_close(&a1);
  client_close(&a2);
  client_close(&a3);
  client_close(&a4);
  client_close(&b1);
  client_close(&silent);
}

static void test_per_address_cap(void **state) {
  (void)state;
  http_limits limits = roomy_limits;
  limits.max_unproven_per_address = 2;
  run_fresh(&limits, sc_per_address_cap);
}

/* Four slots: a trusted idle connection, then a silent one, a head half
 * sent and a connection between requests, all anonymous. Each newcomer
 * closes the cheapest to close, the oldest among equals: the one between
 * requests, then the older half head; the silent one, older than both,
 * stays and is served. A trusted upload in the middle of its body keeps its
 * slot throughout and finishes. */
static void sc_full_closes_the_cheapest(test_ctx *t) {
  static client trusted, silent, half, between, n1, n2, n3;
  static response r;
  CHECK(t, client_open(&trusted, t->port, 0));
  CHECK(t, served_hello(&trusted, GET_HELLO_TRUSTED));
  CHECK(t, client_open(&silent, t->port, 0));
  CHECK(t, client_open(&half, t->port, 0));
  CHECK(t, client_send_str(&half, "GET /hel"));
  CHECK(t, client_open(&between, t->port, 0));
  CHECK(t, served_hello(&between, GET_HELLO));
  CHECK(t, client_open(&n1, t->port, 0));
  CHECK(t, client_send_str(&n1, "GET /hel"));
  CHECK(t, closed_soon(&between));
  CHECK(t, client_open(&n2, t->port, 0));
  CHECK(t, served_hello(&n2, GET_HELLO));
  CHECK(t, closed_soon(&half));
  CHECK(t, served_hello(&silent, GET_HELLO));
  CHECK(t, client_send_str(&n1, "lo HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, client_read_response(&n1, &r, false) && r.status == 200);
  /* The slots now: trusted, silent, n1, n2. trusted starts an upload. */
  CHECK(t,
        client_send_str(
            &trusted, "POST /echo HTTP/1.1\r\nHost: t\r\nX-Key: k\r\nContent-Length: 3\r\n\r\na"));
  sleep_ms(50);
  CHECK(t, client_open(&n3, t->port, 0));
  CHECK(t, served_hello(&n3, GET_HELLO));
  CHECK(t, closed_soon(&silent));
  CHECK(t, client_send_str(&trusted, "bc"));
  CHECK(t, client_read_response(&trusted, &r, false));
  CHECK(t, r.status == 200 && strcmp(r.body, "abc") == 0);
  client_close(&trusted);
  client_close(&silent);
  client_close(&half);
  client_close(&between);
  client_close(&n1);
  client_close(&n2);
  client_close(&n3);
}

static void test_full_closes_the_cheapest(void **state) {
  (void)state;
  http_limits limits = roomy_limits;
  limits.max_connections = 4;
  run_fresh(&limits, sc_full_closes_the_cheapest);
}

/* While the loop is held, a probe connects and sends its request, then
 * two silent connections follow: the server accepts all three in one pass,
 * with three slots, one of them the held request's. The last newcomer must
 * not push out the probe, older but with its request unread in its
 * socket: the silent one goes. */
static void sc_burst_keeps_the_probe(test_ctx *t) {
  static client blocker, probe, silent[2];
  static response r;
  CHECK(t, client_open(&blocker, t->port, 0));
  CHECK(t, client_send_str(&blocker, "GET /block HTTP/1.1\r\nHost: t\r\nX-Key: k\r\n\r\n"));
  sleep_ms(BLOCK_LOOP_MS / 3);
  CHECK(t, client_open(&probe, t->port, 0));
  CHECK(t, client_send_str(&probe, GET_HELLO));
  for (int i = 0; i < 2; i++) CHECK(t, client_open(&silent[i], t->port, 0));
  CHECK(t, client_read_response(&probe, &r, false));
  CHECK(t, r.status == 200 && strcmp(r.body, "hello") == 0);
  CHECK(t, closed_soon(&silent[0]));
  CHECK(t, client_read_response(&blocker, &r, false) && r.status == 200);
  CHECK(t, served_hello(&silent[1], GET_HELLO));
  client_close(&blocker);
  client_close(&probe);
  for (int i = 0; i < 2; i++) client_close(&silent[i]);
}

static void test_burst_keeps_the_probe(void **state) {
  (void)state;
  http_limits limits = roomy_limits;
  limits.max_connections = 3;
  run_fresh(&limits, sc_burst_keeps_the_probe);
}

/* Two slots, both trusted and idle: a newcomer closes the one idle the
 * longest. Both trusted and busy: the newcomer is refused (closed at once,
 * unanswered). */
static client busy1, busy2;

static void sc_full_of_trusted(test_ctx *t) {
  static client t1, t2, n1, n2;
  CHECK(t, client_open(&t1, t->port, 0));
  CHECK(t, served_hello(&t1, GET_HELLO_TRUSTED));
  CHECK(t, client_open(&t2, t->port, 0));
  CHECK(t, served_hello(&t2, GET_HELLO_TRUSTED));
  CHECK(t, client_open(&n1, t->port, 0));
  CHECK(t, served_hello(&n1, GET_HELLO));
  CHECK(t, closed_soon(&t1));
  CHECK(t, served_hello(&t2, GET_HELLO_TRUSTED));
  client_close(&t1);
  client_close(&t2);
  client_close(&n1);
  CHECK(t, client_open(&busy1, t->port, 0));
  CHECK(t, client_send_str(&busy1, "GET /hang HTTP/1.1\r\nHost: t\r\nX-Key: k\r\n\r\n"));
  CHECK(t, client_open(&busy2, t->port, 0));
  CHECK(t, client_send_str(&busy2, "GET /hang HTTP/1.1\r\nHost: t\r\nX-Key: k\r\n\r\n"));
  CHECK(t, wait_for(&t->hangs_started, 2, CLIENT_IO_TIMEOUT_MS));
  CHECK(t, client_open(&n2, t->port, 0));
  CHECK(t, closed_soon(&n2) && n2.len == 0);
  client_close(&n2);
}

static void test_full_of_trusted(void **state) {
  (void)state;
  http_limits limits = roomy_limits;
  limits.max_connections = 2;
  test_ctx *t = run_fresh(&limits, sc_full_of_trusted);
  /* The hanging requests end with the server. */
  assert_int_equal(atomic_load(&t->on_close_count), 2);
  client_close(&busy1);
  client_close(&busy2);
}

/* The server closes with an idle connection, an open stream and a handler
 * still working: all of them close, both callbacks run, and run_scenario
 * checks that the loop has no handle left. */
static client open_idle, open_stream, open_hang;

static void sc_close_with_everything_open(test_ctx *t) {
  static response r;
  client *idle = &open_idle, *stream = &open_stream, *hang = &open_hang;
  CHECK(t, client_open(idle, t->port, 0));
  CHECK(t, client_get(idle, GET_HELLO, &r));
  CHECK(t, client_open(stream, t->port, 0));
  CHECK(t, client_send_str(stream, "GET /tick HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, client_read_response(stream, &r, true));
  CHECK(t, r.status == 200);
  CHECK(t, client_open(hang, t->port, 0));
  CHECK(t, client_send_str(hang, "GET /hang HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(t, wait_for(&t->hangs_started, 1, CLIENT_IO_TIMEOUT_MS));
}

static void test_graceful_close(void **state) {
  (void)state;
  test_ctx *t = run_fresh(&roomy_limits, sc_close_with_everything_open);
  assert_int_equal(atomic_load(&t->on_close_count), 2);
  /* Each client sees its connection closed. */
  assert_true(client_wait_closed(&open_idle, CLIENT_IO_TIMEOUT_MS) >= 0);
  assert_true(client_wait_closed(&open_stream, CLIENT_IO_TIMEOUT_MS) >= 0);
  assert_true(client_wait_closed(&open_hang, CLIENT_IO_TIMEOUT_MS) >= 0);
  client_close(&open_idle);
  client_close(&open_stream);
  client_close(&open_hang);
}

int main(void) {
  memset(flood_chunk, 'f', sizeof(flood_chunk));
  memset(big_body, 'b', sizeof(big_body));
  const struct CMUnitTest tests[] = {
      SCENARIO_TEST(test_keep_alive, sc_keep_alive, roomy_limits),
      SCENARIO_TEST(test_accepted_sockets_have_nodelay, sc_nodelay, roomy_limits),
      SCENARIO_TEST(test_pipelining, sc_pipelining, roomy_limits),
      SCENARIO_TEST(test_limits_and_bad_requests, sc_refusals, roomy_limits),
      SCENARIO_TEST(test_refused_while_sending, sc_refused_while_sending, roomy_limits),
      SCENARIO_TEST(test_body_at_limit, sc_body_at_limit, roomy_limits),
      SCENARIO_TEST(test_slow_header_cut_off, sc_slow_header, short_timeouts),
      SCENARIO_TEST(test_idle_timeout, sc_idle_timeout, short_timeouts),
      cmocka_unit_test(test_stalled_reader_cut_off),
      SCENARIO_TEST(test_slow_reader_finishes, sc_slow_reader_finishes, short_timeouts),
      SCENARIO_TEST(test_slow_stream_reader_dropped, sc_slow_stream_reader, roomy_limits),
      SCENARIO_TEST(test_stream, sc_stream, roomy_limits),
      cmocka_unit_test(test_stalled_paced_stream_cut_off),
      SCENARIO_TEST(test_stream_burst_counted_until_called_back, sc_burst_counted, roomy_limits),
      cmocka_unit_test(test_head),
      cmocka_unit_test(test_static_files),
      cmocka_unit_test(test_static_site),
      SCENARIO_TEST(test_extra_cache_control_replaces_default, sc_cache_control, roomy_limits),
      SCENARIO_TEST(test_client_leaves_before_answer, sc_client_leaves, roomy_limits),
      cmocka_unit_test(test_on_close_dropped_after_answer),
      SCENARIO_TEST(test_head_check_answers_before_the_body, sc_head_check, roomy_limits),
      SCENARIO_TEST(test_slow_body_cut_off, sc_slow_body, short_timeouts),
      cmocka_unit_test(test_per_address_cap),
      cmocka_unit_test(test_full_closes_the_cheapest),
      cmocka_unit_test(test_burst_keeps_the_probe),
      cmocka_unit_test(test_full_of_trusted),
      cmocka_unit_test(test_graceful_close),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
