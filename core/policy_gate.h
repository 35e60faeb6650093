/* The policy gate every tool call and every button verb passes before it
 * runs (docs/lua-api.md, "Policies").
 *
 * The gate asks the policies, and acts on their answer: a deny refuses the
 * call with the policy's reason; a confirm waits for the operator (a
 * confirm_request event, answered through POST /api/session/{id}/confirm,
 * a denial when nobody answers in time); a run_first runs the named tool
 * itself, shows it and records it, then asks again. Every decision that is
 * not a plain allow is a `policy` event.
 *
 * It also keeps what policies read: each session's history of calls and
 * the daemon-wide list of mutating actions (turns and buttons alike).
 *
 * Like libuv requests, on_done runs exactly once, from the loop, never
 * inside policy_gate_start or policy_gate_cancel.
 */
#ifndef BG_POLICY_GATE_H
#define BG_POLICY_GATE_H

#include <jansson.h>

#include "app.h"
#include "lua_host.h"

struct session;
typedef struct policy_gate policy_gate;

typedef struct policy_gate_call {
  struct session *session; /* NULL for a button */
  lua_host *scripts;
  const char *call_id;
  const char *tool;
  const json_t *input;
  int mutating;
  const char *source; /* "model" or "button" */
  const char *identity;
} policy_gate_call;

/* The gate's answer. record is the call's entry in the history (with the
 * decisions that led to it; NULL only when memory ran out). allowed: run
 * the call, and hand record to policy_gate_record_finish when it ends.
 * Refused: reason says why and policy names who (NULL when no policy
 * decided: a cancel, the operator; the reason is then a whole sentence). note is what the gate did on the way ("pve forensics ran first
 * for forensics_first"), or NULL; whoever asked should see it. */
typedef struct policy_gate_result {
  int allowed;
  json_t *record; /* borrowed; incref to keep */
  const char *policy, *reason, *note;
} policy_gate_result;

typedef void (*policy_gate_done_cb)(void *ud, const policy_gate_result *r);

policy_gate *policy_gate_start(app *a, const policy_gate_call *call, policy_gate_done_cb on_done,
                               void *ud);
/* Stops waiting (a cancelled turn): on_done follows, refused. */
void policy_gate_cancel(policy_gate *g);

/* The operator's answer to a confirm_request: 0, -1 no such pending call,
 * -2 already answered. */
int policy_gate_answer(struct session *s, const char *call_id, int approve, const char *identity);

/* The call has ended: its record gets its end time and outcome, and the
 * policies' after hooks see it. */
void policy_gate_record_finish(app *a, lua_host *scripts, json_t *record, int is_error,
                               const char *content, size_t len);
/* The call was allowed but did not run after all (its intent could not be
 * written): it becomes a "deny" and leaves the actions, so that limits do
 * not count it. Finish it as usual afterwards. */
void policy_gate_record_not_run(app *a, json_t *record);

/* A power verb whose turn was cancelled runs on to its end on the host: its
 * action stays in flight (no finished_ms) until policy_gate_action_ended,
 * whatever the turn's call record says. Returns the action (new reference)
 * or NULL when the call is not among the actions. */
json_t *policy_gate_action_keep_running(app *a, const char *session_id, const char *call_id);
void policy_gate_action_ended(json_t *action);

void policy_gate_free_all(app *a);

#endif
