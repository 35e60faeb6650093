/* The Lua host: a loaded, validated set of operator scripts.
 *
 * A set is lua/prompt.lua (the system prompt), lua/tools/<name>.lua (one tool a
 * file) and lua/policy/<name>.lua. Each file lives in its own sandboxed Lua 5.4
 * state with a memory cap, and all states of every set may share a budget;
 * every entry into Lua runs under an instruction
 * budget and a wall-clock deadline that also hold inside the C functions
 * scripts can reach. Tool handlers run as coroutines: an I/O call on ctx
 * (ctx.sleep, and the services the core registers, such as ctx.ssh) yields
 * and the handler resumes when the operation completes.
 *
 * A set is reference-counted so that a turn finishes on the set it started
 * with while a reload swaps in a new one.
 */
#ifndef BG_LUA_HOST_H
#define BG_LUA_HOST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

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

typedef struct lua_host_options {
  const char *scripts_dir;
  lua_host_limits limits;
  const lua_host_service *services;
  size_t service_count;
} lua_host_options;

/* Loads and validates a whole set. On failure returns -1 and fills err with
 * "file:line: message" lines (one per problem found). */
int lua_host_load(lua_host **out, uv_loop_t *loop, const lua_host_options *o, char *err,
                  size_t errlen);
/* How many Lua states a set loaded from scripts_dir holds at once: one a
 * script file, prompt.lua included. */
size_t lua_host_state_count(const char *scripts_dir);
void lua_host_retain(lua_host *h);
void lua_host_release(lua_host *h);

/* The system prompt: prompt.lua returns a string, or a function called with
 * context (a JSON object turned into a Lua table). *out is malloc'd. */
int lua_host_system_prompt(lua_host *h, const json_t *context, char **out, char *err,
                           size_t errlen);

/* [{"name","description","input_schema"}, ...] in file-name order; new ref. */
json_t *lua_host_tools_json(const lua_host *h);
/* Whether a call of the tool with this input changes something: 1 mutating,
 * 0 not, -1 no such tool. A tool's mutating is a boolean or a
 * function(input); a function that fails or returns a non-boolean counts as
 * mutating (fail closed), and the reason is logged. */
int lua_host_tool_mutating(const lua_host *h, const char *name, const json_t *input);
/* Whether the set has a tool of this name. */
int lua_host_has_tool(const lua_host *h, const char *name);

typedef struct lua_tool_cbs {
  /* Output while the handler runs (ctx.output, or a service's stream). */
  void (*on_output)(void *ud, const char *chunk, size_t len);
  /* Exactly once, from the loop, never inside lua_host_call_tool.
   * content is the text for the model's tool_result; details is what the
   * handler gave for the page to read (a table result itself, or the table
   * after the text or the error message), borrowed, or NULL. */
  void (*on_done)(void *ud, int is_error, const char *content, size_t len, const json_t *details);
} lua_tool_cbs;

/* Validates input against the tool's schema, then runs the handler. An
 * unknown tool, invalid input, a script error or a limit hit all end in
 * on_done with is_error set and a message that says what and where. */
lua_tool_call *lua_host_call_tool(lua_host *h, const char *name, const json_t *input,
                                  const lua_tool_call_info *info, const lua_tool_cbs *cbs,
                                  void *ud);
/* Ends the call at once: pending operations are cancelled and on_done runs
 * with is_error and "cancelled". */
void lua_tool_call_cancel(lua_tool_call *call);

/* --- policies ----------------------------------------------------------------
 *
 * Each policy/<file>.lua may judge a call before it runs and see its result
 * after. Both entries are synchronous (policies do no I/O) and each runs
 * under the set's limits in the policy's own state. */

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

/* Runs every policy's before(ctx, call) in file order and combines them:
 * the first deny wins (later policies do not run), unless it is
 * overridable and the view names who overrides it: then it is noted in
 * overridden and the policies go on; else the first
 * run_first; else the first confirm; else allow. A policy that fails or
 * hits a limit denies with "policy <file> failed: <file:line: message>".
 * Returns 0 with *out filled, or -1 when memory ran out: *out is then a
 * deny whose strings may be NULL. Free *out with lua_policy_decision_free. */
int lua_host_policy_before(lua_host *h, const lua_policy_view *v, lua_policy_decision *out);
void lua_policy_decision_free(lua_policy_decision *d);
/* Runs every policy's after(ctx, call, result) in file order; a failure is
 * logged and changes nothing (the call has happened). NULL result reads as
 * an empty object. */
void lua_host_policy_after(lua_host *h, const lua_policy_view *v, const json_t *result);

/* For services. */
const lua_tool_call_info *lua_async_info(const lua_async *op);
void lua_async_on_cancel(lua_async *op, void (*cancel)(void *ud), void *ud);
void lua_async_output(lua_async *op, const char *chunk, size_t len);
/* The value ctx.<name> returns to the script (a JSON value, borrowed). */
void lua_async_finish(lua_async *op, const json_t *result);
/* ctx.<name> raises a Lua error with this message. */
void lua_async_fail(lua_async *op, const char *message);

#endif
