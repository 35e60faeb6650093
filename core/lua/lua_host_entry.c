/* What every kind of script file shares: a name's check, a table's
 * unknown fields, one synchronous entry into a sandbox (the prompt, a
 * policy hook, a tool's mutating function), and the lookup of a tool.
 * Below lua_host.c, lua_policy.c and lua_tool_call.c, which use it. */
#include "lua_host_entry.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "limits_table.h"
#include "lua_json.h"

int lua_host_name_ok(const char *s, size_t len) {
  if (len == 0 || len > LUA_HOST_NAME_MAX_CHARS) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return 0;
  }
  return 1;
}

int lua_host_unknown_field(lua_State *L, const char *const *fields, char *err, size_t errlen) {
  lua_pushnil(L);
  while (lua_next(L, 1)) { /* table key value */
    lua_pop(L, 1);
    int known = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
      for (const char *const *f = fields; *f; f++)
        known = known || strcmp(*f, lua_tostring(L, -1)) == 0;
    }
    if (known) continue;
    int named = lua_type(L, -1) == LUA_TSTRING;
    int at = snprintf(err, errlen, "unknown field %s%s%s (fields:", named ? "'" : "(a ",
                      named ? lua_tostring(L, -1) : luaL_typename(L, -1), named ? "'" : ")");
    for (const char *const *f = fields; *f && at > 0 && (size_t)at < errlen; f++)
      at += snprintf(err + at, errlen - (size_t)at, "%s %s", f == fields ? "" : ",", *f);
    if (at > 0 && (size_t)at < errlen) snprintf(err + at, errlen - (size_t)at, ")");
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}

const lua_host_tool *lua_host_tool_find(const lua_host *h, const char *name) {
  for (size_t i = 0; i < h->tool_count; i++) {
    if (strcmp(h->tools[i].name, name) == 0) return &h->tools[i];
  }
  return NULL;
}

typedef struct entry_setup {
  lua_State *co;
  int (*push)(lua_State *L, void *ud);
  void *ud;
  int nargs;
} entry_setup;

/* Protected: the function and its arguments onto the coroutine. */
static int entry_setup_fn(lua_State *L) {
  entry_setup *e = lua_touserdata(L, 1);
  lua_settop(L, 0);
  e->nargs = e->push(L, e->ud);
  lua_xmove(L, e->co, e->nargs + 1); /* co: function args... */
  return 0;
}

int lua_host_entry_run(lua_sandbox *sb, int (*push)(lua_State *L, void *ud), void *ud,
                       size_t max_json_bytes, json_t **result, char *err, size_t errlen) {
  entry_setup e = {.push = push, .ud = ud};
  int co_ref = LUA_NOREF;
  int nres = 0;
  *result = NULL;
  e.co = lua_sandbox_thread_reuse(sb, &co_ref, err, errlen);
  if (!e.co) return -1;
  int status = LUA_ERRRUN;
  if (lua_sandbox_protect(sb, entry_setup_fn, &e, err, errlen) == 0) {
    status = lua_sandbox_resume(sb, e.co, e.nargs, &nres, err, errlen);
    if (status == LUA_YIELD)
      snprintf(err, errlen, "%s: the function yielded", lua_sandbox_name(sb));
  }
  if (status == LUA_OK && nres == 0) {
    *result = json_null();
  } else if (status == LUA_OK) {
    char jerr[LUA_JSON_ERROR_MAX_BYTES];
    *result = lua_json_from_lua(e.co, lua_gettop(e.co) - nres + 1, max_json_bytes, jerr,
                                sizeof jerr);
    if (!*result)
      snprintf(err, errlen, "%s: the result cannot be read: %s", lua_sandbox_name(sb), jerr);
  }
  lua_sandbox_thread_done(sb, e.co, co_ref);
  return *result ? 0 : -1;
}
