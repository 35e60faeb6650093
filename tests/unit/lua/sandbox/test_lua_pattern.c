/* The deadline-aware pattern matcher against Lua's own string library:
 * the same calls in two plain states, one with the real find/match/gmatch/
 * gsub and one with ours, must give the same results and errors. Then the
 * reason it exists: a pathological pattern stops at the entry's deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "lua_pattern.h"
#include "lua_pattern_runner.h"
#include "lua_sandbox.h"
#include "sandbox_test.h"

/* Returns a function(fn, s, p, a3, a4) giving a string that describes the
 * outcome: each value with its type, or the error. a3/a4 are Lua source
 * for the extra arguments. */
static const char runner_src[] = LUA_PATTERN_RUNNER_PRELUDE
    "local tbl = setmetatable({}, {__index = function(_, k)\n"
    "  if type(k) == 'number' then return k * 10 end\n"
    "  if #k % 2 == 0 then return '<' .. k .. '>' end\n"
    "end})\n"
    "local function fn(...)\n"
    "  if select('#', ...) % 2 == 0 and select(1, ...) ~= 'a' then return nil end\n"
    "  local t = {}\n"
    "  for i = 1, select('#', ...) do t[i] = tostring(select(i, ...)) end\n"
    "  return '[' .. table.concat(t, ',') .. ']'\n"
    "end\n"
    "return function(name, s, p, a3, a4)\n"
    "  a3 = a3 and load('return ' .. a3)()\n"
    "  a4 = a4 and load('return ' .. a4)()\n"
    "  if name == 'gmatch' then\n"
    "    return ser(pcall(gmatch_all, s, p, a3))\n"
    "  elseif name == 'gsub_bad_fn' then\n"
    "    return ser(pcall(string.gsub, s, p, function() return {} end, a4))\n"
    "  elseif name == 'gsub_bad_tbl' then\n"
    "    return ser(pcall(string.gsub, s, p, setmetatable({}, {__index = function() return true "
    "end}), a4))\n"
    "  elseif name == 'gsub_tbl' then return ser(pcall(string.gsub, s, p, tbl, a4))\n"
    "  elseif name == 'gsub_fn' then return ser(pcall(string.gsub, s, p, fn, a4))\n"
    "  end\n"
    "  return ser(pcall(string[name], s, p, a3, a4))\n"
    "end\n";

typedef struct pair_states {
  lua_State *real;
  lua_State *ours;
  int succeeded; /* comparisons where the call did not raise */
} pair_states;

static lua_State *runner_state(int ours) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  if (ours) {
    lua_getglobal(L, "string");
    lua_pattern_register(L, -1, lua_sandbox_check);
    lua_pop(L, 1);
  }
  if (luaL_loadstring(L, runner_src) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
    fail_msg("runner: %s", lua_tostring(L, -1));
  lua_setglobal(L, "run");
  return L;
}

static int pair_setup(void **state) {
  pair_states *p = calloc(1, sizeof *p);
  p->real = runner_state(0);
  p->ours = runner_state(1);
  *state = p;
  return 0;
}

static int pair_teardown(void **state) {
  pair_states *p = *state;
  lua_close(p->real);
  lua_close(p->ours);
  free(p);
  return 0;
}

static void run_one(lua_State *L, const char *fn, const char *s, size_t slen, const char *pat,
                    const char *a3, const char *a4, char *out, size_t outlen) {
  lua_getglobal(L, "run");
  lua_pushstring(L, fn);
  lua_pushlstring(L, s, slen);
  lua_pushstring(L, pat);
  if (a3 != NULL)
    lua_pushstring(L, a3);
  else
    lua_pushnil(L);
  if (a4 != NULL)
    lua_pushstring(L, a4);
  else
    lua_pushnil(L);
  if (lua_pcall(L, 5, 1, 0) != LUA_OK) fail_msg("runner failed: %s", lua_tostring(L, -1));
  snprintf(out, outlen, "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
}

static void compare(pair_states *p, const char *fn, const char *s, const char *pat, const char *a3,
                    const char *a4) {
  char want[4096], got[4096];
  run_one(p->real, fn, s, strlen(s), pat, a3, a4, want, sizeof want);
  run_one(p->ours, fn, s, strlen(s), pat, a3, a4, got, sizeof got);
  if (strcmp(want, got) != 0)
    fail_msg("%s(\"%s\", \"%s\", %s, %s):\n  lua:  %s\n  ours: %s", fn, s, pat, a3 ? a3 : "nil",
             a4 ? a4 : "nil", want, got);
  p->succeeded += strncmp(want, "true", 4) == 0;
}

typedef struct pcase {
  const char *fn, *s, *p, *a3, *a4;
} pcase;

static const pcase hand_cases[] = {
    {"find", "hello world", "o w", NULL, NULL},
    {"find", "hello world", "o", "6", NULL},
    {"find", "hello world", "o", "-3", NULL},
    {"find", "hello world", "o", "-100", NULL},
    {"find", "hello world", "o", "100", NULL},
    {"find", "hello", "", "6", NULL},
    {"find", "hello", "", "7", NULL},
    {"find", "a.b", ".", "1", "true"},
    {"find", "a+b", "+", NULL, "true"},
    {"find", "abc", "b", "2.5", NULL},
    {"find", "abc", "b)", NULL, NULL},
    {"find", "aab", "()a%1", NULL, NULL},
    {"find", "abc", "%f[%a]", NULL, NULL},
    {"find", "abc", "%f[%z]", NULL, NULL},
    {"find", "THE (quick) fox", "%f[%a]%a+%f[%A]", "5", NULL},
    {"find", "a]b", "[]]", NULL, NULL},
    {"find", "a-b", "[a-]", NULL, NULL},
    {"find", "a^b", "[b^]", NULL, NULL},
    {"find", "a^b", "[^^a]", NULL, NULL},
    {"find", "x$y", "$y", NULL, NULL},
    {"find", "x$y", "x$", NULL, NULL},
    {"find", "abc", "((a)(b))", NULL, NULL},
    {"find", "f(a(b)c)", "%b()", NULL, NULL},
    {"find", "f(a(b)c", "%b()", NULL, NULL},
    {"find", "\"x\"y\"", "%b\"\"", NULL, NULL},
    {"find", "abc", "%b", NULL, NULL},
    {"find", "abc", "%bx", NULL, NULL},
    {"find", "abc", "%", NULL, NULL},
    {"find", "abc", "[a", NULL, NULL},
    {"find", "abc", "[a%", NULL, NULL},
    {"find", "abc", "[]", NULL, NULL},
    {"find", "abc", "[^]", NULL, NULL},
    {"find", "abc", "(a", NULL, NULL},
    {"find", "abc", "a)", NULL, NULL},
    {"find", "abc", "%1", NULL, NULL},
    {"find", "abc", "(a)%2", NULL, NULL},
    {"find", "abc", "(a%1)", NULL, NULL},
    {"find", "abc", "%0", NULL, NULL},
    {"find", "abc", "%f", NULL, NULL},
    {"find", "abc", "%fa", NULL, NULL},
    {"find", "  x  ", "^%s*(.-)%s*$", NULL, NULL},
    {"find", "key = value", "(%w+)%s*=%s*(%w+)", NULL, NULL},
    {"find", "2024-01-31", "(%d+)-(%d+)-(%d+)", NULL, NULL},
    {"find", "abc", "^b", NULL, NULL},
    {"find", "abc", "^a", "2", NULL},
    {"find", "aaa", "a-b", NULL, NULL},
    {"find", "aaab", "a-b", NULL, NULL},
    {"find", "aaab", "a*", NULL, NULL},
    {"find", "aaab", "a+b", NULL, NULL},
    {"find", "b", "a?b", NULL, NULL},
    {"find", "\x01\x7f\xff", "%c+", NULL, NULL},
    {"find", "Ab1 _.\t", "%g+", NULL, NULL},
    {"find", "Ab1 _.\t", "%p", NULL, NULL},
    {"find", "Ab1 _.\t", "%u%l%d%s", NULL, NULL},
    {"find", "deadBEEF", "%x+", NULL, NULL},
    {"find", "a b", "%S+", NULL, NULL},
    {"find", "a%b", "%%", NULL, NULL},
    {"find", "abc", "[%a-z]", NULL, NULL},
    {"find", "-", "[%a-]", NULL, NULL},
    {"find", "abc", "[c-a]", NULL, NULL},
    {"find", "a.b", "%.", NULL, NULL},
    {"find", "abc", "%Z", NULL, NULL},
    {"match", "abc", "()b()", NULL, NULL},
    {"match", "abc", "(()", NULL, NULL},
    {"match", "abc", ".-$", NULL, NULL},
    {"match", "hello", "(h)(e)(l)(l)(o)", NULL, NULL},
    {"match", "hello", "", "3", NULL},
    {"match", "hello", "l+", "-2", NULL},
    {"match", "x = 'it''s'", "'(.-)'", NULL, NULL},
    {"match", "aaa", "(a*(.)%w(%s*))", NULL, NULL},
    {"match", "((a))", "%((%b())%)", NULL, NULL},
    {"match", "abcabc", "(abc)%1", NULL, NULL},
    {"match", "abcabd", "(abc)%1", NULL, NULL},
    {"match", "THE", "%f[%l]", NULL, NULL},
    {"gmatch", "k=v, x=y", "(%w+)=(%w+)", NULL, NULL},
    {"gmatch", "abc", "", NULL, NULL},
    {"gmatch", "abc", "()", NULL, NULL},
    {"gmatch", "abc", "^a", NULL, NULL},
    {"gmatch", "aXa", "a", "2", NULL},
    {"gmatch", "aXa", "a", "10", NULL},
    {"gmatch", "aXa", "a", "-1", NULL},
    {"gmatch", "one two  three", "%a+", NULL, NULL},
    {"gmatch", "abab", "b*", NULL, NULL},
    {"gsub", "hello world", "o", "'0'", NULL},
    {"gsub", "hello world", "o", "'0'", "1"},
    {"gsub", "hello world", "o", "'0'", "0"},
    {"gsub", "hello world", "o", "'0'", "-1"},
    {"gsub", "hello world", "o", "'0'", "1.5"},
    {"gsub", "abc", "(.)", "'%0%1%%'", NULL},
    {"gsub", "abc", ".", "'%1'", NULL},
    {"gsub", "abc", "(b)", "'%2'", NULL},
    {"gsub", "abc", "b", "'%2'", NULL},
    {"gsub", "abc", "b", "'%'", NULL},
    {"gsub", "abc", "b", "'%x'", NULL},
    {"gsub", "abc", "b", "5", NULL},
    {"gsub", "abc", "b", "true", NULL},
    {"gsub", "abc", "()", "'%1'", NULL},
    {"gsub", "abc", "", "'-'", NULL},
    {"gsub", "abc", "b*", "'-'", NULL},
    {"gsub", "abc", "^", "'-'", NULL},
    {"gsub", "abc", "^b", "'-'", NULL},
    {"gsub", "abc", "$", "'-'", NULL},
    {"gsub", "hello world", "(%w+)", "'<%1>'", NULL},
    {"gsub", "hello world", "%w+", "'%0 %0'", "1"},
    {"gsub", "$name is $age", "%$(%w+)", "'[%1]'", NULL},
    {"gsub", "abc", "%w", "'%'", NULL},
    {"gsub_tbl", "abc", "%w", NULL, NULL},
    {"gsub_tbl", "ab cd", "%w+", NULL, NULL},
    {"gsub_tbl", "abc", "()", NULL, NULL},
    {"gsub_tbl", "$x $yy", "%$(%w+)", NULL, NULL},
    {"gsub_fn", "abc", "%w", NULL, NULL},
    {"gsub_fn", "abc", "(a)(b)", NULL, NULL},
    {"gsub_fn", "abcd", "(%w)(%w)()", NULL, "1"},
};

static void test_pattern_hand_cases(void **state) {
  pair_states *p = *state;
  for (size_t i = 0; i < sizeof hand_cases / sizeof hand_cases[0]; i++) {
    const pcase *c = &hand_cases[i];
    compare(p, c->fn, c->s, c->p, c->a3, c->a4);
  }
}

/* xorshift64: a fixed seed keeps failures reproducible. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static unsigned rng(unsigned n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state % n);
}

static const char *const pattern_tokens[] = {
    "a",    "b",     "x",      ".",      "%a",  "%d", "%s", "%w", "%A",  "%p",  "[ab]",
    "[^a]", "[a-c]", "[%a.]",  "[%d-]",  "*",   "+",  "-",  "?",  "(",   ")",   "()",
    "%b()", "%bab",  "%f[%a]", "%f[^b]", "%1",  "%2", "^",  "$",  "%.",  "%%",  "]",
    "[",    " ",     "%",      "[]",     "[^]", "a*", "b-", ".-", "(a)", "(.)",
};

static const char subject_chars[] = "aabbx ().-1%";

static void random_subject(char *out, size_t max) {
  size_t n = rng((unsigned)max);
  for (size_t i = 0; i < n; i++) out[i] = subject_chars[rng(sizeof subject_chars - 1)];
  out[n] = '\0';
}

static void random_pattern(char *out, size_t outlen) {
  size_t n = 1 + rng(7);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const char *t = pattern_tokens[rng(sizeof pattern_tokens / sizeof pattern_tokens[0])];
    if (strlen(out) + strlen(t) + 1 < outlen) strcat(out, t);
  }
}

static void test_pattern_random_cases(void **state) {
  static const char *const fns[] = {"find", "match", "gmatch", "gsub", "gsub_tbl", "gsub_fn"};
  static const char *const repls[] = {"'<%0>'", "'%1'", "'-%2-'", "'%%'", "''"};
  static const char *const inits[] = {NULL, "1", "2", "-2", "0"};
  pair_states *p = *state;
  char s[16], pat[64];
  for (int i = 0; i < 3000; i++) {
    random_subject(s, sizeof s);
    random_pattern(pat, sizeof pat);
    const char *fn = fns[rng(sizeof fns / sizeof fns[0])];
    const char *a3 = NULL, *a4 = NULL;
    if (strcmp(fn, "gsub") == 0)
      a3 = repls[rng(sizeof repls / sizeof repls[0])];
    else if (strncmp(fn, "gsub", 4) != 0)
      a3 = inits[rng(sizeof inits / sizeof inits[0])];
    if (strncmp(fn, "gsub", 4) == 0 && rng(4) == 0) a4 = "2";
    compare(p, fn, s, pat, a3, a4);
  }
  /* Enough random patterns must be valid, or this would test only errors. */
  assert_true(p->succeeded >= 1000);
}

/* Limits that only long patterns reach: 32 captures, and 200 nested
 * matcher calls ("pattern too complex"), counted as Lua counts them; and
 * replacements that are neither strings nor false. */
static void test_pattern_limits_and_bad_replacements(void **state) {
  pair_states *p = *state;
  char s[512], pat[1024];
  for (int n = 190; n <= 210; n++) {
    memset(s, 'a', (size_t)n);
    s[n] = '\0';
    pat[0] = '\0';
    for (int i = 0; i < n; i++) strcat(pat, "a?");
    compare(p, "find", s, pat, NULL, NULL);
    pat[0] = '\0';
    for (int i = 0; i < n; i++) strcat(pat, i % 2 ? "a-" : "()a");
    compare(p, "match", s, pat, NULL, NULL);
  }
  for (int n = 31; n <= 34; n++) {
    memset(s, 'a', (size_t)n);
    s[n] = '\0';
    pat[0] = '\0';
    for (int i = 0; i < n; i++) strcat(pat, "(a)");
    compare(p, "match", s, pat, NULL, NULL);
    compare(p, "gsub_fn", s, pat, NULL, "1");
  }
  compare(p, "gsub_bad_fn", "abc", "b", NULL, NULL);
  compare(p, "gsub_bad_tbl", "abc", "(b)", NULL, NULL);
  compare(p, "gsub_bad_fn", "abc", "x", NULL, NULL);
}

static void test_pattern_binary_subjects(void **state) {
  pair_states *p = *state;
  static const char subject[] = "a\0b\0\0c";
  char want[512], got[512];
  static const char *const pats[] = {"%z", "%Z+", "[%z]b", "b%z*", "."};
  for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
    for (int g = 0; g < 2; g++) {
      const char *fn = g ? "gmatch" : "find";
      run_one(p->real, fn, subject, sizeof subject - 1, pats[i], NULL, NULL, want, sizeof want);
      run_one(p->ours, fn, subject, sizeof subject - 1, pats[i], NULL, NULL, got, sizeof got);
      assert_string_equal(want, got);
    }
  }
}

/* --- the deadline ------------------------------------------------------ */

static lua_sandbox *limited_sandbox(uint64_t timeout_ms) {
  lua_sandbox_limits limits = {
      .memory_bytes = 32u << 20,
      .instructions = 100000000,
      .entry_timeout_ms = timeout_ms,
      .max_json_bytes = 1 << 20,
  };
  return sandbox_test_new("tools/re.lua", &limits);
}

/* A script whose pattern call runs into the deadline, and the function the
 * error must name. */
static const struct deadline_case {
  const char *code, *func;
} deadline_cases[] = {
    {"local s = ('a'):rep(4000)\nreturn s:find('.-.-.-b')", "string.find"},
    {"local s = ('a'):rep(4000)\nreturn s:match('.-.-.-b')", "string.match"},
    {"local s = ('a'):rep(4000)\nreturn s:gsub('.-.-.-b', 'x')", "string.gsub"},
    {"local s = ('a'):rep(4000)\nfor _ in s:gmatch('.-.-.-b') do end", "string.gmatch"},
    /* A script's pcall cannot swallow the limit: it is raised again at once. */
    {"local s = ('a'):rep(4000)\n"
     "for i = 1, 10 do pcall(string.find, s, '.-.-.-b') end return 'swallowed'",
     "string.find"},
};

static void test_pattern_stops_at_deadline(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof deadline_cases / sizeof deadline_cases[0]; i++) {
    const struct deadline_case *c = &deadline_cases[i];
    lua_sandbox *sb = limited_sandbox(300);
    char err[512], want[128];
    uint64_t t0 = uv_hrtime();
    int status = sandbox_test_run(sb, c->code, err, sizeof err);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    if (status == LUA_OK) fail_msg("%s: no error", c->code);
    snprintf(want, sizeof want, "tools/re.lua:2: time limit (300 ms) exceeded in %s", c->func);
    if (strcmp(err, want) != 0) fail_msg("%s:\n  want %s\n  got  %s", c->code, want, err);
    if (ms < 250 || ms >= 3000)
      fail_msg("%s: stopped after %llu ms", c->code, (unsigned long long)ms);
    /* The state is usable again for the next entry. */
    if (sandbox_test_run(sb, "return ('ab'):find('b')", err, sizeof err) != LUA_OK)
      fail_msg("%s: then: %s", c->code, err);
    lua_sandbox_free(sb);
  }
}

/* The comparisons run on a pair of states of their own (pair_setup). */
#define PAIR_TEST(t) cmocka_unit_test_setup_teardown(t, pair_setup, pair_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      PAIR_TEST(test_pattern_hand_cases),
      PAIR_TEST(test_pattern_random_cases),
      PAIR_TEST(test_pattern_limits_and_bad_replacements),
      PAIR_TEST(test_pattern_binary_subjects),
      cmocka_unit_test(test_pattern_stops_at_deadline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
