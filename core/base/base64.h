/* Standard base64 (RFC 4648, with padding) for key blobs and fingerprints. */
#ifndef BG_BASE64_H
#define BG_BASE64_H

#include <stddef.h>

/* Writes NUL-terminated text; out needs 4 * ((n + 2) / 3) + 1 bytes. */
void base64_encode(const unsigned char *in, size_t n, char *out);
/* Skips whitespace; returns the decoded length or -1 on bad input.
 * out needs 3 * (n / 4) + 3 bytes. */
long base64_decode(const char *in, size_t n, unsigned char *out);

#endif
