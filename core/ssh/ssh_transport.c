/* The SSH transport: connections, channels and their timers.
 *
 * A connection (ssh_conn) lives from one connect() to its failure or the
 * pool's close; a target points at its current connection and gets a new
 * one on the next command after the old one died. One uv_poll_t on the
 * socket drives libssh2 in the directions it asks for; one timer per
 * connection holds the connect deadline, then the keepalive tick. Each
 * command (ssh_exec) has one timer: its time limit, then the deferred
 * on_done.
 *
 * Lifetime: nothing is freed while a drive loop runs; execs and connections
 * are freed in their handles' close callbacks, so a callback that cancels
 * or starts commands mid-drive is safe.
 */
#include "ssh_transport.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <libssh2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dlist.h"
#include "limits_table.h"
#include "metrics_daemon.h"
#include "ssh_alloc.h"
#include "ssh_capture.h"
#include "ssh_key.h"
#include "ssh_knownhosts.h"

static const char SSH_HOSTKEY_PREF[] =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521";

typedef struct ssh_conn ssh_conn;

typedef struct ssh_target {
  ssh_pool *pool;
  char *name, *host, *user;
  int port;
  ssh_conn *conn;        /* current connection, NULL when none */
  char *standby_command; /* started ahead of use (ssh_pool_set_standby); NULL: none */
  ssh_standby_frame *standby_frame;
  ssh_exec *standby;             /* started, waiting for its command; NULL when none */
  uint64_t standby_off_until_ms; /* after a standby that ended unused too soon */
  struct ssh_target *next;
} ssh_target;

typedef enum conn_state { CONN_TCP, CONN_HANDSHAKE, CONN_AUTH, CONN_READY, CONN_DEAD } conn_state;

typedef struct ssh_orphan {
  LIBSSH2_CHANNEL *ch;
  struct ssh_orphan *next;
} ssh_orphan;

struct ssh_conn {
  ssh_pool *pool;
  ssh_target *target;
  int fd;
  LIBSSH2_SESSION *s;
  ssh_alloc_arena arena; /* libssh2's blocks for s; the session's abstract pointer */
  uv_poll_t poll;
  uv_timer_t timer;
  conn_state state;
  ssh_exec *owner; /* the one command of a private connection, else NULL */
  bool heard;      /* any byte from the server yet */
  bool kick; /* drive on the next loop turn: a command was added, or the read budget ran out */
  uint64_t turn_read_bytes; /* read this loop turn, against SSH_MAX_READ_PER_TURN_BYTES */
  uint64_t rx_bytes;    /* read from the socket by libssh2, to see if a drive pass got anything */
  unsigned channel_cap; /* channels to open at once; lowered while the server refuses more */
  unsigned handles;     /* open handles; freed when 0 */
  bool retired;         /* spent: no longer its target's; closes once idle */
  uint64_t t_start, connect_ms, handshake_ms, auth_ms, last_rx_ms;
  ssh_orphan *orphans; /* channels of finished commands, being freed */
  ssh_conn *next;      /* pool->conns */
};

typedef enum exec_state {
  EXEC_WAIT,
  EXEC_OPEN,
  EXEC_START,
  EXEC_SEND, /* writing an adopted standby's command (ssh_pool_set_standby) */
  EXEC_READ,
  EXEC_CLOSE
} exec_state;

struct ssh_exec {
  ssh_pool *pool;
  ssh_target *target;
  ssh_conn *conn;
  char *command;
  uint64_t timeout_ms, t_start;
  uint64_t connect_ms, handshake_ms, auth_ms; /* of the connection it opened */
  ssh_exec_cbs cbs;
  void *ud;
  LIBSSH2_CHANNEL *ch;
  exec_state state;
  bool done, reused, retried;
  ssh_conn *private_conn; /* its own connection, closed when it ends */
  bool finish_on_drain;   /* SSH_EXEC_FINISH_ON_DRAIN */
  bool liveness_check;    /* on a reused connection: the server must say something soon */
  uint64_t liveness_rx;   /* the connection's rx_bytes when the check started */
  bool standby;           /* the target's standby, waiting for its command */
  bool ping_pending;      /* an adopted standby's request that sshd must answer */
  size_t sent;            /* of command, framed for the adopted standby, written */
  ssh_capture out, err;
  uv_timer_t timer;
  ssh_layer layer;
  int exit_status;
  char *exit_signal;
  char message[SSH_MESSAGE_BYTES];
  ssh_exec *prev, *next; /* pool->execs */
};

struct ssh_pool {
  uv_loop_t *loop;
  ssh_pool_options o;
  char *known_hosts, *passphrase;
  char *key;
  size_t key_len;
  ssh_target *targets;
  ssh_conn *conns;
  ssh_exec *execs;
  uv_timer_t timer;  /* only to defer on_drained and on_closed */
  unsigned live;     /* the timer + execs + connections not yet freed */
  uint64_t finished; /* commands finished so far: a freed channel lets a waiting one start */
  bool closing, draining;
  void (*on_drained)(void *ud); /* pending until no command is left */
  void *drained_ud;
  void (*on_closed)(void *ud);
  void *closed_ud;
};

static const char *const SSH_LAYER_NAMES[] = {
    [SSH_LAYER_NONE] = "none",
    [SSH_LAYER_CONNECT_REFUSED] = "connect_refused",
    [SSH_LAYER_CONNECT_TIMEOUT] = "connect_timeout",
    [SSH_LAYER_NO_BANNER] = "no_banner",
    [SSH_LAYER_KEX] = "kex",
    [SSH_LAYER_HOSTKEY_UNKNOWN] = "hostkey_unknown",
    [SSH_LAYER_HOSTKEY_CHANGED] = "hostkey_changed",
    [SSH_LAYER_AUTH_REFUSED] = "auth_refused",
    [SSH_LAYER_CHANNEL] = "channel",
    [SSH_LAYER_COMMAND_TIMEOUT] = "command_timeout",
    [SSH_LAYER_CONNECTION_LOST] = "connection_lost",
    [SSH_LAYER_CANCELLED] = "cancelled",
};

const char *ssh_layer_name(ssh_layer layer) {
  if ((unsigned)layer >= sizeof SSH_LAYER_NAMES / sizeof *SSH_LAYER_NAMES) return "unknown";
  return SSH_LAYER_NAMES[layer];
}

static uint64_t ssh_now_ms(void) { return uv_hrtime() / 1000000; }

static void pool_unref(ssh_pool *p);
static void pool_maybe_drained(ssh_pool *p);
static void conn_drive(ssh_conn *c);
static void conn_fail(ssh_conn *c, ssh_layer layer, const char *msg);
static void conn_poll_update(ssh_conn *c);
static bool conn_idle(const ssh_conn *c);
static unsigned conn_channels_in_use(const ssh_conn *c);
static void target_attach(ssh_target *t, ssh_exec *e, bool fresh);
static void standby_start(ssh_target *t);

/* ---- commands ---- */

static void exec_on_close(uv_handle_t *h) {
  ssh_exec *e = h->data;
  ssh_pool *p = e->pool;
  DLIST_UNLINK(p->execs, e);
  ssh_capture_free(&e->out);
  ssh_capture_free(&e->err);
  free(e->exit_signal);
  free(e->command);
  free(e);
  pool_maybe_drained(p);
  pool_unref(p);
}

static void exec_on_done_timer(uv_timer_t *t) {
  ssh_exec *e = t->data;
  ssh_result r = {.ok = e->layer == SSH_LAYER_NONE,
                  .layer = e->layer,
                  .message = e->layer == SSH_LAYER_NONE ? "" : e->message,
                  .exit_status = e->exit_status,
                  .exit_signal = e->exit_signal,
                  .duration_ms = ssh_now_ms() - e->t_start,
                  .reused_connection = e->reused};
  char *out = ssh_capture_join(&e->out, &r.out.len, &r.out.cut_bytes);
  char *err = ssh_capture_join(&e->err, &r.err.len, &r.err.cut_bytes);
  r.out.data = out ? out : "";
  r.err.data = err ? err : "";
  if (!e->reused) {
    r.connect_ms = e->connect_ms;
    r.handshake_ms = e->handshake_ms;
    r.auth_ms = e->auth_ms;
  }
  e->cbs.on_done(e->ud, &r);
  free(out);
  free(err);
  /* The target's next command may find its standby waiting. */
  if (!e->standby) standby_start(e->target);
  if (e->private_conn) conn_fail(e->private_conn, SSH_LAYER_NONE, "its command ended");
  uv_close((uv_handle_t *)&e->timer, exec_on_close);
}

static void conn_orphan(ssh_conn *c, LIBSSH2_CHANNEL *ch) {
  ssh_orphan *o = malloc(sizeof *o);
  if (!o) return; /* the channel is freed with the session */
  o->ch = ch;
  o->next = c->orphans;
  c->orphans = o;
}

/* Ends a command; on_done follows from the timer. A channel still open is
 * handed to the connection to be closed in the background. */
static void exec_finish(ssh_exec *e, ssh_layer layer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void exec_finish(ssh_exec *e, ssh_layer layer, const char *fmt, ...) {
  if (e->done) return;
  e->done = true;
  e->pool->finished++;
  e->layer = layer;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
  }
  if (e->ch && e->conn && e->conn->state == CONN_READY) conn_orphan(e->conn, e->ch);
  e->ch = NULL;
  if (e->conn) {
    e->connect_ms = e->conn->connect_ms;
    e->handshake_ms = e->conn->handshake_ms;
    e->auth_ms = e->conn->auth_ms;
  }
  /* A retired connection closes from its next drive once idle. */
  if (e->conn && e->conn->retired && e->conn->state == CONN_READY) {
    e->conn->kick = true;
    conn_poll_update(e->conn);
  }
  /* The connection may be freed before on_done runs. */
  e->conn = NULL;
  uv_timer_stop(&e->timer);
  uv_timer_start(&e->timer, exec_on_done_timer, 0, 0);
}

static int exec_read_stream(ssh_exec *e, int stream);

static void exec_on_timeout(uv_timer_t *t);

/* The layer a connection that has not come up stopped at, and in words:
 * what a limit reports, whichever limit fired. */
static ssh_layer conn_stuck_layer(const ssh_conn *c, const char **what) {
  if (c->state == CONN_TCP) {
    *what = "no TCP connection";
    return SSH_LAYER_CONNECT_TIMEOUT;
  }
  if (c->state == CONN_AUTH) {
    *what = "no authentication answer";
    return SSH_LAYER_AUTH_REFUSED;
  }
  if (c->heard) {
    *what = "key exchange not finished";
    return SSH_LAYER_KEX;
  }
  *what = "TCP connected but no SSH banner (sshd wedged?)";
  return SSH_LAYER_NO_BANNER;
}

/* Arms the command's timer: the liveness check when it comes before the
 * time limit, else the limit. */
static void exec_arm_timer(ssh_exec *e, bool check_liveness) {
  uint64_t elapsed = ssh_now_ms() - e->t_start;
  uint64_t left = e->timeout_ms > elapsed ? e->timeout_ms - elapsed : 0;
  uint64_t check_ms = e->pool->o.connect_timeout_ms;
  e->liveness_check = check_liveness && check_ms < left;
  if (e->liveness_check) e->liveness_rx = e->conn->rx_bytes;
  uv_timer_start(&e->timer, exec_on_timeout, e->liveness_check ? check_ms : left, 0);
}

/* A connection that was fine when last used may belong to a host that has
 * wedged since: its sshd no longer answers, and a command on it would wait
 * for its whole time limit. So a command on a reused connection must hear
 * from the server within the connect limit, as a new connection would;
 * silence fails the connection (the layer is no_banner: the sshd is
 * frozen) and the other commands waiting on it try a fresh one. */
static void exec_check_liveness(ssh_exec *e) {
  ssh_conn *c = e->conn;
  if (!c || c->state != CONN_READY) {
    exec_arm_timer(e, false);
  } else if (e->state == EXEC_WAIT) {
    exec_arm_timer(e, true); /* still queued for a channel: nothing asked of the server yet */
  } else if (c->rx_bytes != e->liveness_rx) {
    exec_arm_timer(e, false);
  } else {
    char msg[200];
    snprintf(msg, sizeof msg,
             "the open connection got no answer from sshd within %llu ms "
             "(no SSH banner or reply: sshd wedged?)",
             (unsigned long long)e->pool->o.connect_timeout_ms);
    e->retried = true; /* this one fails now, within the limit */
    conn_fail(c, SSH_LAYER_NO_BANNER, msg);
  }
}

static void exec_on_timeout(uv_timer_t *t) {
  ssh_exec *e = t->data;
  if (e->liveness_check) {
    e->liveness_check = false;
    exec_check_liveness(e);
    return;
  }
  ssh_conn *c = e->conn;
  /* A command whose limit is shorter than the connect limit ends while its
   * connection is still coming up: the layer is where that connection
   * stopped, not a command that timed out. */
  if (c && c->state != CONN_READY) {
    const char *what;
    ssh_layer layer = conn_stuck_layer(c, &what);
    exec_finish(e, layer, "%s within the command's limit of %llu ms (%s)", what,
                (unsigned long long)e->timeout_ms, e->target->name);
    return;
  }
  /* Keep what already arrived: it may sit in libssh2's queue, unread. */
  if (e->state == EXEC_READ && c->state == CONN_READY && exec_read_stream(e, 0) >= 0 && !e->done)
    exec_read_stream(e, SSH_EXTENDED_DATA_STDERR);
  exec_finish(e, SSH_LAYER_COMMAND_TIMEOUT,
              "the command did not finish within %llu ms on %s; its channel was closed and "
              "the output so far is kept",
              (unsigned long long)e->timeout_ms, e->target->name);
  if (c && c->state == CONN_READY) conn_drive(c);
}

static bool ssh_error_is_socket(int rc) {
  return rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
         rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
         rc == LIBSSH2_ERROR_SOCKET_NONE || rc == LIBSSH2_ERROR_TIMEOUT;
}

static const char *ssh_last_error(LIBSSH2_SESSION *s) {
  char *msg = NULL;
  libssh2_session_last_error(s, &msg, NULL, 0);
  return msg ? msg : "unknown error";
}

/* Reads what is there from one stream; 1 at the channel's EOF (no data of
 * either stream left), 0 for "later", -1 when the connection failed
 * (already handled). */
static int exec_read_stream(ssh_exec *e, int stream) {
  char buf[SSH_READ_CHUNK_BYTES];
  ssh_conn *c = e->conn;
  for (;;) {
    ssize_t n = libssh2_channel_read_ex(e->ch, stream, buf, sizeof buf);
    if (n > 0) {
      c->turn_read_bytes += (uint64_t)n;
      ssh_capture_append(stream == 0 ? &e->out : &e->err, buf, (size_t)n);
      if (e->cbs.on_output) e->cbs.on_output(e->ud, stream == 0 ? 1 : 2, buf, (size_t)n);
      if (e->done || c->state != CONN_READY) return 0;
      if (c->turn_read_bytes >= SSH_MAX_READ_PER_TURN_BYTES) {
        c->kick = true;
        return 0;
      }
      continue;
    }
    if (n == LIBSSH2_ERROR_EAGAIN) return 0;
    if (n == 0) return libssh2_channel_eof(e->ch) ? 1 : 0;
    conn_fail(c, SSH_LAYER_CONNECTION_LOST, ssh_last_error(c->s));
    return -1;
  }
}

static void exec_collect_status(ssh_exec *e) {
  e->exit_status = libssh2_channel_get_exit_status(e->ch);
  char *sig = NULL;
  size_t siglen = 0;
  if (libssh2_channel_get_exit_signal(e->ch, &sig, &siglen, NULL, NULL, NULL, NULL) == 0 && sig) {
    e->exit_signal = strndup(sig, siglen);
    libssh2_free(e->conn->s, sig);
  }
}

/* An adopted standby's command, as its frame wrote it. 1 when sent, 0 for
 * later, -1 when the command or its connection failed (handled). */
static int exec_send_framed(ssh_exec *e) {
  size_t len = strlen(e->command);
  while (e->sent < len) {
    ssize_t n = libssh2_channel_write(e->ch, e->command + e->sent, len - e->sent);
    if (n == LIBSSH2_ERROR_EAGAIN) return 0;
    if (n < 0) {
      if (ssh_error_is_socket((int)n))
        conn_fail(e->conn, SSH_LAYER_CONNECTION_LOST, ssh_last_error(e->conn->s));
      else
        exec_finish(e, SSH_LAYER_CHANNEL, "the standby on %s did not take the command: %s",
                    e->target->name, ssh_last_error(e->conn->s));
      return -1;
    }
    e->sent += (size_t)n;
  }
  e->ping_pending = true;
  return 1;
}

/* The command written draws no reply of its own, and a command on a reused
 * connection must hear from sshd soon (exec_check_liveness): a request
 * sshd answers at once, whatever it says (it refuses env once the command
 * runs). 0, or -1 when the connection failed (handled). */
static int exec_ping(ssh_exec *e) {
  int rc = libssh2_channel_setenv_ex(e->ch, "BREAKGLASS_PING", 15, "1", 1);
  if (rc == LIBSSH2_ERROR_EAGAIN) return 0;
  if (rc < 0 && ssh_error_is_socket(rc)) {
    conn_fail(e->conn, SSH_LAYER_CONNECTION_LOST, ssh_last_error(e->conn->s));
    return -1;
  }
  e->ping_pending = false;
  return 0;
}

/* Moves one command forward as far as the connection allows. */
static void exec_drive(ssh_exec *e) {
  ssh_conn *c = e->conn;
  LIBSSH2_SESSION *s = c->s;
  int rc;
  if (e->state == EXEC_SEND) {
    if (exec_send_framed(e) <= 0) return;
    e->state = EXEC_READ;
  }
  switch (e->state) {
  case EXEC_WAIT:
    e->state = EXEC_OPEN;
    /* fallthrough */
  case EXEC_OPEN:
    e->ch = libssh2_channel_open_session(s);
    if (!e->ch) {
      rc = libssh2_session_last_errno(s);
      if (rc == LIBSSH2_ERROR_EAGAIN) return;
      if (ssh_error_is_socket(rc)) {
        conn_fail(c, SSH_LAYER_CONNECTION_LOST, ssh_last_error(s));
        return;
      }
      /* sshd frees a session slot a moment after the close handshake, so a
       * refusal while other channels are open means "full": wait for one of
       * them to finish. Refused with none open, the server means it. */
      unsigned others = conn_channels_in_use(c) - 1;
      if (rc == LIBSSH2_ERROR_CHANNEL_FAILURE && others > 0) {
        c->channel_cap = others;
        e->state = EXEC_WAIT;
        return;
      }
      exec_finish(e, SSH_LAYER_CHANNEL, "%s refused a session channel: %s", e->target->name,
                  ssh_last_error(s));
      return;
    }
    c->channel_cap = SSH_MAX_CHANNELS_PER_CONN_COUNT;
    e->state = EXEC_START;
    /* fallthrough */
  case EXEC_START:
    rc = libssh2_channel_exec(e->ch, e->command);
    if (rc == LIBSSH2_ERROR_EAGAIN) return;
    if (rc < 0) {
      if (ssh_error_is_socket(rc))
        conn_fail(c, SSH_LAYER_CONNECTION_LOST, ssh_last_error(s));
      else
        exec_finish(e, SSH_LAYER_CHANNEL, "%s refused to run the command: %s", e->target->name,
                    ssh_last_error(s));
      return;
    }
    e->state = EXEC_READ;
    /* fallthrough */
  case EXEC_SEND: /* sent above */
  case EXEC_READ:
    if (e->ping_pending && exec_ping(e) < 0) return;
    /* libssh2's EOF is the channel's, not a stream's, and shows only once
     * no data of either stream is queued: the first stream to see it ends
     * both. Stdout's "later" may only mean stderr's data was queued, with
     * the EOF behind it and nothing more to come from the socket: stderr's
     * read, right after, is what sees that EOF. */
    rc = exec_read_stream(e, 0);
    if (rc == 0 && !e->done) rc = exec_read_stream(e, SSH_EXTENDED_DATA_STDERR);
    if (rc != 1 || e->done) return;
    e->state = EXEC_CLOSE;
    /* fallthrough */
  case EXEC_CLOSE:
    rc = libssh2_channel_close(e->ch);
    if (rc == 0) rc = libssh2_channel_wait_closed(e->ch);
    if (rc == LIBSSH2_ERROR_EAGAIN) return;
    if (rc < 0 && ssh_error_is_socket(rc)) {
      conn_fail(c, SSH_LAYER_CONNECTION_LOST, ssh_last_error(s));
      return;
    }
    exec_collect_status(e);
    exec_finish(e, SSH_LAYER_NONE, NULL);
    return;
  }
}

/* ---- connections ---- */

static void conn_on_close(uv_handle_t *h) {
  ssh_conn *c = h->data;
  if (--c->handles > 0) return;
  ssh_pool *p = c->pool;
  for (ssh_conn **pp = &p->conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  close(c->fd);
  free(c);
  pool_unref(p);
}

/* What libssh2 did not free with the session (a key exchange cut short)
 * is freed now. */
static void conn_reclaim(ssh_conn *c) { ssh_alloc_arena_release(&c->arena); }

/* Frees the session and closes the handles; the connection is freed once
 * they are closed. Commands must have been detached already. */
static void conn_close(ssh_conn *c) {
  if (c->target->conn == c) c->target->conn = NULL;
  if (c->owner) c->owner->private_conn = NULL;
  c->owner = NULL;
  c->state = CONN_DEAD;
  while (c->orphans) {
    ssh_orphan *o = c->orphans;
    c->orphans = o->next;
    free(o);
  }
  /* A shut-down socket makes libssh2's goodbye fail at once instead of waiting. */
  shutdown(c->fd, SHUT_RDWR);
  if (c->s) {
    libssh2_session_free(c->s);
    c->s = NULL;
    conn_reclaim(c);
  }
  uv_close((uv_handle_t *)&c->poll, conn_on_close);
  uv_close((uv_handle_t *)&c->timer, conn_on_close);
}

static void conn_fail(ssh_conn *c, ssh_layer layer, const char *msg) {
  if (c->state == CONN_DEAD) return;
  ssh_target *t = c->target;
  bool was_ready = c->state == CONN_READY;
  c->state = CONN_DEAD;
  if (!was_ready && c->pool->o.metrics)
    metric_inc(metric_at(c->pool->o.metrics->ssh_connect_failures, t->name, ssh_layer_name(layer)));
  ssh_exec *retry = NULL;
  for (ssh_exec *e = c->pool->execs; e; e = e->next) {
    if (e->conn != c || e->done) continue;
    e->ch = NULL; /* freed with the session */
    /* A command not yet started on a reused connection that turned out
     * dead may run on a fresh one: nothing has happened on the host. */
    if (was_ready && e->reused && !e->retried && !e->standby && e->state <= EXEC_OPEN) {
      e->retried = true;
      e->state = EXEC_WAIT;
      e->conn = NULL;
      retry = e;
      continue;
    }
    exec_finish(e, layer, "%s (%s:%d): %s", t->name, t->host, t->port, msg);
  }
  conn_close(c);
  if (retry)
    for (ssh_exec *e = c->pool->execs; e; e = e->next)
      if (!e->done && !e->conn && e->target == t) target_attach(t, e, false);
}

static void conn_on_poll(uv_poll_t *h, int status, int events);

/* No command (nor standby) runs on it. */
static bool conn_idle(const ssh_conn *c) {
  for (const ssh_exec *e = c->pool->execs; e; e = e->next)
    if (e->conn == c && !e->done) return false;
  return true;
}

static void conn_poll_update(ssh_conn *c) {
  int events;
  if (c->state == CONN_TCP) {
    events = UV_WRITABLE;
  } else {
    bool busy = c->state != CONN_READY || c->orphans || !conn_idle(c);
    /* Idle, only a hang-up matters: unread keepalive replies must not spin the loop. */
    events = busy ? UV_READABLE : UV_DISCONNECT;
    /* Writable at once: how a new command gets its first drive. */
    if (c->kick || (libssh2_session_block_directions(c->s) & LIBSSH2_SESSION_BLOCK_OUTBOUND))
      events |= UV_WRITABLE;
  }
  uv_poll_start(&c->poll, events, conn_on_poll);
}

/* A channel holds one of the server's session slots from its open request
 * until libssh2 has freed it after the close handshake. */
static unsigned conn_channels_in_use(const ssh_conn *c) {
  unsigned n = 0;
  for (const ssh_orphan *o = c->orphans; o; o = o->next) n++;
  for (const ssh_exec *e = c->pool->execs; e; e = e->next)
    n += e->conn == c && !e->done && e->state != EXEC_WAIT;
  return n;
}

static void conn_drive_orphans(ssh_conn *c) {
  for (ssh_orphan **pp = &c->orphans; *pp;) {
    ssh_orphan *o = *pp;
    int rc = libssh2_channel_free(o->ch);
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      pp = &o->next;
      continue;
    }
    *pp = o->next;
    free(o);
  }
}

static void conn_on_keepalive(uv_timer_t *t);

static void conn_become_ready(ssh_conn *c) {
  c->state = CONN_READY;
  c->auth_ms = ssh_now_ms() - c->t_start - c->connect_ms - c->handshake_ms;
  c->last_rx_ms = ssh_now_ms();
  uv_timer_stop(&c->timer);
  if (c->pool->o.keepalive_ms)
    uv_timer_start(&c->timer, conn_on_keepalive, c->pool->o.keepalive_ms, c->pool->o.keepalive_ms);
}

static void conn_drive(ssh_conn *c) {
  ssh_pool *p = c->pool;
  ssh_target *t = c->target;
  int rc;
  char msg[SSH_MESSAGE_BYTES];
  switch (c->state) {
  case CONN_TCP:
  case CONN_DEAD:
    return;
  case CONN_HANDSHAKE:
    rc = libssh2_session_handshake(c->s, c->fd);
    if (rc == LIBSSH2_ERROR_EAGAIN) break;
    if (rc < 0) {
      conn_fail(c, c->heard ? SSH_LAYER_KEX : SSH_LAYER_NO_BANNER, ssh_last_error(c->s));
      return;
    }
    c->handshake_ms = ssh_now_ms() - c->t_start - c->connect_ms;
    ssh_layer hk = ssh_knownhosts_check(c->s, p->known_hosts, t->host, t->port, msg, sizeof msg);
    if (hk != SSH_LAYER_NONE) {
      conn_fail(c, hk, msg);
      return;
    }
    c->state = CONN_AUTH;
    /* fallthrough */
  case CONN_AUTH:
    rc = libssh2_userauth_publickey_frommemory(c->s, t->user, strlen(t->user), NULL, 0, p->key,
                                               p->key_len, p->passphrase);
    if (rc == LIBSSH2_ERROR_EAGAIN) break;
    if (rc < 0) {
      snprintf(msg, sizeof msg, "the server refused the key in %s for user %s: %s", p->o.key_path,
               t->user, ssh_last_error(c->s));
      conn_fail(c, ssh_error_is_socket(rc) ? SSH_LAYER_CONNECTION_LOST : SSH_LAYER_AUTH_REFUSED,
                msg);
      return;
    }
    conn_become_ready(c);
    /* fallthrough */
  case CONN_READY:
    /* libssh2 demultiplexes: driving one channel may queue data or an EOF
     * for another one already driven in this pass. Passes repeat until one
     * reads nothing from the socket and finishes no command. */
    for (;;) {
      uint64_t finished = p->finished, rx = c->rx_bytes;
      unsigned open = conn_channels_in_use(c);
      /* Oldest first (the list is newest first), so waiting commands run in order. */
      ssh_exec *last = p->execs;
      while (last && last->next) last = last->next;
      for (ssh_exec *e = last; e && c->state == CONN_READY; e = e->prev) {
        if (e->conn != c || e->done) continue;
        if (e->state == EXEC_WAIT) {
          if (open >= c->channel_cap) continue;
          open++;
        }
        exec_drive(e);
      }
      if (c->state != CONN_READY || c->kick || (finished == p->finished && rx == c->rx_bytes))
        break;
    }
    if (c->state != CONN_READY) return;
    conn_drive_orphans(c);
    if (c->retired && conn_idle(c)) {
      conn_close(c);
      return;
    }
    break;
  }
  conn_poll_update(c);
}

static void conn_on_poll(uv_poll_t *h, int status, int events) {
  ssh_conn *c = h->data;
  c->kick = false;
  c->turn_read_bytes = 0;
  if (c->state == CONN_TCP) {
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) soerr = errno;
    if (!soerr && status < 0) soerr = -status;
    if (soerr) {
      conn_fail(c, soerr == ECONNREFUSED ? SSH_LAYER_CONNECT_REFUSED : SSH_LAYER_CONNECT_TIMEOUT,
                strerror(soerr));
      return;
    }
    c->connect_ms = ssh_now_ms() - c->t_start;
    c->state = CONN_HANDSHAKE;
  }
  if (events & UV_READABLE) {
    c->heard = true;
    c->last_rx_ms = ssh_now_ms();
  }
  if (c->state == CONN_READY && (status < 0 || (events & UV_DISCONNECT))) {
    if (!c->orphans && conn_idle(c)) {
      conn_fail(c, SSH_LAYER_CONNECTION_LOST, "the server closed the connection");
      return;
    }
  }
  conn_drive(c);
}

static void conn_on_deadline(uv_timer_t *t) {
  ssh_conn *c = t->data;
  const char *what;
  ssh_layer layer = conn_stuck_layer(c, &what);
  char msg[200];
  snprintf(msg, sizeof msg, "%s within %llu ms", what,
           (unsigned long long)c->pool->o.connect_timeout_ms);
  conn_fail(c, layer, msg);
}

static void conn_on_keepalive(uv_timer_t *t) {
  ssh_conn *c = t->data;
  uint64_t silence_ms = c->pool->o.keepalive_ms * SSH_KEEPALIVE_MAX_MISSED_COUNT;
  if (!conn_idle(c) && ssh_now_ms() - c->last_rx_ms > silence_ms) {
    char msg[120];
    snprintf(msg, sizeof msg, "no answer from the server for %llu ms",
             (unsigned long long)silence_ms);
    conn_fail(c, SSH_LAYER_CONNECTION_LOST, msg);
    return;
  }
  int next = 0;
  int rc = libssh2_keepalive_send(c->s, &next);
  if (rc < 0 && rc != LIBSSH2_ERROR_EAGAIN && ssh_error_is_socket(rc)) {
    conn_fail(c, SSH_LAYER_CONNECTION_LOST, ssh_last_error(c->s));
    return;
  }
  conn_poll_update(c);
}

static LIBSSH2_RECV_FUNC(conn_recv) {
  ssh_conn *c = (ssh_conn *)((char *)*abstract - offsetof(ssh_conn, arena));
  ssize_t n = recv(socket, buffer, length, flags);
  if (n < 0) return -errno;
  c->rx_bytes += (uint64_t)n;
  /* A server that answers at once is read in the pass the connect's
   * completion started, with no readable event of its own. */
  if (n > 0) c->heard = true;
  return n;
}

/* Starts a connection. Failures that happen at once still go through
 * conn_fail, so the waiting commands hear of them from the loop. */
static ssh_conn *conn_open(ssh_target *t, ssh_exec *owner) {
  ssh_pool *p = t->pool;
  ssh_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->pool = p;
  c->target = t;
  c->t_start = ssh_now_ms();
  c->state = CONN_TCP;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", t->port);
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  int gai = getaddrinfo(t->host, portstr, &hints, &ai);
  c->fd = gai == 0 ? socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
  /* A command is a few small packets each way (channel open, exec, EOF,
   * close): with Nagle's algorithm on, each waits for the delayed ACK of
   * the one before (40 ms on Linux). OpenSSH sets it too. */
  int nodelay = 1;
  if (c->fd >= 0) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
  c->s = c->fd >= 0
             ? libssh2_session_init_ex(ssh_alloc, ssh_alloc_free, ssh_alloc_realloc, &c->arena)
             : NULL;
  if (!c->s || uv_poll_init_socket(p->loop, &c->poll, c->fd) != 0) {
    if (ai) freeaddrinfo(ai);
    if (c->s) libssh2_session_free(c->s);
    conn_reclaim(c);
    if (c->fd >= 0) close(c->fd);
    free(c);
    return NULL;
  }
  uv_timer_init(p->loop, &c->timer);
  c->poll.data = c->timer.data = c;
  c->handles = 2;
  c->next = p->conns;
  p->conns = c;
  p->live++;
  if (p->o.metrics) metric_inc(metric_at(p->o.metrics->ssh_connects, t->name));
  if (owner) {
    c->owner = owner;
    owner->private_conn = c;
  } else {
    t->conn = c;
  }
  c->channel_cap = SSH_MAX_CHANNELS_PER_CONN_COUNT;
  libssh2_session_callback_set(c->s, LIBSSH2_CALLBACK_RECV, (void *)conn_recv);
  libssh2_session_set_blocking(c->s, 0);
  libssh2_session_method_pref(c->s, LIBSSH2_METHOD_HOSTKEY, SSH_HOSTKEY_PREF);
  if (p->o.keepalive_ms)
    libssh2_keepalive_config(c->s, 1, (unsigned)((p->o.keepalive_ms + 999) / 1000));
  uv_timer_start(&c->timer, conn_on_deadline, p->o.connect_timeout_ms, 0);
  int rc = connect(c->fd, ai->ai_addr, ai->ai_addrlen);
  int cerr = rc == 0 ? 0 : errno;
  freeaddrinfo(ai);
  if (cerr != 0 && cerr != EINPROGRESS) {
    char msg[200];
    snprintf(msg, sizeof msg, "connect: %s", strerror(cerr));
    conn_fail(c, cerr == ECONNREFUSED ? SSH_LAYER_CONNECT_REFUSED : SSH_LAYER_CONNECT_TIMEOUT, msg);
    return c;
  }
  uv_poll_start(&c->poll, UV_WRITABLE, conn_on_poll);
  return c;
}

/* ---- targets and the pool ---- */

/* A connection that looks ready may have been closed by the peer while
 * the loop was not watching; a peek tells without consuming anything. */
static bool conn_peer_closed(const ssh_conn *c) {
  char b;
  ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void target_attach(ssh_target *t, ssh_exec *e, bool fresh) {
  if (t->conn && t->conn->state == CONN_READY && conn_peer_closed(t->conn))
    conn_fail(t->conn, SSH_LAYER_CONNECTION_LOST, "the server closed the connection");
  ssh_conn *c = fresh ? NULL : t->conn;
  if (!c) {
    c = conn_open(t, fresh ? e : NULL);
    if (!c) {
      exec_finish(e, SSH_LAYER_CONNECT_TIMEOUT, "cannot start a connection to %s (%s:%d)", t->name,
                  t->host, t->port);
      return;
    }
  } else if (!e->retried) {
    e->reused = true;
  }
  e->conn = c;
  if (c->state == CONN_READY) {
    c->last_rx_ms = ssh_now_ms();
    c->kick = true;
    conn_poll_update(c);
  } else if (c->state == CONN_DEAD) {
    /* conn_open failed at once: the command fails with it. */
    exec_finish(e, SSH_LAYER_CONNECT_REFUSED, "%s (%s:%d): connection refused", t->name, t->host,
                t->port);
  }
}

static ssh_target *target_find(const ssh_pool *p, const char *name) {
  ssh_target *t = p->targets;
  while (t && strcmp(t->name, name) != 0) t = t->next;
  return t;
}

static ssh_exec *exec_new(ssh_target *t, const char *command, uint64_t timeout_ms,
                          const ssh_exec_cbs *cbs, void *ud) {
  ssh_pool *p = t->pool;
  ssh_exec *e = calloc(1, sizeof *e);
  if (!e || !(e->command = strdup(command))) {
    free(e);
    return NULL;
  }
  e->pool = p;
  e->target = t;
  e->timeout_ms = timeout_ms;
  e->t_start = ssh_now_ms();
  e->cbs = *cbs;
  e->ud = ud;
  ssh_capture_init(&e->out, p->o.max_output_bytes);
  ssh_capture_init(&e->err, p->o.max_output_bytes);
  uv_timer_init(p->loop, &e->timer);
  e->timer.data = e;
  DLIST_PUSH(p->execs, e);
  p->live++;
  return e;
}

/* The target's connection, once spent (older than conn_max_age_ms),
 * makes way for a fresh one: its standby ends (the program on the host
 * sees its input close), and it closes from its next drive once what runs
 * on it has ended. */
static void target_retire_spent(ssh_target *t) {
  ssh_conn *c = t->conn;
  const ssh_pool_options *o = &t->pool->o;
  if (!c || c->state != CONN_READY) return;
  if (!o->conn_max_age_ms || ssh_now_ms() - c->t_start < o->conn_max_age_ms) return;
  t->conn = NULL;
  c->retired = true;
  if (t->standby && t->standby->conn == c)
    exec_finish(t->standby, SSH_LAYER_CANCELLED, "the standby's connection to %s was retired",
                t->name);
  c->kick = true;
  conn_poll_update(c);
}

/* ---- standby: a command started ahead of its use ---- */

/* A standby says nothing before its command: one that does is not the
 * program that was asked for (a login shell's rc file that prints). */
static void standby_on_output(void *ud, int stream, const char *bytes, size_t len) {
  (void)stream, (void)bytes, (void)len;
  ssh_exec *e = ud;
  exec_finish(e, SSH_LAYER_CHANNEL, "the standby on %s spoke before its command", e->target->name);
}

static void standby_on_done(void *ud, const ssh_result *r) {
  ssh_exec *e = ud;
  ssh_target *t = e->target;
  if (t->standby == e) t->standby = NULL;
  if (r->layer == SSH_LAYER_COMMAND_TIMEOUT) {
    /* Retired at the end of its life, before the host's own limit: a new one. */
    standby_start(t);
  } else if (r->ok || r->layer == SSH_LAYER_CHANNEL) {
    /* It ended unused or refused (a forced command that does not know the
     * standby command, a host that refuses a channel): plain commands for
     * a while, not a standby restarted at every command. */
    t->standby_off_until_ms = ssh_now_ms() + SSH_STANDBY_RETRY_MS;
  }
}

static void standby_start(ssh_target *t) {
  ssh_pool *p = t->pool;
  if (!t->standby_command || t->standby || p->closing || p->draining) return;
  /* A standby renewed for ever would keep a spent connection busy, and its
   * keepalives' replies piling up in libssh2, while no command comes. */
  target_retire_spent(t);
  if (!t->conn || t->conn->state != CONN_READY || ssh_now_ms() < t->standby_off_until_ms) return;
  static const ssh_exec_cbs cbs = {.on_output = standby_on_output, .on_done = standby_on_done};
  ssh_exec *e = exec_new(t, t->standby_command, p->o.standby_life_ms, &cbs, NULL);
  if (!e) return;
  e->ud = e;
  e->standby = true;
  t->standby = e;
  /* No liveness check of its own: a standby that never hears back must
   * not fail the connection under the commands on it, which would then be
   * retried on a fresh one and take twice the connect limit to fail. A
   * command's own check, or the keepalives, find a dead server. */
  uv_timer_start(&e->timer, exec_on_timeout, p->o.standby_life_ms, 0);
  target_attach(t, e, false);
}

/* The target's standby, if one is waiting on the current connection and
 * can carry this command, made into it. NULL when none. */
static ssh_exec *standby_adopt(ssh_target *t, const char *command, uint64_t timeout_ms,
                               unsigned flags, const ssh_exec_cbs *cbs, void *ud) {
  ssh_exec *e = t->standby;
  ssh_conn *c = t->conn;
  if (!e || e->done || e->state != EXEC_READ || e->conn != c || c->state != CONN_READY ||
      conn_peer_closed(c))
    return NULL;
  char *line = t->standby_frame(command);
  if (!line) return NULL;
  free(e->command);
  e->command = line;
  t->standby = NULL;
  e->standby = false;
  e->state = EXEC_SEND;
  e->timeout_ms = timeout_ms;
  e->finish_on_drain = flags & SSH_EXEC_FINISH_ON_DRAIN;
  e->cbs = *cbs;
  e->ud = ud;
  uv_update_time(t->pool->loop);
  e->t_start = ssh_now_ms();
  e->reused = true;
  exec_arm_timer(e, true);
  c->last_rx_ms = ssh_now_ms();
  c->kick = true;
  conn_poll_update(c);
  return e;
}

int ssh_pool_set_standby(ssh_pool *p, const char *target, const char *standby_command,
                         ssh_standby_frame *frame) {
  ssh_target *t = p->o.standby_life_ms ? target_find(p, target) : NULL;
  char *copy = t ? strdup(standby_command) : NULL;
  if (!copy) return -1;
  free(t->standby_command);
  t->standby_command = copy;
  t->standby_frame = frame;
  return 0;
}

ssh_exec *ssh_exec_start(ssh_pool *p, const char *target, const char *command, uint64_t timeout_ms,
                         unsigned flags, const ssh_exec_cbs *cbs, void *ud) {
  if (p->closing || p->draining) return NULL;
  ssh_target *t = target_find(p, target);
  if (!t) return NULL;
  target_retire_spent(t);
  ssh_exec *e = NULL;
  if (!(flags & SSH_EXEC_FRESH_CONNECTION))
    e = standby_adopt(t, command, timeout_ms, flags, cbs, ud);
  if (e) return e;
  /* The loop's clock is stale after the caller blocked; limits start now. */
  uv_update_time(p->loop);
  e = exec_new(t, command, timeout_ms, cbs, ud);
  if (!e) return NULL;
  e->finish_on_drain = flags & SSH_EXEC_FINISH_ON_DRAIN;
  uv_timer_start(&e->timer, exec_on_timeout, timeout_ms, 0);
  target_attach(t, e, flags & SSH_EXEC_FRESH_CONNECTION);
  if (e->reused && !e->done) exec_arm_timer(e, true);
  return e;
}

void ssh_exec_cancel(ssh_exec *e) {
  ssh_conn *c = e->conn;
  exec_finish(e, SSH_LAYER_CANCELLED, "the command on %s was cancelled", e->target->name);
  if (c && c->state == CONN_READY) conn_drive(c);
}

int ssh_pool_new(ssh_pool **out, uv_loop_t *loop, const ssh_pool_options *o, char *err,
                 size_t errlen) {
  *out = NULL;
  if (libssh2_init(0) != 0) {
    snprintf(err, errlen, "libssh2 failed to initialise");
    return -1;
  }
  ssh_pool *p = calloc(1, sizeof *p);
  if (!p) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (ssh_key_load(o->key_path, &p->key, &p->key_len, err, errlen) != 0) {
    free(p);
    return -1;
  }
  p->loop = loop;
  p->o = *o;
  p->known_hosts = strdup(o->known_hosts);
  p->o.key_path = strdup(o->key_path);
  p->passphrase = o->key_passphrase ? strdup(o->key_passphrase) : NULL;
  if (!p->known_hosts || !p->o.key_path || (o->key_passphrase && !p->passphrase)) {
    snprintf(err, errlen, "out of memory");
    ssh_key_free(p->key, p->key_len);
    free(p->known_hosts);
    free((char *)p->o.key_path);
    free(p->passphrase);
    free(p);
    return -1;
  }
  p->o.known_hosts = p->known_hosts;
  p->o.key_passphrase = NULL;
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  p->live = 1;
  *out = p;
  return 0;
}

void ssh_pool_key(const ssh_pool *p, const char **pem, size_t *len) {
  *pem = p->key;
  *len = p->key_len;
}

int ssh_pool_add_target(ssh_pool *p, const char *name, const char *host, int port,
                        const char *user) {
  if (target_find(p, name)) return -1;
  ssh_target *t = calloc(1, sizeof *t);
  if (!t) return -1;
  t->pool = p;
  t->name = strdup(name);
  t->host = strdup(host);
  t->user = strdup(user);
  t->port = port;
  if (!t->name || !t->host || !t->user) {
    free(t->name);
    free(t->host);
    free(t->user);
    free(t);
    return -1;
  }
  t->next = p->targets;
  p->targets = t;
  return 0;
}

static void pool_unref(ssh_pool *p) {
  if (--p->live > 0 || !p->closing) return;
  while (p->targets) {
    ssh_target *t = p->targets;
    p->targets = t->next;
    free(t->name);
    free(t->host);
    free(t->user);
    free(t->standby_command);
    free(t);
  }
  ssh_key_free(p->key, p->key_len);
  if (p->passphrase) explicit_bzero(p->passphrase, strlen(p->passphrase));
  free(p->passphrase);
  free(p->known_hosts);
  free((char *)p->o.key_path);
  void (*cb)(void *) = p->on_closed;
  void *ud = p->closed_ud;
  free(p);
  if (cb) cb(ud);
}

static void pool_on_timer_close(uv_handle_t *h) { pool_unref(h->data); }

/* Drained once every command is freed: on_done has run for each. */
static void pool_maybe_drained(ssh_pool *p) {
  if (!p->on_drained || p->execs) return;
  void (*cb)(void *) = p->on_drained;
  p->on_drained = NULL;
  cb(p->drained_ud);
}

static void pool_on_drain_timer(uv_timer_t *t) { pool_maybe_drained(t->data); }

unsigned ssh_pool_drain(ssh_pool *p, void (*on_drained)(void *ud), void *ud) {
  p->draining = true;
  p->on_drained = on_drained;
  p->drained_ud = ud;
  unsigned left = 0;
  for (ssh_exec *e = p->execs; e; e = e->next) {
    if (e->done) continue;
    /* Past EXEC_OPEN the exec request may have reached the host. */
    if (e->finish_on_drain && e->state > EXEC_OPEN) {
      left++;
      continue;
    }
    exec_finish(e, SSH_LAYER_CANCELLED, "the command on %s was %s: the daemon is shutting down",
                e->target->name, e->state > EXEC_OPEN ? "cancelled" : "not sent");
  }
  /* Only now: a drive could have sent a command this pass was to cancel. */
  for (ssh_conn *c = p->conns; c; c = c->next)
    if (c->state == CONN_READY) conn_drive(c);
  /* With nothing running, exec_on_close will not come: the timer tells. */
  if (!p->execs) uv_timer_start(&p->timer, pool_on_drain_timer, 0, 0);
  return left;
}

void ssh_pool_close(ssh_pool *p, void (*on_closed)(void *ud), void *ud) {
  p->closing = true;
  p->on_drained = NULL;
  p->on_closed = on_closed;
  p->closed_ud = ud;
  for (ssh_exec *e = p->execs; e; e = e->next)
    exec_finish(e, SSH_LAYER_CANCELLED, "the SSH pool is closing");
  for (ssh_conn *c = p->conns; c; c = c->next)
    if (c->state != CONN_DEAD) {
      for (ssh_exec *e = p->execs; e; e = e->next)
        if (e->conn == c) e->conn = NULL;
      conn_close(c);
    }
  uv_close((uv_handle_t *)&p->timer, pool_on_timer_close);
}
