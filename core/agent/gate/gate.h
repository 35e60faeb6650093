/* The pure gate: what the policies decide about one call, and the records
 * they read back, with no I/O, no timer and no session (DESIGN.md
 * invariant 9). The live daemon (action.c, which waits for the
 * operator and runs what a policy asks to run first) and `breakglass
 * replay` (which answers from the recording) both call these, so replay
 * cannot drift from the live gate.
 *
 * A record is a call as ctx.history() and ctx.actions() show it
 * (docs/lua-api.md): {tool, input, mutating, verb (pve only), source,
 * identity, session_id, call_id, started_ms, decision, decisions,
 * approved_by, override, inserted_by, finished_ms, is_error}.
 */
#ifndef BG_GATE_H
#define BG_GATE_H

#include <jansson.h>

#include "limits_table.h"
#include "lua_host.h"

/* The call being decided. source is "model" or "button". */
typedef struct gate_call {
  const char *session_id, *call_id, *tool, *source, *identity;
  const json_t *input;
  int mutating;
} gate_call;

/* What the gate has learned of the call besides the policies' answers. */
typedef struct gate_answers {
  int rounds;              /* run_first rounds already run */
  const char *approved_by; /* the operator who approved a confirm, or NULL */
  const char *override_by; /* the operator who overrides what a policy lets
                              him override (buttons only), or NULL */
} gate_answers;

typedef enum gate_verdict {
  GATE_ALLOW,     /* run it; outcome says how ("allow", "confirm") */
  GATE_DENY,      /* refused: policy (NULL: the gate itself) and reason */
  GATE_ASK,       /* the operator must answer first: policy and reason */
  GATE_RUN_FIRST, /* run run_tool(run_input) as call run_call_id, then decide again */
} gate_verdict;

typedef struct gate_decision {
  gate_verdict verdict;
  const char *outcome; /* "allow", "confirm" or "deny": the record's decision */
  /* The policies' answer, kept whole: the deciding policy and its reason
   * (a refusal of the gate's own gives its reason, with the policy whose
   * run_first it refuses or NULL), run_tool and run_input (read them for
   * GATE_RUN_FIRST only), overridable (a deny the operator may override,
   * buttons) and overridden ([{policy, reason, identity}] the operator
   * overrode). */
  lua_policy_decision said;
  char *run_call_id;
  json_t *events; /* the `policy` events of this round, in order (new ref) */
} gate_decision;

/* One round: asks the policies about c at now_ms over history and actions
 * (borrowed; NULL reads as empty). Policies run in Lua but do no I/O. A
 * button's confirm is approved by the press itself. Free out with
 * gate_decision_free. */
void gate_decide(lua_host *h, const gate_call *c, const gate_answers *a, const json_t *history,
                 const json_t *actions, unsigned long long now_ms, gate_decision *out);
void gate_decision_free(gate_decision *d);

/* A new record for call_id (the call's own, or one a policy inserted; then
 * inserted_by names it). New reference, NULL when memory ran out. */
json_t *gate_record_new(const gate_call *c, const char *call_id, const char *tool,
                        const json_t *input, int mutating, unsigned long long started_ms,
                        const char *decision, const char *inserted_by);
/* A record rebuilt from a journal's tool_call record (docs/journal.md) of
 * session_id, as the live gate kept it when the call was decided: without
 * finished_ms and is_error. New reference, NULL when memory ran out. */
json_t *gate_record_from_journal(const json_t *tool_call, const char *session_id);
/* Appends record to a bounded list (history or actions); the oldest go
 * first, except unfinished ones when keep_unfinished (an action in flight
 * must stay visible to one_at_a_time). */
void gate_list_append(json_t *list, json_t *record, size_t max, int keep_unfinished);
/* The call has ended at now_ms: its record gets finished_ms (unless the
 * host is still working on it) and is_error, and the policies' after hooks
 * see it with content cut to GATE_MAX_RESULT_BYTES. h may be NULL. */
void gate_record_finish(lua_host *h, json_t *record, const json_t *history, const json_t *actions,
                        int is_error, const char *content, size_t len, unsigned long long now_ms);

#endif
