/* Sandboxed Lua states: allocator cap, allowed surface, per-entry limits,
 * and error texts with file and line. */
#include "lua_sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "lua_json.h"
#include "lua_pattern.h"

#define NS_PER_MS 1000000ULL
/* Lua's own text for a refused allocation (lstate.c MEMERRMSG). */
#define SANDBOX_MEMORY_ERROR "not enough memory"

/* Which cap refused the last allocation a state asked for. */
typedef enum sandbox_refusal {
  SANDBOX_REFUSED_STATE,  /* the state's own memory_bytes */
  SANDBOX_REFUSED_BUDGET, /* the budget all states share */
} sandbox_refusal;

struct lua_sandbox {
  lua_State *L;
  char *name;      /* "tools/x.lua" */
  char *chunkname; /* "@tools/x.lua" */
  lua_sandbox_limits limits;
  size_t used_bytes;
  sandbox_refusal refused;
  size_t kept_bytes; /* used_bytes after the last full collection */
  lua_State *spare;  /* lua_sandbox_thread_reuse's coroutine, or NULL */
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

/* Refuses growth past the state's cap or the shared budget; Lua then
 * collects and retries once before raising a memory error in this state.
 * Shrinking never fails. */
static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  lua_sandbox *sb = ud;
  lua_sandbox_budget *budget = sb->limits.budget;
  size_t old = ptr ? osize : 0; /* with ptr NULL, osize is a type tag */
  if (nsize == 0) {
    free(ptr);
    sb->used_bytes -= old;
    if (budget) budget->used_bytes -= old;
    return NULL;
  }
  if (nsize > old && nsize - old > sb->limits.memory_bytes - sb->used_bytes) {
    sb->refused = SANDBOX_REFUSED_STATE;
    return NULL;
  }
  if (budget && nsize > old && nsize - old > budget->limit_bytes - budget->used_bytes) {
    sb->refused = SANDBOX_REFUSED_BUDGET;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  sb->used_bytes = sb->used_bytes - old + nsize;
  if (budget) budget->used_bytes = budget->used_bytes - old + nsize;
  return p;
}

/* The deadline is read at every function call and every few instructions:
 * the coarse clock costs a few nanoseconds where the precise one costs tens,
 * and its resolution (the last tick, 1-4 ms) is far below any entry limit. */
static uint64_t sandbox_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
  log_error("lua: unprotected error in %s: %s", sb ? sb->name : "?", msg);
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

/* "memory limit (16 MiB)" or, when the shared budget refused,
 * "memory limit of all Lua scripts together (256 MiB, SETTING)". */
static void sandbox_memory_limit_text(const lua_sandbox *sb, char *out, size_t outlen) {
  char cap[32];
  const lua_sandbox_budget *budget = sb->limits.budget;
  if (budget && sb->refused == SANDBOX_REFUSED_BUDGET) {
    sandbox_format_bytes(cap, sizeof cap, budget->limit_bytes);
    snprintf(out, outlen, "memory limit of all Lua scripts together (%s, %s)", cap,
             budget->setting);
  } else {
    sandbox_format_bytes(cap, sizeof cap, sb->limits.memory_bytes);
    snprintf(out, outlen, "memory limit (%s)", cap);
  }
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

/* Every few instructions (the count event) and at every function call (the
 * call event). Count hooks alone miss what runs in C: one instruction can be
 * a C function that loops for seconds (table.concat over a range whose
 * __index is rawlen, utf8.len over a large string called a hundred times).
 * The call event fires for each call, Lua or C, also when C calls back (a
 * metamethod inside table.concat, a sort comparator, a gsub function), so
 * between two deadline checks runs at most one hook step of instructions or
 * one C function's own work. That work is bounded function by function: most
 * are linear in their inputs or output, held in the state's memory; the few
 * that loop longer check the deadline themselves (string.rep, the pattern
 * functions, load) or are fed calls (table.sort). Scripts cannot walk round
 * it: they reach no debug library to change the hook, and no coroutine
 * library to run on a thread without it. */
static const int sandbox_hook_mask = LUA_MASKCOUNT | LUA_MASKCALL;

/* Raises the trip error, and makes the hook fire on every instruction so
 * that each attempt to carry on (a pcall that caught it) raises it again. */
static int sandbox_raise_tripped(lua_State *L, lua_sandbox *sb) {
  lua_sethook(L, sandbox_hook, sandbox_hook_mask, 1);
  lua_pushstring(L, sb->trip_message);
  return lua_error(L);
}

static void sandbox_hook(lua_State *L, lua_Debug *ar) {
  lua_sandbox *sb = sandbox_of(L);
  if (!sb->in_entry) return;
  if (!sb->tripped) {
    if (ar->event == LUA_HOOKCOUNT) sb->entry_instructions += (uint64_t)sb->hook_step;
    if (sb->entry_instructions >= sb->limits.instructions)
      sandbox_trip(sb, "instruction limit (%llu) exceeded",
                   (unsigned long long)sb->limits.instructions);
    else if (sandbox_now_ns() >= sb->entry_deadline_ns)
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
  sb->entry_deadline_ns = sandbox_now_ns() + sb->limits.entry_timeout_ms * NS_PER_MS;
  sb->tripped = 0;
  sb->trip_message[0] = '\0';
  sb->refused = SANDBOX_REFUSED_STATE;
  lua_sethook(thread, sandbox_hook, sandbox_hook_mask, sb->hook_step);
}

static void sandbox_entry_end(lua_sandbox *sb) {
  sb->in_entry = 0;
  sb->entry_thread = NULL;
}

void lua_sandbox_check(lua_State *L, const char *func) {
  lua_sandbox *sb = sandbox_of(L);
  if (!sb || !sb->in_entry) return;
  if (!sb->tripped) {
    if (sandbox_now_ns() < sb->entry_deadline_ns) return;
    sandbox_trip(sb, "time limit (%llu ms) exceeded in %s",
                 (unsigned long long)sb->limits.entry_timeout_ms, func);
  }
  sandbox_raise_tripped(L, sb);
}

void lua_sandbox_interrupt(lua_sandbox *sb, const char *message) {
  if (!sb->in_entry) return;
  sandbox_trip(sb, "%s", message);
  lua_sethook(sb->entry_thread, sandbox_hook, sandbox_hook_mask, 1);
}

/* "file:line" of the innermost level running this script's own code (or
 * any Lua code, or just the file name), read from a thread's stack. */
static void sandbox_where(lua_sandbox *sb, lua_State *co, char *out, size_t outlen) {
  lua_Debug ar;
  int have_other = 0;
  for (int level = 0; lua_getstack(co, level, &ar); level++) {
    if (!lua_getinfo(co, "Sl", &ar) || ar.currentline <= 0) continue;
    if (strcmp(ar.source, sb->chunkname) == 0) {
      snprintf(out, outlen, "%s:%d", sb->name, ar.currentline);
      return;
    }
    if (!have_other) {
      snprintf(out, outlen, "%s:%d", ar.short_src, ar.currentline);
      have_other = 1;
    }
  }
  if (!have_other) snprintf(out, outlen, "%s", sb->name);
}

/* Describes the error object on top of co after a failed entry, without
 * running Lua or allocating in the state. */
static void sandbox_describe(lua_sandbox *sb, lua_State *co, int status, char *err, size_t errlen) {
  char where[LUA_IDSIZE + 32];
  sandbox_where(sb, co, where, sizeof where);
  if (sb->tripped) {
    snprintf(err, errlen, "%s: %s", where, sb->trip_message);
    return;
  }
  int type = lua_type(co, -1);
  const char *msg = type == LUA_TSTRING ? lua_tostring(co, -1) : NULL;
  if (status == LUA_ERRMEM || (msg && strcmp(msg, SANDBOX_MEMORY_ERROR) == 0)) {
    char limit[128];
    sandbox_memory_limit_text(sb, limit, sizeof limit);
    snprintf(err, errlen, "%s: %s exceeded", where, limit);
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
    if (v && lua_json_dump(v, LUA_SANDBOX_ERROR_MAX_BYTES, &text, &len, jerr, sizeof jerr) == 0)
      snprintf(err, errlen, "%s: %s", where, text);
    else
      snprintf(err, errlen, "%s: (error object is a table that cannot be shown: %s)", where, jerr);
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
  if (!sb->in_entry) return 0;
  snprintf(err, errlen, "%s: the script is already running", sb->name);
  return 1;
}

int lua_sandbox_protect(lua_sandbox *sb, lua_CFunction fn, void *ud, char *err, size_t errlen) {
  lua_State *L = sb->L;
  if (sandbox_busy(sb, err, errlen)) return -1;
  lua_settop(L, 0);
  sandbox_entry_begin(sb, L);
  lua_pushcfunction(L, fn);
  lua_pushlightuserdata(L, ud);
  int status = lua_pcall(L, 1, 0, 0);
  sandbox_entry_end(sb);
  if (status != LUA_OK) sandbox_describe(sb, L, status, err, errlen);
  lua_settop(L, 0);
  return status == LUA_OK ? 0 : -1;
}

int lua_sandbox_resume(lua_sandbox *sb, lua_State *co, int nargs, int *nres, char *err,
                       size_t errlen) {
  if (sandbox_busy(sb, err, errlen)) return LUA_ERRRUN;
  sandbox_entry_begin(sb, co);
  int status = lua_resume(co, NULL, nargs, nres);
  sandbox_entry_end(sb);
  if (status != LUA_OK && status != LUA_YIELD) sandbox_describe(sb, co, status, err, errlen);
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
  if (lua_sandbox_protect(sb, sandbox_thread_make, &t, err, errlen) < 0) return NULL;
  *ref = t.ref;
  return t.co;
}

void lua_sandbox_thread_drop(lua_sandbox *sb, int ref) {
  luaL_unref(sb->L, LUA_REGISTRYINDEX, ref);
}

/* Lua's compiler runs no instruction and makes no call the hook could see,
 * and some sources cost it far more than their length: each `and` of a
 * chain walks the jump list built so far, so 80,000 of them (480 KB)
 * compiled for 7.8 s. The compiler reads its source through this reader a
 * piece at a time, and the entry's deadline is checked between pieces. */
typedef struct sandbox_source {
  const char *text;
  size_t left;
  const char *func; /* named in the limit error */
} sandbox_source;

static const char *sandbox_read_source(lua_State *L, void *ud, size_t *size) {
  sandbox_source *src = ud;
  const char *piece = src->text;
  lua_sandbox_check(L, src->func);
  *size = src->left < LUA_SANDBOX_SOURCE_PIECE_BYTES ? src->left : LUA_SANDBOX_SOURCE_PIECE_BYTES;
  src->text += *size;
  src->left -= *size;
  return *size > 0 ? piece : NULL;
}

int lua_sandbox_compile(lua_State *L, const char *text, size_t len, const char *chunkname,
                        const char *func) {
  sandbox_source src = {text, len, func};
  return lua_load(L, sandbox_read_source, &src, chunkname, "t");
}

lua_State *lua_sandbox_thread_reuse(lua_sandbox *sb, int *ref, char *err, size_t errlen) {
  lua_State *co = sb->spare;
  if (!co) return lua_sandbox_thread_new(sb, ref, err, errlen);
  *ref = sb->spare_ref;
  sb->spare = NULL;
  return co;
}

void lua_sandbox_thread_done(lua_sandbox *sb, lua_State *co, int ref) {
  /* An entry that raised or yielded leaves its coroutine dead or suspended. */
  if (!sb->spare && lua_status(co) == LUA_OK) {
    lua_settop(co, 0);
    sb->spare = co;
    sb->spare_ref = ref;
    return;
  }
  lua_sandbox_thread_drop(sb, ref);
}

int lua_sandbox_load(lua_sandbox *sb, lua_State *co, const char *text, size_t len, char *err,
                     size_t errlen) {
  if (sandbox_busy(sb, err, errlen)) return -1;
  sandbox_entry_begin(sb, co);
  int status = lua_sandbox_compile(co, text, len, sb->chunkname, "load");
  sandbox_entry_end(sb);
  if (status == LUA_OK) return 0;
  if (sb->tripped) {
    snprintf(err, errlen, "%s: time limit (%llu ms) exceeded while compiling", sb->name,
             (unsigned long long)sb->limits.entry_timeout_ms);
  } else if (status == LUA_ERRMEM) {
    char limit[128];
    sandbox_memory_limit_text(sb, limit, sizeof limit);
    snprintf(err, errlen, "%s: %s exceeded while compiling", sb->name, limit);
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
static const char *const sandbox_removed_globals[] = {"dofile", "loadfile", "print",
                                                      "warn",   "require",  NULL};

/* load: text only (bytecode can break the VM's invariants), string chunks
 * only, the 4th argument as the chunk's _ENV. */
static int sandbox_load_fn(lua_State *L) {
  size_t len;
  luaL_checktype(L, 1, LUA_TSTRING);
  const char *chunk = lua_tolstring(L, 1, &len);
  const char *name = luaL_optstring(L, 2, chunk);
  luaL_optstring(L, 3, "t");
  int has_env = !lua_isnone(L, 4);
  if (lua_sandbox_compile(L, chunk, len, name, "load") != LUA_OK) {
    lua_sandbox_check(L, "load"); /* a limit hit while compiling is no syntax error */
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env) {
    lua_pushvalue(L, 4);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
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

/* Calls the wrapped original (upvalue 1) with this call's arguments. A
 * wrapper leaves arguments of the wrong type to the original, whose error
 * names the function (it is found in the loaded libraries; the wrapper is
 * not). */
static int sandbox_call_original(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* string.rep, built here rather than by Lua's own: that one loops n times
 * even when every piece is empty (string.rep("", math.maxinteger) never
 * returns), and no hook fires inside a C loop. The result is capped by the
 * state's memory (upvalue 1) with a clear error. It is built by doubling:
 * the first piece, then "sep s", then copies of all the "sep s" so far, so
 * a rep of any count is a few dozen memcpy calls, the deadline checked
 * before each. */
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
  /* Not a luaL_Buffer: its box calls the allocator directly, so a refusal
   * raises at once, where an allocation made by Lua first collects garbage
   * and retries. Scripts building up to their cap would fail on garbage. */
  char *buf = lua_newuserdatauv(L, total, 0);
  memcpy(buf, s, len);
  size_t done = len;
  if (n > 1) {
    memcpy(buf + done, sep, sep_len);
    memcpy(buf + done + sep_len, s, len);
    done += unit;
  }
  while (done < total) { /* [len, done) holds whole "sep s" units */
    lua_sandbox_check(L, "string.rep");
    size_t chunk = done - len < total - done ? done - len : total - done;
    memcpy(buf + done, buf + len, chunk);
    done += chunk;
  }
  lua_pushlstring(L, buf, total);
  return 1;
}

/* string.format makes one conversion per value with no call in between,
 * and a float conversion can take 10 us ("%99.99f" of 1e308): the values
 * are capped. So is the text %q quotes, which costs an snprintf for each
 * control byte (30 ns; 4 MB took 120 ms). Upvalue 1: the original. */
static int sandbox_string_format(lua_State *L) {
  int top = lua_gettop(L);
  if (top - 1 > LUA_SANDBOX_FORMAT_MAX_VALUES)
    return luaL_error(L, "string.format: more than %d values to format",
                      LUA_SANDBOX_FORMAT_MAX_VALUES);
  if (lua_type(L, 1) != LUA_TSTRING)
    return sandbox_call_original(L); /* a number has no conversions; else an error */
  size_t len;
  const char *f = lua_tolstring(L, 1, &len);
  const char *end = f + len;
  size_t quoted = 0;
  int arg = 1;
  /* Finds each conversion as Lua's format does: '%', then flags, width
   * and precision, then the conversion letter. */
  while ((f = memchr(f, '%', (size_t)(end - f))) && ++f < end) {
    if (*f == '%') {
      f++;
      continue;
    }
    while (f < end && *f != '\0' && strchr("-+ #0123456789.", *f)) f++;
    arg++;
    if (f < end && *f == 'q' && arg <= top && lua_type(L, arg) == LUA_TSTRING) {
      quoted += lua_rawlen(L, arg);
      if (quoted > LUA_SANDBOX_FORMAT_QUOTE_MAX_BYTES)
        return luaL_error(L, "string.format: %%q of more than %d bytes",
                          LUA_SANDBOX_FORMAT_QUOTE_MAX_BYTES);
    }
    if (f < end) f++;
  }
  return sandbox_call_original(L);
}

/* table.insert/remove/sort walk #t elements in C, where the hook cannot
 * stop them: refuse __len (it could claim any length) and huge tables. */
static int sandbox_table_walk(lua_State *L) {
  const char *func = lua_tostring(L, lua_upvalueindex(2));
  if (lua_type(L, 1) != LUA_TTABLE) return sandbox_call_original(L); /* which says what is wrong */
  if (luaL_getmetafield(L, 1, "__len") != LUA_TNIL)
    return luaL_error(L, "%s: tables with a __len metamethod are not supported", func);
  if (lua_rawlen(L, 1) > LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS)
    return luaL_error(L, "%s: more than %d elements", func, LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS);
  return sandbox_call_original(L);
}

/* Lua's sort compares numbers and strings itself, in C, with no call the
 * hook sees: a thousand references to one 8 MiB string sorted for hours.
 * Without a comparator of the script's, the sort gets this one, so that
 * each comparison is a call and the deadline is checked before it. */
static int sandbox_sort_less(lua_State *L) {
  lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
  return 1;
}

static int sandbox_table_sort(lua_State *L) {
  if (lua_isnoneornil(L, 2)) {
    lua_settop(L, 1);
    lua_pushcfunction(L, sandbox_sort_less);
  }
  return sandbox_table_walk(L);
}

/* table.move(a1, f, e, t) walks e - f + 1 elements whatever a1 holds. */
static int sandbox_table_move(lua_State *L) {
  int f_ok, e_ok;
  lua_Integer f = lua_tointegerx(L, 2, &f_ok);
  lua_Integer e = lua_tointegerx(L, 3, &e_ok);
  if (f_ok && e_ok && e >= f &&
      (lua_Unsigned)e - (lua_Unsigned)f >= LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS)
    return luaL_error(L, "table.move: more than %d elements", LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS);
  return sandbox_call_original(L);
}

static int sandbox_proxy_newindex(lua_State *L) {
  return luaL_error(L, "%s is read-only", lua_tostring(L, lua_upvalueindex(1)));
}

static int sandbox_proxy_next(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_next(L, 1)) return 2;
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
  lua_newtable(L);          /* lib proxy */
  lua_createtable(L, 0, 4); /* lib proxy mt */
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
  lua_setmetatable(L, -2); /* lib proxy */
  lua_remove(L, -2);       /* proxy */
}

static void sandbox_open_base(lua_State *L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  lua_pop(L, 1);
  for (const char *const *n = sandbox_removed_globals; *n; n++) {
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

/* Pushes a shallow copy of the table on top. Library tables are copied
 * before a wrapper replaces a function, so that the original stays in the
 * loaded table, where an error it raises from under the wrapper finds its
 * name ("bad argument #1 to 'table.sort'"). */
static void sandbox_push_copy(lua_State *L) {
  lua_newtable(L); /* lib copy */
  lua_pushnil(L);
  while (lua_next(L, -3)) { /* lib copy key value */
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* The sandbox's own string functions go into the library table itself, so
 * that their errors name them ("bad argument #4 to 'string.gsub'") when
 * they are called from C (pcall); wrappers go into the copy scripts see,
 * which is also the string metatable's __index. */
static void sandbox_open_string(lua_State *L, size_t memory_bytes) {
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0); /* lib */
  lua_pushnil(L);
  lua_setfield(L, -2, "dump"); /* bytecode out is as bad as bytecode in */
  lua_pushinteger(L, (lua_Integer)memory_bytes);
  lua_pushcclosure(L, sandbox_string_rep, 1);
  lua_setfield(L, -2, "rep");
  lua_pattern_register(L, -1, lua_sandbox_check);
  sandbox_push_copy(L); /* lib string */
  lua_getfield(L, -1, "format");
  lua_pushcclosure(L, sandbox_string_format, 1);
  lua_setfield(L, -2, "format");
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1); /* lib string "" mt */
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable"); /* getmetatable("") is false */
  lua_pop(L, 2);                      /* lib string */
  lua_remove(L, -2);                  /* string */
  sandbox_push_proxy(L, "string");
  lua_setglobal(L, "string");
}

static void sandbox_open_table(lua_State *L) {
  static const luaL_Reg walkers[] = {
      {"insert", sandbox_table_walk},
      {"remove", sandbox_table_walk},
      {"sort", sandbox_table_sort},
      {NULL, NULL},
  };
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0); /* lib */
  sandbox_push_copy(L);                               /* lib copy */
  for (const luaL_Reg *w = walkers; w->name; w++) {
    lua_getfield(L, -2, w->name);
    lua_pushfstring(L, "table.%s", w->name);
    lua_pushcclosure(L, w->func, 2);
    lua_setfield(L, -2, w->name);
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

/* os.date runs strftime once for each conversion in its format, with no
 * call in between: a 6 MB format of "%n" took 250 ms. A date format is a
 * few dozen bytes. */
static int sandbox_os_date(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING && lua_rawlen(L, 1) > LUA_SANDBOX_DATE_FORMAT_MAX_BYTES)
    return luaL_error(L, "os.date: the format is longer than %d bytes",
                      LUA_SANDBOX_DATE_FORMAT_MAX_BYTES);
  return sandbox_call_original(L);
}

/* os: the clock and calendar only; no files, processes or environment. */
static void sandbox_open_os(lua_State *L) {
  static const char *const kept[] = {"time", "clock", NULL};
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0); /* os */
  lua_createtable(L, 0, 3);                       /* os kept */
  for (const char *const *k = kept; *k; k++) {
    lua_getfield(L, -2, *k);
    lua_setfield(L, -2, *k);
  }
  lua_getfield(L, -2, "date");
  lua_pushcclosure(L, sandbox_os_date, 1);
  lua_setfield(L, -2, "date");
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
  if (!sb || !(sb->name = strdup(name)) || !(sb->chunkname = malloc(name_len + 2))) {
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
  if (!sb->L) {
    char limit[128];
    sandbox_memory_limit_text(sb, limit, sizeof limit);
    snprintf(err, errlen, "%s: cannot create a Lua state within the %s", name, limit);
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
  if (!sb) return;
  if (sb->L) lua_close(sb->L);
  free(sb->name);
  free(sb->chunkname);
  free(sb);
}

lua_State *lua_sandbox_state(lua_sandbox *sb) { return sb->L; }

const char *lua_sandbox_name(const lua_sandbox *sb) { return sb->name; }

size_t lua_sandbox_memory_used(const lua_sandbox *sb) { return sb->used_bytes; }
