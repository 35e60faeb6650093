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

/* Notes the secrets (the configured tokens and key_pem, the SSH key as the
 * SSH pool read it; NULL when there is none) and creates the sessions
 * folder. A folder that cannot be made is logged: sessions then run
 * without journals, and every action is refused. Journals count in m
 * (copied; NULL: not counted). */
void journal_store_open(const bg_config *c, uv_loop_t *loop, const char *key_pem, size_t key_len,
                        const journal_metrics *m);
void journal_store_close(void);

const journal_redactor *journal_store_redactor(void);
/* Opens SESSIONS_DIR/<id>.jsonl for appending; -1 with err when the store
 * could not make its folder or the file cannot be opened. */
int journal_store_open_session(journal **out, const char *id, char *err, size_t errlen);

#endif
