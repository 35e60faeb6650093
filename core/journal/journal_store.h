/* Where journals live and what they must not hold: the sessions folder
 * and the secrets to redact.
 *
 * The daemon opens one at start, before any session exists, so that every
 * journal is redacted from its first record; app holds it. Session journals
 * are SESSIONS_DIR/<id>.jsonl (the power buttons' too: they are recorded
 * in sessions, see api_pve.c).
 */
#ifndef BG_JOURNAL_STORE_H
#define BG_JOURNAL_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "journal.h"

/* Beside the session journals: the folder of what is derived from them
 * or vouches for them (the sessions index, the search index), and the
 * sessions index in it (docs/journal.md). */
#define JOURNAL_INDEX_DIR "index"
#define JOURNAL_INDEX_FILE "index/sessions.jsonl"

typedef struct journal_store journal_store;

/* What the store is opened with, filled by the daemon from its settings.
 * It holds the secrets only for the call: the store keeps them in its
 * redactor, never this struct. */
typedef struct journal_store_options {
  const char *sessions_dir;
  const char *hmac_key_path; /* BREAKGLASS_JOURNAL_HMAC_KEY_PATH, or NULL */
  /* The configured tokens, to redact; NULL entries are skipped. */
  const char *const *secrets;
  size_t secret_count;
  const char *key_pem; /* the SSH key as the SSH pool read it, or NULL */
  size_t key_len;
  const journal_metrics *metrics; /* copied; NULL: not counted */
} journal_store_options;

/* Notes the secrets (o->secrets and the SSH key) and creates the sessions
 * folder, reads the journals' HMAC key (its bytes become a secret too)
 * and opens the sessions index. A folder that cannot be made, or a key
 * that cannot be read, is logged: sessions then run without journals, and
 * every action is refused. NULL only when out of memory; every function
 * below takes a NULL store as one that could not be opened. */
journal_store *journal_store_open(uv_loop_t *loop, const journal_store_options *o);
void journal_store_close(journal_store *st);

const redactor *journal_store_redactor(const journal_store *st);
/* The HMAC key (len 0 when none is configured). */
const journal_chain_key *journal_store_key(const journal_store *st);
/* Opens SESSIONS_DIR/<id>.jsonl for appending, its chain begun (a new
 * chain is named in the sessions index); -1 with err when the store could
 * not make its folder or the file cannot be opened or begun. */
int journal_store_open_session(journal_store *st, journal **out, const char *id, char *err,
                               size_t errlen);
/* The journal's head goes to the sessions index and the log (the end of
 * a turn, a clean close). */
void journal_store_checkpoint(journal_store *st, const char *id, journal *j);
/* Retention deleted the session: its last head goes to the index. */
void journal_store_deleted(journal_store *st, const char *id, journal *j, const char *reason);

#endif
