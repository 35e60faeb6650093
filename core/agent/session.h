/* Sessions: one conversation each, owned by the server (the attach model).
 *
 * A session keeps the conversation as the model sees it and the list of
 * events the page sees. Events carry ids that only grow; a client attaches
 * with the last id it saw and gets exactly what it missed, then the rest
 * live. At most one turn runs at a time, detached from any client.
 */
#ifndef BG_SESSION_H
#define BG_SESSION_H

#include <jansson.h>
#include <stddef.h>

#include "app.h"
#include "http_server.h"
#include "limits_table.h"
#include "session_data.h"

/* A new session with its journal (docs/journal.md). */
session *session_create(app *a, session_kind kind);
/* Where the buttons pressed outside a chat are recorded: the newest
 * operator session, or a new one when there is none or its journal is
 * full. NULL when out of memory. */
session *session_operator(app *a);
/* hex_chars (even, at most SESSION_ID_LEN) random hex digits and a NUL. */
void session_random_hex(char *out, size_t hex_chars);
/* A session that a turn or an action still uses must stay. */
int session_busy(const session *s);
/* A session read back from its journal: no journal open, no event yet.
 * The caller feeds it with session_restore_event and the messages. */
session *session_restore(app *a, const char *id, unsigned long long created_ms);
/* Keeps an event read from the journal (with its id), as session_emit
 * would have, without writing or sending it. Steals ev. 0, or -1. */
int session_restore_event(session *s, json_t *ev);
/* Unlinks the session from the app and frees it; its streams end. */
void session_destroy(session *s);
session *session_find(app *a, const char *id);
json_t *session_list_json(const app *a);
const char *session_status_name(session_status st);

/* Gives ev an id and a time, keeps it and sends it to every attached
 * client. Steals the reference. Returns the id, or 0 when out of memory. */
unsigned long long session_emit(session *s, json_t *ev);
/* Shorthand: an event {"kind": kind} plus the fields of the object fields
 * (stolen; may be NULL). */
unsigned long long session_emit_kind(session *s, const char *kind, json_t *fields);

/* The text blocks of a message have been kept: the text_delta events
 * that streamed them, back to the previous message's events, are dropped
 * from memory (they stay in the journal). A client attaching later gets
 * the blocks, which replace what the deltas showed. */
void session_forget_deltas(session *s);

/* The session's title is its first prompt, on one line, shortened. */
void session_title_from_prompt(session *s, const char *prompt);

/* Appends content blocks as a user message, merged into the last message
 * when that is a user message too (the API wants alternating roles). */
int session_add_user_content(session *s, json_t *blocks);
/* Appends an assistant message with these content blocks (stolen); an
 * empty list adds nothing. */
int session_add_assistant(session *s, json_t *content);
/* Takes the conversation back to its first count messages. */
void session_truncate_messages(session *s, size_t count);

void session_free_all(app *a);

#endif
