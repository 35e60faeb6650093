/* libssh2's allocator (ssh_alloc.c): blocks are tracked per session, and
 * what a session freed mid key exchange leaves behind is freed with it. The
 * second test cuts a real libssh2 key exchange short: a fake server sends
 * its banner and KEXINIT (curve25519) and then nothing, the connect limit
 * fires, and the key pair libssh2 1.10 would lose is reclaimed (under ASan
 * this test would also report it as a leak). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "scratch.h"
#include "ssh_alloc.h"
#include "ssh_transport.h"

#define CONNECT_TIMEOUT_MS 1000u
#define KEXINIT_MAX_BYTES 1024

static void test_arena(void **state) {
  (void)state;
  ssh_alloc_arena a = {0};
  void *abstract = &a;
  size_t before = ssh_alloc_reclaimed_total();
  char *x = ssh_alloc(16, &abstract);
  char *y = ssh_alloc(100, &abstract);
  char *z = ssh_alloc(1, &abstract);
  assert_non_null(x);
  assert_non_null(y);
  assert_non_null(z);
  assert_int_equal((uintptr_t)y % _Alignof(max_align_t), 0);
  memcpy(y, "kept across a realloc", 22);
  y = ssh_alloc_realloc(y, 64 * 1024, &abstract);
  assert_non_null(y);
  assert_string_equal(y, "kept across a realloc");
  ssh_alloc_free(x, &abstract);
  ssh_alloc_free(NULL, &abstract);
  z = ssh_alloc_realloc(z, 8, &abstract);
  assert_null(ssh_alloc(SIZE_MAX, &abstract));
  /* y and z are what a session left behind. */
  assert_int_equal(ssh_alloc_arena_release(&a), 2);
  assert_null(a.head);
  assert_int_equal(ssh_alloc_arena_release(&a), 0);
  assert_int_equal(ssh_alloc_reclaimed_total() - before, 2);
}

/* ---- a server that starts a key exchange and never finishes it ---- */

static size_t put_u32(unsigned char *p, uint32_t v) {
  uint32_t n = htonl(v);
  memcpy(p, &n, 4);
  return 4;
}

static size_t put_string(unsigned char *p, const char *s) {
  size_t n = strlen(s);
  put_u32(p, (uint32_t)n);
  memcpy(p + 4, s, n);
  return 4 + n;
}

/* The banner and an unencrypted SSH_MSG_KEXINIT packet (RFC 4253, 6 and
 * 7.1) offering only what libssh2 1.10 takes, curve25519 first. */
static size_t kexinit(unsigned char *out) {
  static const char banner[] = "SSH-2.0-breakglass_test\r\n";
  static const char *const lists[] = {
      "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256",
      "hmac-sha2-256",     "none",        "none",       "",           ""};
  unsigned char payload[KEXINIT_MAX_BYTES];
  size_t n = 0;
  payload[n++] = 20;             /* SSH_MSG_KEXINIT */
  memset(payload + n, 0x5a, 16); /* cookie */
  n += 16;
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
    n += put_string(payload + n, lists[i]);
  payload[n++] = 0; /* first_kex_packet_follows */
  n += put_u32(payload + n, 0);
  size_t pad = 8 - (4 + 1 + n) % 8;
  if (pad < 4) pad += 8;
  size_t len = strlen(banner);
  memcpy(out, banner, len);
  len += put_u32(out + len, (uint32_t)(1 + n + pad));
  out[len++] = (unsigned char)pad;
  memcpy(out + len, payload, n);
  len += n;
  memset(out + len, 0, pad);
  return len + pad;
}

/* Forks the server; returns its pid and the port. */
static pid_t stalling_server(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 4), 0);
  getsockname(fd, (struct sockaddr *)&a, &alen);
  *port = ntohs(a.sin_port);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int c = accept(fd, NULL, NULL);
    unsigned char out[KEXINIT_MAX_BYTES + 64];
    size_t n = kexinit(out);
    if (c < 0 || write(c, out, n) != (ssize_t)n) _exit(1);
    char sink[4096];
    while (read(c, sink, sizeof sink) > 0) {
    }
    _exit(0);
  }
  close(fd);
  return pid;
}

typedef struct probe_ctx {
  int done;
  ssh_layer layer;
} probe_ctx;

static void on_done(void *ud, const ssh_result *r) {
  probe_ctx *c = ud;
  c->done = 1;
  c->layer = r->layer;
}

static void test_key_exchange_cut_short(void **state) {
  (void)state;
  char dir[64];
  scratch_dir_make(dir, sizeof dir, "ssh-alloc");
  char cmd[256], key[128], known[128];
  snprintf(cmd, sizeof cmd, "ssh-keygen -q -t ed25519 -N '' -f %s/id && : > %s/known_hosts", dir,
           dir);
  assert_int_equal(system(cmd), 0);
  snprintf(key, sizeof key, "%s/id", dir);
  snprintf(known, sizeof known, "%s/known_hosts", dir);
  int port;
  pid_t server = stalling_server(&port);

  uv_loop_t loop;
  uv_loop_init(&loop);
  ssh_pool_options o = {.key_path = key,
                        .known_hosts = known,
                        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                        .max_output_bytes = 4096};
  ssh_pool *p;
  char err[256];
  assert_int_equal(ssh_pool_new(&p, &loop, &o, err, sizeof err), 0);
  assert_int_equal(ssh_pool_add_target(p, "stall", "127.0.0.1", port, "nobody"), 0);
  size_t before = ssh_alloc_reclaimed_total();
  probe_ctx c = {0};
  static const ssh_exec_cbs cbs = {.on_done = on_done};
  assert_non_null(ssh_exec_start(p, "stall", "true", 10000, SSH_EXEC_FRESH_CONNECTION, &cbs, &c));
  while (!c.done) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(c.layer, SSH_LAYER_KEX);
  ssh_pool_close(p, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  /* The key pair of the exchange in flight: lost by libssh2, freed here. */
  assert_true(ssh_alloc_reclaimed_total() - before >= 2);

  kill(server, SIGTERM);
  waitpid(server, NULL, 0);
  scratch_remove(dir);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arena),
      cmocka_unit_test(test_key_exchange_cut_short),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
