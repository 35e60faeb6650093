/* Host key pinning: the server's key must be in known_hosts. Never trust on
 * first use; a changed or unknown key fails with a message that shows the
 * key's fingerprint and the line that would accept it. */
#ifndef BG_SSH_KNOWNHOSTS_H
#define BG_SSH_KNOWNHOSTS_H

#include <libssh2.h>
#include <stddef.h>

#include "ssh_layer.h"

/* SSH_LAYER_NONE when the key matches; else the layer, with msg filled. */
ssh_layer ssh_knownhosts_check(LIBSSH2_SESSION *s, const char *known_hosts, const char *host,
                               int port, char *msg, size_t msglen);

#endif
