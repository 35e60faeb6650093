/* libFuzzer target for the whole HTTP request path, in process. The input
 * goes over stream sockets (see the transport) to http_server on a libuv
 * loop in this thread: the server's read buffer and parser, its timers and
 * connection slots, the head check, and api_handle with the real auth,
 * static files and routing (fuzz_api_stubs.c stands in for what lies past
 * the routes: sessions, turns, SSH, the model). Each run has a fresh
 * server, closed at its end: a handle left open hangs the run, memory left
 * behind is a leak report.
 *
 * Input: byte 0 picks the limits (fuzz_limits), byte 1 how many of the
 * input's last bytes are steps; between them are the bytes the clients
 * send. A step names one of FUZZ_CLIENTS connections (the last one comes
 * from a second address) and what it does: send the next few bytes as one
 * write, half-close, reset, or wait while the loop runs (a timeout of 0 ms
 * fires then); what is left after the steps goes in one last write. After
 * each step the loop runs a few passes and every client reads what came.
 * The bytes sent are contiguous in the input, apart from the steps, so a
 * mutation that lengthens a header or a trailer lengthens a write rather
 * than scrambling the steps after it.
 *
 * Oracles besides the sanitizers: every answer is a well-formed response
 * with the security headers; no route that needs credentials runs for
 * connections that never sent the bearer token or the proxy header's name;
 * no answer carries the file next to the www folder; nothing on the
 * request path logs an error.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "api_options.h"
#include "fuzz_api_stubs.h"
#include "fuzz_entry.h"
#include "http_server.h"
#include "http_static.h"

enum {
  FUZZ_CLIENTS = 4,
  /* Loop passes after each step: a pipelined request takes about one (its
   * answer's write completes in the next). */
  FUZZ_STEP_TURNS = 16,
  FUZZ_WAIT_TURNS = 64, /* after a "wait" step, and at the end */
  FUZZ_KEPT_ANSWER_BYTES = 64 * 1024,
  FUZZ_LONG_TIMEOUT_MS = 60000,
  /* Step actions (the step byte divided by FUZZ_CLIENTS). */
  FUZZ_ACTION_SENDS = 48,
  FUZZ_ACTION_HALF_CLOSES = 56,
  FUZZ_ACTION_RESETS = 60,
};

static char fuzz_token[] = "fuzz-token";
static char fuzz_user_header[] = "X-Fuzz-User";
/* What <base>/secret.txt, beside the www folder, holds. */
static const char fuzz_canary[] = "bg-fuzz-canary-outside-www";

/* One write's size: small ones split a head anywhere, large ones carry a
 * body past a limit. */
static const uint16_t fuzz_write_bytes[FUZZ_ACTION_SENDS] = {
    1,   2,   3,   4,    5,    6,    7,    8,    10,   12,   14,   16,   20,   24,   28,   32,
    40,  48,  56,  64,   80,   96,   112,  128,  160,  192,  224,  256,  320,  384,  448,  512,
    640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
};

typedef struct fuzz_client {
  int fd;     /* -1 until the first send, and after a reset */
  size_t len; /* answer bytes kept in in[] */
  char in[FUZZ_KEPT_ANSWER_BYTES];
  size_t sent; /* every byte sent, all connections of this client */
  char *out;
} fuzz_client;

static bool trace; /* BG_FUZZ_TRACE set: each answer's status line on stderr */
static uv_loop_t loop;
static api_options routes;
static app the_app;
static char www_base[64];
static fuzz_client clients[FUZZ_CLIENTS];
/* The transport's abstract Unix names (a leading NUL), with the pid, as
 * campaigns run side by side. The last client binds other_name: it stands
 * for a second host. */
static char listen_name[64], other_name[64];
static size_t listen_name_len, other_name_len;

/* --- set-up, once ------------------------------------------------------ */

static void write_file(const char *dir, const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) abort();
  fputs(text, f);
  fclose(f);
}

static void www_remove(void) {
  static const char *const names[] = {"www/index.html", "www/app.mjs", "www/escape",
                                      "www/sub",        "www",         "secret.txt"};
  char path[256];
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", www_base, names[i]);
    if (unlink(path) != 0) rmdir(path);
  }
  rmdir(www_base);
}

/* <base>/www with a page, a script, a folder and a symlink out to
 * <base>/secret.txt. */
static void www_make(char *root, size_t len) {
  snprintf(www_base, sizeof(www_base), "/tmp/bg-fuzz-http-XXXXXX");
  if (!mkdtemp(www_base)) abort();
  snprintf(root, len, "%s/www", www_base);
  if (mkdir(root, 0755) != 0) abort();
  write_file(www_base, "secret.txt", fuzz_canary);
  write_file(root, "index.html", "<!doctype html><title>fuzz</title>");
  write_file(root, "app.mjs", "export const x = 1;\n");
  char path[256];
  snprintf(path, sizeof(path), "%s/sub", root);
  if (mkdir(path, 0755) != 0) abort();
  snprintf(path, sizeof(path), "%s/escape", root);
  if (symlink("../secret.txt", path) != 0) abort();
  atexit(www_remove);
}

static void fuzz_init(void) {
  static char root[128];
  if (root[0]) return;
  www_make(root, sizeof(root));
  if (uv_loop_init(&loop) != 0) abort();
  routes.bearer_token = fuzz_token;
  routes.trusted_user_header = fuzz_user_header;
  trace = getenv("BG_FUZZ_TRACE") != NULL;
  /* snprintf stops at the NUL it is asked to print first, so the names are
   * written from their second byte. */
  listen_name_len = 1 + (size_t)snprintf(listen_name + 1, sizeof(listen_name) - 1,
                                         "bg-fuzz-http-server-%ld", (long)getpid());
  other_name_len = 1 + (size_t)snprintf(other_name + 1, sizeof(other_name) - 1,
                                        "bg-fuzz-http-other-host-%ld", (long)getpid());
  the_app.loop = &loop;
  the_app.api = &routes;
  /* The page, read into memory as the daemon reads it (daemon.c). */
  if (http_static_new(&the_app.www, &loop, root) != 0) abort();
  for (size_t i = 0; i < FUZZ_CLIENTS; i++) clients[i].fd = -1;
}

/* Byte 0: bits 0-1 pick the one timeout that is 0 ms (none, the body's,
 * the idle one or the head's: the last closes nearly every connection, so
 * it gets a quarter); bit 2 small limits, where every connection past the
 * first competes for its slot. */
static void fuzz_limits(uint8_t profile, http_limits *l) {
  bool small = profile & 4;
  unsigned zero = profile & 3;
  *l = (http_limits){
      .max_header_bytes = small ? 512 : 4096,
      .max_body_bytes = small ? 256 : 8192,
      .header_timeout_ms = zero == 3 ? 0 : FUZZ_LONG_TIMEOUT_MS,
      .body_timeout_ms = zero == 1 ? 0 : FUZZ_LONG_TIMEOUT_MS,
      .idle_timeout_ms = zero == 2 ? 0 : FUZZ_LONG_TIMEOUT_MS,
      .max_stream_buffer_bytes = small ? 64 : 64 * 1024,
      .max_connections = small ? 2 : FUZZ_CLIENTS,
      .max_unproven_per_address = small ? 1 : 2,
  };
}

/* --- the transport ------------------------------------------------------ */

/* The server's sockets are Unix stream sockets under libuv's TCP handles:
 * the link wraps uv_tcp_bind (the listener binds an abstract Unix name)
 * and uv_tcp_getpeername (a peer's name becomes an IPv4 address, for the
 * per-address rules). Everything above the socket is the TCP path; what a
 * client sends is in the server's socket when send() returns, and there
 * is no port or TIME_WAIT to run out of, so runs are quick and
 * reproducible. Loopback TCP would deliver in a softirq that may come late,
 * and delay small writes (Nagle, delayed ACKs). */

int __wrap_uv_tcp_bind(uv_tcp_t *handle, const struct sockaddr *addr, unsigned int flags);
int __wrap_uv_tcp_getpeername(const uv_tcp_t *handle, struct sockaddr *name, int *namelen);

static socklen_t unix_name(struct sockaddr_un *un, const char *name, size_t len) {
  memset(un, 0, sizeof(*un));
  un->sun_family = AF_UNIX;
  memcpy(un->sun_path, name, len);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

int __wrap_uv_tcp_bind(uv_tcp_t *handle, const struct sockaddr *addr, unsigned int flags) {
  (void)addr;
  (void)flags;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un un;
  socklen_t len = unix_name(&un, listen_name, listen_name_len);
  if (fd < 0 || bind(fd, (struct sockaddr *)&un, len) != 0) abort();
  return uv_tcp_open(handle, fd);
}

int __wrap_uv_tcp_getpeername(const uv_tcp_t *handle, struct sockaddr *name, int *namelen) {
  uv_os_fd_t fd;
  struct sockaddr_un un;
  socklen_t len = sizeof(un);
  if (uv_fileno((const uv_handle_t *)handle, &fd) != 0 ||
      getpeername(fd, (struct sockaddr *)&un, &len) != 0)
    return UV_ENOTCONN;
  bool other = len == offsetof(struct sockaddr_un, sun_path) + other_name_len &&
               memcmp(un.sun_path, other_name, other_name_len) == 0;
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(40000)};
  in.sin_addr.s_addr = htonl(other ? 0x7f000002 : 0x7f000001);
  memcpy(name, &in, sizeof(in));
  *namelen = sizeof(in);
  return 0;
}

/* --- the clients ---------------------------------------------------------- */

static void loop_turns(int n) {
  for (int i = 0; i < n; i++) uv_run(&loop, UV_RUN_NOWAIT);
}

static void client_open(fuzz_client *cl, size_t index) {
  cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (cl->fd < 0) abort();
  struct sockaddr_un un;
  if (index == FUZZ_CLIENTS - 1 &&
      bind(cl->fd, (struct sockaddr *)&un, unix_name(&un, other_name, other_name_len)) != 0)
    abort();
  socklen_t len = unix_name(&un, listen_name, listen_name_len);
  if (connect(cl->fd, (struct sockaddr *)&un, len) != 0) abort();
}

static void client_send(fuzz_client *cl, size_t index, const uint8_t *data, size_t n) {
  if (cl->fd < 0) client_open(cl, index);
  memcpy(cl->out + cl->sent, data, n);
  cl->sent += n;
  /* A server that has stopped reading leaves the rest unsent. */
  (void)send(cl->fd, data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void client_read(fuzz_client *cl) {
  if (cl->fd < 0) return;
  char scratch[4096];
  for (;;) {
    char *to = cl->len < sizeof(cl->in) ? cl->in + cl->len : scratch;
    size_t room = cl->len < sizeof(cl->in) ? sizeof(cl->in) - cl->len : sizeof(scratch);
    ssize_t n = recv(cl->fd, to, room, MSG_DONTWAIT);
    if (n <= 0) return;
    if (to != scratch) cl->len += (size_t)n;
  }
}

/* --- the oracles ------------------------------------------------------- */

static bool has(const char *head, size_t len, const char *line) {
  return memmem(head, len, line, strlen(line)) != NULL;
}

static bool status_expected(int status) {
  static const int expected[] = {200, 304, 400, 401, 403, 404, 405, 409,
                                 413, 415, 417, 422, 431, 500, 501, 503};
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
    if (status == expected[i]) return true;
  return false;
}

/* One response head (through the empty line): well formed, with the
 * security headers. The body's length, or -1 when the body runs to the
 * close (a stream). */
static long check_head(const char *head, size_t len) {
  int status = 0;
  if (len < 13 || memcmp(head, "HTTP/1.1 ", 9) != 0 || sscanf(head + 9, "%3d", &status) != 1 ||
      head[12] != ' ' || !status_expected(status))
    abort();
  if (!has(head, len, "\r\nX-Content-Type-Options: nosniff\r\n") ||
      !has(head, len, "\r\nContent-Security-Policy: default-src 'self'") ||
      !has(head, len, "\r\nReferrer-Policy: no-referrer\r\n") ||
      !has(head, len, "\r\nX-Frame-Options: DENY\r\n") || !has(head, len, "\r\nDate: ") ||
      !has(head, len, "\r\nCache-Control: "))
    abort();
  const char *cl = memmem(head, len, "\r\nContent-Length: ", 18);
  if (!cl) {
    if (status == 304) return 0;
    if (!has(head, len, "\r\nContent-Type: text/event-stream\r\n")) abort();
    return -1;
  }
  if (memmem(cl + 1, len - (size_t)(cl + 1 - head), "\r\nContent-Length: ", 18)) abort();
  return strtol(cl + 18, NULL, 10);
}

/* The answers one client got, in order. An answer to HEAD has no body: the
 * next answer follows its head at once (no body here starts "HTTP/1.1 ").
 * The last answer may be cut short: the server may close mid-answer (a
 * reset client, a slot given up, a dropped stream). */
static void check_answers(const char *in, size_t len) {
  size_t at = 0;
  while (at < len) {
    const char *end = memmem(in + at, len - at, "\r\n\r\n", 4);
    if (!end) {
      size_t n = len - at < 9 ? len - at : 9;
      if (memcmp(in + at, "HTTP/1.1 ", n) != 0) abort();
      return;
    }
    size_t head_len = (size_t)(end - (in + at)) + 4;
    if (trace) fprintf(stderr, "  %.*s\n", (int)strcspn(in + at, "\r"), in + at);
    long body = check_head(in + at, head_len);
    at += head_len;
    if (body < 0) return;
    if (len - at >= 9 && memcmp(in + at, "HTTP/1.1 ", 9) == 0) continue;
    if ((size_t)body > len - at) return;
    at += (size_t)body;
  }
}

static bool contains_nocase(const char *text, size_t len, const char *word) {
  size_t n = strlen(word);
  for (size_t i = 0; i + n <= len; i++)
    if (strncasecmp(text + i, word, n) == 0) return true;
  return false;
}

static bool client_sent_credentials(const fuzz_client *cl) {
  return memmem(cl->out, cl->sent, fuzz_token, sizeof(fuzz_token) - 1) ||
         contains_nocase(cl->out, cl->sent, fuzz_user_header);
}

/* --- one run ----------------------------------------------------------- */

/* Reads what is left, resets the connection and checks its answers; the
 * next send opens a new one. */
static void client_end(fuzz_client *cl) {
  client_read(cl);
  if (trace && cl->len) fprintf(stderr, "client %zu:\n", (size_t)(cl - clients));
  if (cl->fd >= 0) close(cl->fd);
  cl->fd = -1;
  check_answers(cl->in, cl->len);
  if (memmem(cl->in, cl->len, fuzz_canary, sizeof(fuzz_canary) - 1)) abort();
  cl->len = 0;
}

static void on_server_closed(void *ud) { *(bool *)ud = true; }

static void loop_settle(void) {
  loop_turns(FUZZ_STEP_TURNS);
  for (size_t i = 0; i < FUZZ_CLIENTS; i++) client_read(&clients[i]);
}

/* steps[0..step_count) act on the bytes in data[0..size): each send takes
 * the next bytes. What is left when the steps are done goes in one write
 * to the last client that sent. */
static void run_steps(const uint8_t *steps, size_t step_count, const uint8_t *data, size_t size) {
  size_t off = 0, last = 0;
  for (size_t i = 0; i < step_count; i++) {
    size_t index = steps[i] % FUZZ_CLIENTS;
    unsigned action = steps[i] / FUZZ_CLIENTS;
    fuzz_client *cl = &clients[index];
    if (action < FUZZ_ACTION_SENDS) {
      size_t n = fuzz_write_bytes[action];
      if (n > size - off) n = size - off;
      if (n == 0) continue;
      client_send(cl, index, data + off, n);
      off += n;
      last = index;
    } else if (action < FUZZ_ACTION_HALF_CLOSES) {
      if (cl->fd >= 0) shutdown(cl->fd, SHUT_WR);
    } else if (action < FUZZ_ACTION_RESETS) {
      client_end(cl);
    } else {
      loop_turns(FUZZ_WAIT_TURNS);
    }
    loop_settle();
  }
  if (off < size) {
    client_send(&clients[last], last, data + off, size - off);
    loop_settle();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  fuzz_init();
  http_limits limits;
  fuzz_limits(data[0], &limits);
  http_server *server = NULL;
  if (http_server_new(&server, &loop, &limits, api_handle, &the_app) != 0) abort();
  http_server_set_head_check(server, api_head_check);
  if (http_server_listen(server, "127.0.0.1", 0) != 0) abort(); /* see the transport */
  the_app.http = server;
  for (size_t i = 0; i < FUZZ_CLIENTS; i++) {
    clients[i].len = clients[i].sent = 0;
    clients[i].out = malloc(size);
    if (!clients[i].out) abort();
  }

  size_t step_count = data[1] < size - 2 ? data[1] : size - 2;
  run_steps(data + size - step_count, step_count, data + 2, size - 2 - step_count);
  loop_turns(FUZZ_WAIT_TURNS);

  bool credentials = false;
  for (size_t i = 0; i < FUZZ_CLIENTS; i++) {
    fuzz_client *cl = &clients[i];
    client_end(cl);
    credentials = credentials || client_sent_credentials(cl);
    free(cl->out);
  }
  if (fuzz_api_authed_calls() > 0 && !credentials) {
    fputs("fuzz_http_server: a route that needs credentials ran without them\n", stderr);
    abort();
  }
  bool closed = false;
  http_server_close(server, on_server_closed, &closed);
  the_app.http = NULL;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (!closed) abort();
  fuzz_api_reset(&the_app);
  return 0;
}
