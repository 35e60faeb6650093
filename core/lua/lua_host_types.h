/* The types the Lua host's API passes (lua_host.h includes this): the
 * limits, a tool call's who and callbacks, the services scripts reach
 * through ctx, and a policy's view and decision.
 *
 * They have a header of their own so that the host's private header
 * (lua_host_internal.h) builds its structs on them without including
 * lua_host.h, whose lua_host.c includes the private header: includes
 * point one way.
 */
#ifndef BG_LUA_HOST_TYPES_H
#define BG_LUA_HOST_TYPES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lua_host lua_host;
typedef struct lua_tool_call lua_tool_call;
typedef struct lua_async lua_async;

typedef struct lua_sandbox_budget lua_sandbox_budget;

typedef struct lua_host_limits {
  size_t memory_bytes;        /* per Lua state */
  lua_sandbox_budget *budget; /* all states of every set together; NULL: none */
  uint64_t instructions;      /* per entry into Lua (load, prompt, each resume) */
  uint64_t call_timeout_ms;   /* wall clock per entry into Lua */
  uint64_t tool_timeout_ms;   /* a whole tool call, its I/O waits included */
  size_t max_json_bytes;      /* json.encode output / json.decode input */
  size_t max_result_bytes;    /* a handler's result text */
} lua_host_limits;

/* Who and what a tool call is for; strings are copied. */
typedef struct lua_tool_call_info {
  const char *session_id;
  const char *call_id;  /* the model's tool_use id, or a button's id */
  const char *identity; /* who asked (request identity) */
} lua_tool_call_info;

/* An asynchronous operation the core offers scripts as ctx.<name>(...).
 * start receives the Lua arguments as a JSON array and either fails at once
 * (returns -1 after lua_async_fail) or returns 0 and later calls
 * lua_async_finish exactly once. If the call is cancelled first, the cancel
 * function set with lua_async_on_cancel runs and finish must not be called. */
typedef struct lua_host_service {
  const char *name;
  int (*start)(void *ud, lua_async *op, const json_t *args, const lua_tool_call_info *info);
  void *ud;
} lua_host_service;

typedef struct lua_tool_cbs {
  /* Output while the handler runs (ctx.output, or a service's stream). */
  void (*on_output)(void *ud, const char *chunk, size_t len);
  /* Exactly once, from the loop, never inside lua_host_call_tool.
   * content is the text for the model's tool_result; details is what the
   * handler gave for the page to read (a table result itself, or the table
   * after the text or the error message), borrowed, or NULL. */
  void (*on_done)(void *ud, int is_error, const char *content, size_t len, const json_t *details);
} lua_tool_cbs;

/* --- policies ----------------------------------------------------------------
 *
 * Each policy/<file>.lua may judge a call before it runs and see its result
 * after (lua_host_policy_before, lua_host_policy_after). */

typedef enum lua_policy_verdict {
  LUA_POLICY_ALLOW,
  LUA_POLICY_DENY,
  LUA_POLICY_CONFIRM,   /* the operator must approve first */
  LUA_POLICY_RUN_FIRST, /* run run_tool(run_input), then ask again */
} lua_policy_verdict;

/* What a policy sees, as JSON built by the caller (docs/lua-api.md):
 * call {tool, input, mutating, verb, source, session_id, call_id, identity,
 * now_ms}; history, this session's calls oldest first; actions, recent
 * mutating actions across sessions and buttons. NULL history or actions
 * read as empty arrays. */
typedef struct lua_policy_view {
  const json_t *call;
  const json_t *history;
  const json_t *actions;
  /* The operator who overrides the denials a policy marks overridable
   * ({deny = reason, overridable = true}); NULL: none is overridden. */
  const char *override_by;
} lua_policy_view;

typedef struct lua_policy_decision {
  lua_policy_verdict verdict;
  char *policy;       /* the deciding policy's name; NULL for allow */
  char *reason;       /* NULL for allow */
  int overridable;    /* DENY only: the operator may override it */
  char *run_tool;     /* RUN_FIRST only */
  json_t *run_input;  /* RUN_FIRST only; owned */
  json_t *overridden; /* [{policy, reason, identity}] set aside for override_by; owned, or NULL */
} lua_policy_decision;

#endif
