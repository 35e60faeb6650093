/* One action pipeline for every agent call and every button press
 * (DESIGN.md invariants 2 and 9):
 *
 *   gate ─► intent ─► run ─► record ─► events
 *
 * - gate: the policies decide (gate.c, the same pure step replay uses); a
 *   confirm waits for the operator (confirm_request, POST .../confirm, a
 *   denial when nobody answers in time); a run_first runs the named call
 *   first as an action of its own, without a gate of its own;
 * - intent: an `intent` record is written and flushed before the call can
 *   touch anything; no journal, no action;
 * - run: the runner the caller passes (a Lua tool call for the agent and
 *   the calls policies insert, the power verb for a button);
 * - record: the `tool_call` journal record, the session's history and the
 *   daemon-wide actions, and the policies' after hooks;
 * - events: `tool`, `policy`, `tool_output`, `tool_result` in the session.
 *
 * The agent's turn and the buttons differ only in the runner they pass and
 * the session their events go to. Like libuv requests, on_done runs exactly
 * once, from the loop, never inside action_start or action_cancel.
 */
#ifndef BG_ACTION_H
#define BG_ACTION_H

#include <jansson.h>
#include <stddef.h>

#include "lua_host.h"
#include "session.h"

typedef struct action action;

/* The work an action runs once it may. start begins it and returns a
 * handle for cancel (NULL when it could not start: the action fails with
 * "out of memory starting the call"); the work reports through
 * action_output and, exactly once and never from inside start,
 * action_finish. cancel asks it to stop: action_finish follows. */
typedef struct action_runner {
  void *(*start)(action *a, void *ud);
  void (*cancel)(void *run);
  void *ud;
} action_runner;

/* What is asked. Strings and input are copied. scripts may be NULL only
 * for a call that is not mutating (a button when no script set is
 * loaded): it then runs without policies. */
typedef struct action_call {
  session *session;
  lua_host *scripts;
  const char *call_id;
  const char *tool;
  const json_t *input;
  int mutating;
  const char *source;      /* "model" or "button" */
  const char *identity;    /* who asked */
  const char *override_by; /* a button pressed again over a rate limit, or NULL */
} action_call;

/* How it ended, for the one who asked. content is the result the model
 * reads (or the refusal, or why it did not run); note says what the gate
 * ran first ("pve forensics ran first for policy forensics_first: ok."),
 * NULL when nothing. details is the runner's structured result, or NULL.
 * Borrowed for the callback's duration. */
typedef struct action_outcome {
  int ran; /* it started: allowed, and its intent was on disk */
  int is_error;
  const char *content;
  size_t len;
  const char *policy; /* refused by this policy, or NULL */
  const char *reason; /* when it did not run: the policy's reason, or the
                         whole sentence when no policy refused it */
  int overridable;    /* ... and the operator may override it (buttons) */
  int unavailable;    /* it did not run for want of what the daemon needs to
                         decide and record it: a journal, or the policies */
  const char *note;
  const json_t *details;
  int detached; /* cancelled while a mutating call ran: it runs on to its
                   end, and its result reaches the record and the events */
} action_outcome;

typedef void (*action_done_cb)(void *ud, const action_outcome *o);

action *action_start(const action_call *c, const action_runner *r, action_done_cb on_done,
                     void *ud);
/* Stops the action. Before it runs: refused ("not run: the turn was
 * stopped first"). Running and not mutating: the runner is cancelled.
 * Running and mutating: never cut part-way (a power verb half done is
 * worse than done); the owner is let go at once (detached) and the action
 * finishes on its own. */
void action_cancel(action *a);

/* The operator's answer to a confirm_request in session s: 0, or
 * ACTION_ANSWER_UNKNOWN (no call waits for it), ACTION_ANSWER_DECIDED
 * (it was decided already). */
enum { ACTION_ANSWER_UNKNOWN = -1, ACTION_ANSWER_DECIDED = -2 };
int action_answer(session *s, const char *call_id, int approve, const char *identity);

/* For runners: live output (shown, bounded per call), and the end. */
void action_output(action *a, const char *chunk, size_t len);
void action_finish(action *a, int is_error, const char *content, size_t len, const json_t *details);
const action_call *action_call_of(const action *a);

/* The runner every tool call uses: the tool's Lua handler. */
extern const action_runner action_lua_runner;

#endif
