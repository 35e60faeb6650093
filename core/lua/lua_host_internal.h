/* Private to the Lua host: the structs its files share. Each file's own
 * functions are declared in a header beside it (lua_ctx.h for lua_ctx.c),
 * and a file includes the headers of the files it calls, so that the
 * includes show the calls, which run one way (check-includes.mjs refuses
 * an include cycle, check-links.mjs a call cycle):
 *
 *   lua_host.c         the set: its load, the prompt, the tools' table
 *                      -> lua_policy, lua_ctx (reserved names), lua_host_entry
 *   lua_policy.c       a policy's table and self_test, before and after
 *                      -> lua_policy_ctx, lua_host_entry
 *   lua_policy_ctx.c   the ctx a policy entry receives, self_test's t
 *                      -> lua_policy_list, lua_ctx (token binding, quoting)
 *   lua_policy_list.c  that ctx's history() and actions() views
 *   lua_tool_call.c    a tool call, from its input to its result
 *                      -> lua_ctx, lua_async, lua_host_entry, lua_host
 *                      (retain, release)
 *   lua_ctx.c          the ctx a tool handler receives
 *                      -> lua_async
 *   lua_async.c        a tool call's one pending operation
 *   lua_host_entry.c   names, unknown fields, one synchronous entry, the
 *                      lookup of a tool
 *
 * lua_async.c resumes its call through the kick the call set, not by
 * name. lua_host.h includes lua_policy.h and lua_async.h for the entries
 * other folders call there. */
#ifndef BG_LUA_HOST_INTERNAL_H
#define BG_LUA_HOST_INTERNAL_H

#include <lua.h>
#include <uv.h>

#include "lua_host_types.h"
#include "lua_sandbox.h"

typedef struct lua_host_tool {
  char *name;
  char *description;
  json_t *schema;
  int mutating;     /* when mutating is a boolean */
  int mutating_ref; /* or a function(input), LUA_NOREF otherwise */
  lua_sandbox *sb;
  int handler_ref;
} lua_host_tool;

typedef struct lua_host_policy {
  lua_sandbox *sb;
  char *name;
  int before_ref; /* LUA_NOREF when absent */
  int after_ref;
  int self_test_ref;
} lua_host_policy;

struct lua_host {
  int refs;
  uv_loop_t *loop;
  lua_host_limits limits;
  lua_host_service *services; /* names copied */
  size_t service_count;
  lua_sandbox *prompt_sb;
  char *prompt_text; /* prompt.lua returned a string */
  int prompt_ref;    /* or a function, kept in the registry */
  lua_host_tool *tools;
  size_t tool_count;
  lua_host_policy *policies;
  size_t policy_count;
};

typedef enum {
  LUA_ASYNC_STARTING, /* inside the service's start */
  LUA_ASYNC_PENDING,  /* the handler has yielded */
  LUA_ASYNC_FINISHED,
  LUA_ASYNC_FAILED,
  LUA_ASYNC_CANCELLED, /* its cancel function ran; finish and fail are ignored */
} lua_async_state;

/* The one pending operation of a call. */
struct lua_async {
  lua_tool_call *call;
  const char *name; /* "sleep", "ssh": for messages */
  lua_async_state state;
  void (*cancel)(void *ud);
  void *cancel_ud;
  json_t *result; /* FINISHED; NULL means no value */
  char *message;  /* FAILED */
};

typedef enum {
  LUA_TOOL_CALL_STARTING, /* the first resume is queued */
  LUA_TOOL_CALL_RUNNING,  /* inside a resume */
  LUA_TOOL_CALL_WAITING,  /* yielded on an operation */
  LUA_TOOL_CALL_DECIDED,  /* outcome known, on_done queued */
  LUA_TOOL_CALL_DELIVERED,
} lua_tool_call_phase;

struct lua_tool_call {
  lua_host *host;
  const lua_host_tool *tool; /* NULL for an unknown tool */
  lua_tool_call_info info;   /* strings owned */
  lua_tool_cbs cbs;
  void *ud;
  json_t *input;
  lua_State *co;
  int co_ref;
  lua_tool_call **token; /* what ctx holds; set to NULL when the call ends */
  int token_ref;
  lua_async *op;
  lua_tool_call_phase phase;
  int cancel_requested;
  int is_error;
  char *content;
  size_t content_len;
  json_t *details;                      /* the handler's table for the page, or NULL */
  uv_timer_t kick;                      /* runs the next step from the loop */
  void (*kick_cb)(lua_tool_call *call); /* starts kick (lua_tool_call.c's, for lua_async.c) */
  uv_timer_t deadline;                  /* tool_timeout_ms */
  uv_timer_t sleep;                     /* ctx.sleep */
  int open_handles;
};

/* The ctx a policy entry receives: built by lua_policy.c, pushed by
 * lua_policy_ctx.c, read through its token by lua_policy_list.c's views.
 * The token ends with the entry: a ctx kept by the script raises when used
 * later. */
typedef struct lua_policy_ctx {
  const lua_policy_view *view;
  const char *file; /* for ctx.log */
  long long now_ms; /* call.now_ms, or the clock when the entry began */
  struct lua_policy_ctx **token;
  int token_ref;
} lua_policy_ctx;

#endif
