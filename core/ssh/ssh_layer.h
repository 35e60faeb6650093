/* Where an SSH command failed: one value per layer of the connection.
 * Apart from ssh_transport.h because the known-hosts check, which the
 * transport calls, answers in it too. */
#ifndef BG_SSH_LAYER_H
#define BG_SSH_LAYER_H

/* Where a command failed. Names are stable: scripts and the probe use them. */
typedef enum ssh_layer {
  SSH_LAYER_NONE = 0,
  SSH_LAYER_CONNECT_REFUSED,
  SSH_LAYER_CONNECT_TIMEOUT,
  SSH_LAYER_NO_BANNER, /* TCP accepted, no SSH banner: a wedged sshd */
  SSH_LAYER_KEX,
  SSH_LAYER_HOSTKEY_UNKNOWN,
  SSH_LAYER_HOSTKEY_CHANGED,
  SSH_LAYER_AUTH_REFUSED,
  SSH_LAYER_CHANNEL,
  SSH_LAYER_COMMAND_TIMEOUT,
  SSH_LAYER_CONNECTION_LOST,
  SSH_LAYER_CANCELLED,
} ssh_layer;

#endif
