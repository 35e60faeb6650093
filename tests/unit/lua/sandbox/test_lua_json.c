/* JSON <-> Lua conversion, and the json module scripts get. */
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

#include "lua_json.h"
#include "lua_sandbox.h"
#include "sandbox_test.h"

#define TEST_MAX_JSON_BYTES (1 << 20)

/* A plain state with json (as a global) for conversion tests. */
static int plain_setup(void **state) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_json_open(L, TEST_MAX_JSON_BYTES);
  lua_setglobal(L, "json");
  *state = L;
  return 0;
}

static int plain_teardown(void **state) {
  lua_close(*state);
  return 0;
}

/* Evaluates "return <expr>" leaving one value on the stack. */
static void eval(lua_State *L, const char *expr) {
  char code[4096];
  snprintf(code, sizeof code, "return %s", expr);
  if (luaL_dostring(L, code) != LUA_OK) fail_msg("%s: %s", expr, lua_tostring(L, -1));
}

/* The text of a Lua value as JSON, or "ERR: message". */
static char *to_text(lua_State *L, const char *expr, size_t max_bytes) {
  char err[LUA_JSON_ERROR_MAX_BYTES];
  eval(L, expr);
  json_t *v = lua_json_from_lua(L, -1, max_bytes, err, sizeof err);
  lua_pop(L, 1);
  char *text;
  size_t len;
  if (v == NULL || lua_json_dump(v, max_bytes, &text, &len, err, sizeof err) < 0) {
    json_decref(v);
    char *e = malloc(strlen(err) + 6);
    sprintf(e, "ERR: %s", err);
    return e;
  }
  json_decref(v);
  return text;
}

static void expect_text(lua_State *L, const char *expr, const char *want) {
  char *got = to_text(L, expr, TEST_MAX_JSON_BYTES);
  if (strcmp(got, want) != 0) fail_msg("%s:\n  want %s\n  got  %s", expr, want, got);
  free(got);
}

/* A Lua expression or chunk and what it must give; the failure names it. */
typedef struct expect_case {
  const char *code, *want;
} expect_case;

static void expect_texts(lua_State *L, const expect_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) expect_text(L, cases[i].code, cases[i].want);
}

static const expect_case scalar_cases[] = {
    {"42", "42"},
    {"math.maxinteger", "9223372036854775807"},
    {"math.mininteger", "-9223372036854775808"},
    {"2^53 + 1", "9007199254740992.0"},    /* a float stays a float */
    {"(1 << 53) + 1", "9007199254740993"}, /* an integer stays exact */
    {"1.5", "1.5"},
    {"true", "true"},
    {"nil", "null"},
    {"json.null", "null"},
    {"'a\"b\\n/'", "\"a\\\"b\\n/\""},
    {"'a\\0b'", "\"a\\u0000b\""},
};

static void test_json_scalars_and_exact_integers(void **state) {
  lua_State *L = *state;
  expect_texts(L, scalar_cases, sizeof scalar_cases / sizeof scalar_cases[0]);
}

static const expect_case table_cases[] = {
    {"{}", "{}"},
    {"{1, 2, 'x'}", "[1,2,\"x\"]"},
    {"{b = 1, a = {c = {true, false}}}", "{\"a\":{\"c\":[true,false]},\"b\":1}"},
    {"{[1] = 'a', [2] = 'b'}", "[\"a\",\"b\"]"},
    {"{[2.0] = 'b', [1] = 'a'}", "[\"a\",\"b\"]"},
    {"{json.null, 1}", "[null,1]"},
};

static void test_json_tables(void **state) {
  lua_State *L = *state;
  expect_texts(L, table_cases, sizeof table_cases / sizeof table_cases[0]);
}

static const expect_case refusal_cases[] = {
    {"(function() local t = {} t.self = t return t end)()",
     "ERR: cannot encode a table that contains itself (at .self)"},
    {"{a = {print}}", "ERR: cannot encode a function (at .a[1])"},
    {"{1, x = 2}", "ERR: cannot encode a table with both integer and string keys"},
    {"{[1] = 1, [3] = 3}", "ERR: cannot encode a table whose integer keys are not 1..n"},
    {"{[0] = 1}", "ERR: cannot encode a table whose integer keys are not 1..n"},
    {"{[1.5] = 1}", "ERR: cannot encode a table key of type float"},
    {"{[true] = 1}", "ERR: cannot encode a table key of type boolean"},
    {"{0/0}", "ERR: cannot encode NaN or infinity (at [1])"},
    {"{x = 1/0}", "ERR: cannot encode NaN or infinity (at .x)"},
    {"'\\xff'", "ERR: cannot encode a string that is not valid UTF-8"},
    {"{['\\xff'] = 1}", "ERR: cannot encode a key that is not valid UTF-8 (at .\xff)"},
    {"coroutine.create(print)", "ERR: cannot encode a thread"},
};

static void test_json_refusals(void **state) {
  lua_State *L = *state;
  expect_texts(L, refusal_cases, sizeof refusal_cases / sizeof refusal_cases[0]);
}

static void test_json_depth_cap(void **state) {
  lua_State *L = *state;
  char expr[256];
  snprintf(expr, sizeof expr,
           "(function() local t = {} for i = 1, %d do t = {t} end return t end)()",
           LUA_JSON_MAX_DEPTH_LEVELS - 1);
  char *ok = to_text(L, expr, TEST_MAX_JSON_BYTES);
  assert_int_equal(ok[0], '[');
  free(ok);
  snprintf(expr, sizeof expr,
           "(function() local t = {} for i = 1, %d do t = {t} end return t end)()",
           LUA_JSON_MAX_DEPTH_LEVELS);
  char *deep = to_text(L, expr, TEST_MAX_JSON_BYTES);
  assert_non_null(strstr(deep, "ERR: cannot encode nesting deeper than 64 levels"));
  free(deep);
}

/* The cap holds while the tree is built, not only on the final text. */
static void test_json_size_cap(void **state) {
  lua_State *L = *state;
  char *t = to_text(L, "('x'):rep(98)", 100);
  assert_int_equal(strlen(t), 100);
  free(t);
  t = to_text(L, "('x'):rep(99)", 100);
  assert_string_equal(t, "ERR: output exceeds 100 bytes");
  free(t);
  /* Escapes make the text longer than the estimate: the dump still checks. */
  t = to_text(L, "('\\n'):rep(60)", 100);
  assert_string_equal(t, "ERR: output exceeds 100 bytes");
  free(t);
  /* A huge table is refused after at most max_bytes entries. */
  eval(L, "(function() local t = {} for i = 1, 200000 do t[i] = i end return t end)()");
  char err[LUA_JSON_ERROR_MAX_BYTES];
  json_t *v = lua_json_from_lua(L, -1, 1000, err, sizeof err);
  lua_pop(L, 1);
  assert_null(v);
  assert_string_equal(err, "output exceeds 1000 bytes");
}

static void test_json_push(void **state) {
  lua_State *L = *state;
  json_error_t je;
  json_t *v = json_loads("{\"id\": 9007199254740993, \"r\": 0.5, \"a\": [1, null, \"s\"],"
                         " \"o\": {}, \"t\": true}",
                         0, &je);
  assert_non_null(v);
  lua_json_push(L, v);
  lua_setglobal(L, "v");
  json_decref(v);
  eval(L, "math.type(v.id) == 'integer' and v.id == 9007199254740993 and "
          "math.type(v.r) == 'float' and v.a[2] == json.null and #v.a == 3 and "
          "next(v.o) == nil and v.t == true");
  assert_true(lua_toboolean(L, -1));
  lua_pop(L, 1);
  lua_json_push(L, NULL);
  lua_setglobal(L, "n");
  eval(L, "n == json.null");
  assert_true(lua_toboolean(L, -1));
  lua_pop(L, 1);
}

static void test_json_module_round_trip(void **state) {
  lua_State *L = *state;
  eval(L, "json.encode(json.decode('{\"b\":[1,2.5,\"\\\\u00e9\",null],\"a\":{}}'))");
  assert_string_equal(lua_tostring(L, -1), "{\"a\":{},\"b\":[1,2.5,\"\xc3\xa9\",null]}");
  lua_pop(L, 1);
  eval(L, "json.decode('12345678901234567')");
  assert_true(lua_isinteger(L, -1));
  assert_int_equal(lua_tointeger(L, -1), 12345678901234567LL);
  lua_pop(L, 1);
}

static void expect_error(lua_State *L, const char *code, const char *want) {
  if (luaL_dostring(L, code) == LUA_OK) fail_msg("%s: no error", code);
  if (strstr(lua_tostring(L, -1), want) == NULL)
    fail_msg("%s:\n  want %s\n  got  %s", code, want, lua_tostring(L, -1));
  lua_pop(L, 1);
}

static void expect_errors(lua_State *L, const expect_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) expect_error(L, cases[i].code, cases[i].want);
}

static const expect_case module_error_cases[] = {
    {"json.decode('{\"a\":1,\"a\":2}')", "json.decode: duplicate object key"},
    {"json.decode('[1,')", "json.decode: "},
    {"json.decode('[1,')", "at line 1 column"},
    {"json.encode(print)", "json.encode: cannot encode a function"},
    {"json.decode(('['):rep(100) .. (']'):rep(100))", "JSON nesting deeper than 64 levels"},
};

static void test_json_module_errors(void **state) {
  lua_State *L = *state;
  expect_errors(L, module_error_cases, sizeof module_error_cases / sizeof module_error_cases[0]);
}

/* Decoding counts levels as encoding does: 64 nested arrays or objects
 * pass both ways, 65 pass neither. */
static void test_json_decode_depth_matches_encode(void **state) {
  lua_State *L = *state;
  eval(L, "#json.encode(json.decode(('['):rep(64) .. '1' .. (']'):rep(64)))");
  assert_int_equal(lua_tointeger(L, -1), 64 * 2 + 1);
  lua_pop(L, 1);
  eval(L, "(function() local v = json.decode(('{\"a\":'):rep(63) .. '{}' .. ('}'):rep(63))"
          " local n = 1 while next(v) do v, n = v.a, n + 1 end return n end)()");
  assert_int_equal(lua_tointeger(L, -1), 64);
  lua_pop(L, 1);
  expect_error(L, "json.decode(('['):rep(65) .. (']'):rep(65))",
               "JSON nesting deeper than 64 levels");
  expect_error(L, "json.decode(('{\"a\":'):rep(64) .. '{}' .. ('}'):rep(64))",
               "JSON nesting deeper than 64 levels");
  expect_error(L, "json.decode('[' .. ('{\"a\":'):rep(63) .. '[]' .. ('}'):rep(63) .. ']')",
               "JSON nesting deeper than 64 levels");
  expect_error(L, "json.decode(' ' .. ('x'):rep(1 << 20))",
               "json.decode: input exceeds 1048576 bytes");
}

/* --- in a sandbox: limits and the memory they hold ------------------------ */

static lua_sandbox *json_sandbox(size_t memory_bytes) {
  lua_sandbox_limits limits = {
      .memory_bytes = memory_bytes,
      .instructions = 50000000,
      .entry_timeout_ms = 10000,
      .max_json_bytes = TEST_MAX_JSON_BYTES,
  };
  return sandbox_test_new("tools/big.lua", &limits);
}

static void test_json_encode_huge_table_in_sandbox(void **state) {
  (void)state;
  lua_sandbox *sb = json_sandbox(64u << 20);
  char err[512];
  int status = sandbox_test_run(sb,
                                "local t = {}\n"
                                "for i = 1, 300000 do t[i] = 'xxxxxxxxxx' end\n"
                                "local ok\n"
                                "return json.encode(t)\n",
                                err, sizeof err);
  assert_int_not_equal(status, LUA_OK);
  assert_string_equal(err, "tools/big.lua:4: json.encode: output exceeds 1048576 bytes");
  lua_sandbox_free(sb);
}

/* json.decode's tree lives outside the Lua allocator; it must be freed when
 * pushing it into a state that is out of memory (the sanitizer build would
 * report the leak), and the error must be the memory limit's. */
static void test_json_decode_memory_limit(void **state) {
  (void)state;
  lua_sandbox *sb = json_sandbox(3u << 20);
  char err[512];
  int status = sandbox_test_run(sb,
                                "local s = '[' .. ('1,'):rep(400000) .. '1]'\n"
                                "return json.decode(s)\n",
                                err, sizeof err);
  assert_int_not_equal(status, LUA_OK);
  assert_string_equal(err, "tools/big.lua:2: memory limit (3 MiB) exceeded");
  assert_true(lua_sandbox_memory_used(sb) < (1u << 20));
  lua_sandbox_free(sb);
}

/* The conversion tests run on a plain state of their own (plain_setup). */
#define PLAIN_TEST(t) cmocka_unit_test_setup_teardown(t, plain_setup, plain_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      PLAIN_TEST(test_json_scalars_and_exact_integers),
      PLAIN_TEST(test_json_tables),
      PLAIN_TEST(test_json_refusals),
      PLAIN_TEST(test_json_depth_cap),
      PLAIN_TEST(test_json_decode_depth_matches_encode),
      PLAIN_TEST(test_json_size_cap),
      PLAIN_TEST(test_json_push),
      PLAIN_TEST(test_json_module_round_trip),
      PLAIN_TEST(test_json_module_errors),
      cmocka_unit_test(test_json_encode_huge_table_in_sandbox),
      cmocka_unit_test(test_json_decode_memory_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
