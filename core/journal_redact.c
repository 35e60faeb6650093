#include "journal_redact.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct secret {
  char *escaped; /* as it appears inside a JSON string */
  size_t len;
  char *raw; /* as given, when that differs from escaped; else NULL */
  size_t raw_len;
} secret;

struct journal_redactor {
  secret list[REDACT_MAX_SECRETS];
  size_t count;
};

journal_redactor *journal_redactor_new(void) { return calloc(1, sizeof(journal_redactor)); }

void journal_redactor_free(journal_redactor *r) {
  if (!r) return;
  for (size_t i = 0; i < r->count; i++) {
    free(r->list[i].escaped);
    free(r->list[i].raw);
  }
  free(r);
}

static char *json_escaped(const char *s, size_t len, size_t *outlen) {
  json_t *str = json_stringn_nocheck(s, len);
  char *quoted = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
  json_decref(str);
  if (!quoted) return NULL;
  size_t n = strlen(quoted);
  memmove(quoted, quoted + 1, n - 2);
  quoted[n - 2] = '\0';
  *outlen = n - 2;
  return quoted;
}

int journal_redactor_add(journal_redactor *r, const char *value, size_t len) {
  if (!value || len < REDACT_MIN_SECRET_BYTES) return 0;
  size_t n;
  char *escaped = json_escaped(value, len, &n);
  if (!escaped) return -1;
  for (size_t i = 0; i < r->count; i++)
    if (r->list[i].len == n && memcmp(r->list[i].escaped, escaped, n) == 0) {
      free(escaped);
      return 0;
    }
  char *raw = NULL;
  if (n != len || memcmp(escaped, value, len) != 0) {
    if (!(raw = malloc(len))) {
      free(escaped);
      return -1;
    }
    memcpy(raw, value, len);
  }
  if (r->count == REDACT_MAX_SECRETS) {
    free(escaped);
    free(raw);
    return -1;
  }
  /* Longest first, so that the whole key goes before its lines would. */
  size_t at = 0;
  while (at < r->count && r->list[at].len >= n) at++;
  memmove(&r->list[at + 1], &r->list[at], (r->count - at) * sizeof(secret));
  r->list[at] = (secret){escaped, n, raw, raw ? len : 0};
  r->count++;
  return 0;
}

int journal_redactor_add_key_file(journal_redactor *r, const char *text, size_t len) {
  size_t end = len;
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) end--;
  if (journal_redactor_add(r, text, len) != 0 || journal_redactor_add(r, text, end) != 0)
    return -1;
  const char *p = text, *stop = text + len;
  while (p < stop) {
    const char *nl = memchr(p, '\n', (size_t)(stop - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(stop - p);
    size_t trimmed = n;
    if (trimmed > 0 && p[trimmed - 1] == '\r') trimmed--;
    /* The armour lines ("-----BEGIN ...") are public text. */
    if (trimmed > 0 && p[0] != '-' && journal_redactor_add(r, p, trimmed) != 0) return -1;
    p += n + 1;
  }
  return 0;
}

/* text with every occurrence of the len bytes at needle replaced by the
 * mark; frees text. */
static char *replace_all(char *text, size_t *n, const char *needle, size_t len) {
  static const size_t mark_len = sizeof REDACT_MARK - 1;
  size_t hits = 0;
  for (char *h = memmem(text, *n, needle, len); h;
       h = memmem(h + len, *n - (size_t)(h + len - text), needle, len))
    hits++;
  if (hits == 0) return text;
  size_t grown = *n - hits * len + hits * mark_len;
  char *out = malloc(grown + 1);
  if (!out) {
    free(text);
    return NULL;
  }
  const char *from = text, *end = text + *n;
  char *to = out;
  for (char *h = memmem(from, *n, needle, len); h;
       h = memmem(from, (size_t)(end - from), needle, len)) {
    memcpy(to, from, (size_t)(h - from));
    to += h - from;
    memcpy(to, REDACT_MARK, mark_len);
    to += mark_len;
    from = h + len;
  }
  memcpy(to, from, (size_t)(end - from));
  to += end - from;
  *to = '\0';
  free(text);
  *n = grown;
  return out;
}

static char *redact(const journal_redactor *r, const char *text, size_t len, int raw_too,
                    size_t *outlen) {
  char *out = malloc(len + 1);
  if (!out) return NULL;
  memcpy(out, text, len);
  out[len] = '\0';
  size_t n = len;
  for (size_t i = 0; out && r && i < r->count; i++) {
    const secret *s = &r->list[i];
    out = replace_all(out, &n, s->escaped, s->len);
    if (out && raw_too && s->raw) out = replace_all(out, &n, s->raw, s->raw_len);
  }
  *outlen = n;
  return out;
}

char *journal_redact(const journal_redactor *r, const char *json, size_t len, size_t *outlen) {
  return redact(r, json, len, 0, outlen);
}

char *journal_redact_text(const journal_redactor *r, const char *text, size_t len,
                          size_t *outlen) {
  return redact(r, text, len, 1, outlen);
}
