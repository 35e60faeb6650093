#include "ssh_knownhosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

enum { SSH_SHA256_BYTES = 32 };

static const char *knownhosts_type_name(int type) {
  switch (type) {
  case LIBSSH2_HOSTKEY_TYPE_ED25519:
    return "ssh-ed25519";
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
    return "ecdsa-sha2-nistp256";
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
    return "ecdsa-sha2-nistp384";
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
    return "ecdsa-sha2-nistp521";
  case LIBSSH2_HOSTKEY_TYPE_RSA:
    return "ssh-rsa";
  default:
    return "unknown";
  }
}

static int knownhosts_key_bit(int type) {
  switch (type) {
  case LIBSSH2_HOSTKEY_TYPE_ED25519:
    return LIBSSH2_KNOWNHOST_KEY_ED25519;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
    return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
    return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
    return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
  case LIBSSH2_HOSTKEY_TYPE_RSA:
    return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
  default:
    return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
  }
}

/* "SHA256:<base64 without padding>", as ssh-keygen -lf prints it. */
static void knownhosts_fingerprint(LIBSSH2_SESSION *s, char *out, size_t outlen) {
  const unsigned char *h = (const unsigned char *)libssh2_hostkey_hash(s,
                                                                       LIBSSH2_HOSTKEY_HASH_SHA256);
  char b64[4 * ((SSH_SHA256_BYTES + 2) / 3) + 1];
  if (!h) {
    snprintf(out, outlen, "SHA256:?");
    return;
  }
  base64_encode(h, SSH_SHA256_BYTES, b64);
  char *pad = strchr(b64, '=');
  if (pad) *pad = '\0';
  snprintf(out, outlen, "SHA256:%s", b64);
}

static void knownhosts_hostname(const char *host, int port, char *out, size_t outlen) {
  if (port == 22)
    snprintf(out, outlen, "%s", host);
  else
    snprintf(out, outlen, "[%s]:%d", host, port);
}

ssh_layer ssh_knownhosts_check(LIBSSH2_SESSION *s, const char *known_hosts, const char *host,
                               int port, char *msg, size_t msglen) {
  size_t keylen = 0;
  int type = 0;
  const char *key = libssh2_session_hostkey(s, &keylen, &type);
  if (!key) {
    snprintf(msg, msglen, "%s:%d sent no host key", host, port);
    return SSH_LAYER_KEX;
  }
  LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(s);
  if (!kh) {
    snprintf(msg, msglen, "out of memory checking the host key");
    return SSH_LAYER_KEX;
  }
  int rc = LIBSSH2_KNOWNHOST_CHECK_NOTFOUND;
  int read = libssh2_knownhost_readfile(kh, known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
  if (read >= 0) {
    struct libssh2_knownhost *found = NULL;
    rc = libssh2_knownhost_checkp(kh, host, port, key, keylen,
                                  LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                      knownhosts_key_bit(type),
                                  &found);
  }
  libssh2_knownhost_free(kh);
  if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH) return SSH_LAYER_NONE;

  char fp[64], name[300];
  knownhosts_fingerprint(s, fp, sizeof fp);
  knownhosts_hostname(host, port, name, sizeof name);
  char *b64 = malloc(4 * ((keylen + 2) / 3) + 1);
  if (b64) base64_encode((const unsigned char *)key, keylen, b64);
  const char *what = rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH
                         ? "CHANGED: it differs from the one pinned in"
                     : read < 0 ? "unknown: cannot read"
                                : "unknown: it is not in";
  snprintf(msg, msglen,
           "host key of %s (%s %s) is %s %s. If the host was rebuilt and you have checked "
           "this fingerprint out of band, accept the key deliberately by adding this line to "
           "BREAKGLASS_KNOWN_HOSTS (replacing any old line for %s): %s %s %s",
           name, knownhosts_type_name(type), fp, what, known_hosts, name, name,
           knownhosts_type_name(type), b64 ? b64 : "?");
  free(b64);
  return rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH ? SSH_LAYER_HOSTKEY_CHANGED
                                                : SSH_LAYER_HOSTKEY_UNKNOWN;
}
