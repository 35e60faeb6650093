/* Secret values that must never leave the process: the model API key and
 * token, the OAuth token, the bearer token, the SSH private key. One
 * redactor sees everything that leaves (DESIGN.md invariant 10): events,
 * journal records, the model's requests and the log.
 *
 * Each secret is looked for as it is and in its JSON-escaped forms (a PEM's
 * newlines are "\n" inside a JSON string, a '/' may be "\/"), and replaced
 * with "[redacted]". A token is also looked for in base64 at each offset it
 * may start at inside a longer text, and in hex. Inside a match of those
 * encoded forms one line break is passed over (base64(1) and xxd -p wrap
 * what they print, at any column of the secret's form). The key file is
 * known whole, line by line (a tool that prints part of it still has each
 * base64 line caught), and as the base64 of the whole file, on one line
 * and wrapped at 76 columns as base64(1) prints it.
 *
 * Matching is one pass over the text whatever the number of secrets (an
 * Aho-Corasick automaton). A stream of pieces (a command's output, the
 * model's text deltas) is redacted across the pieces' seams: the stream
 * holds back only the tail that could still become a secret.
 *
 * When one secret is part of another (a key line inside the whole key), a
 * match of the shorter one may be replaced first: what remains of the
 * longer is then text outside any secret, so nothing secret gets out.
 */
#ifndef BG_REDACTOR_H
#define BG_REDACTOR_H

#include <stddef.h>

#include "limits_table.h"

#define REDACT_MARK "[redacted]"

typedef struct redactor redactor;

redactor *redactor_new(void);
void redactor_free(redactor *r);
/* Adds one secret value; NULL or short values are ignored. 0, or -1 when
 * memory ran out or a limit above is reached. */
int redactor_add(redactor *r, const char *secret, size_t len);
/* Adds a private key file: the whole text, each line of its body, and its
 * base64 as base64(1) prints it. */
int redactor_add_key_file(redactor *r, const char *text, size_t len);
/* A copy of text (len bytes) with every secret replaced, NUL-terminated,
 * length in *outlen; NULL when memory ran out. r may be NULL (no secrets). */
char *redactor_apply(const redactor *r, const char *text, size_t len, size_t *outlen);

/* A text that arrives in pieces. Zero-initialise with the redactor set. */
typedef struct redactor_stream {
  const redactor *r;
  unsigned state;    /* where the automaton is */
  unsigned char brk; /* the line break it passed over last, 0: none */
  char *held;        /* the tail that may yet turn out to be a secret */
  size_t held_len;
} redactor_stream;

/* What of the text so far can go out now, redacted (malloc'd, NUL-ended,
 * possibly empty); NULL when memory ran out (the piece is then dropped). */
char *redactor_stream_push(redactor_stream *st, const char *piece, size_t len, size_t *outlen);
/* The end of the text: what was held back, and the stream is reset. */
char *redactor_stream_end(redactor_stream *st, size_t *outlen);

#endif
