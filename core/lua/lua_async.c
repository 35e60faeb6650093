/* A tool call's one pending operation (ctx.sleep, a service such as
 * ctx.ssh): begun by lua_ctx.c, finished or failed by the service through
 * the lua_async_* calls, cancelled by lua_tool_call.c. Completing it
 * resumes the call through the kick the call set, so that this file needs
 * nothing of lua_tool_call.c. */
#include "lua_async.h"

#include <stdlib.h>
#include <string.h>

#include "lua_host_internal.h"

static void op_free(lua_async *op) {
  json_decref(op->result);
  free(op->message);
  free(op);
}

lua_async *lua_async_begin(lua_tool_call *call, const char *name) {
  lua_async_free(call); /* one left by a result that could not be pushed */
  lua_async *op = calloc(1, sizeof *op);
  if (!op) return NULL;
  op->call = call;
  op->name = name;
  op->state = LUA_ASYNC_STARTING;
  call->op = op;
  return op;
}

void lua_async_free(lua_tool_call *call) {
  if (call->op) op_free(call->op);
  call->op = NULL;
}

/* Ends a pending operation early: its owner stops it. The record stays
 * until the call is freed, so that a service still inside the callback that
 * led here (an output whose consumer cancelled the call) finds the
 * operation ended rather than freed. */
void lua_async_cancel(lua_tool_call *call) {
  lua_async *op = call->op;
  if (!op || op->state != LUA_ASYNC_PENDING) return;
  op->state = LUA_ASYNC_CANCELLED;
  if (op->cancel) op->cancel(op->cancel_ud);
}

const lua_tool_call_info *lua_async_info(const lua_async *op) { return &op->call->info; }

void lua_async_on_cancel(lua_async *op, void (*cancel)(void *ud), void *ud) {
  op->cancel = cancel;
  op->cancel_ud = ud;
}

void lua_async_output(lua_async *op, const char *chunk, size_t len) {
  lua_tool_call *call = op->call;
  if (call->phase < LUA_TOOL_CALL_DECIDED && call->cbs.on_output)
    call->cbs.on_output(call->ud, chunk, len);
}

/* Records the outcome; a handler that already yielded resumes from the
 * loop, one still inside start() picks it up when start returns. */
static void op_complete(lua_async *op, lua_async_state state) {
  lua_async_state was = op->state;
  op->state = state;
  if (was == LUA_ASYNC_PENDING) op->call->kick_cb(op->call);
}

void lua_async_finish(lua_async *op, const json_t *result) {
  if (op->state != LUA_ASYNC_STARTING && op->state != LUA_ASYNC_PENDING) return;
  op->result = result ? json_incref((json_t *)result) : NULL;
  op_complete(op, LUA_ASYNC_FINISHED);
}

void lua_async_fail(lua_async *op, const char *message) {
  if (op->state != LUA_ASYNC_STARTING && op->state != LUA_ASYNC_PENDING) return;
  op->message = strdup(message ? message : "failed");
  op_complete(op, LUA_ASYNC_FAILED);
}

static void call_on_sleep(uv_timer_t *t) {
  lua_tool_call *call = t->data;
  if (call->op) lua_async_finish(call->op, NULL);
}

static void call_sleep_cancel(void *ud) {
  lua_tool_call *call = ud;
  uv_timer_stop(&call->sleep);
}

void lua_async_sleep_start(lua_tool_call *call, uint64_t ms) {
  lua_async_on_cancel(call->op, call_sleep_cancel, call);
  /* The handler may have run for a while since the loop read the clock. */
  uv_update_time(call->host->loop);
  uv_timer_start(&call->sleep, call_on_sleep, ms, 0);
}
