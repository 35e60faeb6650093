/* ctx.history() and ctx.actions(): the read-only views over the daemon's
 * lists that a policy's ctx gives (lua_policy_list.c). */
#ifndef BG_LUA_POLICY_LIST_H
#define BG_LUA_POLICY_LIST_H

#include <lua.h>

/* Pushes the read-only view of the ctx's history (or, when actions, its
 * actions) for the ctx token at token_index (may raise). */
void lua_policy_list_push(lua_State *L, int token_index, int actions);

#endif
