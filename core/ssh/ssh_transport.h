/* The SSH transport: commands on named targets over libssh2, non-blocking,
 * on one libuv loop.
 *
 * A pool holds the client key (read once, kept in memory, never logged),
 * the pinned host keys and one connection per target. Commands run as
 * channels on the target's connection, which is opened on first use, shared
 * by every command running at once, and reopened on the next command after
 * it fails or is lost. Every wait is bounded by a timer: connect + banner +
 * key exchange + auth by connect_timeout_ms, each command by its own limit.
 *
 * Like libuv requests: ssh_exec_start either fails at once (returns NULL,
 * no callback) or calls on_done exactly once, from the loop, never inside
 * ssh_exec_start or ssh_exec_cancel. The handle is invalid after on_done.
 */
#ifndef BG_SSH_TRANSPORT_H
#define BG_SSH_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ssh_layer.h"

typedef struct ssh_pool ssh_pool;
typedef struct ssh_exec ssh_exec;
struct daemon_metrics;

typedef struct ssh_pool_options {
  const char *key_path;           /* ed25519 or ecdsa private key */
  const char *key_passphrase;     /* NULL when the key has none */
  const char *known_hosts;        /* OpenSSH known_hosts; no trust on first use */
  uint64_t connect_timeout_ms;    /* TCP connect + banner + kex + auth */
  uint64_t keepalive_ms;          /* keepalive interval; silence for 3 of them is a loss */
  size_t max_output_bytes;        /* kept per stream, as head + tail */
  struct daemon_metrics *metrics; /* connections by target, failures by layer; or NULL */
  /* A connection takes no new command once it has lived this long (0: no
   * bound), and closes when what runs on it ends: libssh2 1.10 keeps every
   * keepalive's reply it reads (nobody asks for them) until its session is
   * freed. */
  uint64_t conn_max_age_ms;
  /* A standby (ssh_pool_set_standby) is replaced after this, before a
   * host's own limit can race a command on its way; required for one. */
  uint64_t standby_life_ms;
} ssh_pool_options;

const char *ssh_layer_name(ssh_layer layer);

typedef struct ssh_output {
  const char *data; /* head + tail, NUL-terminated */
  size_t len;
  uint64_t cut_bytes; /* bytes dropped between head and tail */
} ssh_output;

typedef struct ssh_result {
  int ok;                  /* the command ran to completion (whatever its status) */
  ssh_layer layer;         /* SSH_LAYER_NONE when ok */
  const char *message;     /* for humans; "" when ok */
  int exit_status;         /* valid when ok */
  const char *exit_signal; /* "TERM", ...; NULL when the command exited */
  ssh_output out, err;
  uint64_t duration_ms;
  int reused_connection;
  /* Phases of the connection this command opened; 0 when reused. */
  uint64_t connect_ms, handshake_ms, auth_ms;
} ssh_result;

typedef struct ssh_exec_cbs {
  /* stream 1 stdout, 2 stderr; live, as bytes arrive (may be NULL). */
  void (*on_output)(void *ud, int stream, const char *bytes, size_t len);
  /* Exactly once; r and its strings live until on_done returns. */
  void (*on_done)(void *ud, const ssh_result *r);
} ssh_exec_cbs;

/* Reads the key and checks its type (RSA is refused: libssh2 1.10 cannot
 * sign with RSA-SHA2). On failure returns -1 and fills err. */
int ssh_pool_new(ssh_pool **out, uv_loop_t *loop, const ssh_pool_options *o, char *err,
                 size_t errlen);
/* The client key as read at start, for what must recognise it (the
 * journal keeps it out of its records). Valid until the pool is closed. */
void ssh_pool_key(const ssh_pool *p, const char **pem, size_t *len);
/* Names a target; 0, or -1 for a duplicate name or no memory. */
int ssh_pool_add_target(ssh_pool *p, const char *name, const char *host, int port,
                        const char *user);
/* Cancels every command, closes every connection, then calls on_closed
 * (may be NULL) from the loop and frees the pool. */
void ssh_pool_close(ssh_pool *p, void (*on_closed)(void *ud), void *ud);
/* The first half of a graceful close: from now on ssh_exec_start refuses
 * (NULL), and every command is cancelled except those started with
 * SSH_EXEC_FINISH_ON_DRAIN that the host may already be running, which go
 * on to their end or their own time limit. on_drained runs once, from the
 * loop, when no command is left; then close the pool. Returns how many
 * commands it waits for. */
unsigned ssh_pool_drain(ssh_pool *p, void (*on_drained)(void *ud), void *ud);

enum {
  /* Run on a connection of its own, opened for this command and closed after
   * it: a probe must see every layer of a new connection, not a channel on
   * one that may have been open since before the host wedged. */
  SSH_EXEC_FRESH_CONNECTION = 1u << 0,
  /* Once sent, never cut by ssh_pool_drain: a power verb on the Proxmox
   * host runs to its end there anyway, and its outcome must be recorded. */
  SSH_EXEC_FINISH_ON_DRAIN = 1u << 1,
};

/* How a command goes to a standby: the bytes to write to its stdin
 * (malloc'd, NUL-terminated, no NUL inside), or NULL when this command
 * must run as usual (one the standby cannot carry). */
typedef char *ssh_standby_frame(const char *command);

/* Keeps a program started ahead of use on the target's shared connection
 * once it is up: standby_command, which waits for its command on stdin, so
 * that the next command (not SSH_EXEC_FRESH_CONNECTION) skips the server's
 * fork and exec and is written to it, framed by frame. Used for
 * breakglass-pve's "standby" (pve/standby.h) and the devvm's shell
 * (ssh_standby_shell.h). A standby must print nothing before its command;
 * one that does, or that ends on its own, turns standbys off on the target
 * for SSH_STANDBY_RETRY_MS. One is retired and replaced after the pool's
 * standby_life_ms, and not replaced on a spent connection (conn_max_age_ms),
 * which then closes. 0, or -1 for an unknown target, no memory, or no
 * standby_life_ms. */
int ssh_pool_set_standby(ssh_pool *p, const char *target, const char *standby_command,
                         ssh_standby_frame *frame);

/* flags: SSH_EXEC_* or 0. NULL for an unknown target or no memory (no
 * callback then). */
ssh_exec *ssh_exec_start(ssh_pool *p, const char *target, const char *command, uint64_t timeout_ms,
                         unsigned flags, const ssh_exec_cbs *cbs, void *ud);
/* Ends the command at once; on_done follows with SSH_LAYER_CANCELLED. */
void ssh_exec_cancel(ssh_exec *e);

#endif
