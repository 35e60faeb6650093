/* The ctx object a tool handler receives (lua_ctx.c), and the pieces of it
 * the policies' ctx shares: the binding of functions to a token and the
 * quoting of a logged message. */
#ifndef BG_LUA_CTX_H
#define BG_LUA_CTX_H

#include <lauxlib.h>
#include <stddef.h>

#include "lua_host_types.h"

/* Pushes the ctx table for call (may raise). */
void lua_ctx_push(lua_State *L, lua_tool_call *call);
/* Whether a service may not take this name (a built-in ctx field). */
int lua_ctx_name_reserved(const char *name);
/* msg in double quotes with quotes, backslashes and control bytes escaped,
 * cut to fit outlen, so that a script cannot forge log lines. */
void lua_ctx_quote(char *out, size_t outlen, const char *msg, size_t len);
/* With a ctx table and its token (a userdata the runtime clears when the
 * call ends) on top of the stack: sets each of fns in the ctx as a closure
 * over the token, and returns the token's registry reference, which keeps
 * it alive. The stack is left as it was. */
int lua_ctx_bind(lua_State *L, const luaL_Reg *fns);

#endif
