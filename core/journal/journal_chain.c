#include "journal_chain.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct journal_chain_link {
  EVP_MD_CTX *md;
};

static const char HASH_KEY[] = "\"hash\":\"";
static const char MAC_KEY[] = "\",\"mac\":\"";
static const char SEQ_KEY[] = ",\"seq\":";

journal_chain_link *journal_chain_link_start(const unsigned char prev[JOURNAL_CHAIN_HASH_BYTES]) {
  journal_chain_link *l = malloc(sizeof *l);
  if (!l) return NULL;
  l->md = EVP_MD_CTX_new();
  if (!l->md || EVP_DigestInit_ex(l->md, EVP_sha256(), NULL) != 1 ||
      EVP_DigestUpdate(l->md, prev, JOURNAL_CHAIN_HASH_BYTES) != 1) {
    journal_chain_link_free(l);
    return NULL;
  }
  return l;
}

void journal_chain_link_update(journal_chain_link *l, const void *bytes, size_t len) {
  if (len) EVP_DigestUpdate(l->md, bytes, len);
}

void journal_chain_link_free(journal_chain_link *l) {
  if (!l) return;
  EVP_MD_CTX_free(l->md);
  free(l);
}

static void chain_mac(const journal_chain_key *key,
                      const unsigned char hash[JOURNAL_CHAIN_HASH_BYTES],
                      unsigned char mac[JOURNAL_CHAIN_HASH_BYTES]) {
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key->bytes, (int)key->len, hash, JOURNAL_CHAIN_HASH_BYTES, mac, &n))
    memset(mac, 0, JOURNAL_CHAIN_HASH_BYTES);
}

size_t journal_chain_link_finish(journal_chain_link *l, unsigned long long seq,
                                 const journal_chain_key *key,
                                 unsigned char hash[JOURNAL_CHAIN_HASH_BYTES],
                                 char fed[JOURNAL_CHAIN_SUFFIX_MAX_BYTES], size_t *fed_len,
                                 char tail[JOURNAL_CHAIN_SUFFIX_MAX_BYTES]) {
  int n = snprintf(fed, JOURNAL_CHAIN_SUFFIX_MAX_BYTES, "%s%llu,%s", SEQ_KEY, seq, HASH_KEY);
  *fed_len = (size_t)n;
  EVP_DigestUpdate(l->md, fed, *fed_len);
  unsigned int hn = 0;
  if (EVP_DigestFinal_ex(l->md, hash, &hn) != 1) memset(hash, 0, JOURNAL_CHAIN_HASH_BYTES);
  journal_chain_link_free(l);
  size_t at = 0;
  journal_chain_hex(hash, JOURNAL_CHAIN_HASH_BYTES, tail);
  at += JOURNAL_CHAIN_HEX_CHARS;
  if (key && key->len) {
    unsigned char mac[JOURNAL_CHAIN_HASH_BYTES];
    chain_mac(key, hash, mac);
    memcpy(tail + at, MAC_KEY, sizeof MAC_KEY - 1);
    at += sizeof MAC_KEY - 1;
    journal_chain_hex(mac, JOURNAL_CHAIN_HASH_BYTES, tail + at);
    at += JOURNAL_CHAIN_HEX_CHARS;
  }
  memcpy(tail + at, "\"}\n", 3);
  return at + 3;
}

void journal_chain_hex(const unsigned char *bytes, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int journal_chain_unhex(const char *hex, size_t n, unsigned char *out) {
  for (size_t i = 0; i < n; i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  return 0;
}

/* Reads backwards: "<text>" must end at end; returns where it starts. */
static int ends_with(const char *line, size_t end, const char *text, size_t n, size_t *start) {
  if (end < n || memcmp(line + end - n, text, n) != 0) return -1;
  *start = end - n;
  return 0;
}

int journal_chain_parse(const char *line, size_t len, journal_chain_line *out) {
  memset(out, 0, sizeof *out);
  if (len > 0 && line[len - 1] == '\n') len--;
  size_t at;
  if (ends_with(line, len, "\"}", 2, &at) != 0) return -1;
  /* The last hex field: the mac when a `","mac":"` precedes it. */
  if (at < JOURNAL_CHAIN_HEX_CHARS) return -1;
  size_t hex_at = at - JOURNAL_CHAIN_HEX_CHARS, before;
  if (ends_with(line, hex_at, MAC_KEY, sizeof MAC_KEY - 1, &before) == 0) {
    if (journal_chain_unhex(line + hex_at, JOURNAL_CHAIN_HASH_BYTES, out->mac) != 0) return -1;
    out->has_mac = 1;
    if (before < JOURNAL_CHAIN_HEX_CHARS) return -1;
    hex_at = before - JOURNAL_CHAIN_HEX_CHARS;
  }
  if (journal_chain_unhex(line + hex_at, JOURNAL_CHAIN_HASH_BYTES, out->hash) != 0) return -1;
  if (ends_with(line, hex_at, HASH_KEY, sizeof HASH_KEY - 1, &before) != 0 || before == 0 ||
      line[before - 1] != ',')
    return -1;
  out->hashed_len = hex_at;
  /* `,"seq":N,` before it: at most 20 digits, no sign, no leading zero. */
  size_t digits_end = before - 1, d = digits_end;
  while (d > 0 && digits_end - d < 20 && line[d - 1] >= '0' && line[d - 1] <= '9') d--;
  if (d == digits_end || (line[d] == '0' && digits_end - d > 1)) return -1;
  if (ends_with(line, d, SEQ_KEY, sizeof SEQ_KEY - 1, &before) != 0) return -1;
  unsigned long long seq = 0;
  for (size_t i = d; i < digits_end; i++) {
    unsigned digit = (unsigned)(line[i] - '0');
    if (seq > (~0ULL - digit) / 10) return -1;
    seq = seq * 10 + digit;
  }
  out->seq = seq;
  return 0;
}

int journal_chain_follows(const char *line, const journal_chain_line *parsed,
                          const unsigned char prev[JOURNAL_CHAIN_HASH_BYTES]) {
  journal_chain_link *l = journal_chain_link_start(prev);
  if (!l) return 0;
  journal_chain_link_update(l, line, parsed->hashed_len);
  unsigned char got[JOURNAL_CHAIN_HASH_BYTES];
  unsigned int n = 0;
  int ok = EVP_DigestFinal_ex(l->md, got, &n) == 1 &&
           memcmp(got, parsed->hash, JOURNAL_CHAIN_HASH_BYTES) == 0;
  journal_chain_link_free(l);
  return ok;
}

int journal_chain_mac_ok(const journal_chain_line *parsed, const journal_chain_key *key) {
  if (!parsed->has_mac || !key || !key->len) return 0;
  unsigned char want[JOURNAL_CHAIN_HASH_BYTES];
  chain_mac(key, parsed->hash, want);
  return CRYPTO_memcmp(want, parsed->mac, JOURNAL_CHAIN_HASH_BYTES) == 0;
}
