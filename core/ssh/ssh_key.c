#include "ssh_key.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "limits_table.h"

static const char SSH_KEY_RSA_MESSAGE[] =
    "is an RSA key: libssh2 1.10 signs only with SHA-1 ssh-rsa, which OpenSSH 8.8+ refuses; "
    "use an ed25519 key (ssh-keygen -t ed25519)";

static const char OPENSSH_BEGIN[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
static const char OPENSSH_END[] = "-----END OPENSSH PRIVATE KEY-----";

/* Reads an SSH wire string at *at; returns its start or NULL past the end. */
static const unsigned char *key_wire_string(const unsigned char *buf, size_t n, size_t *at,
                                            uint32_t *len) {
  if (n - *at < 4) return NULL;
  const unsigned char *p = buf + *at;
  uint32_t l = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
  if (n - *at - 4 < l) return NULL;
  *at += 4 + (size_t)l;
  *len = l;
  return p + 4;
}

/* The key type of an OpenSSH-format file, from its unencrypted public
 * part (readable even when the key has a passphrase). */
static int key_openssh_type(const char *pem, char *type, size_t typelen) {
  const char *b = strstr(pem, OPENSSH_BEGIN);
  const char *e = b ? strstr(b, OPENSSH_END) : NULL;
  if (!e) return -1;
  b += sizeof OPENSSH_BEGIN - 1;
  size_t n = (size_t)(e - b);
  unsigned char *raw = malloc(3 * (n / 4) + 3);
  if (!raw) return -1;
  long got = base64_decode(b, n, raw);
  int rc = -1;
  static const char magic[] = "openssh-key-v1";
  if (got > (long)sizeof magic && memcmp(raw, magic, sizeof magic) == 0) {
    size_t len = (size_t)got, at = sizeof magic;
    uint32_t l;
    /* ciphername, kdfname, kdfoptions, then the key count */
    if (key_wire_string(raw, len, &at, &l) && key_wire_string(raw, len, &at, &l) &&
        key_wire_string(raw, len, &at, &l) && len - at >= 4) {
      at += 4;
      const unsigned char *pub = key_wire_string(raw, len, &at, &l);
      size_t pat = 0;
      uint32_t tl;
      const unsigned char *t = pub ? key_wire_string(pub, l, &pat, &tl) : NULL;
      if (t && tl < typelen) {
        memcpy(type, t, tl);
        type[tl] = '\0';
        rc = 0;
      }
    }
  }
  free(raw);
  return rc;
}

static int key_check_type(const char *path, const char *pem, char *err, size_t errlen) {
  if (strstr(pem, "-----BEGIN RSA PRIVATE KEY-----")) {
    snprintf(err, errlen, "%s %s", path, SSH_KEY_RSA_MESSAGE);
    return -1;
  }
  if (strstr(pem, "-----BEGIN EC PRIVATE KEY-----")) return 0;
  char type[64];
  if (strstr(pem, OPENSSH_BEGIN) && key_openssh_type(pem, type, sizeof type) == 0) {
    if (strcmp(type, "ssh-ed25519") == 0 || strncmp(type, "ecdsa-sha2-", 11) == 0) return 0;
    if (strcmp(type, "ssh-rsa") == 0)
      snprintf(err, errlen, "%s %s", path, SSH_KEY_RSA_MESSAGE);
    else
      snprintf(err, errlen, "%s is a %.40s key; use an ed25519 or ecdsa key", path, type);
    return -1;
  }
  snprintf(err, errlen,
           "%s is not a private key this build can use (an OpenSSH-format ed25519/ecdsa key "
           "or a PEM EC key)",
           path);
  return -1;
}

int ssh_key_load(const char *path, char **pem, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot read the SSH key %s: %s", path, strerror(errno));
    return -1;
  }
  char *data = malloc(SSH_KEY_MAX_BYTES + 1);
  size_t n = data ? fread(data, 1, SSH_KEY_MAX_BYTES + 1, f) : 0;
  fclose(f);
  if (!data || n == 0 || n > SSH_KEY_MAX_BYTES) {
    snprintf(err, errlen, "the SSH key %s is empty, unreadable or over %d bytes", path,
             SSH_KEY_MAX_BYTES);
    ssh_key_free(data, data ? SSH_KEY_MAX_BYTES + 1 : 0);
    return -1;
  }
  data[n] = '\0';
  if (key_check_type(path, data, err, errlen) != 0) {
    ssh_key_free(data, SSH_KEY_MAX_BYTES + 1);
    return -1;
  }
  *pem = data;
  *len = n;
  return 0;
}

void ssh_key_free(char *pem, size_t len) {
  if (!pem) return;
  explicit_bzero(pem, len);
  free(pem);
}
