/* JSON <-> Lua values, with jansson on the JSON side.
 *
 * Integers stay integers both ways (a Lua integer is a JSON integer, a Lua
 * float a JSON real), so ids and sizes survive a round trip exactly. A Lua
 * table is an array when its keys are exactly 1..n, an object when all its
 * keys are strings; an empty table is an object ({}). JSON null is the light
 * userdata json.null. Cycles, functions, mixed or non-string keys, NaN and
 * invalid UTF-8 are refused with a message naming where in the value.
 *
 * Converting to JSON never raises a Lua error (it may run while C holds
 * resources); it counts the bytes the text would take and stops at a cap, so
 * the jansson tree it builds outside the Lua allocator stays bounded too.
 * Converting to Lua allocates in the state and may raise.
 */
#ifndef BG_LUA_JSON_H
#define BG_LUA_JSON_H

#include <jansson.h>
#include <lua.h>
#include <stddef.h>

#include "limits_table.h"

/* The value at idx as a new JSON reference, or NULL with err filled when it
 * cannot be encoded or its text would pass max_bytes. Never raises. */
json_t *lua_json_from_lua(lua_State *L, int idx, size_t max_bytes, char *err, size_t errlen);

/* Values first..last (absolute indexes) as a JSON array; as above. */
json_t *lua_json_array_from_lua(lua_State *L, int first, int last, size_t max_bytes, char *err,
                                size_t errlen);

/* Compact text of v (keys sorted), appended to nothing: *out is malloc'd and
 * NUL-terminated. Returns 0, or -1 with err filled when the text would pass
 * max_bytes or memory ran out. */
int lua_json_dump(const json_t *v, size_t max_bytes, char **out, size_t *outlen, char *err,
                  size_t errlen);

/* Pushes v as a Lua value (NULL pushes json.null). May raise. */
void lua_json_push(lua_State *L, const json_t *v);

/* Pushes the json module: json.encode, json.decode, json.null. Its limits
 * are max_bytes of encoded output and of decoded input. */
void lua_json_open(lua_State *L, size_t max_bytes);

#endif
