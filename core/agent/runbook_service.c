/* ctx.runbook("list"), ctx.runbook("read", path, offset),
 * ctx.runbook("grep", pattern): each runs in libuv's thread pool (a grep
 * reads every runbook: the loop never waits on the disk) and returns a
 * table, {error = "..."} for a refusal the model can read. With no folder
 * configured every call says so. */
#include "runbook_service.h"

#include <stdlib.h>
#include <string.h>

#include "runbook.h"

typedef struct runbook_call {
  uv_work_t work;
  lua_async *op; /* NULL once the caller is gone */
  char *dir, *arg;
  int action; /* 0 list, 1 read, 2 grep */
  size_t offset;
  json_t *result;
} runbook_call;

static const char *const RUNBOOK_ACTIONS[] = {"list", "read", "grep"};

static void runbook_call_free(runbook_call *call) {
  free(call->dir);
  free(call->arg);
  json_decref(call->result);
  free(call);
}

static void runbook_work(uv_work_t *w) {
  runbook_call *call = w->data;
  call->result = call->action == 0   ? runbook_list(call->dir)
                 : call->action == 1 ? runbook_read(call->dir, call->arg, call->offset)
                                     : runbook_grep(call->dir, call->arg);
}

static void runbook_done(uv_work_t *w, int status) {
  runbook_call *call = w->data;
  if (call->op) {
    if (status == 0 && call->result)
      lua_async_finish(call->op, call->result);
    else
      lua_async_fail(call->op, "ctx.runbook: out of memory");
  }
  runbook_call_free(call);
}

static void runbook_cancel(void *ud) {
  runbook_call *call = ud;
  call->op = NULL;
  uv_cancel((uv_req_t *)&call->work);
}

static int runbook_start(void *ud, lua_async *op, const json_t *args,
                         const lua_tool_call_info *info) {
  (void)info;
  app *a = ud;
  const char *action = json_string_value(json_array_get(args, 0));
  int which = -1;
  for (int i = 0; action && i < 3; i++)
    if (strcmp(action, RUNBOOK_ACTIONS[i]) == 0) which = i;
  const char *arg = json_string_value(json_array_get(args, 1));
  json_t *offset = json_array_get(args, 2);
  if (which < 0 || (which > 0 && !arg) ||
      (offset && !json_is_null(offset) &&
       (!json_is_integer(offset) || json_integer_value(offset) < 0))) {
    lua_async_fail(
        op, "ctx.runbook: use (\"list\"), (\"read\", path[, offset]) or (\"grep\", pattern)");
    return -1;
  }
  if (!a->options.runbooks_dir) {
    json_t *none = json_pack("{s:s, s:b}", "error",
                             "no runbooks are configured here (the operator sets "
                             "BREAKGLASS_RUNBOOKS_DIR)",
                             "configured", 0);
    lua_async_finish(op, none);
    json_decref(none);
    return 0;
  }
  runbook_call *call = calloc(1, sizeof *call);
  if (call) {
    call->op = op;
    call->action = which;
    call->offset = json_is_integer(offset) ? (size_t)json_integer_value(offset) : 0;
    call->dir = strdup(a->options.runbooks_dir);
    call->arg = arg ? strdup(arg) : NULL;
    call->work.data = call;
  }
  if (!call || !call->dir || (arg && !call->arg) ||
      uv_queue_work(a->loop, &call->work, runbook_work, runbook_done) != 0) {
    if (call) runbook_call_free(call);
    lua_async_fail(op, "ctx.runbook: out of memory");
    return -1;
  }
  lua_async_on_cancel(op, runbook_cancel, call);
  return 0;
}

lua_host_service runbook_service(app *a) {
  return (lua_host_service){.name = "runbook", .start = runbook_start, .ud = a};
}
