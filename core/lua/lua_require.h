/* require(name) for sandboxed scripts: a library from the script set itself.
 *
 * The sandbox removes Lua's require, package and dofile (no files, no native
 * modules). This gives a script back the one kind of loading a set needs:
 * require("shell") in policy/x.lua loads policy/lib/shell.lua (tools/lib/
 * for tools, lib/ for prompt.lua), as text, in the script's own state and
 * environment, under the entry's limits, once per state. A name is 1 to
 * LUA_REQUIRE_NAME_MAX_CHARS letters, digits or '_', so it cannot leave
 * that folder. Libraries load only while the file itself loads: a set is
 * validated whole before it serves, so a call never reads a file the
 * validation did not see.
 */
#ifndef BG_LUA_REQUIRE_H
#define BG_LUA_REQUIRE_H

#include <stddef.h>

#include "limits_table.h"
#include "lua_sandbox.h"

/* Sets the global require in sb, the state of scripts_dir/rel ("policy/x.lua").
 * Returns 0, or -1 with err filled. */
int lua_require_open(lua_sandbox *sb, const char *scripts_dir, const char *rel, char *err,
                     size_t errlen);

/* The file's own load has ended: require now returns only libraries it
 * already loaded. Allocates nothing and runs no Lua. */
void lua_require_seal(lua_sandbox *sb);

/* Compiles every library (each .lua file in lib, tools/lib and policy/lib)
 * under scripts_dir, each in a scratch state with these limits, so that a broken
 * library is reported as "policy/lib/x.lua:3: message" even when no script
 * requires it. report is called once per problem. */
void lua_require_check(const char *scripts_dir, const lua_sandbox_limits *limits,
                       void (*report)(void *ud, const char *line), void *ud);

#endif
