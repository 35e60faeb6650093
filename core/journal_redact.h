/* Secret values that must never be written: the model API key and token,
 * the OAuth token, the bearer token, the SSH private key.
 *
 * Redaction works on serialised JSON, the form in which every record and
 * event leaves the process, so one pass covers every field. A secret is
 * looked for in its JSON-escaped form (a PEM's newlines are "\n" there) and
 * replaced with "[redacted]". The key is known whole and line by line:
 * a tool that prints part of the key file still has each base64 line caught.
 *
 * Residual risk: a secret split across two separately written pieces (two
 * tool_output chunks) is in neither piece whole. Per-line matching of the
 * key narrows that to the fragments of at most two lines; the assembled
 * tool result is redacted whole.
 */
#ifndef BG_JOURNAL_REDACT_H
#define BG_JOURNAL_REDACT_H

#include <stddef.h>

/* Shorter values are not treated as secrets: replacing them would garble
 * ordinary text and hides little. */
#define REDACT_MIN_SECRET_BYTES 8
#define REDACT_MAX_SECRETS 256
#define REDACT_MARK "[redacted]"

typedef struct journal_redactor journal_redactor;

journal_redactor *journal_redactor_new(void);
void journal_redactor_free(journal_redactor *r);
/* Adds one secret value; NULL or short values are ignored. 0, or -1 when
 * memory ran out or the list is full. */
int journal_redactor_add(journal_redactor *r, const char *secret, size_t len);
/* Adds a private key file: the whole text, and each line of its body. */
int journal_redactor_add_key_file(journal_redactor *r, const char *text, size_t len);
/* A copy of json (len bytes) with every secret replaced, NUL-terminated,
 * length in *outlen; NULL when memory ran out. */
char *journal_redact(const journal_redactor *r, const char *json, size_t len, size_t *outlen);
/* The same for text that is not (only) JSON, such as a log record: every
 * secret is looked for both as given and JSON-escaped. */
char *journal_redact_text(const journal_redactor *r, const char *text, size_t len,
                          size_t *outlen);

#endif
