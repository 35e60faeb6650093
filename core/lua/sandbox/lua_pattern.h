/* Lua patterns (manual section 6.4.1) with a wall-clock limit.
 *
 * The standard string.find/match/gmatch/gsub run their backtracking in C,
 * where the count hook never fires: ('a'):rep(4000):find('.-.-.-b') runs for
 * tens of seconds under any instruction budget. These replacements behave
 * the same (results and error messages; a differential test holds them to
 * it) but count their steps and, every LUA_PATTERN_CHECK_STEPS, call the
 * check they were registered with: the sandbox passes lua_sandbox_check,
 * which raises once the entry's deadline has passed. The check comes in as
 * a pointer so that the matcher, which the sandbox opens, does not call
 * back up into it by name.
 */
#ifndef BG_LUA_PATTERN_H
#define BG_LUA_PATTERN_H

#include <lua.h>

#include "limits_table.h"

/* Called every LUA_PATTERN_CHECK_STEPS matcher steps; func names the
 * function ("string.find") for the error it may raise. */
typedef void (*lua_pattern_check)(lua_State *L, const char *func);

/* Sets find, match, gmatch and gsub in the table at idx, each calling
 * check as it matches. */
void lua_pattern_register(lua_State *L, int idx, lua_pattern_check check);

#endif
