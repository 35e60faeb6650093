/* A policy file (lua_policy.c): the entries other folders call through
 * lua_host.h, and what lua_host.c needs of a policy at load (its table read
 * and checked, its self_test run, its free). */
#ifndef BG_LUA_POLICY_H
#define BG_LUA_POLICY_H

#include <jansson.h>
#include <stddef.h>

#include "lua_host_types.h"

/* --- policies ----------------------------------------------------------------
 *
 * Each policy/<file>.lua may judge a call before it runs and see its result
 * after. Both entries are synchronous (policies do no I/O) and each runs
 * under the set's limits in the policy's own state. */

/* Runs every policy's before(ctx, call) in file order and combines them:
 * the first deny wins (later policies do not run), unless it is
 * overridable and the view names who overrides it: then it is noted in
 * overridden and the policies go on; else the first
 * run_first; else the first confirm; else allow. A policy that fails or
 * hits a limit denies with "policy <file> failed: <file:line: message>".
 * Returns 0 with *out filled, or -1 when memory ran out: *out is then a
 * deny whose strings may be NULL. Free *out with lua_policy_decision_free. */
int lua_host_policy_before(lua_host *h, const lua_policy_view *v, lua_policy_decision *out);
void lua_policy_decision_free(lua_policy_decision *d);
/* Runs every policy's after(ctx, call, result) in file order; a failure is
 * logged and changes nothing (the call has happened). NULL result reads as
 * an empty object. */
void lua_host_policy_after(lua_host *h, const lua_policy_view *v, const json_t *result);

/* --- at load, for lua_host.c -------------------------------------------------- */

struct lua_host_policy;

/* Reads and checks the table a policy file returned (kept at table_ref in
 * p->sb) into p. Returns 0, or -1 with err as "message". */
int lua_policy_read(struct lua_host_policy *p, int table_ref, char *err, size_t errlen);
/* Runs p's self_test; -1 with err as "file:line: message (in self_test)". */
int lua_policy_self_test(const lua_host *h, struct lua_host_policy *p, char *err, size_t errlen);
void lua_policy_free(struct lua_host_policy *p);

#endif
