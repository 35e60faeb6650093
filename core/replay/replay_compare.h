/* Replay's verdict on one call: what was recorded against what the current
 * scripts would do, as one sentence per difference. Pure: no Lua, no I/O.
 *
 * A decision list is the gate's non-allow answers in order, as the journal's
 * tool_call records keep them: [{verdict, policy, reason, run_first: {tool,
 * input}}]. An outcome is what the gate did in the end: "allow", "confirm"
 * (the operator approved), "deny", "ask" (the operator would be asked; the
 * recording has no answer) or "insert" (a policy would run a call first that
 * the recording does not have, so its result is unknown).
 */
#ifndef BG_REPLAY_COMPARE_H
#define BG_REPLAY_COMPARE_H

#include <jansson.h>

typedef struct replay_side {
  const char *outcome;
  const json_t *decisions;
  int mutating;
} replay_side;

typedef struct replay_call_facts {
  const char *tool;
  int exists;                   /* the tool is in the current set */
  const char *invalid;          /* why the input does not validate now; NULL when it does */
  const char *recorded_content; /* the recorded result text */
  int recorded_is_error;
  replay_side recorded, now;
} replay_call_facts;

/* Appends one sentence per difference to diffs (an array). Returns how many,
 * or -1 when memory ran out. */
int replay_compare(const replay_call_facts *f, json_t *diffs);

#endif
