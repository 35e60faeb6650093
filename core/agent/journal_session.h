/* A session's journal records (docs/journal.md): what the page saw, the
 * conversation as the model sees it, each action (tool call or button)
 * whole, and the intent of each, flushed before it runs (DESIGN.md
 * invariant 2).
 *
 * A record that cannot be written is logged; only the intent's failure
 * changes what happens (the call does not run).
 */
#ifndef BG_JOURNAL_SESSION_H
#define BG_JOURNAL_SESSION_H

#include <jansson.h>
#include <stddef.h>

#include "journal.h"
#include "session_data.h"

/* Opens SESSIONS_DIR/<id>.jsonl for appending; on failure the session goes
 * on without one, with s->journal_error set and logged. */
void journal_session_open(session *s);
void journal_session_close(session *s);

/* An event as the page sees it: its JSON text, already redacted. 0, or
 * -1 when it is not in the journal (no journal, or the write failed). */
int journal_session_event(session *s, const char *json, size_t len);
/* messages[index] as it now is (appended or grown), or the conversation
 * cut back to count messages. */
void journal_session_message(session *s, size_t index);
void journal_session_truncate(session *s, size_t count);

/* An action's intent ({"kind": "intent", fields...}: call_id, name, input,
 * identity, source, mutating, inserted_by), written and flushed before it
 * runs (DESIGN.md invariant 2). fields is stolen. -1 with err when it
 * cannot be written (no journal, disk full, read-only, I/O error): the
 * action must not run and cb is not called. Otherwise cb gets 0 once the
 * intent is on disk, or a negative error (the action must not run); *out
 * names the flush for journal_sync_abandon. */
int journal_action_intent(session *s, json_t *fields, journal_sync_cb cb, void *ud,
                          journal_sync **out, char *err, size_t errlen);
/* An action's end ({"kind": "tool_call", fields...}; docs/journal.md).
 * fields is stolen; a failure is logged. */
void journal_action_record(session *s, json_t *fields);

/* Flushes the session's journal at the end of a turn; failures are logged. */
void journal_session_flush(session *s);
/* -1 with err when the journal has passed its cap: no new turn starts. */
int journal_session_full(const session *s, char *err, size_t errlen);

#endif
