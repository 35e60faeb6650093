/* Headless replay (issue 5): a recorded session walked through a
 * script set. No network, no SSH: recorded tool results stand in for the
 * hosts, and recorded times stand in for the clock, so policies decide as
 * they would have with these scripts.
 *
 * For every tool call the model made (in journal order) replay asks the
 * current set whether the tool exists, whether the input validates, whether
 * it is mutating, and runs the policy gate's algorithm (policy_gate.c):
 * rounds of lua_host_policy_before, a run_first fed with the call the
 * runtime inserted live, a confirm answered as the operator answered. What
 * policies read is rebuilt from what happened live: ctx.history holds the
 * recorded calls with their recorded decisions, times and outcomes, and
 * ctx.actions the session's mutating calls that ran (other sessions and the
 * buttons are not in the journal). After-hooks see the recorded results.
 */
#ifndef BG_REPLAY_H
#define BG_REPLAY_H

#include <jansson.h>
#include <stddef.h>

#include "lua_host.h"

/* Replays a journal's bytes. 0 with *report set (new reference):
 * {session_id, torn_line (or null), calls: [{index, line, call_id, tool,
 * input, inserted: [call ids], status: "same"|"diverges", differences,
 * recorded: {outcome, decisions, mutating}, now: {outcome, decisions,
 * mutating, exists, invalid}}], summary: {calls, inserted_calls, same,
 * diverges}}. -1 with err filled when the journal cannot be read (naming
 * the line) or memory ran out. */
int replay_journal(lua_host *h, const char *data, size_t len, const char *session_id,
                   json_t **report, char *err, size_t errlen);

#endif
