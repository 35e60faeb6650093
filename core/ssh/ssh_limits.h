/* The bounds of the SSH transport and keys. Each is a macro of its own
 * for the code; SSH_LIMITS lists them all, X(NAME, unit, what it bounds),
 * for `breakglass --help --limits`. A name ends in its unit. The settings'
 * timeouts are in core/base/config.c. */
#ifndef BG_SSH_LIMITS_H
#define BG_SSH_LIMITS_H

/* A private key file is a few hundred bytes; anything far larger is not one. */
#define SSH_KEY_MAX_BYTES (16 * 1024)
#define SSH_READ_CHUNK_BYTES (32 * 1024)
/* Past it the rest waits a turn, so a command that prints without pause
 * cannot starve the loop. */
#define SSH_MAX_READ_PER_TURN_BYTES (4 * 1024 * 1024)
#define SSH_MESSAGE_BYTES 1536
/* A busy connection that hears nothing for this many keepalive intervals is
 * lost. */
#define SSH_KEEPALIVE_MAX_MISSED_COUNT 3
/* OpenSSH's default MaxSessions; commands past it wait for a free channel. */
#define SSH_MAX_CHANNELS_PER_CONN_COUNT 10
/* A standby (ssh_pool_set_standby) is replaced after this, well before
 * breakglass-pve's own wait (PVE_STANDBY_WAIT_MAX_MS, 10 minutes) ends. */
#define SSH_STANDBY_LIFE_MS (5 * 60 * 1000)
/* After a standby ended unused on its own, commands run plainly this long. */
#define SSH_STANDBY_RETRY_MS (10 * 60 * 1000)
/* A shell standby reads its command a byte at a time; longer ones go
 * through sshd's exec (ssh_standby_shell.h). */
#define SSH_STANDBY_SHELL_MAX_BYTES (16 * 1024)

#define SSH_LIMITS(X)                                                                              \
  X(SSH_KEY_MAX_BYTES, "bytes", "a private key file")                                              \
  X(SSH_READ_CHUNK_BYTES, "bytes", "one read from a channel")                                      \
  X(SSH_MAX_READ_PER_TURN_BYTES, "bytes", "read from one connection per loop turn")                \
  X(SSH_MESSAGE_BYTES, "bytes", "an error message of the transport")                               \
  X(SSH_KEEPALIVE_MAX_MISSED_COUNT, "count",                                                       \
    "keepalive intervals a busy connection may be silent")                                         \
  X(SSH_MAX_CHANNELS_PER_CONN_COUNT, "count", "channels open at once on one connection")           \
  X(SSH_STANDBY_LIFE_MS, "ms", "a standby command's life before it is replaced")                   \
  X(SSH_STANDBY_RETRY_MS, "ms", "plain commands after a standby ended on its own")                 \
  X(SSH_STANDBY_SHELL_MAX_BYTES, "bytes", "a command a shell standby takes")

#endif
