#include "redactor.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "utf8_text.h"

/* What one mark may add: it replaces at least REDACT_MIN_SECRET_BYTES. */
#define REDACT_MAX_GROWTH (sizeof REDACT_MARK - 1 - REDACT_MIN_SECRET_BYTES)
/* base64(1) wraps its output at this many columns. */
#define REDACT_BASE64_COLUMNS 76
/* A line break is passed over inside a match at least this long, so that
 * an ordinary line whose last few characters could begin an encoded
 * secret ends at once, not when the next line comes (live output). An
 * encoded form cut closer to its start than this is not caught. */
#define REDACT_WRAP_MIN_BYTES 4

typedef struct pattern {
  char *bytes;
  size_t len;
  int encoded; /* base64 or hex, which their tools wrap */
} pattern;

/* The patterns, and the automaton that finds them all in one pass: a DFA
 * over byte classes (the bytes some pattern uses, and one class for all
 * the others), states numbered in 16 bits (REDACT_MAX_PATTERN_BYTES). */
struct redactor {
  pattern list[REDACT_MAX_SECRETS_COUNT];
  size_t count;
  size_t pattern_bytes;
  unsigned char cls[256];
  unsigned classes;
  unsigned states;
  uint16_t *next;      /* states * classes */
  uint16_t *match_len; /* longest pattern ending at each state, 0: none */
  uint16_t *depth;     /* how many bytes lead to each state */
  uint16_t *parent;    /* the trie: each state's parent ... */
  unsigned char *in;   /* ... and the byte that leads from it */
  unsigned char *wrap; /* whether an encoded pattern passes through it */
};

redactor *redactor_new(void) { return calloc(1, sizeof(redactor)); }

static void automaton_free(redactor *r) {
  free(r->next);
  free(r->match_len);
  free(r->depth);
  free(r->parent);
  free(r->in);
  free(r->wrap);
  r->next = r->match_len = r->depth = r->parent = NULL;
  r->in = r->wrap = NULL;
  r->states = 0;
}

void redactor_free(redactor *r) {
  if (!r) return;
  for (size_t i = 0; i < r->count; i++) free(r->list[i].bytes);
  automaton_free(r);
  free(r);
}

/* The trie of every pattern, then (breadth first, each state's failure
 * state done before it) the missing transitions filled from the failure
 * states: Aho and Corasick's automaton as a table. */
static int automaton_build(redactor *r) {
  automaton_free(r);
  memset(r->cls, 0, sizeof r->cls);
  r->classes = 1;
  for (size_t i = 0; i < r->count; i++)
    for (size_t k = 0; k < r->list[i].len; k++) {
      unsigned char b = (unsigned char)r->list[i].bytes[k];
      if (!r->cls[b]) r->cls[b] = (unsigned char)r->classes++;
    }
  size_t cap = r->pattern_bytes + 1, nc = r->classes;
  r->next = calloc(cap * nc, sizeof *r->next);
  r->match_len = calloc(cap, sizeof *r->match_len);
  r->depth = calloc(cap, sizeof *r->depth);
  r->parent = calloc(cap, sizeof *r->parent);
  r->in = calloc(cap, sizeof *r->in);
  r->wrap = calloc(cap, sizeof *r->wrap);
  uint16_t *fail = calloc(cap, sizeof *fail), *queue = calloc(cap, sizeof *queue);
  if (!r->next || !r->match_len || !r->depth || !r->parent || !r->in || !r->wrap || !fail ||
      !queue) {
    free(fail);
    free(queue);
    automaton_free(r);
    return -1;
  }
  r->states = 1;
  for (size_t i = 0; i < r->count; i++) {
    unsigned s = 0;
    for (size_t k = 0; k < r->list[i].len; k++) {
      uint16_t *to = &r->next[s * nc + r->cls[(unsigned char)r->list[i].bytes[k]]];
      if (!*to) {
        r->depth[r->states] = (uint16_t)(r->depth[s] + 1);
        r->parent[r->states] = (uint16_t)s;
        r->in[r->states] = (unsigned char)r->list[i].bytes[k];
        *to = (uint16_t)r->states++;
      }
      s = *to;
      r->wrap[s] |= (unsigned char)r->list[i].encoded;
    }
    if (r->list[i].len > r->match_len[s]) r->match_len[s] = (uint16_t)r->list[i].len;
  }
  size_t head = 0, tail = 0;
  queue[tail++] = 0;
  while (head < tail) {
    unsigned u = queue[head++];
    for (unsigned c = 0; c < nc; c++) {
      uint16_t *to = &r->next[u * nc + c];
      uint16_t via = u ? r->next[fail[u] * nc + c] : 0;
      if (!*to) {
        *to = via; /* a state already filled: fail[u] is shallower */
        continue;
      }
      unsigned v = *to;
      fail[v] = via;
      if (r->match_len[via] > r->match_len[v]) r->match_len[v] = r->match_len[via];
      queue[tail++] = (uint16_t)v;
    }
  }
  free(fail);
  free(queue);
  return 0;
}

static int redactor_add_pattern(redactor *r, const char *bytes, size_t len, int encoded) {
  for (size_t i = 0; i < r->count; i++)
    if (r->list[i].len == len && memcmp(r->list[i].bytes, bytes, len) == 0) {
      r->list[i].encoded |= encoded;
      return 0;
    }
  if (r->count == REDACT_MAX_SECRETS_COUNT || r->pattern_bytes + len > REDACT_MAX_PATTERN_BYTES - 1)
    return -1;
  char *copy = malloc(len);
  if (!copy) return -1;
  memcpy(copy, bytes, len);
  r->list[r->count++] = (pattern){copy, len, encoded};
  r->pattern_bytes += len;
  return 0;
}

/* The secret as it is, and as it appears inside a JSON string: with '/'
 * as it is (jansson's way) and as "\/" (PHP's and some others' default).
 * A secret that is not UTF-8 has no JSON form (jansson writes no such
 * string): it is looked for as it is. */
static int redactor_add_forms(redactor *r, const char *value, size_t len) {
  if (!value || len < REDACT_MIN_SECRET_BYTES) return 0;
  if (redactor_add_pattern(r, value, len, 0) != 0) return -1;
  for (size_t i = 0, n; i < len; i += n)
    if (!(n = utf8_text_seq_len((const unsigned char *)value + i, len - i))) return 0;
  json_t *str = json_stringn_nocheck(value, len);
  char *quoted = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
  char *slashed = str ? json_dumps(str, JSON_ENCODE_ANY | JSON_ESCAPE_SLASH) : NULL;
  json_decref(str);
  int rc = quoted && slashed ? 0 : -1;
  if (rc == 0) rc = redactor_add_pattern(r, quoted + 1, strlen(quoted) - 2, 0);
  if (rc == 0) rc = redactor_add_pattern(r, slashed + 1, strlen(slashed) - 2, 0);
  free(quoted);
  free(slashed);
  return rc;
}

/* The secret as base64 encodes it inside a longer text (`echo $KEY |
 * base64`, an environment dump piped through base64): it may start at any
 * of the three bytes of a group, and for each, the characters that carry
 * its bits alone (not its neighbours') are always the same. */
static int redactor_add_base64(redactor *r, const char *value, size_t len) {
  if (len < REDACT_MIN_ENCODED_SECRET_BYTES) return 0;
  unsigned char *in = malloc(len + 2);
  char *out = malloc(4 * ((len + 4) / 3) + 1);
  int rc = in && out ? 0 : -1;
  for (size_t offset = 0; rc == 0 && offset < 3; offset++) {
    memset(in, 0, offset);
    memcpy(in + offset, value, len);
    base64_encode(in, offset + len, out);
    size_t first = (offset * 8 + 5) / 6, end = (offset + len) * 8 / 6;
    rc = redactor_add_pattern(r, out + first, end - first, 1);
  }
  free(in);
  free(out);
  return rc;
}

/* The secret in hex, as xxd -p, od's and python's hex print it, in lower
 * and upper case. */
static int redactor_add_hex(redactor *r, const char *value, size_t len) {
  if (len < REDACT_MIN_ENCODED_SECRET_BYTES) return 0;
  char *out = malloc(2 * len);
  int rc = out ? 0 : -1;
  for (size_t upper = 0; rc == 0 && upper < 2; upper++) {
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
      out[2 * i] = digits[(unsigned char)value[i] >> 4];
      out[2 * i + 1] = digits[(unsigned char)value[i] & 15];
    }
    rc = redactor_add_pattern(r, out, 2 * len, 1);
  }
  free(out);
  return rc;
}

int redactor_add(redactor *r, const char *value, size_t len) {
  if (!value || len < REDACT_MIN_SECRET_BYTES) return 0;
  if (redactor_add_forms(r, value, len) != 0 || redactor_add_base64(r, value, len) != 0 ||
      redactor_add_hex(r, value, len) != 0)
    return -1;
  return automaton_build(r);
}

/* Each line of text (no CR) at least the minimum long; skip lines that
 * start with '-' (the PEM armour, which is public). */
static int redactor_add_lines(redactor *r, const char *text, size_t len, int skip_armour) {
  const char *p = text, *stop = text + len;
  while (p < stop) {
    const char *nl = memchr(p, '\n', (size_t)(stop - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(stop - p);
    size_t trimmed = n;
    if (trimmed > 0 && p[trimmed - 1] == '\r') trimmed--;
    if (trimmed > 0 && !(skip_armour && p[0] == '-') && redactor_add_forms(r, p, trimmed) != 0)
      return -1;
    p += n + 1;
  }
  return 0;
}

int redactor_add_key_file(redactor *r, const char *text, size_t len) {
  size_t end = len;
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) end--;
  if (redactor_add_forms(r, text, len) != 0 || redactor_add_forms(r, text, end) != 0 ||
      redactor_add_lines(r, text, len, 1) != 0)
    return -1;
  char *b64 = malloc(4 * ((len + 2) / 3) + 1);
  if (!b64) return -1;
  base64_encode((const unsigned char *)text, len, b64);
  size_t n = strlen(b64);
  int rc = redactor_add_forms(r, b64, n);
  for (size_t at = 0; rc == 0 && at < n; at += REDACT_BASE64_COLUMNS)
    rc = redactor_add_forms(r, b64 + at,
                            n - at < REDACT_BASE64_COLUMNS ? n - at : REDACT_BASE64_COLUMNS);
  free(b64);
  return rc != 0 ? -1 : automaton_build(r);
}

/* One byte b through the automaton from *s. base64(1) and xxd -p wrap
 * what they print, so a secret they encode may be cut by a line break
 * ("\n", "\r\n") at any column: inside a match of an encoded form at
 * least REDACT_WRAP_MIN_BYTES long, one line break that no pattern goes on
 * with (it would lead back to the root, so passing over it loses no match)
 * is passed over; *brk remembers the bytes passed over in a row. Returns
 * whether b was passed over. */
static int redactor_step(const redactor *r, unsigned *s, unsigned char *brk, unsigned char b) {
  unsigned t = r->next[*s * r->classes + r->cls[b]];
  if (t == 0 && r->wrap[*s] && r->depth[*s] >= REDACT_WRAP_MIN_BYTES &&
      ((b == '\r' && *brk == 0) || (b == '\n' && (*brk == 0 || *brk == '\r')))) {
    *brk = b;
    return 1;
  }
  *brk = 0;
  *s = t;
  return 0;
}

/* Where in text (ending at `at`) the last n bytes the automaton took on its
 * way to s begin: those bytes are the last n of s's path in the trie, with
 * the line breaks it passed over between them. */
static size_t redactor_span_start(const redactor *r, unsigned s, const char *text, size_t at,
                                  size_t n) {
  for (size_t k = 0; k < n && at > 0; k++) {
    while (at > 1 && (unsigned char)text[at - 1] != r->in[s]) at--;
    at--;
    s = r->parent[s];
  }
  return at;
}

/* Runs n bytes through the automaton from *state into out (room for
 * REDACT_GROWTH of them), a match replaced by the mark; returns the bytes
 * written. A match's bytes are all in out: each started after the last
 * match (the automaton restarts there) and within what a stream holds. */
static size_t redactor_feed(const redactor *r, unsigned *state, unsigned char *brk, char *out,
                            size_t at, const char *p, size_t n) {
  static const size_t mark_len = sizeof REDACT_MARK - 1;
  unsigned s = *state;
  for (size_t i = 0; i < n; i++) {
    out[at++] = p[i];
    if (redactor_step(r, &s, brk, (unsigned char)p[i]) || !r->match_len[s]) continue;
    at = redactor_span_start(r, s, out, at, r->match_len[s]);
    memcpy(out + at, REDACT_MARK, mark_len);
    at += mark_len;
    s = 0;
  }
  *state = s;
  return at;
}

/* How long text becomes once redacted: a first pass that writes nothing,
 * so that the copy is allocated at its size (a long record is not held at
 * twice its size for the few secrets it may hold). */
static size_t redacted_len(const redactor *r, const char *p, size_t n, size_t *matches) {
  static const size_t mark_len = sizeof REDACT_MARK - 1;
  unsigned s = 0;
  unsigned char brk = 0;
  size_t out = n;
  *matches = 0;
  for (size_t i = 0; i < n; i++) {
    if (redactor_step(r, &s, &brk, (unsigned char)p[i]) || !r->match_len[s]) continue;
    out = out - (i + 1 - redactor_span_start(r, s, p, i + 1, r->match_len[s])) + mark_len;
    (*matches)++;
    s = 0;
  }
  return out;
}

char *redactor_apply(const redactor *r, const char *text, size_t len, size_t *outlen) {
  size_t matches = 0;
  size_t n = r && r->count > 0 && r->next ? redacted_len(r, text, len, &matches) : len;
  /* A match's bytes are written before the mark replaces them: room for
   * the text as it comes plus what each mark may add to it. */
  char *out = malloc(len + matches * REDACT_MAX_GROWTH + 1);
  if (!out) return NULL;
  if (matches == 0) {
    if (len) memcpy(out, text, len);
  } else {
    unsigned state = 0;
    unsigned char brk = 0;
    redactor_feed(r, &state, &brk, out, 0, text, len);
  }
  out[n] = '\0';
  *outlen = n;
  return out;
}

/* A stream's output buffer: its n bytes plus what the marks may add. */
static size_t redact_room(size_t n) {
  return n + n / REDACT_MIN_SECRET_BYTES * REDACT_MAX_GROWTH + 1;
}

char *redactor_stream_push(redactor_stream *st, const char *piece, size_t len, size_t *outlen) {
  const redactor *r = st->r;
  if (!r || r->count == 0 || !r->next) return redactor_apply(r, piece, len, outlen);
  char *out = malloc(redact_room(st->held_len + len));
  if (!out) return NULL;
  if (st->held_len) memcpy(out, st->held, st->held_len);
  size_t n = redactor_feed(r, &st->state, &st->brk, out, st->held_len, piece, len);
  /* The bytes that led to the automaton's state may be the start of a
   * secret: they wait, with the line breaks passed over among them. */
  size_t keep = n - redactor_span_start(r, st->state, out, n, r->depth[st->state]);
  char *held = keep ? malloc(keep) : NULL;
  if (keep && !held) {
    free(out);
    return NULL;
  }
  if (keep) memcpy(held, out + n - keep, keep);
  free(st->held);
  st->held = held;
  st->held_len = keep;
  out[n - keep] = '\0';
  *outlen = n - keep;
  return out;
}

char *redactor_stream_end(redactor_stream *st, size_t *outlen) {
  char *out = malloc(st->held_len + 1);
  if (out) {
    if (st->held_len) memcpy(out, st->held, st->held_len);
    out[st->held_len] = '\0';
    *outlen = st->held_len;
  }
  free(st->held);
  st->held = NULL;
  st->held_len = 0;
  st->state = 0;
  st->brk = 0;
  return out;
}
