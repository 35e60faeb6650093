#include "gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "utf8_text.h"

void gate_decision_free(gate_decision *d) {
  lua_policy_decision_free(&d->said);
  free(d->run_call_id);
  json_decref(d->events);
  memset(d, 0, sizeof *d);
}

json_t *gate_record_new(const gate_call *c, const char *call_id, const char *tool,
                        const json_t *input, int mutating, unsigned long long started_ms,
                        const char *decision, const char *inserted_by) {
  json_t *r = json_pack("{s:s, s:O, s:b, s:s, s:s, s:s, s:s, s:I, s:s}", "tool", tool, "input",
                        input, "mutating", mutating, "source", c->source, "identity", c->identity,
                        "session_id", c->session_id ? c->session_id : "", "call_id", call_id,
                        "started_ms", (json_int_t)started_ms, "decision", decision);
  if (!r) return NULL;
  json_t *verb = json_object_get(input, "verb");
  if (strcmp(tool, "pve") == 0 && json_is_string(verb)) json_object_set(r, "verb", verb);
  if (inserted_by) json_object_set_new(r, "inserted_by", json_string(inserted_by));
  return r;
}

json_t *gate_record_from_journal(const json_t *tool_call, const char *session_id) {
  const char *source = json_string_value(json_object_get(tool_call, "source"));
  const char *identity = json_string_value(json_object_get(tool_call, "identity"));
  const char *call_id = json_string_value(json_object_get(tool_call, "call_id"));
  const char *tool = json_string_value(json_object_get(tool_call, "name"));
  const char *decision = json_string_value(json_object_get(tool_call, "decision"));
  const json_t *input = json_object_get(tool_call, "input");
  const json_t *started = json_object_get(tool_call, "started_ms");
  gate_call c = {.session_id = session_id,
                 .source = source ? source : "model",
                 .identity = identity ? identity : ""};
  json_t *empty = json_object();
  json_t *r = gate_record_new(&c, call_id ? call_id : "", tool ? tool : "", input ? input : empty,
                              json_is_true(json_object_get(tool_call, "mutating")),
                              (unsigned long long)json_integer_value(started),
                              decision ? decision : "allow",
                              json_string_value(json_object_get(tool_call, "inserted_by")));
  json_decref(empty);
  static const char *const copied[] = {"decisions", "approved_by", "override", NULL};
  for (const char *const *k = copied; r && *k; k++) {
    json_t *v = json_object_get(tool_call, *k);
    if (v) json_object_set(r, *k, v);
  }
  if (r && !json_object_get(r, "decisions")) json_object_set_new(r, "decisions", json_array());
  return r;
}

void gate_list_append(json_t *list, json_t *record, size_t max, int keep_unfinished) {
  json_array_append(list, record);
  for (size_t i = 0; json_array_size(list) > max && i < json_array_size(list);) {
    json_t *old = json_array_get(list, i);
    if (keep_unfinished && !json_object_get(old, "finished_ms"))
      i++;
    else
      json_array_remove(list, i);
  }
}

void gate_record_finish(lua_host *h, json_t *record, const json_t *history, const json_t *actions,
                        int is_error, const char *content, size_t len, unsigned long long now_ms) {
  if (!json_is_true(json_object_get(record, "host_running")))
    json_object_set_new(record, "finished_ms", json_integer((json_int_t)now_ms));
  json_object_set_new(record, "is_error", json_boolean(is_error));
  if (!h) return;
  if (!content) len = 0;
  len = utf8_text_cut(content, len, GATE_MAX_RESULT_BYTES);
  json_t *call = json_copy(record);
  json_t *result = json_pack("{s:b, s:s%}", "is_error", is_error, "content", content ? content : "",
                             len);
  if (call && result) {
    json_object_set_new(call, "now_ms", json_integer((json_int_t)now_ms));
    lua_policy_view v = {.call = call, .history = history, .actions = actions};
    lua_host_policy_after(h, &v, result);
  }
  json_decref(call);
  json_decref(result);
}

/* The call as a policy's before sees it: its record without the gate's
 * own fields, at now_ms. */
static json_t *gate_call_json(const gate_call *c, unsigned long long now_ms) {
  json_t *call = gate_record_new(c, c->call_id, c->tool, c->input, c->mutating, 0, "allow", NULL);
  if (!call) return NULL;
  json_object_del(call, "started_ms");
  json_object_del(call, "decision");
  json_object_set_new(call, "now_ms", json_integer((json_int_t)now_ms));
  return call;
}

static void gate_note(gate_decision *out, const gate_call *c, const char *verdict,
                      const lua_policy_decision *d) {
  json_t *ev = json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "call_id", c->call_id, "tool", c->tool,
                         "policy", d->policy, "verdict", verdict, "reason", d->reason);
  if (ev && d->run_tool)
    json_object_set_new(ev, "run_first",
                        json_pack("{s:s, s:O?}", "tool", d->run_tool, "input", d->run_input));
  if (ev && d->overridable) json_object_set_new(ev, "overridable", json_true());
  json_array_append_new(out->events, ev);
}

static void gate_note_overridden(gate_decision *out, const gate_call *c) {
  size_t i;
  json_t *o;
  json_array_foreach(out->said.overridden, i, o) {
    json_t *ev = json_pack("{s:s, s:s, s:O?, s:s, s:O?, s:O?}", "call_id", c->call_id, "tool",
                           c->tool, "policy", json_object_get(o, "policy"), "verdict", "override",
                           "reason", json_object_get(o, "reason"), "identity",
                           json_object_get(o, "identity"));
    json_array_append_new(out->events, ev);
  }
}

/* policy and reason may be out's own: they are copied before those go. */
static void gate_refuse(gate_decision *out, const char *policy, const char *reason) {
  char *named = policy ? strdup(policy) : NULL, *why = strdup(reason);
  out->verdict = GATE_DENY;
  out->outcome = "deny";
  free(out->said.policy);
  free(out->said.reason);
  out->said.policy = named;
  out->said.reason = why;
}

/* A run_first the gate can honour: within the rounds, and not itself a
 * change (an inserted call runs without asking the policies again). */
static void gate_run_first(lua_host *h, const gate_call *c, const gate_answers *a,
                           gate_decision *out) {
  const lua_policy_decision *d = &out->said;
  char why[512];
  if (a->rounds >= GATE_MAX_ROUNDS_COUNT) {
    snprintf(why, sizeof why, "policy %s asked again to run %s first; refused after %d rounds",
             d->policy, d->run_tool, GATE_MAX_ROUNDS_COUNT);
    gate_refuse(out, d->policy, why);
    return;
  }
  if (lua_host_tool_mutating(h, d->run_tool, d->run_input) != 0) {
    snprintf(why, sizeof why, "policy %s asked to run %s first, which is mutating; refused",
             d->policy, d->run_tool);
    gate_refuse(out, d->policy, why);
    return;
  }
  out->verdict = GATE_RUN_FIRST;
  out->outcome = "allow";
  if (asprintf(&out->run_call_id, "%s.first%d", c->call_id, a->rounds + 1) < 0)
    out->run_call_id = NULL;
  if (!out->run_call_id) gate_refuse(out, NULL, "out of memory");
}

void gate_decide(lua_host *h, const gate_call *c, const gate_answers *a, const json_t *history,
                 const json_t *actions, unsigned long long now_ms, gate_decision *out) {
  memset(out, 0, sizeof *out);
  out->events = json_array();
  json_t *call = gate_call_json(c, now_ms);
  if (!out->events || !call) {
    json_decref(call);
    gate_refuse(out, NULL, "out of memory asking the policies");
    return;
  }
  int button = strcmp(c->source, "button") == 0;
  lua_policy_view v = {.call = call,
                       .history = history,
                       .actions = actions,
                       .override_by = button ? a->override_by : NULL};
  lua_policy_decision *d = &out->said;
  lua_host_policy_before(h, &v, d);
  json_decref(call);
  gate_note_overridden(out, c);
  switch (d->verdict) {
  case LUA_POLICY_ALLOW:
    out->verdict = GATE_ALLOW;
    out->outcome = a->approved_by ? "confirm" : "allow";
    break;
  case LUA_POLICY_DENY:
    gate_note(out, c, "deny", d);
    gate_refuse(out, d->policy, d->reason ? d->reason : "out of memory");
    break;
  case LUA_POLICY_RUN_FIRST:
    gate_note(out, c, "run_first", d);
    gate_run_first(h, c, a, out);
    break;
  case LUA_POLICY_CONFIRM:
    if (a->approved_by) {
      out->verdict = GATE_ALLOW;
      out->outcome = "confirm";
      break;
    }
    gate_note(out, c, "confirm", d);
    /* A button is pressed by the operator after the page's own confirm:
     * the press is the approval. */
    out->verdict = button ? GATE_ALLOW : GATE_ASK;
    out->outcome = button ? "confirm" : "deny";
    break;
  }
}
