/* A session's journal records (docs/journal.md): what the page saw, the
 * conversation as the model sees it, each tool call whole, and the intent
 * of each mutating call, flushed before it runs (DESIGN.md invariant 2).
 *
 * A record that cannot be written is logged; only the intent's failure
 * changes what happens (the call does not run).
 */
#ifndef BG_JOURNAL_SESSION_H
#define BG_JOURNAL_SESSION_H

#include <jansson.h>
#include <stddef.h>

#include "journal.h"
#include "session.h"

/* Opens SESSIONS_DIR/<id>.jsonl for appending; on failure the session goes
 * on without one, with s->journal_error set and logged. */
void journal_session_open(session *s);
void journal_session_close(session *s);

/* An event as the page sees it: its JSON text, already redacted. */
void journal_session_event(session *s, const char *json, size_t len);
/* messages[index] as it now is (appended or grown), or the conversation
 * cut back to count messages. */
void journal_session_message(session *s, size_t index);
void journal_session_truncate(session *s, size_t count);

/* A finished tool call: the tool_use block, who asked, whether it
 * mutates, the policy decisions (NULL: none) and the full result. */
typedef struct journal_tool_call {
  const json_t *use;
  const char *identity;
  int mutating;
  const json_t *decisions;
  const char *decision; /* the gate's: allow, confirm or deny; NULL when it never decided */
  int is_error;
  const char *content;
  size_t content_len;
  unsigned long long duration_ms;
} journal_tool_call;
void journal_session_tool_call(session *s, const journal_tool_call *call);

/* Writes an "intent" record for the tool_use block and flushes it. -1 with
 * err when it cannot be written (no journal, disk full, read-only, I/O
 * error): the call must not run and cb is not called. Otherwise cb gets 0
 * once the intent is on disk, or a negative error (the call must not run);
 * *out names the flush for journal_sync_abandon. */
int journal_intent(session *s, const json_t *use, const char *identity, journal_sync_cb cb,
                   void *ud, journal_sync **out, char *err, size_t errlen);

/* Flushes the session's journal at the end of a turn; failures are logged. */
void journal_session_flush(session *s);
/* -1 with err when the journal has passed its cap: no new turn starts. */
int journal_session_full(const session *s, char *err, size_t errlen);

#endif
