/* Sandboxed Lua states: allocator cap, allowed surface, per-entry limits,
 * and error texts with file and line. */
#include "lua_sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
#include "lua_json.h"
#include "lua_pattern.h"

#define NS_PER_MS 1000000ULL
/* Lua's own text for a refused allocation (lstate.c MEMERRMSG). */
#define SANDBOX_MEMORY_ERROR "not enough memory"

struct lua_sandbox {
  lua_State *L;
  char *name;      /* "tools/x.lua" */
  char *chunkname; /* "@tools/x.lua" */
  lua_sandbox_limits limits;
  size_t used_bytes;
  size_t kept_bytes; /* used_bytes after the last full collection */
  lua_State *spare; /* lua_sandbox_thread_reuse's coroutine, or NULL */
  int spare_ref;
  int hook_step; /* instructions between two hook calls */
  /* The entry running now, if any. */
  int in_entry;
  lua_State *entry_thread;
  uint64_t entry_instructions;
  uint64_t entry_deadline_ns;
  int tripped; /* stays set until the next entry begins */
  char trip_message[128];
};

/* Refuses growth past the cap; Lua then collects and retries once before
 * raising a memory error. Shrinking never fails. */
static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  lua_sandbox *sb = ud;
  size_t old = ptr != NULL ? osize : 0; /* with ptr NULL, osize is a type tag */
  if (nsize == 0) {
    free(ptr);
    sb->used_bytes -= old;
    return NULL;
  }
  if (nsize > old && nsize - old > sb->limits.memory_bytes - sb->used_bytes)
    return NULL;
  void *p = realloc(ptr, nsize);
  if (p == NULL)
    return NULL;
  sb->used_bytes = sb->used_bytes - old + nsize;
  return p;
}

/* The sandbox a state belongs to, or NULL for a state made elsewhere. */
static lua_sandbox *sandbox_of(lua_State *L) {
  void *ud;
  return lua_getallocf(L, &ud) == sandbox_alloc ? ud : NULL;
}

/* Every entry into Lua is protected; reaching this is a bug in the host. */
static int sandbox_panic(lua_State *L) {
  lua_sandbox *sb = sandbox_of(L);
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no message)";
  log_error("lua: unprotected error in %s: %s", sb != NULL ? sb->name : "?", msg);
  return 0;
}

/* "64 MiB", "512 KiB" or "1000 bytes". */
static void sandbox_format_bytes(char *out, size_t outlen, size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
    snprintf(out, outlen, "%zu MiB", bytes >> 20);
  else if (bytes >= (1u << 10) && bytes % (1u << 10) == 0)
    snprintf(out, outlen, "%zu KiB", bytes >> 10);
  else
    snprintf(out, outlen, "%zu bytes", bytes);
}

static void sandbox_trip(lua_sandbox *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sandbox_trip(lua_sandbox *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sb->trip_message, sizeof sb->trip_message, fmt, ap);
  va_end(ap);
  sb->tripped = 1;
}

static void sandbox_hook(lua_State *L, lua_Debug *ar);

/* Raises the trip error, and makes the hook fire on every instruction so
 * that each attempt to carry on (a pcall that caught it) raises it again. */
static int sandbox_raise_tripped(lua_State *L, lua_sandbox *sb) {
  lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1);
  lua_pushstring(L, sb->trip_message);
  return lua_error(L);
}

static void sandbox_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sandbox *sb = sandbox_of(L);
  if (!sb->in_entry)
    return;
  if (!sb->tripped) {
    sb->entry_instructions += (uint64_t)sb->hook_step;
    if (sb->entry_instructions >= sb->limits.instructions)
      sandbox_trip(sb, "instruction limit (%llu) exceeded",
                   (unsigned long long)sb->limits.instructions);
    else if (uv_hrtime() >= sb->entry_deadline_ns)
      sandbox_trip(sb, "time limit (%llu ms) exceeded",
                   (unsigned long long)sb->limits.entry_timeout_ms);
    else
      return;
  }
  sandbox_raise_tripped(L, sb);
}

static void sandbox_entry_begin(lua_sandbox *sb, lua_State *thread) {
  sb->in_entry = 1;
  sb->entry_thread = thread;
  sb->entry_instructions = 0;
  sb->entry_deadline_ns = uv_hrtime() + sb->limits.entry_timeout_ms * NS_PER_MS;
  sb->tripped = 0;
  sb->trip_message[0] = '\0';
  lua_sethook(thread, sandbox_hook, LUA_MASKCOUNT, sb->hook_step);
}

static void sandbox_entry_end(lua_sandbox *sb) {
  sb->in_entry = 0;
  sb->entry_thread = NULL;
}

void lua_sandbox_check(lua_State *L, const char *func) {
  lua_sandbox *sb = sandbox_of(L);
  if (sb == NULL || !sb->in_entry)
    return;
  if (!sb->tripped) {
    if (uv_hrtime() < sb->entry_deadline_ns)
      return;
    sandbox_trip(sb, "time limit (%llu ms) exceeded in %s",
                 (unsigned long long)sb->limits.entry_timeout_ms, func);
  }
  sandbox_raise_tripped(L, sb);
}

void lua_sandbox_interrupt(lua_sandbox *sb, const char *message) {
  if (!sb->in_entry)
    return;
  sandbox_trip(sb, "%s", message);
  lua_sethook(sb->entry_thread, sandbox_hook, LUA_MASKCOUNT, 1);
}

/* "file:line" of the innermost level running this script's own code (or
 * any Lua code, or just the file name), read from a thread's stack. */
static void sandbox_where(lua_sandbox *sb, lua_State *co, char *out, size_t outlen) {
  lua_Debug ar;
  int have_other = 0;
  for (int level = 0; lua_getstack(co, level, &ar); level++) {
    if (!lua_getinfo(co, "Sl", &ar) || ar.currentline <= 0)
      continue;
    if (strcmp(ar.source, sb->chunkname) == 0) {
      snprintf(out, outlen, "%s:%d", sb->name, ar.currentline);
      return;
    }
    if (!have_other) {
      snprintf(out, outlen, "%s:%d", ar.short_src, ar.currentline);
      have_other = 1;
    }
  }
  if (!have_other)
    snprintf(out, outlen, "%s", sb->name);
}

/* Describes the error object on top of co after a failed entry, without
 * running Lua or allocating in the state. */
static void sandbox_describe(lua_sandbox *sb, lua_State *co, int status, char *err,
                             size_t errlen) {
  char where[LUA_IDSIZE + 32];
  sandbox_where(sb, co, where, sizeof where);
  if (sb->tripped) {
    snprintf(err, errlen, "%s: %s", where, sb->trip_message);
    return;
  }
  int type = lua_type(co, -1);
  const char *msg = type == LUA_TSTRING ? lua_tostring(co, -1) : NULL;
  if (status == LUA_ERRMEM || (msg != NULL && strcmp(msg, SANDBOX_MEMORY_ERROR) == 0)) {
    char cap[32];
    sandbox_format_bytes(cap, sizeof cap, sb->limits.memory_bytes);
    snprintf(err, errlen, "%s: memory limit (%s) exceeded", where, cap);
    return;
  }
  size_t name_len = strlen(sb->name);
  switch (type) {
  case LUA_TSTRING:
    /* error("x") already says where; error("x", 0) does not. */
    if (strncmp(msg, sb->name, name_len) == 0 && msg[name_len] == ':')
      snprintf(err, errlen, "%s", msg);
    else
      snprintf(err, errlen, "%s: %s", where, msg);
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(co, -1))
      snprintf(err, errlen, "%s: %lld", where, (long long)lua_tointeger(co, -1));
    else
      snprintf(err, errlen, "%s: %.14g", where, (double)lua_tonumber(co, -1));
    break;
  case LUA_TTABLE: {
    char jerr[LUA_JSON_ERROR_MAX_BYTES];
    char *text = NULL;
    size_t len;
    json_t *v = lua_json_from_lua(co, -1, LUA_SANDBOX_ERROR_MAX_BYTES, jerr, sizeof jerr);
    if (v != NULL && lua_json_dump(v, LUA_SANDBOX_ERROR_MAX_BYTES, &text, &len, jerr,
                                   sizeof jerr) == 0)
      snprintf(err, errlen, "%s: %s", where, text);
    else
      snprintf(err, errlen, "%s: (error object is a table that cannot be shown: %s)", where,
               jerr);
    free(text);
    json_decref(v);
    break;
  }
  default:
    snprintf(err, errlen, "%s: (error object is a %s value)", where, lua_typename(co, type));
    break;
  }
}

static int sandbox_busy(lua_sandbox *sb, char *err, size_t errlen) {
  if (!sb->in_entry)
    return 0;
  snprintf(err, errlen, "%s: the script is already running", sb->name);
  return 1;
}

int lua_sandbox_protect(lua_sandbox *sb, lua_CFunction fn, void *ud, char *err, size_t errlen) {
  lua_State *L = sb->L;
  if (sandbox_busy(sb, err, errlen))
    return -1;
  lua_settop(L, 0);
  sandbox_entry_begin(sb, L);
  lua_pushcfunction(L, fn);
  lua_pushlightuserdata(L, ud);
  int status = lua_pcall(L, 1, 0, 0);
  sandbox_entry_end(sb);
  if (status != LUA_OK)
    sandbox_describe(sb, L, status, err, errlen);
  lua_settop(L, 0);
  return status == LUA_OK ? 0 : -1;
}

int lua_sandbox_resume(lua_sandbox *sb, lua_State *co, int nargs, int *nres, char *err,
                       size_t errlen) {
  if (sandbox_busy(sb, err, errlen))
    return LUA_ERRRUN;
  sandbox_entry_begin(sb, co);
  int status = lua_resume(co, NULL, nargs, nres);
  sandbox_entry_end(sb);
  if (status != LUA_OK && status != LUA_YIELD)
    sandbox_describe(sb, co, status, err, errlen);
  return status;
}

typedef struct sandbox_thread {
  lua_State *co;
  int ref;
} sandbox_thread;

static int sandbox_thread_make(lua_State *L) {
  sandbox_thread *t = lua_touserdata(L, 1);
  t->co = lua_newthread(L);
  t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

lua_State *lua_sandbox_thread_new(lua_sandbox *sb, int *ref, char *err, size_t errlen) {
  sandbox_thread t = {NULL, LUA_NOREF};
  if (lua_sandbox_protect(sb, sandbox_thread_make, &t, err, errlen) < 0)
    return NULL;
  *ref = t.ref;
  return t.co;
}

void lua_sandbox_thread_drop(lua_sandbox *sb, int ref) {
  luaL_unref(sb->L, LUA_REGISTRYINDEX, ref);
}

lua_State *lua_sandbox_thread_reuse(lua_sandbox *sb, int *ref, char *err, size_t errlen) {
  lua_State *co = sb->spare;
  if (co == NULL) return lua_sandbox_thread_new(sb, ref, err, errlen);
  *ref = sb->spare_ref;
  sb->spare = NULL;
  return co;
}

void lua_sandbox_thread_done(lua_sandbox *sb, lua_State *co, int ref) {
  /* An entry that raised or yielded leaves its coroutine dead or suspended. */
  if (sb->spare == NULL && lua_status(co) == LUA_OK) {
    lua_settop(co, 0);
    sb->spare = co;
    sb->spare_ref = ref;
    return;
  }
  lua_sandbox_thread_drop(sb, ref);
}

int lua_sandbox_load(lua_sandbox *sb, lua_State *co, const char *text, size_t len, char *err,
                     size_t errlen) {
  int status = luaL_loadbufferx(co, text, len, sb->chunkname, "t");
  if (status == LUA_OK)
    return 0;
  if (status == LUA_ERRMEM) {
    char cap[32];
    sandbox_format_bytes(cap, sizeof cap, sb->limits.memory_bytes);
    snprintf(err, errlen, "%s: memory limit (%s) exceeded while compiling", sb->name, cap);
  } else {
    snprintf(err, errlen, "%s", lua_tostring(co, -1));
  }
  lua_pop(co, 1);
  return -1;
}

void lua_sandbox_collect(lua_sandbox *sb) {
  if (sb->kept_bytes && sb->used_bytes <= 2 * sb->kept_bytes + LUA_SANDBOX_COLLECT_SLACK_BYTES)
    return;
  lua_gc(sb->L, LUA_GCCOLLECT);
  sb->kept_bytes = sb->used_bytes;
}

/* --- The surface scripts see -------------------------------------------- */

/* Base functions that reach files or stderr; ctx.log replaces print. */
static const char *const sandbox_removed_globals[] = {"dofile", "loadfile", "print", "warn",
                                                      "require", NULL};

/* load: text only (bytecode can break the VM's invariants), string chunks
 * only, the 4th argument as the chunk's _ENV. */
static int sandbox_load_fn(lua_State *L) {
  size_t len;
  luaL_checktype(L, 1, LUA_TSTRING);
  const char *chunk = lua_tolstring(L, 1, &len);
  const char *name = luaL_optstring(L, 2, chunk);
  luaL_optstring(L, 3, "t");
  int has_env = !lua_isnone(L, 4);
  if (luaL_loadbufferx(L, chunk, len, name, "t") != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env) {
    lua_pushvalue(L, 4);
    if (!lua_setupvalue(L, -2, 1))
      lua_pop(L, 1);
  }
  return 1;
}

/* Scripts may read their memory use but not drive the collector. */
static int sandbox_collectgarbage(lua_State *L) {
  const char *opt = luaL_optstring(L, 1, "collect");
  if (strcmp(opt, "count") != 0)
    return luaL_error(L, "collectgarbage: only \"count\" is available");
  int kib = lua_gc(L, LUA_GCCOUNT);
  int rest = lua_gc(L, LUA_GCCOUNTB);
  lua_pushnumber(L, (lua_Number)kib + (lua_Number)rest / 1024);
  return 1;
}

/* setmetatable without __gc: finalizers would run Lua at arbitrary moments,
 * outside any entry's limits (at lua_close, for one). */
static int sandbox_setmetatable(lua_State *L) {
  int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
    return luaL_error(L, "cannot change a protected metatable");
  if (t == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL)
      return luaL_error(L, "setmetatable: __gc metamethods are not available");
    lua_pop(L, 1);
  }
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

/* Calls the wrapped original (upvalue 1) with this call's arguments. */
static int sandbox_call_original(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* string.rep, built here rather than by Lua's own: that one loops n times
 * even when every piece is empty (string.rep("", math.maxinteger) never
 * returns), and no hook fires inside a C loop. The result is capped by the
 * state's memory (upvalue 1) with a clear error, and the copy loop keeps to
 * the entry's deadline. */
static int sandbox_string_rep(lua_State *L) {
  size_t len, sep_len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer n = luaL_checkinteger(L, 2);
  const char *sep = luaL_optlstring(L, 3, "", &sep_len);
  size_t cap = (size_t)lua_tointeger(L, lua_upvalueindex(1));
  size_t unit = len + sep_len;
  if (n <= 0 || unit == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  if ((lua_Unsigned)n - 1 > cap / unit || unit * (size_t)(n - 1) + len > cap) {
    char text[32];
    sandbox_format_bytes(text, sizeof text, cap);
    return luaL_error(L, "string.rep: the result would exceed the memory limit (%s)", text);
  }
  size_t total = unit * (size_t)(n - 1) + len;
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, total);
  for (lua_Integer i = 0; i < n; i++) {
    memcpy(out, s, len);
    out += len;
    if (i + 1 < n) {
      memcpy(out, sep, sep_len);
      out += sep_len;
    }
    if ((i & LUA_SANDBOX_C_LOOP_CHECK_MASK) == LUA_SANDBOX_C_LOOP_CHECK_MASK)
      lua_sandbox_check(L, "string.rep");
  }
  luaL_pushresultsize(&b, total);
  return 1;
}

/* table.insert/remove/sort walk #t elements in C, where the hook cannot
 * stop them: refuse __len (it could claim any length) and huge tables. */
static int sandbox_table_walk(lua_State *L) {
  const char *func = lua_tostring(L, lua_upvalueindex(2));
  luaL_checktype(L, 1, LUA_TTABLE);
  if (luaL_getmetafield(L, 1, "__len") != LUA_TNIL)
    return luaL_error(L, "%s: tables with a __len metamethod are not supported", func);
  if (lua_rawlen(L, 1) > LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS)
    return luaL_error(L, "%s: more than %d elements", func, LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS);
  return sandbox_call_original(L);
}

/* table.move(a1, f, e, t) walks e - f + 1 elements whatever a1 holds. */
static int sandbox_table_move(lua_State *L) {
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  if (e >= f && (lua_Unsigned)e - (lua_Unsigned)f >= LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS)
    return luaL_error(L, "table.move: more than %d elements", LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS);
  return sandbox_call_original(L);
}

static int sandbox_proxy_newindex(lua_State *L) {
  return luaL_error(L, "%s is read-only", lua_tostring(L, lua_upvalueindex(1)));
}

static int sandbox_proxy_next(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_next(L, 1))
    return 2;
  lua_pushnil(L);
  return 1;
}

static int sandbox_proxy_pairs(lua_State *L) {
  lua_pushcfunction(L, sandbox_proxy_next);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushnil(L);
  return 3;
}

/* Replaces the table on top with an empty read-only proxy for it, so that
 * a script cannot change (or replace functions in) a library table. */
static void sandbox_push_proxy(lua_State *L, const char *name) {
  lua_newtable(L);           /* lib proxy */
  lua_createtable(L, 0, 4);  /* lib proxy mt */
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, name);
  lua_pushcclosure(L, sandbox_proxy_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, -3);
  lua_pushcclosure(L, sandbox_proxy_pairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);   /* lib proxy */
  lua_remove(L, -2);         /* proxy */
}

static void sandbox_open_base(lua_State *L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  lua_pop(L, 1);
  for (const char *const *n = sandbox_removed_globals; *n != NULL; n++) {
    lua_pushnil(L);
    lua_setglobal(L, *n);
  }
  lua_pushcfunction(L, sandbox_load_fn);
  lua_setglobal(L, "load");
  lua_pushcfunction(L, sandbox_collectgarbage);
  lua_setglobal(L, "collectgarbage");
  lua_pushcfunction(L, sandbox_setmetatable);
  lua_setglobal(L, "setmetatable");
}

/* The string table is changed in place: it is also the string metatable's
 * __index, the only way scripts reach it besides the proxy. */
static void sandbox_open_string(lua_State *L, size_t memory_bytes) {
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0); /* string */
  lua_pushnil(L);
  lua_setfield(L, -2, "dump"); /* bytecode out is as bad as bytecode in */
  lua_pushinteger(L, (lua_Integer)memory_bytes);
  lua_pushcclosure(L, sandbox_string_rep, 1);
  lua_setfield(L, -2, "rep");
  lua_pattern_register(L, -1);
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1); /* string "" mt */
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable"); /* getmetatable("") is false */
  lua_pop(L, 2);                      /* string */
  sandbox_push_proxy(L, "string");
  lua_setglobal(L, "string");
}

/* The table library is copied, so that the originals stay in the loaded
 * table where error messages find their names ("table.insert"). */
static void sandbox_open_table(lua_State *L) {
  static const char *const walkers[] = {"insert", "remove", "sort", NULL};
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0); /* lib */
  lua_newtable(L);                                     /* lib copy */
  lua_pushnil(L);
  while (lua_next(L, -3)) { /* lib copy key value */
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  for (const char *const *w = walkers; *w != NULL; w++) {
    lua_getfield(L, -2, *w);
    lua_pushfstring(L, "table.%s", *w);
    lua_pushcclosure(L, sandbox_table_walk, 2);
    lua_setfield(L, -2, *w);
  }
  lua_getfield(L, -2, "move");
  lua_pushcclosure(L, sandbox_table_move, 1);
  lua_setfield(L, -2, "move");
  lua_remove(L, -2); /* copy */
  sandbox_push_proxy(L, "table");
  lua_setglobal(L, "table");
}

static void sandbox_open_lib(lua_State *L, const char *name, lua_CFunction open) {
  luaL_requiref(L, name, open, 0);
  sandbox_push_proxy(L, name);
  lua_setglobal(L, name);
}

/* os: the clock and calendar only; no files, processes or environment. */
static void sandbox_open_os(lua_State *L) {
  static const char *const kept[] = {"time", "clock", "date", NULL};
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0); /* os */
  lua_createtable(L, 0, 3);                       /* os kept */
  for (const char *const *k = kept; *k != NULL; k++) {
    lua_getfield(L, -2, *k);
    lua_setfield(L, -2, *k);
  }
  lua_remove(L, -2);
  sandbox_push_proxy(L, "os");
  lua_setglobal(L, "os");
}

static int sandbox_open(lua_State *L) {
  lua_sandbox *sb = lua_touserdata(L, 1);
  sandbox_open_base(L);
  sandbox_open_string(L, sb->limits.memory_bytes);
  sandbox_open_table(L);
  sandbox_open_lib(L, LUA_MATHLIBNAME, luaopen_math);
  sandbox_open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);
  sandbox_open_os(L);
  lua_json_open(L, sb->limits.max_json_bytes);
  sandbox_push_proxy(L, "json");
  lua_setglobal(L, "json");
  return 0;
}

int lua_sandbox_new(lua_sandbox **out, const char *name, const lua_sandbox_limits *limits,
                    char *err, size_t errlen) {
  lua_sandbox *sb = calloc(1, sizeof *sb);
  size_t name_len = strlen(name);
  if (sb == NULL || (sb->name = strdup(name)) == NULL ||
      (sb->chunkname = malloc(name_len + 2)) == NULL) {
    snprintf(err, errlen, "%s: out of memory", name);
    lua_sandbox_free(sb);
    return -1;
  }
  sb->chunkname[0] = '@';
  memcpy(sb->chunkname + 1, name, name_len + 1);
  sb->limits = *limits;
  sb->hook_step = limits->instructions < LUA_SANDBOX_HOOK_STEP_INSTRUCTIONS
                      ? (int)(limits->instructions > 0 ? limits->instructions : 1)
                      : LUA_SANDBOX_HOOK_STEP_INSTRUCTIONS;
  sb->L = lua_newstate(sandbox_alloc, sb);
  if (sb->L == NULL) {
    char cap[32];
    sandbox_format_bytes(cap, sizeof cap, limits->memory_bytes);
    snprintf(err, errlen, "%s: cannot create a Lua state within the memory limit (%s)", name,
             cap);
    lua_sandbox_free(sb);
    return -1;
  }
  lua_atpanic(sb->L, sandbox_panic);
  if (lua_sandbox_protect(sb, sandbox_open, sb, err, errlen) < 0) {
    lua_sandbox_free(sb);
    return -1;
  }
  *out = sb;
  return 0;
}

void lua_sandbox_free(lua_sandbox *sb) {
  if (sb == NULL)
    return;
  if (sb->L != NULL)
    lua_close(sb->L);
  free(sb->name);
  free(sb->chunkname);
  free(sb);
}

lua_State *lua_sandbox_state(lua_sandbox *sb) {
  return sb->L;
}

const char *lua_sandbox_name(const lua_sandbox *sb) {
  return sb->name;
}

size_t lua_sandbox_memory_used(const lua_sandbox *sb) {
  return sb->used_bytes;
}
