/* The client's private key: read once into memory and checked for a type
 * libssh2 1.10 can sign with against a current OpenSSH (ed25519, ecdsa). */
#ifndef BG_SSH_KEY_H
#define BG_SSH_KEY_H

#include <stddef.h>

/* *pem is malloc'd (wipe and free it with ssh_key_free). On failure returns
 * -1 and fills err, which never contains key material. */
int ssh_key_load(const char *path, char **pem, size_t *len, char *err, size_t errlen);
void ssh_key_free(char *pem, size_t len);

#endif
