/* The C functions scripts reach keep to the entry's deadline.
 *
 * Each attack runs in a 16 MiB state under a 500 ms limit and must end with
 * the time-limit error, at the line of the attack (line 2, after a line of
 * setup), within a second past the limit. Before the call hook, these ran
 * from seconds to hours: one VM instruction can be a C call that loops, and
 * the count hook fires only between instructions. Each function also still
 * does its normal work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "lua_sandbox.h"
#include "sandbox_test.h"

#define TEST_MEMORY_BYTES (16u << 20)
#define TEST_TIMEOUT_MS 500
/* How long past the limit an attack may run: one C call's own work, on a
 * busy machine or under a sanitizer. */
#define TEST_OVERRUN_MS 1000

static lua_sandbox *new_sandbox(uint64_t timeout_ms) {
  lua_sandbox_limits limits = {
      .memory_bytes = TEST_MEMORY_BYTES,
      .instructions = UINT64_MAX,
      .entry_timeout_ms = timeout_ms,
      .max_json_bytes = 1 << 20,
  };
  return sandbox_test_new("tools/c.lua", &limits);
}

static uint64_t ms_since(uint64_t t0) { return (uv_hrtime() - t0) / 1000000; }

/* setup (line 1) then attack (line 2) must stop at the deadline, with
 * "in <where>" after the message when where is not NULL. */
static void expect_stopped(const char *setup, const char *attack, const char *where) {
  char code[2048], out[512], want[256];
  snprintf(code, sizeof code, "%s\n%s\n", setup, attack);
  snprintf(want, sizeof want, "tools/c.lua:2: time limit (%d ms) exceeded%s%s", TEST_TIMEOUT_MS,
           where != NULL ? " in " : "", where != NULL ? where : "");
  lua_sandbox *sb = new_sandbox(TEST_TIMEOUT_MS);
  uint64_t t0 = uv_hrtime();
  int status = sandbox_test_eval(sb, code, out, sizeof out);
  uint64_t ms = ms_since(t0);
  if (status == LUA_OK || strcmp(out, want) != 0)
    fail_msg("%s\n  want: %s\n  got %d: %s", code, want, status, out);
  if (ms < TEST_TIMEOUT_MS - 10 || ms > TEST_TIMEOUT_MS + TEST_OVERRUN_MS)
    fail_msg("%s\n  stopped after %llu ms", code, (unsigned long long)ms);
  /* The state serves the next entry. */
  assert_int_equal(sandbox_test_eval(sb, "return 6 * 7", out, sizeof out), LUA_OK);
  assert_string_equal(out, "42");
  lua_sandbox_free(sb);
}

static void expect_result(const char *code, const char *want) {
  char out[512];
  lua_sandbox *sb = new_sandbox(10000);
  int status = sandbox_test_eval(sb, code, out, sizeof out);
  if (status != LUA_OK || strcmp(out, want) != 0)
    fail_msg("%s\n  want: %s\n  got %d: %s", code, want, status, out);
  lua_sandbox_free(sb);
}

static void expect_error(const char *code, const char *want) {
  char out[512];
  lua_sandbox *sb = new_sandbox(10000);
  int status = sandbox_test_eval(sb, code, out, sizeof out);
  if (status == LUA_OK || strcmp(out, want) != 0)
    fail_msg("%s\n  want error: %s\n  got %d: %s", code, want, status, out);
  lua_sandbox_free(sb);
}

/* A loop forever around the attack: only the limits can end it. */
#define FOREVER(body) "for _ = 1, math.maxinteger do " body " end"

/* The report: 150 of these took 295 s in one entry. __index reaches a C
 * function from inside table.concat's own loop. */
static void test_table_concat(void **state) {
  (void)state;
  expect_stopped("local t = setmetatable({}, {__index = rawlen})",
                 FOREVER("pcall(table.concat, t, '', 1, math.maxinteger)"), NULL);
  expect_stopped("local t = setmetatable({}, {__index = type})",
                 FOREVER("pcall(table.concat, t, ',', 1, math.maxinteger)"), NULL);
  expect_result("local t = setmetatable({'a', 'b'}, {__index = function(_, i) return i end})\n"
                "return table.concat(t, '-', 1, 4)",
                "a-b-3-4");
  expect_result("return table.concat({1, 2.5, 'x'}, ', ')", "1, 2.5, x");
}

static void test_table_unpack_and_select(void **state) {
  (void)state;
  expect_stopped("local t = setmetatable({}, {__index = rawlen})",
                 FOREVER("pcall(table.unpack, t, 1, 200000)"), NULL);
  expect_stopped("local t = {} for i = 1, 200000 do t[i] = i end",
                 FOREVER("select('#', table.unpack(t))"), NULL);
  expect_result("local t = {} for i = 1, 200000 do t[i] = i end\n"
                "return select('#', table.unpack(t)) + select(-1, table.unpack(t))",
                "400000");
  expect_result("return select('#', table.unpack({1, 2, 3}, 2, 5))", "4");
}

/* The report: utf8.len over 30 MB a hundred times took 5.4 s. */
static void test_utf8(void **state) {
  (void)state;
  expect_stopped("local s = ('\\u{e9}'):rep(2 << 20)", FOREVER("utf8.len(s)"), NULL);
  expect_stopped("local s = ('a'):rep(4 << 20)", FOREVER("utf8.offset(s, -1)"), NULL);
  expect_stopped("local s = ('a'):rep(100000)", FOREVER("utf8.codepoint(s, 1, -1)"), NULL);
  expect_stopped("local t = {} for i = 1, 100000 do t[i] = 0x10ffff end",
                 FOREVER("utf8.char(table.unpack(t))"), NULL);
  /* The codes iterator skips continuation bytes in C. */
  expect_stopped("local s = ('\\x80'):rep(4 << 20) local f = utf8.codes(s)",
                 FOREVER("pcall(f, s, 0)"), NULL);
  expect_result("local s = 'h\\u{e9}llo \\u{1F600}'\n"
                "local cps = {}\n"
                "for p, c in utf8.codes(s) do cps[#cps + 1] = p .. ':' .. c end\n"
                "return utf8.len(s) .. ' ' .. utf8.offset(s, -1) .. ' ' .. utf8.char(72, 233)"
                " .. ' ' .. table.concat(cps, ',') .. ' ' .. select('#', utf8.codepoint(s, 1, -1))",
                "7 8 H\xc3\xa9 1:104,2:233,4:108,5:108,6:111,7:32,8:128512 7");
  expect_result("return tostring(utf8.len('a\\xffb'))", "nil");
}

static void test_string_format(void **state) {
  (void)state;
  expect_stopped("local s = ('x'):rep(4 << 20)", FOREVER("string.format('%s', s)"), NULL);
  expect_stopped("local t = {} for i = 1, 1000 do t[i] = 1e308 end local f = ('%99.99f'):rep(1000)",
                 FOREVER("string.format(f, table.unpack(t))"), NULL);
  expect_stopped("local s = ('\\0'):rep(1 << 20)", FOREVER("string.format('%q', s)"), NULL);
  /* What one call may do is capped: each float conversion can take 10 us,
   * each quoted control byte an snprintf. */
  expect_error("local t = {} for i = 1, 1001 do t[i] = 1 end\n"
               "return string.format(('%d'):rep(1001), table.unpack(t))",
               "tools/c.lua:2: string.format: more than 1000 values to format");
  expect_error("return string.format('%q %q', ('a'):rep(1 << 19), ('b'):rep((1 << 19) + 1))",
               "tools/c.lua:1: string.format: %q of more than 1048576 bytes");
  expect_result("return string.format('%5.2f|%q|%-3s|%x|%%|%s', 1.5, 'a\\n', 'x', 255, nil)",
                " 1.50|\"a\\\n\"|x  |ff|%|nil");
  expect_result("return string.format('%q', ('a'):rep(1 << 20)):len()", "1048578");
  expect_error("return string.format('%d', 'x')",
               "tools/c.lua:1: bad argument #2 to 'string.format' (number expected, got string)");
}

/* Linear in a string the state holds, one call at a time. */
static void test_string_functions(void **state) {
  (void)state;
  expect_stopped("local s = ('x'):rep(4 << 20)",
                 FOREVER("s:upper() s:lower() s:reverse() s:sub(2) s:len()"), NULL);
  expect_stopped("local s = ('x'):rep(100000)", FOREVER("string.char(s:byte(1, -1))"), NULL);
  expect_stopped("local s = (' '):rep(4 << 20)", FOREVER("tonumber(s)"), NULL);
  expect_stopped("", FOREVER("pcall(string.pack, 'c8000000', '')"), NULL);
  /* Comparing long strings is one instruction: the count hook's step keeps
   * such a loop close to its deadline. */
  expect_stopped("local s, n = ('x'):rep(6 << 20), 0",
                 "while true do if s < s then n = n + 1 end end", NULL);
  expect_result(
      "local s = 'Hello'\n"
      "return s:upper() .. s:lower() .. s:reverse() .. s:sub(2, 3) .. string.char(s:byte(1, -1))"
      " .. #string.pack('c8', 'ab')",
      "HELLOhelloolleHelHello8");
}

/* Lua's sort compares strings in C: a thousand references to one long
 * string sorted for hours. */
static void test_table_sort(void **state) {
  (void)state;
  expect_stopped("local s = ('x'):rep(4 << 20) local t = {} for i = 1, 1000 do t[i] = s end",
                 FOREVER("table.sort(t)"), NULL);
  expect_stopped("local t = {} for i = 1, 200000 do t[i] = (i * 7919) % 200000 end",
                 FOREVER("table.sort(t)"), NULL);
  /* A comparator of the script's, and __lt reaching a C function. */
  expect_stopped("local t = {} for i = 1, 200000 do t[i] = (i * 7919) % 200000 end",
                 FOREVER("table.sort(t, function(a, b) return a > b end)"), NULL);
  expect_stopped("local mt = {__lt = rawequal} local t = {} for i = 1, 50000 do t[i] = "
                 "setmetatable({}, mt) end",
                 FOREVER("table.sort(t)"), NULL);
  expect_result(
      "local t = {5, 3, 9, 1} table.sort(t) local u = {'b', 'a', 'c'} table.sort(u, nil)\n"
      "local v = {1, 2, 3} table.sort(v, function(a, b) return a > b end)\n"
      "return table.concat(t, ',') .. table.concat(u) .. table.concat(v)",
      "1,3,5,9abc321");
  expect_error("table.sort({1, 'x'})", "tools/c.lua:1: attempt to compare string with number");
}

/* __tostring and __index chains reach C functions through tostring. */
static void test_metamethods_reaching_c(void **state) {
  (void)state;
  expect_stopped("local t = setmetatable({}, {__tostring = rawlen})", FOREVER("pcall(tostring, t)"),
                 NULL);
  expect_stopped("local t = setmetatable({}, {__index = setmetatable({}, {__index = rawlen})})",
                 FOREVER("local _ = t[1] .. t[2]"), NULL);
  expect_result("local t = setmetatable({}, {__tostring = function() return 'T' end})\n"
                "return tostring(t)",
                "T");
}

/* The matcher's steps must cost about the same: a set walks its members
 * for each subject byte it is tried on, and a back-reference compares the
 * whole capture, and gsub reads the whole replacement. Counted as one step
 * each, a 2 MiB set in an 8 MiB state matched for 6.6 s, a frontier for
 * 12.9 s, under a 500 ms limit. */
static void test_pattern_long_steps(void **state) {
  (void)state;
  expect_stopped("local s, p = ('b'):rep(1 << 20), '[' .. ('a'):rep(2 << 20) .. 'b]*c'",
                 "return s:find(p)", "string.find");
  expect_stopped("local s, p = ('x'):rep(1 << 20), '%f[' .. ('a'):rep(2 << 20) .. 'x]y'",
                 "return s:match(p)", "string.match");
  expect_stopped("local s = ('a'):rep(5 << 20)", "return s:gsub('(a*)%1b', '')", "string.gsub");
  /* The replacement is read for each match, even an empty one: each %0 of
   * an empty match adds nothing, so no memory limit ends it (7.8 s). */
  expect_stopped("local s, r = ('a'):rep(1 << 20), ('%0'):rep(1 << 19)", "return s:gsub('', r)",
                 "string.gsub");
  expect_result("return ('xaab'):find('[' .. ('a'):rep(10000) .. 'b]+') .. ('abab'):match('(ab)%1')"
                " .. ('THE (quick) fox'):gsub('%f[%a]%a+', 'w')",
                "2abw (w) w");
}

static void test_json(void **state) {
  (void)state;
  expect_stopped("local t = {} for i = 1, 100000 do t[i] = i end", FOREVER("pcall(json.encode, t)"),
                 NULL);
  expect_stopped("local s = '[' .. ('1,'):rep(400000) .. '1]'", FOREVER("json.decode(s)"), NULL);
  expect_result("return json.encode(json.decode('{\"a\":[1,2,{\"b\":null}]}'))",
                "{\"a\":[1,2,{\"b\":null}]}");
}

/* Lua's compiler runs no instruction: a chain of `and` costs it quadratic
 * time (80,000 of them took 7.8 s). It is handed its source in pieces, the
 * deadline checked between them. */
static void test_load(void **state) {
  (void)state;
  expect_stopped("local src = 'return ' .. ('a and '):rep(80000) .. 'a'", "return load(src)",
                 "load");
  expect_result("return load('return 6 * 7')() + #load(('x = 1 '):rep(10000) .. 'return "
                "\"\"')()",
                "42");
  expect_result("return select(2, load('return +', '=chunk'))",
                "chunk:1: unexpected symbol near '+'");
}

/* Pieces are invisible to the compiler: a token cut between two of them,
 * and errors around the cuts, read as in one buffer. */
static void test_load_in_pieces(void **state) {
  (void)state;
  static const char *const tails[] = {
      "x = 'a long string literal' .. 12345.678e-3 return x",
      "return [[a\nlong\nbracket]] .. \"esc\\\"aped\" ..",
      "return 1 +* 2",
      "local t = {1, 2,, 3}",
      "x = 'unfinished",
      "--[==[ a comment that never ends",
  };
  lua_State *plain = luaL_newstate();
  lua_sandbox *sb = new_sandbox(10000);
  lua_State *L = lua_sandbox_state(sb);
  char src[1024], want[512], got[512];
  for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
    for (size_t pad = LUA_SANDBOX_SOURCE_PIECE_BYTES - 40; pad < LUA_SANDBOX_SOURCE_PIECE_BYTES + 4;
         pad++) {
      memset(src, ' ', pad);
      snprintf(src + pad, sizeof src - pad, "%s", tails[t]);
      int rw = luaL_loadbufferx(plain, src, strlen(src), "=c", "t");
      snprintf(want, sizeof want, "%d %s", rw, rw == LUA_OK ? "" : lua_tostring(plain, -1));
      lua_settop(plain, 0);
      lua_getglobal(L, "load");
      lua_pushstring(L, src);
      lua_pushliteral(L, "=c");
      assert_int_equal(lua_pcall(L, 2, 2, 0), LUA_OK);
      int rg = lua_isnil(L, -2) ? LUA_ERRSYNTAX : LUA_OK;
      snprintf(got, sizeof got, "%d %s", rg, rg == LUA_OK ? "" : lua_tostring(L, -1));
      lua_settop(L, 0);
      if (strcmp(want, got) != 0) fail_msg("%s\n  lua:  %s\n  ours: %s", src, want, got);
    }
  }
  lua_close(plain);
  lua_sandbox_free(sb);
}

/* A file's own source is compiled under the same deadline. */
static void test_file_compile(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox(TEST_TIMEOUT_MS);
  size_t n = 80000, len = n * 6 + 8;
  char *src = malloc(len + 1);
  char err[256], want[128];
  strcpy(src, "return ");
  for (size_t i = 0; i < n; i++) memcpy(src + 7 + i * 6, "a and ", 6);
  strcpy(src + 7 + n * 6, "a");
  int ref;
  lua_State *co = lua_sandbox_thread_new(sb, &ref, err, sizeof err);
  uint64_t t0 = uv_hrtime();
  assert_int_equal(lua_sandbox_load(sb, co, src, strlen(src), err, sizeof err), -1);
  uint64_t ms = ms_since(t0);
  snprintf(want, sizeof want, "tools/c.lua: time limit (%d ms) exceeded while compiling",
           TEST_TIMEOUT_MS);
  assert_string_equal(err, want);
  assert_true(ms >= TEST_TIMEOUT_MS - 10 && ms <= TEST_TIMEOUT_MS + TEST_OVERRUN_MS);
  lua_sandbox_thread_drop(sb, ref);
  free(src);
  lua_sandbox_free(sb);
}

static void test_os_date(void **state) {
  (void)state;
  expect_error("return os.date(('%n'):rep(513))",
               "tools/c.lua:1: os.date: the format is longer than 1024 bytes");
  expect_result("return os.date('!%Y-%m-%d %H:%M:%S', 86400) .. os.date('!*t', 0).year",
                "1970-01-02 00:00:001970");
  expect_result("return #os.date(('%Y'):rep(256))", "1024");
}

/* Memory errors caught by pcall each cost a full collection. */
static void test_memory_errors_in_a_loop(void **state) {
  (void)state;
  expect_stopped("local keep = {} for i = 1, 50000 do keep[i] = {} end",
                 FOREVER("pcall(string.rep, 'x', 15 << 20)"), NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_concat),
      cmocka_unit_test(test_table_unpack_and_select),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_string_format),
      cmocka_unit_test(test_string_functions),
      cmocka_unit_test(test_table_sort),
      cmocka_unit_test(test_metamethods_reaching_c),
      cmocka_unit_test(test_pattern_long_steps),
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_load),
      cmocka_unit_test(test_load_in_pieces),
      cmocka_unit_test(test_file_compile),
      cmocka_unit_test(test_os_date),
      cmocka_unit_test(test_memory_errors_in_a_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
