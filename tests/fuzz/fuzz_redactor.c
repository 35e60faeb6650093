/* libFuzzer target: secrets and a text -> the redactor, whole and in pieces.
 *
 * Input: byte 0 picks the size of the pieces; the rest is up to three
 * secrets and then the text, separated by NUL bytes (the last secret may
 * be added as a key file instead, by its first byte being '-'). The text
 * redacted in one pass must equal the text streamed in pieces and ended,
 * byte for byte, and may hold no secret the redactor took as it is
 * outside the marks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_entry.h"
#include "redactor.h"

#define FUZZ_MAX_SECRETS 3

typedef struct fuzz_part {
  const char *p;
  size_t len;
} fuzz_part;

/* Appends n bytes of src to the growing *out; aborts on no memory. */
static void fuzz_append(char **out, size_t *len, const char *src, size_t n) {
  char *grown = realloc(*out, *len + n + 1);
  if (!grown) abort();
  memcpy(grown + *len, src, n);
  *len += n;
  grown[*len] = '\0';
  *out = grown;
}

/* No secret stands in out outside the marks: each mark is cut out first
 * (a NUL in its place, which no secret holds), since a secret may be rebuilt
 * from text around a mark or be part of the mark's own letters. */
static void fuzz_check_clean(const char *out, size_t len, const fuzz_part *secrets, size_t n) {
  static const size_t mark_len = sizeof REDACT_MARK - 1;
  char *cut = malloc(len + 1);
  if (!cut) abort();
  size_t m = 0;
  for (size_t i = 0; i < len;) {
    int mark = len - i >= mark_len && memcmp(out + i, REDACT_MARK, mark_len) == 0;
    cut[m++] = mark ? '\0' : out[i];
    i += mark ? mark_len : 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (secrets[i].len < REDACT_MIN_SECRET_BYTES ||
        memmem(secrets[i].p, secrets[i].len, REDACT_MARK, mark_len))
      continue;
    if (memmem(cut, m, secrets[i].p, secrets[i].len)) abort();
  }
  free(cut);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t piece = (size_t)data[0] + 1;
  const char *p = (const char *)data + 1, *end = (const char *)data + size;
  fuzz_part secrets[FUZZ_MAX_SECRETS];
  size_t count = 0;
  while (count < FUZZ_MAX_SECRETS) {
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    if (!nul) break;
    secrets[count++] = (fuzz_part){p, (size_t)(nul - p)};
    p = nul + 1;
  }
  redactor *r = redactor_new();
  if (!r) return 0;
  fuzz_part added[FUZZ_MAX_SECRETS];
  size_t added_count = 0;
  for (size_t i = 0; i < count; i++) {
    int key_file = i == count - 1 && secrets[i].len > 0 && secrets[i].p[0] == '-';
    int rc = key_file ? redactor_add_key_file(r, secrets[i].p, secrets[i].len)
                      : redactor_add(r, secrets[i].p, secrets[i].len);
    if (rc == 0) added[added_count++] = secrets[i]; /* else refused: past a limit */
  }
  size_t text_len = (size_t)(end - p), whole_len;
  char *whole = redactor_apply(r, p, text_len, &whole_len);
  if (!whole) abort();
  redactor_stream st = {.r = r};
  char *streamed = NULL;
  size_t streamed_len = 0;
  for (size_t at = 0; at < text_len; at += piece) {
    size_t n, len = text_len - at < piece ? text_len - at : piece;
    char *out = redactor_stream_push(&st, p + at, len, &n);
    if (!out) abort();
    fuzz_append(&streamed, &streamed_len, out, n);
    free(out);
  }
  size_t n;
  char *rest = redactor_stream_end(&st, &n);
  if (!rest) abort();
  fuzz_append(&streamed, &streamed_len, rest, n);
  free(rest);
  if (streamed_len != whole_len || (whole_len && memcmp(streamed, whole, whole_len) != 0)) abort();
  fuzz_check_clean(whole, whole_len, added, added_count);
  free(streamed);
  free(whole);
  redactor_free(r);
  return 0;
}
