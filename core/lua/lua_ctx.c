/* The ctx object a tool handler receives: who is calling, logging, output,
 * and the asynchronous operations (ctx.sleep and the core's services),
 * which yield the handler's coroutine until they complete (the OpenResty
 * cosocket pattern: one pending operation, one completion path). */
#include "lua_ctx.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "limits_table.h"
#include "log.h"
#include "lua_async.h"
#include "lua_host_internal.h"
#include "lua_json.h"

/* Every ctx function has the call's token as upvalue 1. The token outlives
 * the call when a script keeps ctx around, so it is checked on each use. */
static lua_tool_call *ctx_call(lua_State *L, const char *fname) {
  lua_tool_call **token = lua_touserdata(L, lua_upvalueindex(1));
  lua_tool_call *call = *token;
  if (!call) luaL_error(L, "ctx.%s: this ctx belongs to a tool call that has ended", fname);
  if (call->co != L) luaL_error(L, "ctx.%s: this ctx belongs to another tool call", fname);
  return call;
}

static int ctx_now_ms(lua_State *L) {
  ctx_call(L, "now_ms");
  lua_pushinteger(L, (lua_Integer)log_now_ms());
  return 1;
}

void lua_ctx_quote(char *out, size_t outlen, const char *msg, size_t len) {
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < len && o + 6 < outlen; i++) {
    unsigned char c = (unsigned char)msg[i];
    if (c == '"' || c == '\\')
      o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
    else
      out[o++] = (char)c;
  }
  out[o++] = '"';
  out[o] = '\0';
}

static int ctx_log(lua_State *L) {
  lua_tool_call *call = ctx_call(L, "log");
  size_t len;
  const char *msg = luaL_checklstring(L, 1, &len);
  char quoted[LUA_CTX_LOG_MAX_BYTES + 8];
  lua_ctx_quote(quoted, sizeof quoted, msg, len);
  /* A handler resumed by I/O runs outside its action's steps: its call
   * names the context. */
  log_context ctx = *log_context_now();
  log_context_set(&ctx, NULL, call->info.session_id, call->info.call_id, call->info.identity);
  log_context previous = log_context_enter(&ctx);
  log_info("lua %s (session %s, call %s): %s", lua_sandbox_name(call->tool->sb),
           call->info.session_id, call->info.call_id, quoted);
  log_context_leave(&previous);
  return 0;
}

static int ctx_output(lua_State *L) {
  lua_tool_call *call = ctx_call(L, "output");
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  if (call->cbs.on_output) call->cbs.on_output(call->ud, text, len);
  return 0;
}

/* The values an operation ends with, or its error. Frees the operation
 * once what it holds is on the Lua stack. */
static int ctx_op_results(lua_State *L, lua_tool_call *call) {
  lua_async *op = call->op;
  if (op->state == LUA_ASYNC_FAILED) {
    luaL_where(L, 1);
    lua_pushfstring(L, "ctx.%s: %s", op->name, op->message ? op->message : "the operation failed");
    lua_concat(L, 2);
    lua_async_free(call);
    return lua_error(L);
  }
  int n = 0;
  if (op->result) {
    lua_json_push(L, op->result);
    n = 1;
  }
  lua_async_free(call);
  return n;
}

static int ctx_op_continue(lua_State *L, int status, lua_KContext k) {
  (void)status;
  (void)k;
  return ctx_op_results(L, ctx_call(L, "resume"));
}

/* An operation can only wait where the handler's coroutine can yield: not
 * inside a C function that called back into Lua (string.gsub, table.sort). */
static lua_tool_call *ctx_async_call(lua_State *L, const char *fname) {
  lua_tool_call *call = ctx_call(L, fname);
  if (!lua_isyieldable(L))
    luaL_error(L,
               "ctx.%s: cannot wait inside a function called from C (such as a string.gsub "
               "replacement or a table.sort comparator)",
               fname);
  return call;
}

/* After an operation's start: finished already, failed, or yield. */
static int ctx_op_wait(lua_State *L, lua_tool_call *call, int start_rc) {
  lua_async *op = call->op;
  if (start_rc < 0 && op->state != LUA_ASYNC_FAILED)
    op->state = LUA_ASYNC_FAILED; /* a start that failed without saying why */
  if (op->state != LUA_ASYNC_STARTING) return ctx_op_results(L, call);
  op->state = LUA_ASYNC_PENDING;
  return lua_yieldk(L, 0, 0, ctx_op_continue);
}

static int ctx_sleep(lua_State *L) {
  lua_tool_call *call = ctx_async_call(L, "sleep");
  lua_Number ms = luaL_checknumber(L, 1);
  if (!(ms >= 0 && ms <= LUA_CTX_SLEEP_MAX_MS))
    return luaL_error(L, "ctx.sleep: ms must be between 0 and %d", LUA_CTX_SLEEP_MAX_MS);
  if (!lua_async_begin(call, "sleep")) return luaL_error(L, "ctx.sleep: out of memory");
  lua_async_sleep_start(call, (uint64_t)ceil(ms));
  return ctx_op_wait(L, call, 0);
}

/* ctx.<service>(...): upvalue 2 is the lua_host_service. */
static int ctx_service(lua_State *L) {
  const lua_host_service *svc = lua_touserdata(L, lua_upvalueindex(2));
  lua_tool_call *call = ctx_async_call(L, svc->name);
  char err[LUA_JSON_ERROR_MAX_BYTES];
  json_t *args = lua_json_array_from_lua(L, 1, lua_gettop(L), call->host->limits.max_json_bytes,
                                         err, sizeof err);
  if (!args) return luaL_error(L, "ctx.%s: %s", svc->name, err);
  if (!lua_async_begin(call, svc->name)) {
    json_decref(args);
    return luaL_error(L, "ctx.%s: out of memory", svc->name);
  }
  int rc = svc->start(svc->ud, call->op, args, &call->info);
  json_decref(args);
  return ctx_op_wait(L, call, rc);
}

static const luaL_Reg ctx_builtins[] = {
    {"now_ms", ctx_now_ms}, {"log", ctx_log}, {"output", ctx_output},
    {"sleep", ctx_sleep},   {NULL, NULL},
};

static const char *const ctx_fields[] = {"session_id", "call_id", "identity", NULL};

int lua_ctx_name_reserved(const char *name) {
  for (const luaL_Reg *f = ctx_builtins; f->name; f++) {
    if (strcmp(f->name, name) == 0) return 1;
  }
  for (const char *const *f = ctx_fields; *f; f++) {
    if (strcmp(*f, name) == 0) return 1;
  }
  return 0;
}

int lua_ctx_bind(lua_State *L, const luaL_Reg *fns) {
  for (const luaL_Reg *f = fns; f->name; f++) {
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, f->func, 1);
    lua_setfield(L, -3, f->name);
  }
  lua_pushvalue(L, -1);
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

void lua_ctx_push(lua_State *L, lua_tool_call *call) {
  const lua_host *h = call->host;
  lua_createtable(L, 0, 8 + (int)h->service_count); /* ctx */
  lua_pushstring(L, call->info.session_id);
  lua_setfield(L, -2, "session_id");
  lua_pushstring(L, call->info.call_id);
  lua_setfield(L, -2, "call_id");
  lua_pushstring(L, call->info.identity);
  lua_setfield(L, -2, "identity");
  lua_tool_call **token = lua_newuserdatauv(L, sizeof *token, 0); /* ctx token */
  *token = call;
  call->token = token;
  call->token_ref = lua_ctx_bind(L, ctx_builtins);
  for (size_t i = 0; i < h->service_count; i++) {
    lua_pushvalue(L, -1);
    lua_pushlightuserdata(L, &h->services[i]);
    lua_pushcclosure(L, ctx_service, 2);
    lua_setfield(L, -3, h->services[i].name);
  }
  lua_pop(L, 1); /* ctx */
}
