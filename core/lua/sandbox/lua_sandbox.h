/* One sandboxed Lua 5.4 state: what a script may reach, and the limits every
 * entry into it runs under.
 *
 * A state is created with a capped allocator and only the libraries a script
 * needs (base without file or bytecode loading, string, table, math, utf8, a
 * three-function os, json), reached through read-only proxies. Each entry
 * (a chunk at load, a prompt function, each resume of a tool handler) gets a
 * fresh instruction budget and wall-clock deadline, checked every few
 * instructions and at every function call, Lua or C (see sandbox_hook for
 * why that bounds the C functions too). Once a limit trips it stays tripped
 * until the entry ends, so a script's pcall cannot swallow it. A state's
 * memory is capped on its own and, optionally, by a budget it shares with
 * other states.
 *
 * Errors are reported as "file:line: message"; for a dead coroutine the line
 * comes from its stack, which Lua leaves in place after an error, so memory
 * and limit errors get a line too.
 */
#ifndef BG_LUA_SANDBOX_H
#define BG_LUA_SANDBOX_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "limits_table.h"

typedef struct lua_sandbox lua_sandbox;

/* Memory that every state sharing it may hold together, on top of each
 * state's own cap: an allocation past it fails in the state that asked.
 * States run on one thread, so the count needs no lock. limit_bytes may be
 * raised at any time, never lowered below used_bytes. */
typedef struct lua_sandbox_budget {
  size_t limit_bytes;
  size_t used_bytes;
  const char *setting; /* what sets limit_bytes, named in the error */
} lua_sandbox_budget;

typedef struct lua_sandbox_limits {
  size_t memory_bytes;        /* whole state */
  lua_sandbox_budget *budget; /* shared with other states; NULL: none */
  uint64_t instructions;      /* per entry */
  uint64_t entry_timeout_ms;  /* wall clock per entry */
  size_t max_json_bytes;      /* json.encode output / json.decode input */
} lua_sandbox_limits;

/* name is the script's path relative to the scripts folder ("tools/x.lua");
 * it is the chunk name in every message. Returns 0, or -1 with err filled. */
int lua_sandbox_new(lua_sandbox **out, const char *name, const lua_sandbox_limits *limits,
                    char *err, size_t errlen);
void lua_sandbox_free(lua_sandbox *sb);

lua_State *lua_sandbox_state(lua_sandbox *sb);
const char *lua_sandbox_name(const lua_sandbox *sb);
size_t lua_sandbox_memory_used(const lua_sandbox *sb);

/* Runs fn in protected mode on the main thread, inside an entry, with ud as
 * its only argument (a light userdata) and the main stack otherwise empty.
 * fn may leave nothing behind. Returns 0, or -1 with err filled. */
int lua_sandbox_protect(lua_sandbox *sb, lua_CFunction fn, void *ud, char *err, size_t errlen);

/* Creates a coroutine anchored in the registry and returns it (NULL and err
 * on failure); *ref receives the anchor for lua_sandbox_thread_drop. */
lua_State *lua_sandbox_thread_new(lua_sandbox *sb, int *ref, char *err, size_t errlen);
void lua_sandbox_thread_drop(lua_sandbox *sb, int ref);

/* A coroutine for an entry that runs to its end without waiting (a policy
 * hook, mutating(input)): the one the last such entry left when it ended
 * well, else a new one. A coroutine's stack grows to what an entry needs
 * (the shell parser nests deep), so one made afresh for every policy call
 * costs more than most calls. Hand it back with lua_sandbox_thread_done. */
lua_State *lua_sandbox_thread_reuse(lua_sandbox *sb, int *ref, char *err, size_t errlen);
/* Kept for the next entry when it ended well (emptied), else dropped. */
void lua_sandbox_thread_done(lua_sandbox *sb, lua_State *co, int ref);

/* Compiles text (mode "t", the chunk name is the sandbox's name) onto the
 * coroutine's stack, as an entry: the compiler keeps to the entry's
 * deadline. Returns 0, or -1 with err filled. */
int lua_sandbox_load(lua_sandbox *sb, lua_State *co, const char *text, size_t len, char *err,
                     size_t errlen);

/* One entry: resumes co with nargs arguments under fresh limits. Returns
 * LUA_OK (results on co's stack, *nres of them), LUA_YIELD, or an error
 * status with err set to "file:line: message". */
int lua_sandbox_resume(lua_sandbox *sb, lua_State *co, int nargs, int *nres, char *err,
                       size_t errlen);

/* Compiles text (mode "t") onto L's stack as load does, the running
 * entry's deadline checked between pieces of the source; lua_load's status.
 * Once a limit has tripped, lua_sandbox_check(L, func) raises it, naming
 * func ("require"). */
int lua_sandbox_compile(lua_State *L, const char *text, size_t len, const char *chunkname,
                        const char *func);

/* For C functions that run long without executing Lua (the pattern matcher):
 * raises the entry's limit error once its deadline has passed or a limit
 * has tripped; func names the function in the message. No-op outside a
 * sandbox or an entry. */
void lua_sandbox_check(lua_State *L, const char *func);

/* Stops the running entry as soon as it executes another instruction, with
 * message as its error (used to cancel a call from inside its own output
 * callback). No-op when no entry runs. */
void lua_sandbox_interrupt(lua_sandbox *sb, const char *message);

/* After an entry: a full garbage collection the first time (after the load)
 * and then when the state holds more than twice what it kept after the
 * last one, plus the slack. A full collection
 * costs time in proportion to what the state keeps (the shell parser makes
 * confirm_destructive's the biggest), so one after every entry would cost
 * each policy call more than the call itself; below the threshold, Lua's
 * incremental collector reclaims garbage as the state allocates, and a
 * refused allocation runs a full (emergency) collection before it fails. */
void lua_sandbox_collect(lua_sandbox *sb);

#endif
