/* The SSH transport against a real OpenSSH sshd on 127.0.0.1 (root only:
 * sshd needs /run/sshd and a login user; the tests skip otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "limits_table.h"
#include "scratch.h"
#include "ssh_standby_shell.h"
#include "ssh_transport.h"

/* The connect limit must let a fresh connection's handshake through on a
 * busy machine; a command limit of COMMAND_LIMIT_LOADED_MS covers a fresh
 * connection and the command's first output there too. */
enum {
  MAX_OUTPUT_BYTES = 1024 * 1024,
  CONNECT_TIMEOUT_MS = 3000,
  COMMAND_LIMIT_LOADED_MS = 6000,
};

static char dir[64];
static int port;
static pid_t sshd_pid;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return system(cmd);
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  bind(fd, (struct sockaddr *)&a, sizeof a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

static void sshd_start(void) {
  char cmd[256], line[32] = "";
  snprintf(cmd, sizeof cmd, "sh %s/tests/lib/test-sshd.sh %s %d", getenv("BREAKGLASS_SOURCE_DIR"),
           dir, port);
  FILE *f = popen(cmd, "r");
  assert_non_null(fgets(line, sizeof line, f));
  pclose(f);
  sshd_pid = atoi(line);
  assert_true(sshd_pid > 0);
}

/* The listener and the per-connection sshd processes it forked. */
static void sshd_stop(void) {
  /* Thawed first: a failed assertion may have left it frozen. */
  run("kill -CONT %d; pkill -CONT -P %d; pkill -TERM -P %d; kill -TERM %d", (int)sshd_pid,
      (int)sshd_pid, (int)sshd_pid, (int)sshd_pid);
  while (kill(sshd_pid, 0) == 0) usleep(10000);
}

static int setup(void **state) {
  (void)state;
  if (geteuid() != 0 || !getenv("BREAKGLASS_SOURCE_DIR")) return -1;
  signal(SIGPIPE, SIG_IGN);
  scratch_dir_make(dir, sizeof dir, "ssh");
  port = free_port();
  run("cd %s && ssh-keygen -q -t ed25519 -N '' -f id && cp id.pub authorized_keys && "
      "ssh-keygen -q -t ed25519 -N '' -f other && ssh-keygen -q -t rsa -b 2048 -N '' -f rsa && "
      "ssh-keygen -q -t ed25519 -N '' -f host_key && "
      "printf '[127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1-2 host_key.pub)\" > known_hosts && "
      "printf '[127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1-2 other.pub)\" > known_hosts_changed && "
      ": > known_hosts_empty",
      dir, port, port);
  sshd_start();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  sshd_stop();
  scratch_remove(dir);
  return 0;
}

typedef struct run_ctx {
  int done;
  ssh_layer layer;
  int ok, status;
  char signal[16];
  char out[256], err[256], message[2048];
  size_t out_len, err_len;
  uint64_t out_cut, err_cut, done_ms;
} run_ctx;

static void on_done(void *ud, const ssh_result *r) {
  run_ctx *c = ud;
  c->done++;
  c->ok = r->ok;
  c->layer = r->layer;
  c->status = r->exit_status;
  snprintf(c->signal, sizeof c->signal, "%s", r->exit_signal ? r->exit_signal : "");
  snprintf(c->out, sizeof c->out, "%.*s", (int)(r->out.len < 255 ? r->out.len : 255), r->out.data);
  snprintf(c->err, sizeof c->err, "%.*s", (int)(r->err.len < 255 ? r->err.len : 255), r->err.data);
  snprintf(c->message, sizeof c->message, "%s", r->message);
  c->out_len = r->out.len;
  c->err_len = r->err.len;
  c->out_cut = r->out.cut_bytes;
  c->err_cut = r->err.cut_bytes;
  c->done_ms = uv_hrtime() / 1000000;
}

static const ssh_exec_cbs CBS = {.on_done = on_done};

/* One loop and one pool with the one target, as most tests start. */
typedef struct fixture {
  uv_loop_t loop;
  ssh_pool *p;
} fixture;

/* A connection's age (0 for no bound), a standby's life, and keepalives
 * off: a read that stalls then lasts until the command's limit. */
typedef struct pool_bounds {
  uint64_t max_age_ms;
  uint64_t standby_life_ms;
  bool no_keepalive;
} pool_bounds;

static void fixture_open_bounded(fixture *f, const char *key, const char *known_hosts,
                                 pool_bounds life) {
  char kp[128], kh[128], err[256];
  snprintf(kp, sizeof kp, "%s/%s", dir, key);
  snprintf(kh, sizeof kh, "%s/%s", dir, known_hosts);
  ssh_pool_options o = {.key_path = kp,
                        .known_hosts = kh,
                        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                        .keepalive_ms = life.no_keepalive ? 0 : 5000,
                        .conn_max_age_ms = life.max_age_ms,
                        .standby_life_ms = life.standby_life_ms,
                        .max_output_bytes = MAX_OUTPUT_BYTES};
  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->p = NULL;
  assert_int_equal(ssh_pool_new(&f->p, &f->loop, &o, err, sizeof err), 0);
  assert_int_equal(ssh_pool_add_target(f->p, "devvm", "127.0.0.1", port, "root"), 0);
}

static void fixture_open(fixture *f, const char *key, const char *known_hosts) {
  fixture_open_bounded(f, key, known_hosts, (pool_bounds){0});
}

static void fixture_close(fixture *f) {
  ssh_pool_close(f->p, NULL, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

static int pool_setup(void **state) {
  fixture *f = malloc(sizeof *f);
  assert_non_null(f);
  fixture_open(f, "id", "known_hosts");
  *state = f;
  return 0;
}

static int pool_teardown(void **state) {
  fixture *f = *state;
  fixture_close(f);
  free(f);
  return 0;
}

static ssh_exec *exec_start(fixture *f, const char *cmd, uint64_t timeout_ms, unsigned flags,
                            const ssh_exec_cbs *cbs, run_ctx *c) {
  memset(c, 0, sizeof *c);
  return ssh_exec_start(f->p, "devvm", cmd, timeout_ms, flags, cbs, c);
}

static void wait_done(fixture *f, const run_ctx *c) {
  while (!c->done) uv_run(&f->loop, UV_RUN_ONCE);
}

static void run_one(fixture *f, const char *cmd, uint64_t timeout_ms, run_ctx *c) {
  assert_non_null(exec_start(f, cmd, timeout_ms, 0, &CBS, c));
  assert_int_equal(c->done, 0); /* deferred */
  wait_done(f, c);
}

static int accepted_count(void) {
  char cmd[200];
  snprintf(cmd, sizeof cmd, "grep -c 'Accepted publickey' %s/sshd.log", dir);
  FILE *f = popen(cmd, "r");
  int n = 0;
  if (fscanf(f, "%d", &n) != 1) n = -1;
  pclose(f);
  return n;
}

static void test_command_output_and_status(void **state) {
  fixture *f = *state;
  run_ctx c;
  run_one(f, "echo out; echo err >&2; exit 3", 10000, &c);
  assert_true(c.ok);
  assert_string_equal(c.out, "out\n");
  assert_string_equal(c.err, "err\n");
  assert_int_equal(c.status, 3);
  assert_string_equal(c.signal, "");
  run_one(f, "kill -TERM $$", 10000, &c);
  assert_true(c.ok);
  assert_string_equal(c.signal, "TERM");
}

static void test_twenty_at_once_share_one_connection(void **state) {
  fixture *f = *state;
  int before = accepted_count();
  run_ctx c[20];
  for (int i = 0; i < 20; i++) assert_non_null(exec_start(f, "echo hi", 20000, 0, &CBS, &c[i]));
  for (int i = 0; i < 20; i++) wait_done(f, &c[i]);
  for (int i = 0; i < 20; i++) {
    if (!c[i].ok) fail_msg("%d: %s: %s", i, ssh_layer_name(c[i].layer), c[i].message);
    assert_string_equal(c[i].out, "hi\n");
  }
  run_ctx again;
  run_one(f, "true", 10000, &again);
  assert_true(again.ok);
  assert_int_equal(accepted_count() - before, 1);
  /* A restarted sshd: the next command reconnects. */
  sshd_stop();
  sshd_start();
  run_one(f, "echo back", 10000, &again);
  assert_true(again.ok);
  assert_string_equal(again.out, "back\n");
}

static void expect_failure(const char *key, const char *kh, ssh_layer layer, const char *in_msg) {
  fixture f;
  fixture_open(&f, key, kh);
  run_ctx c;
  run_one(&f, "true", 10000, &c);
  assert_false(c.ok);
  if (c.layer != layer) fail_msg("layer %s: %s", ssh_layer_name(c.layer), c.message);
  if (in_msg && !strstr(c.message, in_msg)) fail_msg("message: %s", c.message);
  fixture_close(&f);
}

static void test_host_and_client_keys(void **state) {
  (void)state;
  char fp[128] = "";
  char cmd[200];
  snprintf(cmd, sizeof cmd, "ssh-keygen -lf %s/host_key.pub | cut -d' ' -f2", dir);
  FILE *f = popen(cmd, "r");
  assert_non_null(fgets(fp, sizeof fp, f));
  pclose(f);
  fp[strcspn(fp, "\n")] = '\0';
  expect_failure("id", "known_hosts_changed", SSH_LAYER_HOSTKEY_CHANGED, fp);
  expect_failure("id", "known_hosts_empty", SSH_LAYER_HOSTKEY_UNKNOWN, "BREAKGLASS_KNOWN_HOSTS");
  expect_failure("other", "known_hosts", SSH_LAYER_AUTH_REFUSED, NULL);

  char kp[128], kh[128], err[512];
  snprintf(kp, sizeof kp, "%s/rsa", dir);
  snprintf(kh, sizeof kh, "%s/known_hosts", dir);
  ssh_pool_options o = {.key_path = kp,
                        .known_hosts = kh,
                        .connect_timeout_ms = 1000,
                        .max_output_bytes = MAX_OUTPUT_BYTES};
  ssh_pool *p = NULL;
  assert_int_equal(ssh_pool_new(&p, uv_default_loop(), &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "RSA"));
}

static void test_connect_failures(void **state) {
  (void)state;
  int saved = port;
  port = free_port();
  uint64_t t0 = uv_hrtime() / 1000000;
  expect_failure("id", "known_hosts", SSH_LAYER_CONNECT_REFUSED, NULL);
  assert_true(uv_hrtime() / 1000000 - t0 < 500);
  port = saved;

  kill(sshd_pid, SIGSTOP);
  t0 = uv_hrtime() / 1000000;
  expect_failure("id", "known_hosts", SSH_LAYER_NO_BANNER, NULL);
  kill(sshd_pid, SIGCONT);
  assert_true(uv_hrtime() / 1000000 - t0 < CONNECT_TIMEOUT_MS + 1000);
}

static void test_timeout_cancel_and_big_output(void **state) {
  fixture *f = *state;
  run_ctx c;
  run_one(f, "echo partial; sleep 30", COMMAND_LIMIT_LOADED_MS, &c);
  assert_false(c.ok);
  assert_int_equal(c.layer, SSH_LAYER_COMMAND_TIMEOUT);
  assert_string_equal(c.out, "partial\n");

  ssh_exec *e = exec_start(f, "sleep 30", 30000, 0, &CBS, &c);
  for (int i = 0; i < 50; i++) uv_run(&f->loop, UV_RUN_NOWAIT), usleep(10000);
  uint64_t t0 = uv_hrtime() / 1000000;
  ssh_exec_cancel(e);
  assert_int_equal(c.done, 0);
  wait_done(f, &c);
  assert_int_equal(c.layer, SSH_LAYER_CANCELLED);
  assert_true(c.done_ms - t0 < 1000);

  run_one(f, "head -c 200000000 /dev/zero; echo end >&2", 120000, &c);
  assert_true(c.ok);
  assert_true(c.out_len <= MAX_OUTPUT_BYTES);
  assert_int_equal(c.out_len + c.out_cut, 200000000);
  assert_string_equal(c.err, "end\n");
}

/* A probe opens its own connection each time and reports every phase, even
 * when a shared connection is open; with the whole sshd tree frozen (a
 * wedged guest) it names the missing banner. */
static void test_fresh_connection(void **state) {
  fixture *f = *state;
  run_ctx c;
  run_one(f, "true", 10000, &c);
  assert_true(c.ok);
  int before = accepted_count();
  for (int i = 0; i < 2; i++) {
    assert_non_null(exec_start(f, "echo probe", 10000, SSH_EXEC_FRESH_CONNECTION, &CBS, &c));
    wait_done(f, &c);
    assert_true(c.ok);
    assert_string_equal(c.out, "probe\n");
  }
  assert_int_equal(accepted_count() - before, 2);
  run_one(f, "true", 10000, &c);
  assert_int_equal(accepted_count() - before, 2); /* the shared one is still there */

  run("pkill -STOP -P %d; kill -STOP %d", (int)sshd_pid, (int)sshd_pid);
  uint64_t t0 = uv_hrtime() / 1000000;
  assert_non_null(exec_start(f, "true", 10000, SSH_EXEC_FRESH_CONNECTION, &CBS, &c));
  wait_done(f, &c);
  assert_int_equal(c.layer, SSH_LAYER_NO_BANNER);
  assert_true(c.done_ms - t0 < CONNECT_TIMEOUT_MS + 1000);

  /* The shared connection, open since before the freeze, is no shortcut:
   * a command on it fails as fast and names the same layer. */
  t0 = uv_hrtime() / 1000000;
  run_one(f, "true", 30000, &c);
  run("kill -CONT %d; pkill -CONT -P %d", (int)sshd_pid, (int)sshd_pid);
  if (c.layer != SSH_LAYER_NO_BANNER) fail_msg("%s: %s", ssh_layer_name(c.layer), c.message);
  assert_true(c.done_ms - t0 < CONNECT_TIMEOUT_MS + 1000);
  run_one(f, "echo thawed", 10000, &c);
  assert_true(c.ok);
  assert_string_equal(c.out, "thawed\n");
}

/* This process's TCP sockets connected to peer_port: how many have
 * TCP_NODELAY set and how many not. */
static void nodelay_to_port(int peer_port, int *with, int *without) {
  *with = *without = 0;
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d));) {
    int fd = atoi(e->d_name);
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    if (e->d_name[0] == '.' || fd == dirfd(d) ||
        getpeername(fd, (struct sockaddr *)&peer, &len) != 0 || peer.sin_family != AF_INET ||
        ntohs(peer.sin_port) != peer_port)
      continue;
    int on = 0;
    len = sizeof on;
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    if (on)
      (*with)++;
    else
      (*without)++;
  }
  closedir(d);
}

static int fresh_with, fresh_without;

static void on_output_check_nodelay(void *ud, int stream, const char *bytes, size_t len) {
  (void)ud, (void)stream, (void)bytes, (void)len;
  nodelay_to_port(port, &fresh_with, &fresh_without);
}

/* Every SSH socket has Nagle's algorithm off: a command's small packets
 * (channel open, exec, close) must not wait for delayed ACKs (issue 13).
 * The check sees the sockets as the kernel has them. */
static void test_sockets_have_nodelay(void **state) {
  fixture *f = *state;
  run_ctx c;
  run_one(f, "true", 10000, &c);
  assert_true(c.ok);
  int with, without;
  nodelay_to_port(port, &with, &without);
  assert_int_equal(with, 1); /* the shared connection, still open */
  assert_int_equal(without, 0);
  /* A probe's connection of its own, seen while its command runs. */
  static const ssh_exec_cbs watch = {.on_output = on_output_check_nodelay, .on_done = on_done};
  assert_non_null(exec_start(f, "echo x", 10000, SSH_EXEC_FRESH_CONNECTION, &watch, &c));
  wait_done(f, &c);
  assert_true(c.ok);
  assert_int_equal(fresh_with, 2);
  assert_int_equal(fresh_without, 0);
  /* The check can tell: a socket of our own without the option counts. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  nodelay_to_port(port, &with, &without);
  close(fd);
  assert_int_equal(without, 1);
}

static long vm_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  fclose(f);
  return kb;
}

typedef struct tick_watch {
  uint64_t last_ms, max_gap_ms;
} tick_watch;

static void on_tick(uv_timer_t *t) {
  tick_watch *w = t->data;
  uint64_t now = uv_hrtime() / 1000000;
  if (w->last_ms && now - w->last_ms > w->max_gap_ms) w->max_gap_ms = now - w->last_ms;
  w->last_ms = now;
}

/* A command that prints without pause must not keep the loop from its
 * other work: a 10 ms timer keeps firing while 200 MB stream in. */
static void test_streaming_leaves_the_loop_free(void **state) {
  fixture *f = *state;
  tick_watch w = {0};
  uv_timer_t tick;
  uv_timer_init(&f->loop, &tick);
  tick.data = &w;
  uv_timer_start(&tick, on_tick, 10, 10);
  run_ctx c;
  run_one(f, "head -c 200000000 /dev/zero", 120000, &c);
  uv_close((uv_handle_t *)&tick, NULL);
  assert_true(c.ok);
  print_message("longest pause of the loop: %llu ms\n", (unsigned long long)w.max_gap_ms);
  assert_true(w.max_gap_ms < 1000);
}

/* A reader slower than the host: the channel's window stays full, and
 * every loop turn reads up to the per-turn budget. */
static void on_output_slowly(void *ud, int stream, const char *bytes, size_t len) {
  (void)ud, (void)stream, (void)bytes, (void)len;
  usleep(1000);
}

/* libssh2's EOF is the channel's, hidden while data of either stream is
 * queued. A flood of stderr that ends a little past a per-turn budget has
 * its last bytes, stdout's line and the EOF queued when a turn ends on the
 * budget; the next turn reads stdout's line, then the rest of stderr and
 * the EOF, with nothing more to come from the socket. Both streams must
 * end there, not wait for a keepalive's reply (off here, so a wait would
 * last until the command's limit). The mirror image, stdout flooding, too. */
static void test_flood_past_a_turn_ends_both_streams(void **state) {
  (void)state;
  fixture fx, *f = &fx;
  fixture_open_bounded(f, "id", "known_hosts", (pool_bounds){.no_keepalive = true});
  const ssh_exec_cbs slow = {.on_output = on_output_slowly, .on_done = on_done};
  const unsigned long flood = 2 * SSH_MAX_READ_PER_TURN_BYTES + 64 * 1024;
  for (int i = 0; i < 2; i++) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "head -c %lu /dev/zero %s; echo end %s", flood, i == 0 ? ">&2" : "",
             i == 0 ? "" : ">&2");
    run_ctx c;
    assert_non_null(exec_start(f, cmd, 20000, 0, &slow, &c));
    wait_done(f, &c);
    assert_int_equal(c.layer, SSH_LAYER_NONE);
    assert_string_equal(i == 0 ? c.out : c.err, "end\n");
    assert_int_equal(i == 0 ? c.err_len + c.err_cut : c.out_len + c.out_cut, flood);
  }
  fixture_close(f);
}

static void on_drained(void *ud) {
  uint64_t *at_ms = ud;
  *at_ms = uv_hrtime() / 1000000;
}

/* A drain lets a power verb the host is running finish (or hit its own
 * limit), cancels every other command and one not yet sent, refuses new
 * ones, and says so once no command is left. */
static void test_drain_finishes_verbs_only(void **state) {
  fixture *f = *state;
  run_ctx warm, verb, shell, late, stuck;
  run_one(f, "true", 10000, &warm); /* a connection every command shares */
  assert_non_null(
      exec_start(f, "sleep 1; echo verb done", 10000, SSH_EXEC_FINISH_ON_DRAIN, &CBS, &verb));
  assert_non_null(exec_start(f, "sleep 30", 1500, SSH_EXEC_FINISH_ON_DRAIN, &CBS, &stuck));
  assert_non_null(exec_start(f, "sleep 30", 30000, 0, &CBS, &shell));
  for (int i = 0; i < 30; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT), usleep(10000); /* all three on the host */
  assert_int_equal(verb.done + stuck.done + shell.done, 0);
  /* Not sent yet when the drain begins: it never is. */
  assert_non_null(exec_start(f, "echo never", 10000, SSH_EXEC_FINISH_ON_DRAIN, &CBS, &late));

  uint64_t drained_ms = 0, t0 = uv_hrtime() / 1000000;
  assert_int_equal(ssh_pool_drain(f->p, on_drained, &drained_ms), 2);
  assert_null(ssh_exec_start(f->p, "devvm", "true", 10000, 0, &CBS, &warm));
  while (!shell.done || !late.done) uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(shell.layer, SSH_LAYER_CANCELLED);
  assert_int_equal(late.layer, SSH_LAYER_CANCELLED);
  assert_non_null(strstr(late.message, "not sent"));
  assert_true(shell.done_ms - t0 < 500);
  while (!drained_ms) uv_run(&f->loop, UV_RUN_ONCE);
  assert_true(verb.ok);
  assert_string_equal(verb.out, "verb done\n");
  assert_int_equal(stuck.layer, SSH_LAYER_COMMAND_TIMEOUT); /* its own limit, no more */
  assert_true(drained_ms >= verb.done_ms && drained_ms >= stuck.done_ms);
  assert_true(drained_ms - t0 < 2500);
}

/* Nothing running: drained on the next loop turn, never inside the call. */
static void test_drain_of_an_idle_pool(void **state) {
  fixture *f = *state;
  uint64_t drained_ms = 0;
  assert_int_equal(ssh_pool_drain(f->p, on_drained, &drained_ms), 0);
  assert_int_equal(drained_ms, 0);
  uv_run(&f->loop, UV_RUN_ONCE);
  assert_true(drained_ms > 0);
}

static void test_memory_bounded(void **state) {
  fixture *f = *state;
  long before = vm_rss_kb();
  run_ctx c;
  run_one(f, "head -c 200000000 /dev/zero", 120000, &c);
  assert_true(c.ok);
  assert_true(vm_rss_kb() - before < 100 * 1024);
}

/* The listener's children: one sshd a connection. */
static int connections_open(void) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "pgrep -c -P %d", (int)sshd_pid);
  FILE *f = popen(cmd, "r");
  int n = -1;
  if (fscanf(f, "%d", &n) != 1) n = -1;
  pclose(f);
  return n;
}

/* Runs the loop until count() says want, for up to 10 s. */
static void wait_count(fixture *f, int (*count)(void), int want) {
  for (int i = 0; i < 1000 && count() != want; i++) {
    uv_run(&f->loop, UV_RUN_NOWAIT);
    usleep(10000);
  }
  assert_int_equal(count(), want);
}

static void wait_connections(fixture *f, int want) { wait_count(f, connections_open, want); }

/* A pool whose devvm keeps a login shell waiting (ssh_standby_shell.h). */
static void fixture_open_with_standby(fixture *f, pool_bounds bounds) {
  fixture_open_bounded(f, "id", "known_hosts", bounds);
  assert_int_equal(
      ssh_pool_set_standby(f->p, "devvm", ssh_standby_shell_command, ssh_standby_shell_frame), 0);
}

/* Runs cmd, which must print want on a second connection (the first was
 * opened after before accepted keys), and waits for the first to close. */
static void expect_on_a_fresh_connection(fixture *f, int before, const char *cmd,
                                         const char *want) {
  run_ctx c;
  run_one(f, cmd, 10000, &c);
  assert_true(c.ok);
  assert_string_equal(c.out, want);
  assert_int_equal(accepted_count() - before, 2);
  wait_connections(f, 1);
}

/* How many standby shells wait under this test's sshd (ps shows their
 * bootstrap; other tests may run standbys of their own meanwhile). */
static int standby_shells(void) {
  char cmd[400];
  snprintf(cmd, sizeof cmd,
           "for p in $(pgrep -f '[I]FS= read -r end'); do q=$p; while [ \"$q\" -gt 1 ]; do "
           "[ \"$q\" = %d ] && echo $p && break; q=$(ps -o ppid= -p $q | tr -d ' '); "
           "[ -n \"$q\" ] || break; done; done | wc -l",
           (int)sshd_pid);
  FILE *f = popen(cmd, "r");
  int n = -1;
  if (fscanf(f, "%d", &n) != 1) n = -1;
  pclose(f);
  return n;
}

/* Runs the loop for about ms. */
static void run_for(fixture *f, unsigned ms) {
  for (unsigned i = 0; i < ms / 10; i++) {
    uv_run(&f->loop, UV_RUN_NOWAIT);
    usleep(10000);
  }
}

/* A connection past its age makes way for a fresh one; a command still
 * running on it ends as it would have, and then it closes, with the
 * keepalive replies libssh2 kept. (The age leaves a loaded machine time to
 * finish the first command well inside it.) */
static void test_old_connection_makes_way(void **state) {
  (void)state;
  fixture fx, *f = &fx;
  fixture_open_bounded(f, "id", "known_hosts", (pool_bounds){.max_age_ms = 3000});
  int before = accepted_count();
  run_ctx c, slow;
  run_one(f, "true", 10000, &c);
  assert_true(c.ok);
  assert_non_null(exec_start(f, "sleep 5; echo slow", 10000, 0, &CBS, &slow));
  run_for(f, 3100);
  expect_on_a_fresh_connection(f, before, "echo fresh", "fresh\n");
  wait_done(f, &slow);
  assert_true(slow.ok);
  assert_string_equal(slow.out, "slow\n");
  fixture_close(f);
}

/* The standby waiting on an old connection ends with it; the command runs
 * on the fresh one, and a standby waits there after it. */
static void test_old_connection_ends_its_standby(void **state) {
  (void)state;
  fixture fx, *f = &fx;
  fixture_open_with_standby(f, (pool_bounds){.max_age_ms = 3000, .standby_life_ms = 60000});
  int before = accepted_count();
  run_ctx c;
  run_one(f, "echo first", 10000, &c);
  assert_true(c.ok);
  wait_count(f, standby_shells, 1);
  run_for(f, 3100);
  expect_on_a_fresh_connection(f, before, "echo second", "second\n");
  /* The old one's shell is gone with it; a new one waits on the fresh one. */
  wait_count(f, standby_shells, 1);
  fixture_close(f);
}

/* A standby renewed on a connection that is past its age is not: the
 * connection closes with nothing left waiting on the host. */
static void test_standby_not_renewed_on_an_old_connection(void **state) {
  (void)state;
  fixture fx, *f = &fx;
  fixture_open_with_standby(f, (pool_bounds){.max_age_ms = 600, .standby_life_ms = 150});
  run_ctx c;
  run_one(f, "true", 10000, &c);
  assert_true(c.ok);
  wait_connections(f, 0);
  wait_count(f, standby_shells, 0);
  fixture_close(f);
}

/* Without a standby's life, no standby. */
static void test_standby_needs_its_life(void **state) {
  fixture *f = *state;
  assert_int_equal(
      ssh_pool_set_standby(f->p, "devvm", ssh_standby_shell_command, ssh_standby_shell_frame), -1);
}

/* Most tests start with a loop and a pool of their own (pool_setup). */
#define POOL_TEST(t) cmocka_unit_test_setup_teardown(t, pool_setup, pool_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      POOL_TEST(test_command_output_and_status),
      POOL_TEST(test_sockets_have_nodelay),
      POOL_TEST(test_twenty_at_once_share_one_connection),
      cmocka_unit_test(test_host_and_client_keys),
      cmocka_unit_test(test_connect_failures),
      POOL_TEST(test_timeout_cancel_and_big_output),
      POOL_TEST(test_memory_bounded),
      POOL_TEST(test_fresh_connection),
      POOL_TEST(test_streaming_leaves_the_loop_free),
      cmocka_unit_test(test_flood_past_a_turn_ends_both_streams),
      POOL_TEST(test_drain_finishes_verbs_only),
      POOL_TEST(test_drain_of_an_idle_pool),
      cmocka_unit_test(test_old_connection_makes_way),
      cmocka_unit_test(test_old_connection_ends_its_standby),
      cmocka_unit_test(test_standby_not_renewed_on_an_old_connection),
      POOL_TEST(test_standby_needs_its_life),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
