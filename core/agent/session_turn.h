/* The agent loop: one turn of a session, from the operator's prompt to the
 * model's final answer, with every tool call in between.
 *
 * A turn runs detached from clients and ends in exactly one way: done,
 * failed, cancelled or out of time. It always closes with a "result" event
 * and then "turn_end". Only the completion of its last operation in flight
 * (a model call or a tool call) ends it, so nothing outlives the turn.
 */
#ifndef BG_SESSION_TURN_H
#define BG_SESSION_TURN_H

#include <stddef.h>

#include "session.h"

/* 0 when started; -1 with err set when a turn already runs (the caller
 * answers 409) or memory ran out. */
int session_turn_start(session *s, const char *prompt, const char *model, const char *identity,
                       char *err, size_t errlen);
/* Asks the running turn to stop at once; 1 if there was one, else 0. */
int session_turn_cancel(session *s, const char *identity);
/* Cancels every running turn (shutdown). */
void session_turn_cancel_all(app *a);

#endif
