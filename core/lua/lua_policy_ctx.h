/* The ctx a policy entry receives, and the t a self_test receives
 * (lua_policy_ctx.c). */
#ifndef BG_LUA_POLICY_CTX_H
#define BG_LUA_POLICY_CTX_H

#include <lua.h>

#include "lua_host_internal.h"

/* Pushes ctx for c (may raise); lua_policy_ctx_end invalidates it. */
void lua_policy_ctx_push(lua_State *L, lua_policy_ctx *c);
void lua_policy_ctx_end(lua_sandbox *sb, lua_policy_ctx *c);
/* Pushes the t a self_test receives (may raise). */
void lua_policy_test_push(lua_State *L);

#endif
