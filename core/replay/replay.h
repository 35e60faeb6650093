/* Headless replay: recorded sessions walked through a script set. No
 * network, no SSH: recorded results stand in for the hosts and recorded
 * times for the clock, so policies decide as they would have with these
 * scripts.
 *
 * Every call a session's journal records (an agent's tool call or a
 * button press; not the calls a policy inserted, which are fed when the
 * policy asks for them) is decided again by the live gate's own pure step
 * (gate.h), in the order the calls were decided live across every journal
 * given: a run_first is fed the call the runtime inserted live, a confirm
 * is answered as the operator answered, an override as it was given. What
 * policies read is rebuilt as it stood at each decision: each session's
 * history, and the daemon-wide actions of every session replayed together,
 * with each call finishing at its recorded end. After hooks see the
 * recorded results.
 */
#ifndef BG_REPLAY_H
#define BG_REPLAY_H

#include <jansson.h>
#include <stddef.h>

#include "lua_host.h"

typedef struct replay_journal {
  const char *session_id;
  const char *path; /* read a line at a time: memory follows what replay keeps */
} replay_journal;

/* Replays the journals together. 0 with *report set (new reference):
 * {sessions: [session report, in the order given], summary: {sessions,
 * calls, inserted_calls, same, diverges, diverging_sessions,
 * dropped_records}}, where a session report is {session_id, torn_line (or
 * null), dropped (what a torn line cost, or null), calls: [{index, line,
 * call_id, tool, source, input, inserted: [call ids], status:
 * "same"|"diverges", differences, recorded: {outcome, decisions,
 * mutating}, now: {outcome, decisions, mutating, exists, invalid}}],
 * summary: {calls, inserted_calls, same, diverges}}. -1 with err filled
 * when a journal cannot be read or holds what no daemon writes (naming it
 * and the line), or memory ran out. */
int replay_journals(lua_host *h, const replay_journal *journals, size_t count, json_t **report,
                    char *err, size_t errlen);

#endif
