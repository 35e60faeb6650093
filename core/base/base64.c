#include "base64.h"

#include <ctype.h>
#include <string.h>

static const char BASE64_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(const unsigned char *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
    if (i + 2 < n) v |= in[i + 2];
    out[o++] = BASE64_ALPHABET[(v >> 18) & 63];
    out[o++] = BASE64_ALPHABET[(v >> 12) & 63];
    out[o++] = i + 1 < n ? BASE64_ALPHABET[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? BASE64_ALPHABET[v & 63] : '=';
  }
  out[o] = '\0';
}

long base64_decode(const char *in, size_t n, unsigned char *out) {
  unsigned v = 0;
  int bits = 0;
  long o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)in[i];
    if (isspace(ch)) continue;
    if (ch == '=') break;
    const char *at = strchr(BASE64_ALPHABET, ch);
    if (!at || ch == '\0') return -1;
    v = (v << 6) | (unsigned)(at - BASE64_ALPHABET);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(v >> bits);
      v &= (1u << bits) - 1;
    }
  }
  return o;
}
