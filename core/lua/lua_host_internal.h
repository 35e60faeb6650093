/* Private to the Lua host (lua_host.c: the set; lua_host_entry.c: what
 * every script kind shares; lua_tool_call.c: tool calls; lua_async.c: a
 * call's pending operation; lua_ctx.c: the ctx object handlers receive;
 * lua_policy.c: policy hooks; lua_policy_ctx.c: the ctx policies receive;
 * lua_policy_list.c: the lists that ctx reads). Each file uses only those
 * listed after it here or below it in core/edges.txt's order: lua_host ->
 * lua_policy -> lua_policy_ctx -> lua_ctx -> lua_async, lua_host_entry;
 * lua_tool_call -> lua_ctx, lua_async, lua_host's retain and release. */
#ifndef BG_LUA_HOST_INTERNAL_H
#define BG_LUA_HOST_INTERNAL_H

#include <lauxlib.h>
#include <uv.h>

#include "limits_table.h"
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

/* lua_ctx.c: pushes the ctx table for call (may raise). */
void lua_ctx_push(lua_State *L, lua_tool_call *call);
/* Whether a service may not take this name (a built-in ctx field). */
int lua_ctx_name_reserved(const char *name);
/* msg in double quotes with quotes, backslashes and control bytes escaped,
 * cut to fit outlen, so that a script cannot forge log lines. */
void lua_ctx_quote(char *out, size_t outlen, const char *msg, size_t len);
/* With a ctx table and its token (a userdata the runtime clears when the
 * call ends) on top of the stack: sets each of fns in the ctx as a closure
 * over the token, and returns the token's registry reference, which keeps
 * it alive. The stack is left as it was. */
int lua_ctx_bind(lua_State *L, const luaL_Reg *fns);

/* lua_host_entry.c: whether s (len bytes) is a usable tool or policy name. */
int lua_host_name_ok(const char *s, size_t len);

/* lua_host_entry.c: one synchronous entry into sb. push runs protected on the main
 * thread and pushes a function and its arguments, returning how many
 * arguments; the function then runs on a fresh coroutine under the limits.
 * *result is its first result as JSON (null when none). Returns 0, or -1
 * with err as "file:line: message". The caller collects garbage after. */
int lua_host_entry_run(lua_sandbox *sb, int (*push)(lua_State *L, void *ud), void *ud,
                       size_t max_json_bytes, json_t **result, char *err, size_t errlen);

/* lua_policy.c: reads and checks the table a policy file returned (kept at
 * table_ref in p->sb) into p. Returns 0, or -1 with err as "message". */
int lua_policy_read(lua_host_policy *p, int table_ref, char *err, size_t errlen);
/* Runs p's self_test; -1 with err as "file:line: message (in self_test)". */
int lua_policy_self_test(const lua_host *h, lua_host_policy *p, char *err, size_t errlen);
void lua_policy_free(lua_host_policy *p);

/* lua_policy_ctx.c: the ctx a policy entry receives. The token ends with the
 * entry: a ctx kept by the script raises when used later. */
typedef struct lua_policy_ctx {
  const lua_policy_view *view;
  const char *file; /* for ctx.log */
  long long now_ms; /* call.now_ms, or the clock when the entry began */
  struct lua_policy_ctx **token;
  int token_ref;
} lua_policy_ctx;
/* Pushes ctx for c (may raise); lua_policy_ctx_end invalidates it. */
void lua_policy_ctx_push(lua_State *L, lua_policy_ctx *c);
void lua_policy_ctx_end(lua_sandbox *sb, lua_policy_ctx *c);
/* Pushes the t a self_test receives (may raise). */
void lua_policy_test_push(lua_State *L);

/* lua_policy_list.c: pushes the read-only view of the ctx's history (or,
 * when actions, its actions) for the ctx token at token_index (may raise). */
void lua_policy_list_push(lua_State *L, int token_index, int actions);

/* lua_async.c: the call's one pending operation, begun by lua_ctx.c (a
 * sleep or a service), cancelled and freed by lua_tool_call.c. */
lua_async *lua_tool_call_op_begin(lua_tool_call *call, const char *name);
void lua_tool_call_op_free(lua_tool_call *call);
void lua_tool_call_op_cancel(lua_tool_call *call);
void lua_tool_call_sleep_start(lua_tool_call *call, uint64_t ms);

/* lua_host_entry.c: whether the table at index 1 has a key that fields
 * (NULL-terminated) does not list: 1 with err naming it and the known
 * fields, else 0. */
int lua_host_unknown_field(lua_State *L, const char *const *fields, char *err, size_t errlen);

#endif
