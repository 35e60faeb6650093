/* libFuzzer target: the sandbox's pattern functions against Lua's own.
 *
 * A plain state (luaL_openlibs: Lua 5.4's string.find/match/gmatch/gsub)
 * and a sandboxed one (core/lua/sandbox/lua_pattern.c behind the same names) run the
 * same call on the same arguments; the outcome (each value with its type,
 * or the error message) must be the same text. The input picks the call,
 * the pattern, the subject, the init or count argument and the replacement
 * (a string, or a fixed table or function).
 *
 * Lua's own matcher backtracks with nothing to stop it, so inputs whose
 * worst case is long are skipped: (subject length + 1) to the power of
 * (quantifiers + 1) bounds the steps of both matchers. Ours runs under a
 * deadline far above what that bound costs; reaching it is a finding too.
 *
 * Input: [call] [argument] [pattern length] [replacement length]
 *        pattern, replacement, subject (the rest).
 */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_entry.h"
#include "lua_pattern_runner.h"
#include "lua_sandbox.h"

#define FUZZ_PATTERN_MAX_BYTES 32
#define FUZZ_REPLACEMENT_MAX_BYTES 16
#define FUZZ_SUBJECT_MAX_BYTES 64
/* Matcher steps an input may need at worst. */
#define FUZZ_MAX_STEPS 2000000.0
/* Ours must finish far within this; Lua's own needs no more. */
#define FUZZ_TIMEOUT_MS 2000

/* Runs one call and describes its outcome. a3 and a4 come as values. */
static const char runner_src[] = LUA_PATTERN_RUNNER_PRELUDE
    "local tbl = setmetatable({}, {__index = function(_, k)\n"
    "  if type(k) == 'number' then return k * 10 end\n"
    "  if #k % 4 == 0 then return false end\n"
    "  if #k % 4 == 1 then return '<' .. k .. '>' end\n"
    "  if #k % 4 == 2 then return true end\n"
    "end})\n"
    "local function fn(...)\n"
    "  local n = select('#', ...)\n"
    "  if n % 4 == 0 then return nil end\n"
    "  if n % 4 == 1 then return select(n, ...) end\n"
    "  if n % 4 == 2 then return {} end\n"
    "  local t = {}\n"
    "  for i = 1, n do t[i] = tostring(select(i, ...)) end\n"
    "  return '[' .. table.concat(t, ',') .. ']'\n"
    "end\n"
    "return function(name, s, p, a3, a4)\n"
    "  if name == 'gmatch' then\n"
    "    return ser(pcall(gmatch_all, s, p, a3))\n"
    "  elseif name == 'gsub_tbl' then return ser(pcall(string.gsub, s, p, tbl, a4))\n"
    "  elseif name == 'gsub_fn' then return ser(pcall(string.gsub, s, p, fn, a4))\n"
    "  end\n"
    "  return ser(pcall(string[name], s, p, a3, a4))\n"
    "end\n";

static const char *const calls[] = {"find", "match", "gmatch", "gsub", "gsub_tbl", "gsub_fn"};
#define CALL_COUNT (sizeof calls / sizeof calls[0])

typedef struct fuzz_call {
  const char *name;
  const char *s, *p, *r;
  size_t ls, lp, lr;
  int arg; /* which extra argument (see push_extra) */
} fuzz_call;

static lua_State *real;
static lua_sandbox *ours;
static int ours_runner = LUA_NOREF;

/* init for find/match/gmatch, the count for gsub, plain for find. */
static void push_number_arg(lua_State *L, int which, size_t len) {
  switch (which % 12) {
  case 0:
    lua_pushnil(L);
    break;
  case 1:
    lua_pushinteger(L, 2);
    break;
  case 2:
    lua_pushinteger(L, -1);
    break;
  case 3:
    lua_pushinteger(L, -3);
    break;
  case 4:
    lua_pushinteger(L, 0);
    break;
  case 5:
    lua_pushinteger(L, (lua_Integer)len);
    break;
  case 6:
    lua_pushinteger(L, (lua_Integer)len + 1);
    break;
  case 7:
    lua_pushinteger(L, (lua_Integer)len + 2);
    break;
  case 8:
    lua_pushinteger(L, LUA_MININTEGER);
    break;
  case 9:
    lua_pushinteger(L, LUA_MAXINTEGER);
    break;
  case 10:
    lua_pushnumber(L, 2.0);
    break;
  default:
    lua_pushnumber(L, 1.5);
    break;
  }
}

/* Pushes runner, name, s, p, a3, a4 (the runner on top of what is there). */
static void push_call(lua_State *L, const fuzz_call *c) {
  lua_pushstring(L, c->name);
  lua_pushlstring(L, c->s, c->ls);
  lua_pushlstring(L, c->p, c->lp);
  if (strcmp(c->name, "gsub") == 0) {
    lua_pushlstring(L, c->r, c->lr);
    push_number_arg(L, c->arg, c->ls);
  } else if (strncmp(c->name, "gsub", 4) == 0) {
    lua_pushnil(L);
    push_number_arg(L, c->arg, c->ls);
  } else {
    push_number_arg(L, c->arg, c->ls);
    if (strcmp(c->name, "find") == 0 && c->arg >= 12)
      lua_pushboolean(L, c->arg % 2);
    else
      lua_pushnil(L);
  }
}

/* Runs the runner in L (on top); out gets its text. */
static void run(lua_State *L, const fuzz_call *c, char *out, size_t outlen) {
  push_call(L, c);
  if (lua_pcall(L, 5, 1, 0) != LUA_OK) {
    fprintf(stderr, "the runner failed: %s\n", lua_tostring(L, -1));
    abort();
  }
  snprintf(out, outlen, "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
}

typedef struct ours_run {
  const fuzz_call *call;
  char *out;
  size_t outlen;
} ours_run;

/* Protected, in the sandbox's entry: the runner from the registry. */
static int ours_run_fn(lua_State *L) {
  ours_run *r = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ours_runner);
  run(L, r->call, r->out, r->outlen);
  return 0;
}

static int ours_keep_runner(lua_State *L) {
  if (luaL_loadstring(L, runner_src) != LUA_OK) return lua_error(L);
  lua_call(L, 0, 1);
  ours_runner = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  real = luaL_newstate();
  luaL_openlibs(real);
  if (luaL_loadstring(real, runner_src) != LUA_OK || lua_pcall(real, 0, 1, 0) != LUA_OK) abort();
  lua_setglobal(real, "run");
  lua_sandbox_limits limits = {
      .memory_bytes = 16u << 20,
      .instructions = UINT64_MAX,
      .entry_timeout_ms = FUZZ_TIMEOUT_MS,
      .max_json_bytes = 1 << 20,
  };
  char err[256];
  if (lua_sandbox_new(&ours, "fuzz.lua", &limits, err, sizeof err) < 0 ||
      lua_sandbox_protect(ours, ours_keep_runner, NULL, err, sizeof err) < 0) {
    fprintf(stderr, "%s\n", err);
    abort();
  }
  return 0;
}

/* Items that let a matcher try another length: each multiplies its work
 * by up to the subject's length. Counted generously ('-' in a set too). */
static int pattern_quantifiers(const char *p, size_t lp) {
  int q = 0;
  for (size_t i = 0; i < lp; i++) {
    if (p[i] == '%') {
      i++;
      continue;
    }
    q += p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?';
  }
  return q;
}

static double worst_steps(const fuzz_call *c) {
  double steps = 1;
  int q = pattern_quantifiers(c->p, c->lp);
  for (int i = 0; i <= q && steps <= FUZZ_MAX_STEPS; i++) steps *= (double)c->ls + 2;
  return steps;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4) return 0;
  fuzz_call c = {.name = calls[data[0] % CALL_COUNT], .arg = data[1] % 16};
  size_t lp = data[2] % (FUZZ_PATTERN_MAX_BYTES + 1);
  size_t lr = data[3] % (FUZZ_REPLACEMENT_MAX_BYTES + 1);
  const char *rest = (const char *)data + 4;
  size_t left = size - 4;
  c.lp = lp < left ? lp : left;
  c.p = rest;
  rest += c.lp;
  left -= c.lp;
  c.lr = lr < left ? lr : left;
  c.r = rest;
  rest += c.lr;
  left -= c.lr;
  c.ls = left < FUZZ_SUBJECT_MAX_BYTES ? left : FUZZ_SUBJECT_MAX_BYTES;
  c.s = rest;
  if (worst_steps(&c) > FUZZ_MAX_STEPS) return 0;

  static char want[65536], got[65536];
  lua_getglobal(real, "run");
  run(real, &c, want, sizeof want);
  ours_run r = {.call = &c, .out = got, .outlen = sizeof got};
  char err[512];
  if (lua_sandbox_protect(ours, ours_run_fn, &r, err, sizeof err) < 0) {
    fprintf(stderr, "ours failed where Lua's own did not: %s\n", err);
    abort();
  }
  if (strcmp(want, got) != 0) {
    fprintf(stderr, "%s(%.*s, %.*s, arg %d, repl %.*s):\n  lua:  %s\n  ours: %s\n", c.name,
            (int)c.ls, c.s, (int)c.lp, c.p, c.arg, (int)c.lr, c.r, want, got);
    abort();
  }
  return 0;
}
