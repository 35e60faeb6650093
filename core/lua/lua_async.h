/* A tool call's one pending operation (lua_async.c): begun by lua_ctx.c (a
 * sleep or a service) and freed there once its results are on the Lua
 * stack; cancelled, and freed with the call, by lua_tool_call.c; and
 * what a service (ssh, runbook: other folders, through lua_host.h) calls on
 * it. */
#ifndef BG_LUA_ASYNC_H
#define BG_LUA_ASYNC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lua_host_types.h"

/* Each takes the call whose operation it is (call->op). */

/* A new operation named name ("sleep", "ssh": for messages) in state
 * STARTING; NULL when memory ran out. */
lua_async *lua_async_begin(lua_tool_call *call, const char *name);
void lua_async_free(lua_tool_call *call);
/* Ends a pending operation early: its cancel function runs. */
void lua_async_cancel(lua_tool_call *call);
/* ctx.sleep: finishes the operation after ms, unless it is cancelled. */
void lua_async_sleep_start(lua_tool_call *call, uint64_t ms);

/* --- for services --------------------------------------------------------- */

const lua_tool_call_info *lua_async_info(const lua_async *op);
void lua_async_on_cancel(lua_async *op, void (*cancel)(void *ud), void *ud);
void lua_async_output(lua_async *op, const char *chunk, size_t len);
/* The value ctx.<name> returns to the script (a JSON value, borrowed). */
void lua_async_finish(lua_async *op, const json_t *result);
/* ctx.<name> raises a Lua error with this message. */
void lua_async_fail(lua_async *op, const char *message);

#endif
