/* Lua patterns (manual section 6.4.1) with a wall-clock limit.
 *
 * The standard string.find/match/gmatch/gsub run their backtracking in C,
 * where the count hook never fires: ('a'):rep(4000):find('.-.-.-b') runs for
 * tens of seconds under any instruction budget. These replacements behave
 * the same (results and error messages; a differential test holds them to
 * it) but count their steps and, every LUA_PATTERN_CHECK_STEPS, ask the
 * sandbox whether the entry's deadline has passed (lua_sandbox_check).
 */
#ifndef BG_LUA_PATTERN_H
#define BG_LUA_PATTERN_H

#include <lua.h>

/* Matcher steps between two deadline checks. */
#define LUA_PATTERN_CHECK_STEPS 4096
/* Captures a pattern may have (Lua's LUA_MAXCAPTURES). */
#define LUA_PATTERN_MAX_CAPTURES 32
/* Nested matcher calls before "pattern too complex" (Lua's MAXCCALLS). */
#define LUA_PATTERN_MAX_DEPTH 200

/* Sets find, match, gmatch and gsub in the table at idx. */
void lua_pattern_register(lua_State *L, int idx);

#endif
