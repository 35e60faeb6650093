/* A tool call: input validation, the handler's coroutine resumed once per
 * entry, its pending operation, the whole-call timeout, cancellation, and
 * the result text. Every step runs from the loop (a zero-delay timer), so
 * on_done never runs inside lua_host_call_tool and Lua is never touched
 * from inside a service's callback. */
#include "lua_host.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_schema.h"
#include "limits_table.h"
#include "lua_async.h"
#include "lua_ctx.h"
#include "lua_host_entry.h"
#include "lua_host_internal.h"
#include "lua_json.h"
#include "utf8_text.h"

static const char call_oom_text[] = "out of memory";

static void call_on_kick(uv_timer_t *t);

static void call_kick(lua_tool_call *call) { uv_timer_start(&call->kick, call_on_kick, 0, 0); }

/* --- the result text ----------------------------------------------------- */

/* Cuts text to max_bytes on a character boundary, ending with a marker that
 * says how much was cut. */
static void result_cut(char *text, size_t *len, size_t max_bytes) {
  if (*len <= max_bytes) return;
  char marker[LUA_TOOL_CALL_CUT_MARKER_MAX_BYTES];
  /* Sized for the longest count; the real one (fewer bytes) is no longer. */
  int mlen = snprintf(marker, sizeof marker, "\n[... %zu bytes cut]", *len);
  size_t keep = utf8_text_cut(text, *len, max_bytes > (size_t)mlen ? max_bytes - (size_t)mlen : 0);
  mlen = snprintf(marker, sizeof marker, "\n[... %zu bytes cut]", *len - keep);
  memcpy(text + keep, marker, (size_t)mlen + 1);
  *len = keep + (size_t)mlen;
}

static void call_decide(lua_tool_call *call, int is_error, const char *text, size_t len) {
  if (call->phase >= LUA_TOOL_CALL_DECIDED) return;
  call->phase = LUA_TOOL_CALL_DECIDED;
  call->is_error = is_error;
  call->content = utf8_text_sanitize(text, len, &call->content_len);
  if (call->content)
    result_cut(call->content, &call->content_len, call->host->limits.max_result_bytes);
  lua_async_cancel(call);
  uv_timer_stop(&call->deadline);
  uv_timer_stop(&call->sleep);
  call_kick(call);
}

static void call_decide_error(lua_tool_call *call, const char *msg) {
  call_decide(call, 1, msg, strlen(msg));
}

/* --- running the handler -------------------------------------------------- */

/* The table at idx as details for the page, or NULL (not a table, or it
 * cannot be sent as JSON: the page then reads the text alone). */
static json_t *call_details(lua_tool_call *call, int idx) {
  if (lua_type(call->co, idx) != LUA_TTABLE) return NULL;
  char jerr[LUA_JSON_ERROR_MAX_BYTES];
  return lua_json_from_lua(call->co, idx, call->host->limits.max_json_bytes, jerr, sizeof jerr);
}

/* What the handler returned: a string as is (a table after it is details
 * for the page); nil plus a message as an error (a table after it is
 * details); any other value as JSON, and as details. */
static void call_take_result(lua_tool_call *call, int nres) {
  lua_State *co = call->co;
  const char *file = lua_sandbox_name(call->tool->sb);
  char err[LUA_HOST_ERROR_MAX_BYTES];
  int first = lua_gettop(co) - nres + 1;
  if (nres == 0 || (lua_isnil(co, first) && (nres == 1 || !lua_isstring(co, first + 1)))) {
    snprintf(err, sizeof err,
             "%s: the handler returned no result (return a string or a table, "
             "or nil and an error message)",
             file);
    call_decide_error(call, err);
    return;
  }
  size_t len;
  if (lua_isnil(co, first)) {
    const char *msg = lua_type(co, first + 1) == LUA_TSTRING ? lua_tolstring(co, first + 1, &len)
                                                             : NULL;
    if (!msg) { /* a number: format it without converting in place */
      len = (size_t)snprintf(err, sizeof err, "%.14g", (double)lua_tonumber(co, first + 1));
      msg = err;
    }
    if (nres >= 3) call->details = call_details(call, first + 2);
    call_decide(call, 1, msg, len);
    return;
  }
  if (lua_type(co, first) == LUA_TSTRING) {
    const char *text = lua_tolstring(co, first, &len);
    if (nres >= 2) call->details = call_details(call, first + 1);
    call_decide(call, 0, text, len);
    return;
  }
  char jerr[LUA_JSON_ERROR_MAX_BYTES];
  size_t max_json = call->host->limits.max_json_bytes;
  json_t *v = lua_json_from_lua(co, first, max_json, jerr, sizeof jerr);
  char *text = NULL;
  if (!v || lua_json_dump(v, max_json, &text, &len, jerr, sizeof jerr) < 0) {
    snprintf(err, sizeof err, "%s: the handler's result cannot be sent: %s", file, jerr);
    call_decide_error(call, err);
  } else {
    call->details = json_incref(v);
    call_decide(call, 0, text, len);
  }
  free(text);
  json_decref(v);
}

static void call_resume(lua_tool_call *call, int nargs) {
  char err[LUA_HOST_ERROR_MAX_BYTES];
  int nres = 0;
  call->phase = LUA_TOOL_CALL_RUNNING;
  int status = lua_sandbox_resume(call->tool->sb, call->co, nargs, &nres, err, sizeof err);
  if (call->cancel_requested) {
    call->phase = LUA_TOOL_CALL_WAITING; /* no longer running: decide may proceed */
    call_decide_error(call, "cancelled");
  } else if (status == LUA_YIELD) {
    call->phase = LUA_TOOL_CALL_WAITING;
  } else if (status == LUA_OK) {
    call_take_result(call, nres);
  } else {
    call_decide_error(call, err);
  }
}

/* Protected: the coroutine with handler, ctx and input on its stack. */
static int call_setup(lua_State *L) {
  lua_tool_call *call = lua_touserdata(L, 1);
  call->co = lua_newthread(L);
  call->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_rawgeti(L, LUA_REGISTRYINDEX, call->tool->handler_ref);
  lua_ctx_push(L, call);
  lua_json_push(L, call->input);
  lua_xmove(L, call->co, 3); /* co: handler ctx input */
  return 0;
}

static void call_start(lua_tool_call *call) {
  char err[LUA_HOST_ERROR_MAX_BYTES];
  if (lua_sandbox_protect(call->tool->sb, call_setup, call, err, sizeof err) < 0) {
    call_decide_error(call, err);
    return;
  }
  call_resume(call, 2);
}

/* --- the end of a call ------------------------------------------------- */

static void call_free(lua_tool_call *call) {
  lua_host *h = call->host;
  free((char *)call->info.session_id);
  free((char *)call->info.call_id);
  free((char *)call->info.identity);
  json_decref(call->input);
  json_decref(call->details);
  lua_async_free(call);
  free(call->content);
  free(call);
  lua_host_release(h);
}

static void call_on_close(uv_handle_t *handle) {
  lua_tool_call *call = handle->data;
  if (--call->open_handles == 0) call_free(call);
}

/* The coroutine, the ctx token and the garbage the call left behind. */
static void call_release_lua(lua_tool_call *call) {
  if (!call->tool) return;
  lua_sandbox *sb = call->tool->sb;
  if (call->token) *call->token = NULL;
  luaL_unref(lua_sandbox_state(sb), LUA_REGISTRYINDEX, call->token_ref);
  lua_sandbox_thread_drop(sb, call->co_ref);
  call->co = NULL;
  lua_sandbox_collect(sb);
}

static void call_deliver(lua_tool_call *call) {
  call_release_lua(call);
  call->phase = LUA_TOOL_CALL_DELIVERED;
  const char *content = call->content ? call->content : call_oom_text;
  size_t len = call->content ? call->content_len : sizeof call_oom_text - 1;
  call->cbs.on_done(call->ud, call->content ? call->is_error : 1, content, len,
                    call->content ? call->details : NULL);
  uv_close((uv_handle_t *)&call->kick, call_on_close);
  uv_close((uv_handle_t *)&call->deadline, call_on_close);
  uv_close((uv_handle_t *)&call->sleep, call_on_close);
}

static void call_on_kick(uv_timer_t *t) {
  lua_tool_call *call = t->data;
  switch (call->phase) {
  case LUA_TOOL_CALL_STARTING:
    call_start(call);
    break;
  case LUA_TOOL_CALL_WAITING:
    if (call->op && call->op->state != LUA_ASYNC_PENDING) call_resume(call, 0);
    break;
  case LUA_TOOL_CALL_DECIDED:
    call_deliver(call);
    break;
  case LUA_TOOL_CALL_RUNNING:
  case LUA_TOOL_CALL_DELIVERED:
    break;
  }
}

static void call_on_deadline(uv_timer_t *t) {
  lua_tool_call *call = t->data;
  char msg[96];
  snprintf(msg, sizeof msg, "tool call exceeded %llu ms",
           (unsigned long long)call->host->limits.tool_timeout_ms);
  call_decide_error(call, msg);
}

void lua_tool_call_cancel(lua_tool_call *call) {
  if (call->phase >= LUA_TOOL_CALL_DECIDED) return;
  if (call->phase == LUA_TOOL_CALL_RUNNING) {
    /* Called back from inside the handler (ctx.output): stop it there. */
    call->cancel_requested = 1;
    lua_sandbox_interrupt(call->tool->sb, "cancelled");
    return;
  }
  call_decide_error(call, "cancelled");
}

static void call_unknown_tool(lua_tool_call *call, const char *name) {
  const lua_host *h = call->host;
  char msg[LUA_HOST_ERROR_MAX_BYTES];
  size_t used = (size_t)snprintf(msg, sizeof msg, "unknown tool \"%.64s\" (tools:", name);
  for (size_t i = 0; i < h->tool_count && used < sizeof msg; i++)
    used += (size_t)snprintf(msg + used, sizeof msg - used, " %s", h->tools[i].name);
  if (used < sizeof msg) snprintf(msg + used, sizeof msg - used, ")");
  call_decide_error(call, msg);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

lua_tool_call *lua_host_call_tool(lua_host *h, const char *name, const json_t *input,
                                  const lua_tool_call_info *info, const lua_tool_cbs *cbs,
                                  void *ud) {
  lua_tool_call *call = calloc(1, sizeof *call);
  if (!call) return NULL;
  call->info.session_id = dup_or_empty(info ? info->session_id : NULL);
  call->info.call_id = dup_or_empty(info ? info->call_id : NULL);
  call->info.identity = dup_or_empty(info ? info->identity : NULL);
  call->input = input ? json_deep_copy(input) : json_object();
  if (!call->info.session_id || !call->info.call_id || !call->info.identity || !call->input) {
    free((char *)call->info.session_id);
    free((char *)call->info.call_id);
    free((char *)call->info.identity);
    json_decref(call->input);
    free(call);
    return NULL;
  }
  lua_host_retain(h);
  call->host = h;
  call->kick_cb = call_kick;
  call->cbs = *cbs;
  call->ud = ud;
  call->co_ref = LUA_NOREF;
  call->token_ref = LUA_NOREF;
  call->phase = LUA_TOOL_CALL_STARTING;
  uv_timer_t *timers[] = {&call->kick, &call->deadline, &call->sleep};
  for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
    uv_timer_init(h->loop, timers[i]);
    timers[i]->data = call;
    call->open_handles++;
  }
  call->tool = lua_host_tool_find(h, name);
  char err[LUA_HOST_ERROR_MAX_BYTES];
  if (!call->tool) {
    call_unknown_tool(call, name);
  } else if (json_schema_validate(call->tool->schema, call->input, "input", err, sizeof err) < 0) {
    char msg[LUA_HOST_ERROR_MAX_BYTES + 32];
    snprintf(msg, sizeof msg, "invalid input: %s", err);
    call_decide_error(call, msg);
  } else {
    uv_update_time(h->loop); /* timers count from the loop's cached time */
    uv_timer_start(&call->deadline, call_on_deadline, h->limits.tool_timeout_ms, 0);
    call_kick(call);
  }
  return call;
}
