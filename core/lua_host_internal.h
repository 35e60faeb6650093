/* Private to the Lua host (lua_host.c: the set; lua_call.c: tool calls;
 * lua_ctx.c: the ctx object handlers receive). */
#ifndef BG_LUA_HOST_INTERNAL_H
#define BG_LUA_HOST_INTERNAL_H

#include "lua_host.h"
#include "lua_sandbox.h"

/* Messages built by the host (load errors, tool errors) are cut past this. */
#define LUA_HOST_ERROR_MAX_BYTES 2048
/* A script file larger than this is refused at load. */
#define LUA_HOST_SCRIPT_MAX_BYTES (1024 * 1024)
/* The system prompt a prompt function returns may be at most this long. */
#define LUA_HOST_PROMPT_MAX_BYTES (256 * 1024)
/* ctx.sleep refuses longer waits (the whole call has tool_timeout_ms). */
#define LUA_CTX_SLEEP_MAX_MS 600000
/* ctx.log cuts longer messages. */
#define LUA_CTX_LOG_MAX_BYTES 2048

typedef struct lua_host_tool {
  char *name;
  char *description;
  json_t *schema;
  int mutating;
  lua_sandbox *sb;
  int handler_ref;
} lua_host_tool;

typedef struct lua_host_policy {
  lua_sandbox *sb;
  int table_ref;
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
  LUA_CALL_STARTING, /* the first resume is queued */
  LUA_CALL_RUNNING,  /* inside a resume */
  LUA_CALL_WAITING,  /* yielded on an operation */
  LUA_CALL_DECIDED,  /* outcome known, on_done queued */
  LUA_CALL_DELIVERED,
} lua_call_phase;

struct lua_tool_call {
  lua_host *host;
  const lua_host_tool *tool; /* NULL for an unknown tool */
  lua_call_info info;        /* strings owned */
  lua_tool_cbs cbs;
  void *ud;
  json_t *input;
  lua_State *co;
  int co_ref;
  lua_tool_call **token; /* what ctx holds; set to NULL when the call ends */
  int token_ref;
  lua_async *op;
  lua_call_phase phase;
  int cancel_requested;
  int is_error;
  char *content;
  size_t content_len;
  uv_timer_t kick;     /* runs the next step from the loop */
  uv_timer_t deadline; /* tool_timeout_ms */
  uv_timer_t sleep;    /* ctx.sleep */
  int open_handles;
};

/* lua_ctx.c: pushes the ctx table for call (may raise). */
void lua_ctx_push(lua_State *L, lua_tool_call *call);
/* Whether a service may not take this name (a built-in ctx field). */
int lua_ctx_name_reserved(const char *name);

/* lua_call.c, for lua_ctx.c: the call's one pending operation. */
lua_async *lua_call_op_begin(lua_tool_call *call, const char *name);
void lua_call_op_free(lua_tool_call *call);
void lua_call_sleep_start(lua_tool_call *call, uint64_t ms);

#endif
