/* Where journals live and what they must not hold: the data folder, the
 * secrets to redact, and the journal of the power-verb buttons.
 *
 * One store per process, opened at start before any session exists, so
 * that every journal is redacted from its first record. Session journals
 * are SESSIONS_DIR/<id>.jsonl; the buttons, which belong to no session,
 * write DATA_DIR/buttons.jsonl, moved to buttons.1.jsonl once it passes
 * the per-journal cap (so at most two caps' worth is kept).
 */
#ifndef BG_JOURNAL_STORE_H
#define BG_JOURNAL_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "config.h"
#include "journal.h"

/* Notes the secrets (the configured tokens and key_pem, the SSH key as the
 * SSH pool read it; NULL when there is none), creates the folders and
 * opens the buttons journal. A folder that cannot be made is logged:
 * sessions then run without journals, and every mutating action is
 * refused. */
void journal_store_open(const bg_config *c, uv_loop_t *loop, const char *key_pem, size_t key_len);
void journal_store_close(void);

const journal_redactor *journal_store_redactor(void);
/* Opens SESSIONS_DIR/<id>.jsonl for appending; -1 with err when the store
 * could not make its folder or the file cannot be opened. */
int journal_store_open_session(journal **out, const char *id, char *err, size_t errlen);

/* A button's intent ({"kind": "intent", fields...}), written and flushed
 * before the verb runs (DESIGN.md invariant 2). -1 with err when it cannot
 * be written: the verb must not run, cb will not be called. Otherwise cb
 * gets 0 once it is on disk, or a negative error: the verb must not run. */
int journal_button_intent(json_t *fields, journal_sync_cb cb, void *ud, journal_sync **out,
                          char *err, size_t errlen);
/* Any other button record (e.g. "button_result"); failures are logged. */
void journal_button_record(const char *kind, json_t *fields);

#endif
