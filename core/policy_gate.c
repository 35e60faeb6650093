#include "policy_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "session.h"

/* run_first rounds for one call: a policy that keeps asking is refused. */
#define POLICY_GATE_MAX_ROUNDS 2
/* What policies can read back: the newest calls of a session, the newest
 * mutating actions of the daemon. Old entries go first. */
#define POLICY_MAX_HISTORY 4096
#define POLICY_MAX_ACTIONS 256
/* A result as the after hooks see it. */
#define POLICY_MAX_RESULT_BYTES (64u * 1024)

typedef enum { GATE_DECIDING, GATE_CONFIRMING, GATE_RUNNING_FIRST, GATE_DONE } gate_state;

struct policy_gate {
  app *a;
  session *s;
  lua_host *scripts;
  char *call_id, *tool, *identity, *source;
  json_t *input;
  int mutating;
  gate_state state;
  int rounds, cancelled;
  char *approved_by; /* the operator who approved a confirm */
  json_t *decisions; /* every non-allow answer, for the record */
  uv_timer_t timer;  /* defers the first decision; then the confirm limit */
  lua_tool_call *first;
  json_t *first_record;
  char *first_call_id, *first_policy;
  char note[512];
  policy_gate_done_cb on_done;
  void *ud;
};

static json_t *gate_history(const policy_gate *g) {
  return g->s ? g->s->history : g->a->button_history;
}

static void gate_emit(policy_gate *g, const char *type, json_t *fields) {
  if (g->s)
    session_emit_type(g->s, type, fields);
  else
    json_decref(fields);
}

static void list_append_bounded(json_t *list, json_t *item, size_t max, int keep_unfinished) {
  json_array_append(list, item);
  for (size_t i = 0; json_array_size(list) > max && i < json_array_size(list);) {
    json_t *old = json_array_get(list, i);
    if (keep_unfinished && !json_object_get(old, "finished_ms"))
      i++;
    else
      json_array_remove(list, i);
  }
}

/* A call as history keeps it (docs/lua-api.md). New reference. */
static json_t *gate_record(const policy_gate *g, const char *call_id, const char *tool,
                           const json_t *input, int mutating, const char *decision,
                           const char *inserted_by) {
  json_t *r = json_pack("{s:s, s:O, s:b, s:s, s:s, s:s, s:s, s:I, s:s}", "tool", tool, "input",
                        input, "mutating", mutating, "source", g->source, "identity", g->identity,
                        "session_id", g->s ? g->s->id : "", "call_id", call_id, "started_ms",
                        (json_int_t)log_now_ms(), "decision", decision);
  if (!r) return NULL;
  json_t *verb = json_object_get(input, "verb");
  if (strcmp(tool, "pve") == 0 && json_is_string(verb)) json_object_set(r, "verb", verb);
  if (inserted_by) json_object_set_new(r, "inserted_by", json_string(inserted_by));
  return r;
}

static void gate_free(uv_handle_t *h) {
  policy_gate *g = h->data;
  lua_host_release(g->scripts);
  json_decref(g->input);
  json_decref(g->decisions);
  json_decref(g->first_record);
  free(g->call_id);
  free(g->tool);
  free(g->identity);
  free(g->source);
  free(g->approved_by);
  free(g->first_call_id);
  free(g->first_policy);
  free(g);
}

static void gate_finish(policy_gate *g, json_t *record, int allowed, const char *policy,
                        const char *reason) {
  g->state = GATE_DONE;
  if (g->s && g->s->confirming == g) g->s->confirming = NULL;
  uv_timer_stop(&g->timer);
  policy_gate_result r = {.allowed = allowed, .record = record, .policy = policy,
                          .reason = reason, .note = g->note[0] ? g->note : NULL};
  g->on_done(g->ud, &r);
  json_decref(record);
  uv_close((uv_handle_t *)&g->timer, gate_free);
}

/* The refusal is history too: "deny" means the call did not run. */
static void gate_refuse(policy_gate *g, const char *policy, const char *reason) {
  json_t *r = gate_record(g, g->call_id, g->tool, g->input, g->mutating, "deny", NULL);
  if (r) {
    json_object_set_new(r, "finished_ms", json_integer((json_int_t)log_now_ms()));
    json_object_set_new(r, "is_error", json_true());
    json_object_set(r, "decisions", g->decisions);
    list_append_bounded(gate_history(g), r, POLICY_MAX_HISTORY, 0);
  }
  gate_finish(g, r, 0, policy, reason);
}

static void gate_allow(policy_gate *g) {
  json_t *r = gate_record(g, g->call_id, g->tool, g->input, g->mutating,
                          g->approved_by ? "confirm" : "allow", NULL);
  if (!r) {
    gate_refuse(g, NULL, "out of memory recording the call");
    return;
  }
  if (g->approved_by) json_object_set_new(r, "approved_by", json_string(g->approved_by));
  json_object_set(r, "decisions", g->decisions);
  list_append_bounded(gate_history(g), r, POLICY_MAX_HISTORY, 0);
  if (g->mutating) list_append_bounded(g->a->actions, r, POLICY_MAX_ACTIONS, 1);
  gate_finish(g, r, 1, NULL, NULL);
}

static void gate_note_decision(policy_gate *g, const char *verdict, const lua_policy_decision *d) {
  json_t *ev = json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "call_id", g->call_id, "tool", g->tool,
                         "policy", d->policy, "verdict", verdict, "reason", d->reason);
  if (d->run_tool) json_object_set_new(ev, "run_first", json_pack("{s:s, s:O?}", "tool", d->run_tool,
                                                                  "input", d->run_input));
  json_array_append(g->decisions, ev);
  gate_emit(g, "policy", ev);
}

static void gate_decide(policy_gate *g);

static void gate_first_output(void *ud, const char *chunk, size_t len) {
  policy_gate *g = ud;
  gate_emit(g, "tool_output", json_pack("{s:s, s:s%}", "call_id", g->first_call_id, "text", chunk, len));
}

static void gate_first_done(void *ud, int is_error, const char *content, size_t len) {
  policy_gate *g = ud;
  g->first = NULL;
  unsigned long long started = (unsigned long long)json_integer_value(json_object_get(g->first_record, "started_ms"));
  gate_emit(g, "tool_result", json_pack("{s:s, s:b, s:s%, s:I}", "call_id", g->first_call_id,
                                        "is_error", is_error, "content", content, len,
                                        "duration_ms", (json_int_t)(log_now_ms() - started)));
  policy_gate_record_finish(g->a, g->scripts, g->first_record, is_error, content, len);
  const char *tool = json_string_value(json_object_get(g->first_record, "tool"));
  const char *verb = json_string_value(json_object_get(g->first_record, "verb"));
  size_t at = strlen(g->note);
  snprintf(g->note + at, sizeof g->note - at, "%s%s%s%s ran first for policy %s: %s.", at ? " " : "",
           tool, verb ? " " : "", verb ? verb : "", g->first_policy, is_error ? "it failed" : "ok");
  json_decref(g->first_record);
  g->first_record = NULL;
  if (g->cancelled) {
    gate_refuse(g, NULL, "not run: the turn was stopped first");
    return;
  }
  g->rounds++;
  gate_decide(g);
}

/* The runtime runs what the policy named, shows it like any call, records
 * it as inserted by that policy, then asks the policies again. */
static void gate_run_first(policy_gate *g, const lua_policy_decision *d) {
  if (g->rounds >= POLICY_GATE_MAX_ROUNDS) {
    char why[512];
    snprintf(why, sizeof why, "policy %s asked again to run %s first; refused after %d rounds",
             d->policy, d->run_tool, POLICY_GATE_MAX_ROUNDS);
    gate_refuse(g, d->policy, why);
    return;
  }
  /* An inserted call must not change the VM: it runs without intent or gate. */
  if (lua_host_tool_mutating(g->scripts, d->run_tool, d->run_input) != 0) {
    char why[512];
    snprintf(why, sizeof why, "policy %s asked to run %s first, which is mutating; refused",
             d->policy, d->run_tool);
    gate_refuse(g, d->policy, why);
    return;
  }
  char id[160];
  snprintf(id, sizeof id, "%s.first%d", g->call_id, g->rounds + 1);
  free(g->first_call_id);
  free(g->first_policy);
  g->first_call_id = strdup(id);
  g->first_policy = strdup(d->policy ? d->policy : "?");
  g->first_record = gate_record(g, id, d->run_tool, d->run_input, 0, "allow", d->policy);
  if (!g->first_call_id || !g->first_policy || !g->first_record) {
    gate_refuse(g, NULL, "out of memory running a policy's first call");
    return;
  }
  list_append_bounded(gate_history(g), g->first_record, POLICY_MAX_HISTORY, 0);
  gate_emit(g, "tool", json_pack("{s:s, s:s, s:O?, s:b, s:s, s:s}", "call_id", id, "name",
                                 d->run_tool, "input", d->run_input, "mutating", 0, "identity",
                                 g->identity, "inserted_by", g->first_policy));
  g->state = GATE_RUNNING_FIRST;
  lua_call_info info = {.session_id = g->s ? g->s->id : "", .call_id = id, .identity = g->identity};
  static const lua_tool_cbs cbs = {gate_first_output, gate_first_done};
  g->first = lua_host_call_tool(g->scripts, d->run_tool, d->run_input, &info, &cbs, g);
  if (!g->first) {
    static const char msg[] = "out of memory starting the call";
    gate_first_done(g, 1, msg, sizeof msg - 1);
  }
}

static void gate_on_confirm_timeout(uv_timer_t *t) {
  policy_gate *g = t->data;
  char why[256];
  snprintf(why, sizeof why, "no answer from the operator within %ld s: counted as a denial",
           g->a->config->confirm_timeout_s);
  gate_emit(g, "confirm_result", json_pack("{s:s, s:b, s:b}", "call_id", g->call_id, "approved", 0,
                                           "timed_out", 1));
  gate_refuse(g, NULL, why);
}

static void gate_ask_operator(policy_gate *g, const lua_policy_decision *d) {
  if (!g->s) {
    /* A button is pressed by the operator, after the page's own confirm:
     * the press is the approval. */
    g->approved_by = strdup(g->identity);
    gate_allow(g);
    return;
  }
  if (g->s->confirming) {
    gate_refuse(g, d->policy, "another call in this session is waiting for the operator");
    return;
  }
  uint64_t timeout_ms = (uint64_t)g->a->config->confirm_timeout_s * 1000;
  gate_emit(g, "confirm_request",
            json_pack("{s:s, s:s, s:O, s:s?, s:s?, s:I}", "call_id", g->call_id, "tool", g->tool,
                      "input", g->input, "reason", d->reason, "policy", d->policy, "timeout_ms",
                      (json_int_t)timeout_ms));
  g->state = GATE_CONFIRMING;
  g->s->confirming = g;
  uv_timer_start(&g->timer, gate_on_confirm_timeout, timeout_ms, 0);
}

static json_t *gate_call_json(const policy_gate *g) {
  json_t *c = gate_record(g, g->call_id, g->tool, g->input, g->mutating, "allow", NULL);
  if (!c) return NULL;
  json_object_del(c, "started_ms");
  json_object_del(c, "decision");
  json_object_set_new(c, "now_ms", json_integer((json_int_t)log_now_ms()));
  return c;
}

static void gate_decide(policy_gate *g) {
  g->state = GATE_DECIDING;
  if (g->cancelled) {
    gate_refuse(g, NULL, "not run: the turn was stopped first");
    return;
  }
  json_t *call = gate_call_json(g);
  lua_policy_view v = {.call = call, .history = gate_history(g), .actions = g->a->actions};
  lua_policy_decision d;
  lua_host_policy_before(g->scripts, &v, &d);
  json_decref(call);
  switch (d.verdict) {
  case LUA_POLICY_ALLOW:
    gate_allow(g);
    break;
  case LUA_POLICY_DENY: {
    gate_note_decision(g, "deny", &d);
    gate_refuse(g, d.policy, d.reason ? d.reason : "out of memory");
    break;
  }
  case LUA_POLICY_RUN_FIRST:
    gate_note_decision(g, "run_first", &d);
    gate_run_first(g, &d);
    break;
  case LUA_POLICY_CONFIRM:
    if (g->approved_by) {
      gate_allow(g);
      break;
    }
    gate_note_decision(g, "confirm", &d);
    gate_ask_operator(g, &d);
    break;
  }
  lua_policy_decision_free(&d);
}

static void gate_on_start(uv_timer_t *t) { gate_decide(t->data); }

policy_gate *policy_gate_start(app *a, const policy_gate_call *c, policy_gate_done_cb on_done,
                               void *ud) {
  policy_gate *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->a = a;
  g->s = c->session;
  g->scripts = c->scripts;
  g->call_id = strdup(c->call_id);
  g->tool = strdup(c->tool);
  g->identity = strdup(c->identity);
  g->source = strdup(c->source);
  g->input = json_deep_copy(c->input ? c->input : json_object());
  g->decisions = json_array();
  g->mutating = c->mutating;
  g->on_done = on_done;
  g->ud = ud;
  if (!a->actions) a->actions = json_array();
  if (!a->button_history) a->button_history = json_array();
  if (!g->call_id || !g->tool || !g->identity || !g->source || !g->input || !g->decisions ||
      !a->actions || !a->button_history) {
    json_decref(g->input);
    json_decref(g->decisions);
    free(g->call_id);
    free(g->tool);
    free(g->identity);
    free(g->source);
    free(g);
    return NULL;
  }
  lua_host_retain(g->scripts);
  uv_timer_init(a->loop, &g->timer);
  g->timer.data = g;
  uv_timer_start(&g->timer, gate_on_start, 0, 0);
  return g;
}

void policy_gate_cancel(policy_gate *g) {
  if (g->state == GATE_DONE || g->cancelled) return;
  g->cancelled = 1;
  if (g->state == GATE_RUNNING_FIRST) {
    if (g->first) lua_tool_call_cancel(g->first);
    return;
  }
  if (g->state == GATE_CONFIRMING) {
    g->s->confirming = NULL;
    gate_emit(g, "confirm_result", json_pack("{s:s, s:b, s:b}", "call_id", g->call_id, "approved", 0,
                                             "timed_out", 0));
  }
  /* The refusal comes from the loop, as the header promises. */
  g->state = GATE_DECIDING;
  uv_timer_start(&g->timer, gate_on_start, 0, 0);
}

int policy_gate_answer(session *s, const char *call_id, int approve, const char *identity) {
  policy_gate *g = s->confirming;
  if (!g || strcmp(g->call_id, call_id) != 0) {
    size_t i;
    json_t *r;
    json_array_foreach(s->history, i, r) {
      const char *id = json_string_value(json_object_get(r, "call_id"));
      if (id && strcmp(id, call_id) == 0) return -2;
    }
    return -1;
  }
  s->confirming = NULL;
  uv_timer_stop(&g->timer);
  log_info("session %s: %s %s call %s (%s)", s->id, identity, approve ? "approved" : "declined",
           call_id, g->tool);
  gate_emit(g, "confirm_result", json_pack("{s:s, s:b, s:s, s:b}", "call_id", call_id, "approved",
                                           approve, "identity", identity, "timed_out", 0));
  if (!approve) {
    char why[256];
    snprintf(why, sizeof why, "the operator (%s) declined this call", identity);
    gate_refuse(g, NULL, why);
    return 0;
  }
  g->approved_by = strdup(identity);
  /* Asked again: another action may have started while the operator read. */
  gate_decide(g);
  return 0;
}

void policy_gate_record_finish(app *a, lua_host *scripts, json_t *record, int is_error,
                               const char *content, size_t len) {
  if (!json_is_true(json_object_get(record, "host_running")))
    json_object_set_new(record, "finished_ms", json_integer((json_int_t)log_now_ms()));
  json_object_set_new(record, "is_error", json_boolean(is_error));
  if (!scripts) return;
  const char *sid = json_string_value(json_object_get(record, "session_id"));
  session *s = sid && sid[0] ? session_find(a, sid) : NULL;
  lua_policy_view v = {.call = record, .history = s ? s->history : a->button_history,
                       .actions = a->actions};
  if (!content) len = 0;
  if (len > POLICY_MAX_RESULT_BYTES) {
    len = POLICY_MAX_RESULT_BYTES;
    while (len > 0 && ((unsigned char)content[len] & 0xC0) == 0x80) len--; /* whole characters */
  }
  json_t *result = json_pack("{s:b, s:s%}", "is_error", is_error, "content", content ? content : "", len);
  lua_host_policy_after(scripts, &v, result);
  json_decref(result);
}

void policy_gate_record_not_run(app *a, json_t *record) {
  json_object_set_new(record, "decision", json_string("deny"));
  size_t i;
  json_t *action;
  json_array_foreach(a->actions, i, action) {
    if (action == record) {
      json_array_remove(a->actions, i);
      break;
    }
  }
}

json_t *policy_gate_action_keep_running(app *a, const char *session_id, const char *call_id) {
  size_t i;
  json_t *action;
  json_array_foreach(a->actions, i, action) {
    const char *sid = json_string_value(json_object_get(action, "session_id"));
    const char *cid = json_string_value(json_object_get(action, "call_id"));
    if (sid && cid && strcmp(sid, session_id) == 0 && strcmp(cid, call_id) == 0) {
      json_object_set_new(action, "host_running", json_true());
      return json_incref(action);
    }
  }
  return NULL;
}

void policy_gate_action_ended(json_t *action) {
  json_object_del(action, "host_running");
  json_object_set_new(action, "finished_ms", json_integer((json_int_t)log_now_ms()));
  json_decref(action);
}

void policy_gate_free_all(app *a) {
  json_decref(a->actions);
  json_decref(a->button_history);
  a->actions = a->button_history = NULL;
}
