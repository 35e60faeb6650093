/* The ctx a policy hook receives (now_ms, history, actions, log), and the t
 * a self_test receives, whose t.ctx builds a stand-in ctx over plain tables
 * so that a policy can try its own before on made-up histories. */
#include "lua_policy_ctx.h"

#include <lauxlib.h>
#include <stdio.h>

#include "limits_table.h"
#include "log.h"
#include "lua_ctx.h"
#include "lua_json.h"
#include "lua_policy_list.h"

/* Every ctx function has the entry's token as upvalue 1. */
static lua_policy_ctx *pctx_get(lua_State *L, const char *fname) {
  lua_policy_ctx **token = lua_touserdata(L, lua_upvalueindex(1));
  if (!*token) luaL_error(L, "ctx.%s: this ctx belongs to a policy call that has ended", fname);
  return *token;
}

static int pctx_now_ms(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pctx_get(L, "now_ms")->now_ms);
  return 1;
}

/* Views, not copies (lua_policy_list.c): O(1) whatever the list's length. */
static int pctx_history(lua_State *L) {
  pctx_get(L, "history");
  lua_policy_list_push(L, lua_upvalueindex(1), 0);
  return 1;
}

static int pctx_actions(lua_State *L) {
  pctx_get(L, "actions");
  lua_policy_list_push(L, lua_upvalueindex(1), 1);
  return 1;
}

static const char *call_string(const lua_policy_ctx *c, const char *field) {
  const char *s = json_string_value(json_object_get(c->view->call, field));
  return s ? s : "";
}

static int pctx_log(lua_State *L) {
  const lua_policy_ctx *c = pctx_get(L, "log");
  size_t len;
  const char *msg = luaL_checklstring(L, 1, &len);
  char quoted[LUA_CTX_LOG_MAX_BYTES + 8];
  lua_ctx_quote(quoted, sizeof quoted, msg, len);
  log_info("lua %s (session %s, call %s): %s", c->file, call_string(c, "session_id"),
           call_string(c, "call_id"), quoted);
  return 0;
}

static const luaL_Reg pctx_functions[] = {
    {"now_ms", pctx_now_ms},
    {"history", pctx_history},
    {"actions", pctx_actions},
    {"log", pctx_log},
    {NULL, NULL},
};

void lua_policy_ctx_push(lua_State *L, lua_policy_ctx *c) {
  lua_createtable(L, 0, 4);                                        /* ctx */
  lua_policy_ctx **token = lua_newuserdatauv(L, sizeof *token, 0); /* ctx token */
  *token = c;
  c->token = token;
  c->token_ref = lua_ctx_bind(L, pctx_functions);
  lua_pop(L, 1); /* ctx */
}

void lua_policy_ctx_end(lua_sandbox *sb, lua_policy_ctx *c) {
  if (c->token) *c->token = NULL;
  luaL_unref(lua_sandbox_state(sb), LUA_REGISTRYINDEX, c->token_ref);
  c->token = NULL;
  c->token_ref = LUA_NOREF;
}

/* --- self_test's t --------------------------------------------------------------- */

/* Stand-in ctx functions: upvalue 1 is the table given to t.ctx. */
static int fake_now_ms(lua_State *L) {
  lua_pushstring(L, "now_ms");
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNUMBER || !lua_isinteger(L, -1))
    return luaL_error(L, "ctx.now_ms: t.ctx was given no integer now_ms");
  return 1;
}

static int fake_list(lua_State *L, const char *field) {
  lua_pushstring(L, field);
  if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL) lua_newtable(L);
  return 1;
}

static int fake_history(lua_State *L) { return fake_list(L, "history"); }

static int fake_actions(lua_State *L) { return fake_list(L, "actions"); }

static int fake_log(lua_State *L) {
  luaL_checkstring(L, 1);
  return 0;
}

static const luaL_Reg fake_functions[] = {
    {"now_ms", fake_now_ms},
    {"history", fake_history},
    {"actions", fake_actions},
    {"log", fake_log},
    {NULL, NULL},
};

/* t.ctx{now_ms = ..., history = {...}, actions = {...}} */
static int test_ctx(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_createtable(L, 0, 4); /* ctx */
  lua_pushvalue(L, 1);
  luaL_setfuncs(L, fake_functions, 1);
  return 1;
}

void lua_policy_test_push(lua_State *L) {
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, test_ctx);
  lua_setfield(L, -2, "ctx");
}
