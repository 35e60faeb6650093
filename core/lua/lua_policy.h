/* What lua_host.c needs of a policy file at load (lua_policy.c): its table
 * read and checked, its self_test run, and its free. The entries other
 * folders call (lua_host_policy_before, lua_host_policy_after,
 * lua_policy_decision_free) are declared in lua_host.h. */
#ifndef BG_LUA_POLICY_H
#define BG_LUA_POLICY_H

#include <stddef.h>

#include "lua_host_internal.h"

/* Reads and checks the table a policy file returned (kept at table_ref in
 * p->sb) into p. Returns 0, or -1 with err as "message". */
int lua_policy_read(lua_host_policy *p, int table_ref, char *err, size_t errlen);
/* Runs p's self_test; -1 with err as "file:line: message (in self_test)". */
int lua_policy_self_test(const lua_host *h, lua_host_policy *p, char *err, size_t errlen);
void lua_policy_free(lua_host_policy *p);

#endif
