/* A tool call's one pending operation (lua_async.c): begun by lua_ctx.c (a
 * sleep or a service), cancelled and freed by lua_tool_call.c. What a
 * service calls on it (lua_async_finish, lua_async_fail, ...) is in
 * lua_host.h. */
#ifndef BG_LUA_ASYNC_H
#define BG_LUA_ASYNC_H

#include <stdint.h>

#include "lua_host_types.h"

lua_async *lua_tool_call_op_begin(lua_tool_call *call, const char *name);
void lua_tool_call_op_free(lua_tool_call *call);
void lua_tool_call_op_cancel(lua_tool_call *call);
void lua_tool_call_sleep_start(lua_tool_call *call, uint64_t ms);

#endif
