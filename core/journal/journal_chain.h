/* The hash chain of a journal (docs/journal.md, "Integrity"): bytes in,
 * links out. No I/O, so the writer, recovery, `breakglass verify` and the
 * fuzzer share it.
 *
 * Every chained line ends the same way:
 *
 *   {..."ts","kind",fields...,"seq":N,"hash":"<64 hex>"}\n
 *   {..."ts","kind",fields...,"seq":N,"hash":"<64 hex>","mac":"<64 hex>"}\n
 *
 * hash(N) = SHA-256(hash(N-1) || the line's bytes up to and including
 * `"hash":"`), so each link covers the record's own bytes, its number and
 * every record before it. Record 0 is the header ({"kind": "chain"}, with a
 * random nonce); its predecessor is 32 zero bytes. With a key, mac(N) =
 * HMAC-SHA256(key, hash(N)): whoever lacks the key cannot make a link
 * that checks, even by rewriting the whole file.
 */
#ifndef BG_JOURNAL_CHAIN_H
#define BG_JOURNAL_CHAIN_H

#include <stddef.h>

#include "limits_table.h"

#define JOURNAL_CHAIN_HASH_BYTES 32
#define JOURNAL_CHAIN_HEX_CHARS (2 * JOURNAL_CHAIN_HASH_BYTES)
/* The header's version field: what this code writes and reads. */
#define JOURNAL_CHAIN_VERSION 1

/* The HMAC key, or none (len 0). */
typedef struct journal_chain_key {
  const unsigned char *bytes;
  size_t len;
} journal_chain_key;

/* A record's link being computed over the bytes as they are written. */
typedef struct journal_chain_link journal_chain_link;

/* Starts the link after prev (32 bytes; zeros for the header). NULL when
 * out of memory. */
journal_chain_link *journal_chain_link_start(const unsigned char prev[JOURNAL_CHAIN_HASH_BYTES]);
void journal_chain_link_update(journal_chain_link *l, const void *bytes, size_t len);
/* Feeds `,"seq":N,"hash":"`, ends the link (freeing l) and writes into
 * tail the rest of the line: the hash, the mac when key has one, `}` and
 * the newline. fed/fed_len: the bytes it fed (for the caller to write
 * first). Returns the tail's length; *hash gets the link. */
size_t journal_chain_link_finish(journal_chain_link *l, unsigned long long seq,
                                 const journal_chain_key *key,
                                 unsigned char hash[JOURNAL_CHAIN_HASH_BYTES],
                                 char fed[JOURNAL_CHAIN_SUFFIX_MAX_BYTES], size_t *fed_len,
                                 char tail[JOURNAL_CHAIN_SUFFIX_MAX_BYTES]);
void journal_chain_link_free(journal_chain_link *l);

/* The chain fields of one line (with or without its newline). */
typedef struct journal_chain_line {
  unsigned long long seq;
  unsigned char hash[JOURNAL_CHAIN_HASH_BYTES];
  unsigned char mac[JOURNAL_CHAIN_HASH_BYTES];
  int has_mac;
  size_t hashed_len; /* the bytes the link covers: up to `"hash":"` */
} journal_chain_line;

/* 0 when the line ends with chain fields as above, -1 when it does not. */
int journal_chain_parse(const char *line, size_t len, journal_chain_line *out);
/* Whether the line's link follows prev: SHA-256(prev || its hashed bytes)
 * equals its hash. */
int journal_chain_follows(const char *line, const journal_chain_line *parsed,
                          const unsigned char prev[JOURNAL_CHAIN_HASH_BYTES]);
/* Whether mac = HMAC-SHA256(key, hash). */
int journal_chain_mac_ok(const journal_chain_line *parsed, const journal_chain_key *key);

void journal_chain_hex(const unsigned char *bytes, size_t n, char *out);
int journal_chain_unhex(const char *hex, size_t n, unsigned char *out);

#endif
