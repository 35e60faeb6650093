/* The Lua host: a loaded, validated set of operator scripts.
 *
 * A set is lua/prompt.lua (the system prompt), lua/tools/<name>.lua (one tool a
 * file) and lua/policy/<name>.lua. Each file lives in its own sandboxed Lua 5.4
 * state with a memory cap, and all states of every set may share a budget;
 * every entry into Lua runs under an instruction
 * budget and a wall-clock deadline that also hold inside the C functions
 * scripts can reach. Tool handlers run as coroutines: an I/O call on ctx
 * (ctx.sleep, and the services the core registers, such as ctx.ssh) yields
 * and the handler resumes when the operation completes.
 *
 * A set is reference-counted so that a turn finishes on the set it started
 * with while a reload swaps in a new one.
 */
#ifndef BG_LUA_HOST_H
#define BG_LUA_HOST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lua_async.h"
#include "lua_host_types.h"
#include "lua_policy.h"

typedef struct lua_host_options {
  const char *scripts_dir;
  lua_host_limits limits;
  const lua_host_service *services;
  size_t service_count;
} lua_host_options;

/* Loads and validates a whole set. On failure returns -1 and fills err with
 * "file:line: message" lines (one per problem found). */
int lua_host_load(lua_host **out, uv_loop_t *loop, const lua_host_options *o, char *err,
                  size_t errlen);
/* How many Lua states a set loaded from scripts_dir holds at once: one a
 * script file, prompt.lua included. */
size_t lua_host_state_count(const char *scripts_dir);
void lua_host_retain(lua_host *h);
void lua_host_release(lua_host *h);

/* The system prompt: prompt.lua returns a string, or a function called with
 * context (a JSON object turned into a Lua table). *out is malloc'd. */
int lua_host_system_prompt(lua_host *h, const json_t *context, char **out, char *err,
                           size_t errlen);

/* [{"name","description","input_schema"}, ...] in file-name order; new ref. */
json_t *lua_host_tools_json(const lua_host *h);
/* Whether a call of the tool with this input changes something: 1 mutating,
 * 0 not, -1 no such tool. A tool's mutating is a boolean or a
 * function(input); a function that fails or returns a non-boolean counts as
 * mutating (fail closed), and the reason is logged. */
int lua_host_tool_mutating(const lua_host *h, const char *name, const json_t *input);
/* Whether the set has a tool of this name. */
int lua_host_has_tool(const lua_host *h, const char *name);

/* Validates input against the tool's schema, then runs the handler. An
 * unknown tool, invalid input, a script error or a limit hit all end in
 * on_done with is_error set and a message that says what and where. */
lua_tool_call *lua_host_call_tool(lua_host *h, const char *name, const json_t *input,
                                  const lua_tool_call_info *info, const lua_tool_cbs *cbs,
                                  void *ud);
/* Ends the call at once: pending operations are cancelled and on_done runs
 * with is_error and "cancelled". */
void lua_tool_call_cancel(lua_tool_call *call);

/* The policies' entries are in lua_policy.h, what services call on an
 * operation in lua_async.h: declared beside the files that define them
 * (so the compiler holds each definition to its declaration), included
 * here for the folders that use the host. */

#endif
