/* The sandbox: what scripts cannot reach, and the limits every entry runs
 * under (each failing with file:line and leaving the state usable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "lua_sandbox.h"
#include "sandbox_test.h"

#define TEST_MEMORY_BYTES (16u << 20)

static lua_sandbox *new_sandbox(const char *name, uint64_t instructions, uint64_t timeout_ms) {
  lua_sandbox_limits limits = {
      .memory_bytes = TEST_MEMORY_BYTES,
      .instructions = instructions,
      .entry_timeout_ms = timeout_ms,
      .max_json_bytes = 1 << 20,
  };
  return sandbox_test_new(name, &limits);
}

static void expect_ok(lua_sandbox *sb, const char *code, const char *want) {
  char out[1024];
  int status = sandbox_test_eval(sb, code, out, sizeof out);
  if (status != LUA_OK || strcmp(out, want) != 0)
    fail_msg("%s\n  want ok: %s\n  got %d: %s", code, want, status, out);
}

static void expect_error(lua_sandbox *sb, const char *code, const char *want) {
  char out[1024];
  int status = sandbox_test_eval(sb, code, out, sizeof out);
  if (status == LUA_OK || strcmp(out, want) != 0)
    fail_msg("%s\n  want error: %s\n  got %d: %s", code, want, status, out);
}

static uint64_t ms_since(uint64_t t0) { return (uv_hrtime() - t0) / 1000000; }

static void test_sandbox_instruction_limit(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/spin.lua", 1000000, 60000);
  expect_error(sb, "local n = 0\nwhile true do\n  n = n + 1\nend",
               "tools/spin.lua:3: instruction limit (1000000) exceeded");
  /* The next entry has a fresh budget. */
  expect_ok(sb, "local n = 0 for i = 1, 1000 do n = n + i end return n", "500500");
  lua_sandbox_free(sb);
}

static void test_sandbox_time_limit(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/slow.lua", UINT64_MAX, 200);
  uint64_t t0 = uv_hrtime();
  expect_error(sb, "while true do end", "tools/slow.lua:1: time limit (200 ms) exceeded");
  uint64_t ms = ms_since(t0);
  assert_true(ms >= 190 && ms < 3000);
  lua_sandbox_free(sb);
}

/* Once tripped, a limit stays tripped: pcall and xpcall cannot swallow it.
 * The pcall on line 2 catches the first raise; the very next instruction
 * (line 3) raises again, and that one ends the chunk. */
static void test_sandbox_limit_survives_pcall(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/sly.lua", 100000, 60000);
  expect_error(sb,
               "for i = 1, 1e9 do\n"
               "  pcall(function() while true do end end)\n"
               "  xpcall(function() while true do end end, function() while true do end end)\n"
               "end\n"
               "return 'escaped'",
               "tools/sly.lua:3: instruction limit (100000) exceeded");
  lua_sandbox_free(sb);
}

static void test_sandbox_memory_limit(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/bomb.lua", UINT64_MAX, 60000);
  expect_error(sb,
               "local t = {}\n"
               "local i = 0\n"
               "while true do\n"
               "  i = i + 1\n"
               "  t[i] = ('x'):rep(1000) .. i\n"
               "end",
               "tools/bomb.lua:5: memory limit (16 MiB) exceeded");
  /* Memory never passed the cap, and returns under it for the next call. */
  assert_true(lua_sandbox_memory_used(sb) < TEST_MEMORY_BYTES / 8);
  expect_ok(sb, "return #('y'):rep(1000000)", "1000000");
  lua_sandbox_free(sb);
}

/* A script that catches its memory errors is still stopped by the budget. */
static void test_sandbox_memory_errors_caught_then_budget(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/bomb.lua", 2000000, 60000);
  char out[512];
  assert_int_not_equal(
      sandbox_test_eval(sb,
                        "while true do\n"
                        "  pcall(function() local t = {} while true do t[#t + 1] = {} end end)\n"
                        "end",
                        out, sizeof out),
      LUA_OK);
  assert_non_null(strstr(out, "instruction limit (2000000) exceeded"));
  assert_true(lua_sandbox_memory_used(sb) < TEST_MEMORY_BYTES / 8);
  lua_sandbox_free(sb);
}

static void test_sandbox_string_rep_cap(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/rep.lua", 1000000, 60000);
  expect_error(sb, "return ('x'):rep(1e9)",
               "tools/rep.lua:1: string.rep: the result would exceed the memory limit (16 MiB)");
  expect_error(sb, "return ('x'):rep(2^40, ',')",
               "tools/rep.lua:1: string.rep: the result would exceed the memory limit (16 MiB)");
  expect_ok(sb, "return ('ab'):rep(3, '-')", "ab-ab-ab");
  expect_ok(sb, "return ('ab'):rep(0)", "");
  expect_ok(sb, "return ('ab'):rep(-3, 'x')", "");
  expect_ok(sb, "return ('a'):rep(3, '')", "aaa");
  expect_ok(sb, "return (''):rep(3, ',')", ",,");
  lua_sandbox_free(sb);
}

/* A state near its cap with garbage in it: rep's allocations collect the
 * garbage and retry, as Lua's own allocations do (a luaL_Buffer's would
 * fail at once). */
static void test_sandbox_string_rep_collects_first(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/rep.lua", UINT64_MAX, 60000);
  expect_ok(sb,
            "local keep = {}\n"
            "for round = 1, 3 do\n"
            "  keep = {}\n"
            "  for i = 1, 14 * 16 do keep[i] = ('x'):rep(65536 - 32) .. i end\n"
            "end\n"
            "return #keep",
            "224");
  lua_sandbox_free(sb);
}

/* Lua's own rep loops n times even when every piece is empty: a C loop no
 * hook can stop. Each of these must end at once. */
static void test_sandbox_string_rep_of_nothing(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/rep.lua", 1000000, 500);
  uint64_t t0 = uv_hrtime();
  expect_ok(sb, "return #string.rep('', math.maxinteger)", "0");
  expect_ok(sb, "return #string.rep('', math.maxinteger, '')", "0");
  expect_ok(sb, "return #(''):rep(math.maxinteger)", "0");
  assert_true(ms_since(t0) < 400);
  lua_sandbox_free(sb);
}

/* A rep of any count is a few dozen copies (by doubling): 7 million pieces
 * with separators, or 7 million bytes one at a time, take milliseconds, and
 * the pieces land where they belong. */
static void test_sandbox_string_rep_doubles(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/rep.lua", UINT64_MAX, 60000);
  uint64_t t0 = uv_hrtime();
  expect_ok(sb, "return #('').rep('', 7000000, 'x')", "6999999");
  expect_ok(sb, "return #('y'):rep(7000000)", "7000000");
  assert_true(ms_since(t0) < 1000);
  expect_ok(sb,
            "local s = ('ab'):rep(1000, '-') return #s .. s:sub(1, 8) .. s:sub(-5) .. "
            "select(2, s:gsub('ab', ''))",
            "2999ab-ab-abab-ab1000");
  expect_ok(sb, "return ('abc'):rep(5, ', ')", "abc, abc, abc, abc, abc");
  expect_ok(sb, "return ('x'):rep(7) .. ('xy'):rep(2, '') .. (''):rep(5, 'ab')",
            "xxxxxxxxyxyabababab");
  lua_sandbox_free(sb);
}

/* Each escape is refused: the global is missing or the call fails. */
static void test_sandbox_no_escapes(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/esc.lua", 1000000, 5000);
  static const char *const absent[] = {
      "io",
      "debug",
      "package",
      "require",
      "dofile",
      "loadfile",
      "print",
      "coroutine",
      "os.execute",
      "os.getenv",
      "os.remove",
      "os.rename",
      "os.exit",
      "os.tmpname",
      "string.dump",
      "warn",
      "collectgarbage == nil and 1 or nil",
  };
  char code[256];
  for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
    snprintf(code, sizeof code, "return %s == nil", absent[i]);
    expect_ok(sb, code, "true");
  }
  expect_ok(sb, "return type(os.time()) .. type(os.clock()) .. type(os.date('%Y'))",
            "numbernumberstring");
  expect_error(sb, "return os.execute('true')",
               "tools/esc.lua:1: attempt to call a nil value (field 'execute')");
  lua_sandbox_free(sb);
}

/* The escapes the issue lists, each tried the way a script would try it:
 * every attempt ends in an error that names the file, the line and what
 * was missing or refused. */
static void test_sandbox_escapes_tried(void **state) {
  (void)state;
  static const struct {
    const char *code;
    const char *error;
  } tries[] = {
      {"local f = io.open('/etc/passwd')",
       "tools/esc.lua:1: attempt to index a nil value (global 'io')"},
      {"\nio.popen('id'):read('a')", "tools/esc.lua:2: attempt to index a nil value (global 'io')"},
      {"os.execute('touch /tmp/breakglass-escaped')",
       "tools/esc.lua:1: attempt to call a nil value (field 'execute')"},
      {"return os.getenv('HOME')", "tools/esc.lua:1: attempt to call a nil value (field 'getenv')"},
      {"os.remove('/etc/hostname')",
       "tools/esc.lua:1: attempt to call a nil value (field 'remove')"},
      {"os.exit(1)", "tools/esc.lua:1: attempt to call a nil value (field 'exit')"},
      {"return debug.getregistry()",
       "tools/esc.lua:1: attempt to index a nil value (global 'debug')"},
      {"debug.sethook()", "tools/esc.lua:1: attempt to index a nil value (global 'debug')"},
      {"return package.loadlib('libc.so.6', 'system')",
       "tools/esc.lua:1: attempt to index a nil value (global 'package')"},
      {"package.path = '/tmp/?.lua'",
       "tools/esc.lua:1: attempt to index a nil value (global 'package')"},
      {"return require('os')", "tools/esc.lua:1: attempt to call a nil value (global 'require')"},
      {"return require('tools.other')",
       "tools/esc.lua:1: attempt to call a nil value (global 'require')"},
      {"return dofile('/etc/passwd')",
       "tools/esc.lua:1: attempt to call a nil value (global 'dofile')"},
      {"return loadfile('/etc/passwd')",
       "tools/esc.lua:1: attempt to call a nil value (global 'loadfile')"},
      /* Bytecode in: refused whatever mode the script asks for. */
      {"assert(load('\\27Lua\\84\\0\\25\\147\\r\\n\\26\\n\\4\\8\\8'))",
       "tools/esc.lua:1: attempt to load a binary chunk (mode is 't')"},
      {"assert(load('\\27Lua\\84\\0', 'x', 'bt'))",
       "tools/esc.lua:1: attempt to load a binary chunk (mode is 't')"},
      /* Bytecode out: string.dump is gone from the library and the methods. */
      {"return string.dump(function() end)",
       "tools/esc.lua:1: attempt to call a nil value (field 'dump')"},
      {"return (''):dump()", "tools/esc.lua:1: attempt to call a nil value (method 'dump')"},
      /* The string metatable: hidden, and the string methods unchangeable. */
      {"return getmetatable('').__index", "tools/esc.lua:1: attempt to index a boolean value"},
      {"getmetatable('').__index.upper = nil", "tools/esc.lua:1: attempt to index a boolean value"},
      {"setmetatable('', {})",
       "tools/esc.lua:1: bad argument #1 to 'setmetatable' (table expected, got string)"},
      {"rawset(getmetatable(''), '__index', {})",
       "tools/esc.lua:1: bad argument #1 to 'rawset' (table expected, got boolean)"},
      {"string.upper = function() return 'owned' end", "tools/esc.lua:1: string is read-only"},
      {"('x').upper = 1", "tools/esc.lua:1: attempt to index a string value (constant 'x')"},
      /* Coroutines are the host's: a script cannot make or yield its own. */
      {"coroutine.yield()", "tools/esc.lua:1: attempt to index a nil value (global 'coroutine')"},
  };
  lua_sandbox *sb = new_sandbox("tools/esc.lua", 1000000, 5000);
  for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++)
    expect_error(sb, tries[i].code, tries[i].error);
  /* The state is still whole after every refusal. */
  expect_ok(sb, "return ('x'):upper() .. #string.format('%5s', '')", "X5");
  lua_sandbox_free(sb);
}

/* Bytecode can break the VM: load accepts text only, whatever mode says. */
static void test_sandbox_no_binary_chunks(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/bin.lua", 1000000, 5000);
  expect_ok(sb,
            "local f, err = load('\\27Lua\\84\\0\\25\\147\\r\\n\\26\\n\\4\\8\\8', 'x', 'b')\n"
            "return tostring(f) .. ' ' .. err",
            "nil attempt to load a binary chunk (mode is 't')");
  expect_error(sb, "return load(function() return nil end)",
               "tools/bin.lua:1: bad argument #1 to 'load' (string expected, got function)");
  /* Text chunks work, with the environment given. */
  expect_ok(sb, "local env = {} load('x = 41 + 1', 'c', 't', env)() return env.x", "42");
  expect_ok(sb, "y = 7 return load('return y')()", "7");
  lua_sandbox_free(sb);
}

static void test_sandbox_read_only_libraries(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/meta.lua", 1000000, 5000);
  expect_ok(sb, "return getmetatable('')", "false");
  expect_error(sb, "string.upper = nil", "tools/meta.lua:1: string is read-only");
  expect_error(sb, "table.x = 1", "tools/meta.lua:1: table is read-only");
  expect_error(sb, "json.encode = print", "tools/meta.lua:1: json is read-only");
  expect_error(sb, "setmetatable(math, {})",
               "tools/meta.lua:1: cannot change a protected metatable");
  /* rawset reaches only the script's own proxy, never the string methods. */
  expect_ok(sb, "rawset(string, 'upper', function() return 'owned' end) return ('x'):upper()", "X");
  expect_ok(sb, "local n = 0 for k in pairs(string) do n = n + 1 end return n > 10", "true");
  expect_ok(sb, "return ('%d'):format(3) .. string.format('%s', 'x')", "3x");
  lua_sandbox_free(sb);
}

static void test_sandbox_restricted_functions(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/gc.lua", 1000000, 5000);
  expect_error(sb, "collectgarbage()",
               "tools/gc.lua:1: collectgarbage: only \"count\" is available");
  expect_error(sb, "collectgarbage('stop')",
               "tools/gc.lua:1: collectgarbage: only \"count\" is available");
  expect_ok(sb, "return math.type(collectgarbage('count'))", "float");
  expect_error(sb, "setmetatable({}, {__gc = function() while true do end end})",
               "tools/gc.lua:1: setmetatable: __gc metamethods are not available");
  expect_ok(sb, "local t = setmetatable({}, {__index = function() return 5 end}) return t.x", "5");
  expect_error(sb, "table.insert(setmetatable({}, {__len = function() return 1e15 end}), 1, 2)",
               "tools/gc.lua:1: table.insert: tables with a __len metamethod are not supported");
  expect_error(sb, "table.move({}, 1, math.maxinteger, 2)",
               "tools/gc.lua:1: table.move: more than 4194304 elements");
  expect_ok(sb,
            "local t = {3, 1, 2} table.sort(t) table.insert(t, 4) table.remove(t, 1)"
            " return table.concat(table.move(t, 1, 3, 1, {}), ',')",
            "2,3,4");
  lua_sandbox_free(sb);
}

/* A function called from C (pcall here) has no name at its call site: Lua
 * finds one in the loaded libraries, as it does for its own functions. */
static void test_sandbox_errors_name_functions_under_pcall(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/name.lua", 1000000, 5000);
  static const char *const cases[][2] = {
      {"string.gsub('a', 'a', 'b', 1.5)",
       "bad argument #4 to 'string.gsub' (number has no integer representation)"},
      {"string.find('a', {})", "bad argument #2 to 'string.find' (string expected, got table)"},
      {"string.rep('a', 'x')", "bad argument #2 to 'string.rep' (number expected, got string)"},
      {"string.format('%d', 'x')",
       "bad argument #2 to 'string.format' (number expected, got string)"},
      {"table.sort({2, 1}, 1)", "bad argument #2 to 'table.sort' (function expected, got number)"},
      {"os.date({})", "bad argument #1 to 'os.date' (string expected, got table)"},
      {"table.insert(1, 2)", "bad argument #1 to 'table.insert' (table expected, got number)"},
      {"table.move({}, 'x', 2, 1)",
       "bad argument #2 to 'table.move' (number expected, got string)"},
      {"string.format({})", "bad argument #1 to 'string.format' (string expected, got table)"},
  };
  char code[256];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *call = cases[i][0];
    const char *paren = strchr(call, '(');
    snprintf(code, sizeof code, "return select(2, pcall(%.*s, %.*s))", (int)(paren - call), call,
             (int)(strlen(paren) - 2), paren + 1);
    expect_ok(sb, code, cases[i][1]);
  }
  lua_sandbox_free(sb);
}

static void test_sandbox_error_objects(void **state) {
  (void)state;
  lua_sandbox *sb = new_sandbox("tools/err.lua", 1000000, 5000);
  expect_error(sb, "local x = 1\nerror('boom')", "tools/err.lua:2: boom");
  expect_error(sb, "\nerror('bare', 0)", "tools/err.lua:2: bare");
  expect_error(sb, "\n\nerror({code = 7, why = 'x'})",
               "tools/err.lua:3: {\"code\":7,\"why\":\"x\"}");
  expect_error(sb, "error()", "tools/err.lua:1: (error object is a nil value)");
  expect_error(sb, "error(42)", "tools/err.lua:1: 42");
  expect_error(sb, "local t = nil\nreturn t.x",
               "tools/err.lua:2: attempt to index a nil value (local 't')");
  /* An error inside a chunk made by load names both places. */
  expect_error(sb, "\nload('error(\"in\")', '=inner')()", "tools/err.lua:2: inner:1: in");
  char out[256];
  assert_int_equal(sandbox_test_eval(sb, "return +", out, sizeof out), LUA_ERRSYNTAX);
  assert_string_equal(out, "tools/err.lua:1: unexpected symbol near '+'");
  lua_sandbox_free(sb);
}

/* Scripts live in separate states: nothing one does reaches another. */
static void test_sandbox_isolation(void **state) {
  (void)state;
  lua_sandbox *a = new_sandbox("tools/a.lua", 1000000, 5000);
  lua_sandbox *b = new_sandbox("tools/b.lua", 1000000, 5000);
  expect_ok(a, "secret = 'a' rawset(string, 'secret', 1) return secret .. string.secret", "a1");
  expect_ok(b, "return tostring(secret) .. tostring(string.secret)", "nilnil");
  lua_sandbox_free(a);
  lua_sandbox_free(b);
}

static void test_sandbox_too_small(void **state) {
  (void)state;
  lua_sandbox_limits limits = {
      .memory_bytes = 4096, .instructions = 1000, .entry_timeout_ms = 100, .max_json_bytes = 100};
  lua_sandbox *sb = NULL;
  char err[256];
  assert_int_equal(lua_sandbox_new(&sb, "tools/tiny.lua", &limits, err, sizeof err), -1);
  assert_null(sb);
  assert_non_null(strstr(err, "tools/tiny.lua: "));
  assert_non_null(strstr(err, "4 KiB"));
}

/* --- the budget states share ---------------------------------------------- */

#define TEST_BUDGET_BYTES (24u << 20)

static lua_sandbox *budget_sandbox(const char *name, lua_sandbox_budget *budget) {
  lua_sandbox_limits limits = {
      .memory_bytes = TEST_MEMORY_BYTES,
      .budget = budget,
      .instructions = UINT64_MAX,
      .entry_timeout_ms = 60000,
      .max_json_bytes = 1 << 20,
  };
  return sandbox_test_new(name, &limits);
}

/* Holds about mib MiB in the global keep (what it held before becomes
 * garbage), in 64 KiB pieces. */
static const char hold_src[] = "local mib = ...\n"
                               "keep = {}\n"
                               "for i = 1, mib * 16 do keep[i] = ('x'):rep(65536 - 32) .. i end\n"
                               "return 'held'";

static int hold(lua_sandbox *sb, int mib, char *out, size_t outlen) {
  int ref, nres;
  lua_State *co = lua_sandbox_thread_new(sb, &ref, out, outlen);
  assert_non_null(co);
  assert_int_equal(lua_sandbox_load(sb, co, hold_src, strlen(hold_src), out, outlen), 0);
  lua_pushinteger(co, mib);
  int status = lua_sandbox_resume(sb, co, 1, &nres, out, outlen);
  if (status == LUA_OK) snprintf(out, outlen, "%s", lua_tostring(co, -1));
  lua_sandbox_thread_drop(sb, ref);
  lua_sandbox_collect(sb);
  return status;
}

/* Two states, each under its own 16 MiB cap, may not hold more than the
 * 24 MiB they share: the one that asks past it gets the error, naming the
 * budget's setting, and the other keeps what it has. */
static void test_sandbox_shared_budget(void **state) {
  (void)state;
  lua_sandbox_budget budget = {.limit_bytes = TEST_BUDGET_BYTES, .setting = "TEST_TOTAL_MB"};
  lua_sandbox *a = budget_sandbox("policy/a.lua", &budget);
  lua_sandbox *b = budget_sandbox("policy/b.lua", &budget);
  assert_int_equal(budget.used_bytes, lua_sandbox_memory_used(a) + lua_sandbox_memory_used(b));
  char out[256];
  assert_int_equal(hold(a, 14, out, sizeof out), LUA_OK);
  assert_int_equal(hold(b, 14, out, sizeof out), LUA_ERRMEM);
  assert_string_equal(out, "policy/b.lua:3: memory limit of all Lua scripts together "
                           "(24 MiB, TEST_TOTAL_MB) exceeded");
  assert_true(budget.used_bytes <= TEST_BUDGET_BYTES);
  /* Within the budget's remainder b works; its own cap still says so. */
  assert_int_equal(hold(b, 6, out, sizeof out), LUA_OK);
  expect_error(b, "local t = {} for i = 1, 1e9 do t[i] = ('y'):rep(65536) .. i end",
               "policy/b.lua:1: memory limit of all Lua scripts together (24 MiB, TEST_TOTAL_MB) "
               "exceeded");
  /* a's memory goes back to the budget when a goes. */
  lua_sandbox_free(a);
  assert_int_equal(hold(b, 16, out, sizeof out), LUA_ERRMEM);
  assert_string_equal(out, "policy/b.lua:3: memory limit (16 MiB) exceeded");
  assert_int_equal(hold(b, 12, out, sizeof out), LUA_OK);
  lua_sandbox_free(b);
  assert_int_equal(budget.used_bytes, 0);
}

/* A state that cannot even be made, and a chunk that cannot be compiled,
 * within what is left say so too. */
static void test_sandbox_budget_at_creation_and_compile(void **state) {
  (void)state;
  lua_sandbox_budget budget = {.limit_bytes = TEST_BUDGET_BYTES, .setting = "TEST_TOTAL_MB"};
  lua_sandbox *a = budget_sandbox("tools/a.lua", &budget);
  char out[256];
  lua_sandbox_limits limits = {
      .memory_bytes = TEST_MEMORY_BYTES,
      .budget = &budget,
      .instructions = UINT64_MAX,
      .entry_timeout_ms = 60000,
      .max_json_bytes = 1 << 20,
  };
  budget.limit_bytes = budget.used_bytes + 1024;
  lua_sandbox *b = NULL;
  assert_int_equal(lua_sandbox_new(&b, "tools/b.lua", &limits, out, sizeof out), -1);
  assert_null(b);
  assert_non_null(strstr(out, "tools/b.lua: cannot create a Lua state within the memory limit "
                              "of all Lua scripts together ("));
  assert_non_null(strstr(out, " bytes, TEST_TOTAL_MB)"));
  budget.limit_bytes = budget.used_bytes + 4096;
  int ref;
  lua_State *co = lua_sandbox_thread_new(a, &ref, out, sizeof out);
  assert_non_null(co);
  static const char big[] = "return {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, "
                            "18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34}";
  char src[8192] = "local x = 0\n";
  while (strlen(src) + sizeof big + 16 < sizeof src) strcat(src, "x = x + 1\n");
  strcat(src, big);
  assert_int_equal(lua_sandbox_load(a, co, src, strlen(src), out, sizeof out), -1);
  assert_non_null(strstr(out, "tools/a.lua: memory limit of all Lua scripts together ("));
  assert_non_null(strstr(out, " bytes, TEST_TOTAL_MB) exceeded while compiling"));
  lua_sandbox_thread_drop(a, ref);
  lua_sandbox_free(a);
  assert_int_equal(budget.used_bytes, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sandbox_instruction_limit),
      cmocka_unit_test(test_sandbox_time_limit),
      cmocka_unit_test(test_sandbox_limit_survives_pcall),
      cmocka_unit_test(test_sandbox_memory_limit),
      cmocka_unit_test(test_sandbox_memory_errors_caught_then_budget),
      cmocka_unit_test(test_sandbox_string_rep_cap),
      cmocka_unit_test(test_sandbox_string_rep_collects_first),
      cmocka_unit_test(test_sandbox_string_rep_of_nothing),
      cmocka_unit_test(test_sandbox_string_rep_doubles),
      cmocka_unit_test(test_sandbox_no_escapes),
      cmocka_unit_test(test_sandbox_escapes_tried),
      cmocka_unit_test(test_sandbox_no_binary_chunks),
      cmocka_unit_test(test_sandbox_read_only_libraries),
      cmocka_unit_test(test_sandbox_restricted_functions),
      cmocka_unit_test(test_sandbox_errors_name_functions_under_pcall),
      cmocka_unit_test(test_sandbox_error_objects),
      cmocka_unit_test(test_sandbox_isolation),
      cmocka_unit_test(test_sandbox_too_small),
      cmocka_unit_test(test_sandbox_shared_budget),
      cmocka_unit_test(test_sandbox_budget_at_creation_and_compile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
