/* Policy hooks: a policy's table read at load, its self_test, and the
 * before/after entries with the rule that combines the policies' answers.
 * A policy that fails denies (fail closed): a broken rail must not open. */
#include "lua_policy.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_schema.h"
#include "limits_table.h"
#include "log.h"
#include "lua_host_entry.h"
#include "lua_json.h"
#include "lua_policy_ctx.h"
#include "utf8_text.h"

/* --- reading the table at load ------------------------------------------------ */

static const char *const policy_fields[] = {"name",  "description", "before",
                                            "after", "self_test",   NULL};

typedef struct policy_read {
  lua_host_policy *p;
  int table_ref;
  char name[LUA_HOST_NAME_MAX_CHARS + 1];
  char err[LUA_HOST_ERROR_MAX_BYTES];
} policy_read;

/* An optional function field into *ref; -1 with r->err when it is not one. */
static int policy_hook_field(lua_State *L, policy_read *r, const char *f, const char *sig,
                             int *ref) {
  lua_pushstring(L, f);
  int type = lua_rawget(L, 1);
  if (type == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (type != LUA_TFUNCTION) {
    snprintf(r->err, sizeof r->err, "%s: must be a %s", f, sig);
    return -1;
  }
  *ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* Protected: the policy table's fields into r; a problem goes to r->err.
 * Raw access only, so that no script code runs outside an entry. */
static int policy_read_table(lua_State *L) {
  policy_read *r = lua_touserdata(L, 1);
  lua_settop(L, 0);
  if (lua_rawgeti(L, LUA_REGISTRYINDEX, r->table_ref) != LUA_TTABLE) {
    snprintf(r->err, sizeof r->err, "must return a table (got %s)", luaL_typename(L, 1));
    return 0;
  }
  if (lua_host_unknown_field(L, policy_fields, r->err, sizeof r->err)) return 0;
  lua_pushstring(L, "name");
  int name_type = lua_rawget(L, 1);
  size_t len = lua_rawlen(L, -1);
  if (name_type != LUA_TSTRING || !lua_host_name_ok(lua_tostring(L, -1), len)) {
    snprintf(r->err, sizeof r->err, "name: must be a string of 1-%d letters, digits, '_' or '-'",
             LUA_HOST_NAME_MAX_CHARS);
    return 0;
  }
  memcpy(r->name, lua_tostring(L, -1), len + 1);
  lua_pushstring(L, "description");
  if (lua_rawget(L, 1) != LUA_TSTRING || lua_rawlen(L, -1) == 0) {
    snprintf(r->err, sizeof r->err, "description: must be a non-empty string");
    return 0;
  }
  lua_settop(L, 1);
  lua_host_policy *p = r->p;
  if (policy_hook_field(L, r, "before", "function(ctx, call)", &p->before_ref) < 0 ||
      policy_hook_field(L, r, "after", "function(ctx, call, result)", &p->after_ref) < 0 ||
      policy_hook_field(L, r, "self_test", "function(t)", &p->self_test_ref) < 0)
    return 0;
  if (p->before_ref == LUA_NOREF && p->after_ref == LUA_NOREF)
    snprintf(r->err, sizeof r->err, "needs a before(ctx, call) or an after(ctx, call, result)");
  return 0;
}

int lua_policy_read(lua_host_policy *p, int table_ref, char *err, size_t errlen) {
  policy_read r = {.p = p, .table_ref = table_ref};
  char perr[LUA_HOST_ERROR_MAX_BYTES];
  if (lua_sandbox_protect(p->sb, policy_read_table, &r, perr, sizeof perr) < 0) {
    snprintf(err, errlen, "%s", perr);
    return -1;
  }
  if (r.err[0] != '\0') {
    snprintf(err, errlen, "%s", r.err);
    return -1;
  }
  p->name = strdup(r.name);
  if (!p->name) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

void lua_policy_free(lua_host_policy *p) {
  free(p->name);
  lua_sandbox_free(p->sb);
  p->name = NULL;
  p->sb = NULL;
}

/* --- entries -------------------------------------------------------------------- */

typedef struct hook_args {
  int fn_ref;
  lua_policy_ctx *ctx; /* NULL for self_test, which gets t */
  const json_t *call;
  const json_t *result; /* after only */
} hook_args;

static int hook_push(lua_State *L, void *ud) {
  const hook_args *a = ud;
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->fn_ref);
  if (!a->ctx) {
    lua_policy_test_push(L);
    return 1;
  }
  lua_policy_ctx_push(L, a->ctx);
  lua_json_push(L, a->call);
  if (!a->result) return 2;
  lua_json_push(L, a->result);
  return 3;
}

/* One hook entry; *out is its first result as JSON. */
static int hook_run(const lua_host *h, lua_host_policy *p, hook_args *a, json_t **out, char *err,
                    size_t errlen) {
  int rc = lua_host_entry_run(p->sb, hook_push, a, h->limits.max_json_bytes, out, err, errlen);
  if (a->ctx) lua_policy_ctx_end(p->sb, a->ctx);
  lua_sandbox_collect(p->sb);
  return rc;
}

int lua_policy_self_test(const lua_host *h, lua_host_policy *p, char *err, size_t errlen) {
  hook_args a = {.fn_ref = p->self_test_ref};
  char terr[LUA_HOST_ERROR_MAX_BYTES];
  json_t *r = NULL;
  int rc = hook_run(h, p, &a, &r, terr, sizeof terr);
  json_decref(r);
  if (rc < 0) snprintf(err, errlen, "%s (in self_test)", terr);
  return rc;
}

/* The time every policy of one decision sees: call.now_ms, or the clock. */
static long long view_now_ms(const lua_policy_view *v) {
  const json_t *now = json_object_get(v->call, "now_ms");
  return json_is_integer(now) ? (long long)json_integer_value(now) : (long long)log_now_ms();
}

static void policy_ctx_init(lua_policy_ctx *c, const lua_host_policy *p, const lua_policy_view *v,
                            long long now_ms) {
  *c = (lua_policy_ctx){
      .view = v, .file = lua_sandbox_name(p->sb), .now_ms = now_ms, .token_ref = LUA_NOREF};
}

/* --- decisions ------------------------------------------------------------------ */

void lua_policy_decision_free(lua_policy_decision *d) {
  free(d->policy);
  free(d->reason);
  free(d->run_tool);
  json_decref(d->run_input);
  json_decref(d->overridden);
  memset(d, 0, sizeof *d);
}

/* A copy of a reason, cut at LUA_POLICY_REASON_MAX_BYTES on a character
 * boundary (reasons are valid UTF-8: the JSON conversion checked). */
static char *reason_dup(const char *s) {
  return strndup(s, utf8_text_cut(s, strlen(s), LUA_POLICY_REASON_MAX_BYTES));
}

static int decision_set(lua_policy_decision *d, lua_policy_verdict verdict, const char *policy,
                        const char *reason) {
  d->verdict = verdict;
  d->policy = strdup(policy);
  d->reason = reason_dup(reason);
  return d->policy && d->reason ? 0 : -1;
}

/* Fail closed: deny naming the policy and what went wrong. -1 when even
 * that ran out of memory (the verdict is still deny). */
static int decision_fail(lua_policy_decision *d, const lua_host_policy *p, const char *what) {
  char reason[LUA_HOST_ERROR_MAX_BYTES + 64];
  snprintf(reason, sizeof reason, "policy %s failed: %s", lua_sandbox_name(p->sb), what);
  log_warn("lua %s: %s", lua_sandbox_name(p->sb), reason);
  lua_policy_decision_free(d);
  return decision_set(d, LUA_POLICY_DENY, p->name, reason);
}

static const char *json_kind(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "a table";
  case JSON_ARRAY:
    return "a list";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  case JSON_NULL:
    break;
  }
  return "nil";
}

static const char *nonempty_string(const json_t *v) {
  const char *s = json_string_value(v);
  return s && s[0] != '\0' ? s : NULL;
}

/* {run_first = {tool, input}, reason}: a tool of this set, input valid for
 * it, and not the call being decided (that would never end). */
static int decision_run_first(const lua_host *h, const lua_host_policy *p, const json_t *r,
                              const json_t *call, lua_policy_decision *d, char *err,
                              size_t errlen) {
  const json_t *run = json_object_get(r, "run_first");
  const char *reason = nonempty_string(json_object_get(r, "reason"));
  const char *key;
  const json_t *value;
  if (!reason) {
    snprintf(err, errlen, "before: run_first needs reason, a non-empty string");
    return -1;
  }
  if (!json_is_object(run)) {
    snprintf(err, errlen, "before: run_first must be a table {tool = ..., input = {...}}");
    return -1;
  }
  json_object_foreach((json_t *)run, key, value) {
    if (strcmp(key, "tool") != 0 && strcmp(key, "input") != 0) {
      snprintf(err, errlen, "before: run_first: unknown field '%s' (fields: tool, input)", key);
      return -1;
    }
  }
  const char *tool_name = json_string_value(json_object_get(run, "tool"));
  const lua_host_tool *tool = tool_name ? lua_host_tool_find(h, tool_name) : NULL;
  if (!tool) {
    snprintf(err, errlen, "before: run_first.tool must name a tool of this set");
    return -1;
  }
  const json_t *input = json_object_get(run, "input");
  json_t *copy = input ? json_deep_copy(input) : json_object();
  char verr[LUA_HOST_ERROR_MAX_BYTES / 2];
  int rc = -1;
  if (!copy)
    snprintf(err, errlen, "out of memory");
  else if (json_schema_validate(tool->schema, copy, "run_first.input", verr, sizeof verr) < 0)
    snprintf(err, errlen, "before: invalid input: %s", verr);
  else if (json_equal(json_object_get(call, "tool"), json_object_get(run, "tool")) &&
           json_equal(json_object_get(call, "input"), copy))
    snprintf(err, errlen, "before: run_first asks for the call being decided");
  else
    rc = 0;
  if (rc < 0) {
    json_decref(copy);
    return -1;
  }
  d->run_input = copy;
  d->run_tool = strdup(tool_name);
  if (decision_set(d, LUA_POLICY_RUN_FIRST, p->name, reason) < 0 || !d->run_tool) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

/* What before returned, as JSON, into d; -1 with err saying what is wrong. */
static int decision_parse(const lua_host *h, const lua_host_policy *p, const json_t *r,
                          const json_t *call, lua_policy_decision *d, char *err, size_t errlen) {
  memset(d, 0, sizeof *d);
  if (json_is_null(r)) return 0;
  if (!json_is_object(r)) {
    snprintf(err, errlen,
             "before must return nil, {deny = reason}, {confirm = reason} or "
             "{run_first = {...}, reason = ...} (got %s)",
             json_kind(r));
    return -1;
  }
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)r, key, value) {
    if (strcmp(key, "deny") != 0 && strcmp(key, "confirm") != 0 && strcmp(key, "run_first") != 0 &&
        strcmp(key, "reason") != 0 && strcmp(key, "overridable") != 0) {
      snprintf(err, errlen,
               "before returned an unknown field '%s' (fields: deny, confirm, run_first, reason, "
               "overridable)",
               key);
      return -1;
    }
  }
  const json_t *overridable = json_object_get(r, "overridable");
  if (overridable && (!json_is_boolean(overridable) || !json_object_get(r, "deny"))) {
    snprintf(err, errlen, "before: overridable must be a boolean, and only with deny");
    return -1;
  }
  const json_t *deny = json_object_get(r, "deny");
  const json_t *confirm = json_object_get(r, "confirm");
  const json_t *run = json_object_get(r, "run_first");
  if (!!deny + !!confirm + !!run != 1) {
    snprintf(err, errlen, "before must return exactly one of deny, confirm or run_first");
    return -1;
  }
  if (run) return decision_run_first(h, p, r, call, d, err, errlen);
  const char *field = deny ? "deny" : "confirm";
  const char *reason = nonempty_string(deny ? deny : confirm);
  if (!reason || json_object_get(r, "reason")) {
    snprintf(err, errlen, "before: %s must be the reason, a non-empty string, alone", field);
    return -1;
  }
  if (decision_set(d, deny ? LUA_POLICY_DENY : LUA_POLICY_CONFIRM, p->name, reason) < 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  d->overridable = json_is_true(overridable);
  return 0;
}

/* One policy's answer; a failure becomes a deny. -1 only when memory ran
 * out (d is a deny then). */
static int policy_before(const lua_host *h, lua_host_policy *p, const lua_policy_view *v,
                         long long now_ms, lua_policy_decision *d) {
  lua_policy_ctx c;
  policy_ctx_init(&c, p, v, now_ms);
  hook_args a = {.fn_ref = p->before_ref, .ctx = &c, .call = v->call};
  char err[LUA_HOST_ERROR_MAX_BYTES];
  char what[LUA_HOST_ERROR_MAX_BYTES + 64];
  json_t *r = NULL;
  memset(d, 0, sizeof *d);
  int rc = 0;
  if (hook_run(h, p, &a, &r, err, sizeof err) < 0) {
    rc = decision_fail(d, p, err);
  } else if (decision_parse(h, p, r, v->call, d, err, sizeof err) < 0) {
    snprintf(what, sizeof what, "%s: %s", lua_sandbox_name(p->sb), err);
    rc = decision_fail(d, p, what);
  }
  json_decref(r);
  return rc;
}

int lua_host_policy_before(lua_host *h, const lua_policy_view *v, lua_policy_decision *out) {
  json_t *empty = !v->call ? json_object() : NULL;
  lua_policy_view view = {
      .call = v->call ? v->call : empty, .history = v->history, .actions = v->actions};
  json_t *overridden = NULL;
  lua_policy_decision run = {.verdict = LUA_POLICY_ALLOW};
  lua_policy_decision confirm = {.verdict = LUA_POLICY_ALLOW};
  long long now_ms = view_now_ms(&view);
  int rc = 0;
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < h->policy_count; i++) {
    lua_host_policy *p = &h->policies[i];
    if (p->before_ref == LUA_NOREF) continue;
    lua_policy_decision d;
    rc = policy_before(h, p, &view, now_ms, &d);
    if (d.verdict == LUA_POLICY_DENY && d.overridable && v->override_by) {
      if (!overridden) overridden = json_array();
      json_array_append_new(overridden, json_pack("{s:s?, s:s?, s:s}", "policy", d.policy, "reason",
                                                  d.reason, "identity", v->override_by));
      lua_policy_decision_free(&d);
      continue;
    }
    if (d.verdict == LUA_POLICY_DENY) {
      *out = d; /* nothing can outrank a deny: later policies need not run */
      goto done;
    }
    lua_policy_decision *first = d.verdict == LUA_POLICY_RUN_FIRST ? &run
                                 : d.verdict == LUA_POLICY_CONFIRM ? &confirm
                                                                   : NULL;
    if (first && first->verdict == LUA_POLICY_ALLOW)
      *first = d;
    else
      lua_policy_decision_free(&d);
  }
  lua_policy_decision *winner = run.verdict != LUA_POLICY_ALLOW       ? &run
                                : confirm.verdict != LUA_POLICY_ALLOW ? &confirm
                                                                      : NULL;
  if (winner) {
    *out = *winner;
    memset(winner, 0, sizeof *winner);
  }
done:
  out->overridden = overridden;
  lua_policy_decision_free(&run);
  lua_policy_decision_free(&confirm);
  json_decref(empty);
  return rc;
}

void lua_host_policy_after(lua_host *h, const lua_policy_view *v, const json_t *result) {
  json_t *empty_call = !v->call ? json_object() : NULL;
  json_t *empty_result = !result ? json_object() : NULL;
  lua_policy_view view = {
      .call = v->call ? v->call : empty_call, .history = v->history, .actions = v->actions};
  long long now_ms = view_now_ms(&view);
  for (size_t i = 0; i < h->policy_count; i++) {
    lua_host_policy *p = &h->policies[i];
    if (p->after_ref == LUA_NOREF) continue;
    lua_policy_ctx c;
    policy_ctx_init(&c, p, &view, now_ms);
    hook_args a = {.fn_ref = p->after_ref,
                   .ctx = &c,
                   .call = view.call,
                   .result = result ? result : empty_result};
    char err[LUA_HOST_ERROR_MAX_BYTES];
    json_t *r = NULL;
    if (hook_run(h, p, &a, &r, err, sizeof err) < 0)
      log_warn("lua %s: after failed: %s", lua_sandbox_name(p->sb), err);
    json_decref(r);
  }
  json_decref(empty_call);
  json_decref(empty_result);
}
