/* What every kind of script file shares (lua_host_entry.c): a name's
 * check, a table's unknown fields, one synchronous entry into a sandbox,
 * and the lookup of a tool of the set. lua_host.c, lua_policy.c and
 * lua_tool_call.c use it; it uses no other file of the host. */
#ifndef BG_LUA_HOST_ENTRY_H
#define BG_LUA_HOST_ENTRY_H

#include <jansson.h>
#include <lua.h>
#include <stddef.h>

#include "lua_host_internal.h"
#include "lua_sandbox.h"

/* Whether s (len bytes) is a usable tool or policy name. */
int lua_host_name_ok(const char *s, size_t len);

/* Whether the table at index 1 has a key that fields (NULL-terminated)
 * does not list: 1 with err naming it and the known fields, else 0. */
int lua_host_unknown_field(lua_State *L, const char *const *fields, char *err, size_t errlen);

/* One synchronous entry into sb. push runs protected on the main thread
 * and pushes a function and its arguments, returning how many arguments;
 * the function then runs on a fresh coroutine under the limits. *result is
 * its first result as JSON (null when none). Returns 0, or -1 with err as
 * "file:line: message". The caller collects garbage after. */
int lua_host_entry_run(lua_sandbox *sb, int (*push)(lua_State *L, void *ud), void *ud,
                       size_t max_json_bytes, json_t **result, char *err, size_t errlen);

/* The tool of h named name, or NULL. */
const lua_host_tool *lua_host_tool_find(const lua_host *h, const char *name);

#endif
