/* Where journals live and what they must not hold: the sessions folder
 * and the secrets to redact.
 *
 * One store per process, opened at start before any session exists, so
 * that every journal is redacted from its first record. Session journals
 * are SESSIONS_DIR/<id>.jsonl (the power buttons' too: they are recorded
 * in sessions, see api_pve.c).
 */
#ifndef BG_JOURNAL_STORE_H
#define BG_JOURNAL_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "config.h"
#include "journal.h"

/* Beside the session journals: the folder of what is derived from them
 * or vouches for them (the sessions index, the search index), and the
 * sessions index in it (docs/journal.md). */
#define JOURNAL_INDEX_DIR "index"
#define JOURNAL_INDEX_FILE "index/sessions.jsonl"

/* Notes the secrets (the configured tokens and key_pem, the SSH key as the
 * SSH pool read it; NULL when there is none) and creates the sessions
 * folder, reads the journals' HMAC key (BREAKGLASS_JOURNAL_HMAC_KEY_PATH;
 * its bytes become a secret too) and opens the sessions index. A folder
 * that cannot be made, or a key that cannot be read, is logged: sessions
 * then run without journals, and every action is refused. Journals count
 * in m (copied; NULL: not counted). */
void journal_store_open(const bg_config *c, uv_loop_t *loop, const char *key_pem, size_t key_len,
                        const journal_metrics *m);
void journal_store_close(void);

const journal_redactor *journal_store_redactor(void);
/* The HMAC key (len 0 when none is configured). */
const journal_chain_key *journal_store_key(void);
/* Opens SESSIONS_DIR/<id>.jsonl for appending, its chain begun (a new
 * chain is named in the sessions index); -1 with err when the store could
 * not make its folder or the file cannot be opened or begun. */
int journal_store_open_session(journal **out, const char *id, char *err, size_t errlen);
/* The journal's head goes to the sessions index and the log (the end of
 * a turn, a clean close). */
void journal_store_checkpoint(const char *id, journal *j);
/* Retention deleted the session: its last head goes to the index. */
void journal_store_deleted(const char *id, journal *j, const char *reason);

#endif
