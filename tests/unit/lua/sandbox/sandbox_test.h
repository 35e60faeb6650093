/* What the sandbox's unit tests share: a sandbox made or the test failed,
 * and a chunk run to its end. Each test is one translation unit that
 * includes cmocka.h, string.h and lua_sandbox.h first, so these are
 * static inline: a test that uses one of them does not warn of the others. */
#ifndef SANDBOX_TEST_H
#define SANDBOX_TEST_H

#include <lauxlib.h>
#include <stdio.h>

static inline lua_sandbox *sandbox_test_new(const char *name, const lua_sandbox_limits *limits) {
  lua_sandbox *sb;
  char err[256];
  if (lua_sandbox_new(&sb, name, limits, err, sizeof err) < 0) fail_msg("%s", err);
  return sb;
}

/* Runs code as a chunk of sb; returns the status (LUA_ERRSYNTAX when it
 * does not load). out gets the first result as luaL_tolstring gives it, or
 * the error; it is empty when there is neither. */
static inline int sandbox_test_eval(lua_sandbox *sb, const char *code, char *out, size_t outlen) {
  int ref, nres;
  out[0] = '\0';
  lua_State *co = lua_sandbox_thread_new(sb, &ref, out, outlen);
  assert_non_null(co);
  int status = LUA_ERRSYNTAX;
  if (lua_sandbox_load(sb, co, code, strlen(code), out, outlen) == 0) {
    status = lua_sandbox_resume(sb, co, 0, &nres, out, outlen);
    if (status == LUA_OK && nres > 0) snprintf(out, outlen, "%s", luaL_tolstring(co, -nres, NULL));
  }
  lua_sandbox_thread_drop(sb, ref);
  lua_sandbox_collect(sb);
  return status;
}

/* sandbox_test_eval of code, which must load. */
static inline int sandbox_test_run(lua_sandbox *sb, const char *code, char *err, size_t errlen) {
  int status = sandbox_test_eval(sb, code, err, errlen);
  assert_int_not_equal(status, LUA_ERRSYNTAX);
  return status;
}

#endif
