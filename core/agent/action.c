/* The action pipeline (action.h). An action moves through phases, each
 * entered from the loop; its one timer defers steps (so that on_done never
 * runs inside action_start or action_cancel) and bounds the operator's
 * answer to a confirm.
 *
 * Lifetime: the action is freed when its record is written and its timer
 * closed, whether or not its owner is still there (a detached power verb
 * outlives its turn). The session outlives every action in it: it counts
 * them (actions_running) and is not deleted while one runs.
 *
 * Every step runs in the action's log context: the session, the call, who
 * asked, and the request that started it (log.h).
 */
#include "action.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "journal_session.h"
#include "journal_store.h"
#include "limits_table.h"
#include "log.h"

typedef enum action_phase {
  ACTION_DECIDING,   /* the gate asks the policies (next: from the timer) */
  ACTION_CONFIRMING, /* waiting for the operator */
  ACTION_FIRST,      /* a call a policy asked for runs first */
  ACTION_INTENT,     /* the intent is being flushed */
  ACTION_RUNNING,
  ACTION_ENDING, /* refused or not run: the end comes from the timer */
  ACTION_DONE,
} action_phase;

struct action {
  action_call call; /* strings and input owned */
  session *s;
  char *inserted_by; /* the policy that inserted this call, or NULL */
  action_runner runner;
  void *run;
  action_done_cb on_done;
  void *ud;
  action_phase phase;
  gate_answers answers;
  json_t *decisions;  /* the policy events of every round */
  json_t *decided;    /* [[ms, seq]] when each round was decided */
  json_t *overridden; /* what the operator overrode */
  json_t *record;     /* the call in the history */
  action *first;      /* a call running first for a policy */
  char *first_what;   /* its "tool verb", for the note */
  char *first_policy;
  char note[ACTION_NOTE_MAX_BYTES];
  uv_timer_t timer;
  journal_sync *intent;
  unsigned long long started_ms;
  size_t output_bytes;
  int output_cut;
  /* A secret a host prints across two chunks is caught at their seam. */
  redactor_stream output_redact;
  int cancelled, detached;
  int declined; /* the operator said no, or did not answer in time */
  log_context log;
  int overridable;  /* the refusal may be overridden by the operator */
  int unavailable;  /* no journal or no policies: see action_outcome */
  char *end_policy; /* refused by, or NULL */
  char *end_reason; /* the policy's reason, or the whole sentence */
  char *end_text;   /* what the model reads: "refused by policy p: reason" */
};

static void action_decide(action *a);
static action *action_new(const action_call *c, const action_runner *r, action_done_cb on_done,
                          void *ud, const char *inserted_by);
static void action_end(action *a, int is_error, const char *content, size_t len,
                       const json_t *details);

static app *action_app(const action *a) { return a->s->app; }

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void action_release(action *a) {
  if (a->call.scripts) lua_host_release(a->call.scripts);
  free((char *)a->call.call_id);
  free((char *)a->call.tool);
  free((char *)a->call.source);
  free((char *)a->call.identity);
  free((char *)a->call.override_by);
  json_decref((json_t *)a->call.input);
  free((char *)a->answers.approved_by);
  free(a->inserted_by);
  free(a->first_what);
  free(a->first_policy);
  free(a->end_policy);
  free(a->end_reason);
  free(a->end_text);
  free(a->output_redact.held);
  json_decref(a->decisions);
  json_decref(a->decided);
  json_decref(a->overridden);
  json_decref(a->record);
  free(a);
}

static void action_free(uv_handle_t *h) { action_release(h->data); }

static gate_call action_gate_call(const action *a) {
  return (gate_call){.session_id = a->s->id,
                     .call_id = a->call.call_id,
                     .tool = a->call.tool,
                     .source = a->call.source,
                     .identity = a->call.identity,
                     .input = a->call.input,
                     .mutating = a->call.mutating};
}

static void action_defer(action *a, uv_timer_cb cb) { uv_timer_start(&a->timer, cb, 0, 0); }

/* --- events -------------------------------------------------------------- */

/* Shown once the gate has decided, after anything it ran first, so the
 * page reads in order. */
static void action_emit_tool(action *a) {
  session_emit_kind(a->s, "tool",
                    json_pack("{s:s, s:s, s:O, s:b, s:s, s:s, s:s?}", "call_id", a->call.call_id,
                              "name", a->call.tool, "input", a->call.input, "mutating",
                              a->call.mutating, "identity", a->call.identity, "source",
                              a->call.source, "inserted_by", a->inserted_by));
}

static void action_emit_output(action *a, const char *chunk, size_t len) {
  if (len == 0 || a->output_cut) return;
  int call_full = len > ACTION_MAX_OUTPUT_BYTES - a->output_bytes;
  if (call_full || a->s->event_bytes > SESSION_MAX_EVENT_BYTES) {
    char note[128];
    snprintf(note, sizeof note, "\n[breakglass: the rest of the output is not shown: %s %u MiB]\n",
             call_full ? "it passed" : "this session holds",
             (call_full ? ACTION_MAX_OUTPUT_BYTES : SESSION_MAX_EVENT_BYTES) >> 20);
    a->output_cut = 1;
    session_emit_kind(
        a->s, "tool_output",
        json_pack("{s:s, s:s, s:b}", "call_id", a->call.call_id, "text", note, "cut", 1));
    return;
  }
  a->output_bytes += len;
  session_emit_kind(a->s, "tool_output",
                    json_pack("{s:s, s:s%}", "call_id", a->call.call_id, "text", chunk, len));
}

void action_output(action *a, const char *chunk, size_t len) {
  if (a->output_cut || a->phase != ACTION_RUNNING) return;
  size_t n;
  char *safe = redactor_stream_push(&a->output_redact, chunk, len, &n);
  if (safe) action_emit_output(a, safe, n);
  free(safe);
}

/* The last of the output, held back in case it began a secret. */
static void action_output_end(action *a) {
  size_t n;
  char *rest = redactor_stream_end(&a->output_redact, &n);
  if (rest) action_emit_output(a, rest, n);
  free(rest);
}

/* --- the record ------------------------------------------------------------ */

/* The call joins the history (and, when it may change something, the
 * daemon-wide actions) with the gate's verdict and what led to it. */
static int action_record(action *a, const char *decision) {
  gate_call gc = action_gate_call(a);
  a->record = gate_record_new(&gc, a->call.call_id, a->call.tool, a->call.input, a->call.mutating,
                              a->started_ms, decision, a->inserted_by);
  if (!a->record) return -1;
  json_object_set(a->record, "decisions", a->decisions);
  if (a->answers.approved_by)
    json_object_set_new(a->record, "approved_by", json_string(a->answers.approved_by));
  if (json_array_size(a->overridden) > 0) json_object_set(a->record, "override", a->overridden);
  gate_list_append(a->s->history, a->record, GATE_MAX_HISTORY_COUNT, 0);
  app *ap = action_app(a);
  if (strcmp(decision, "deny") != 0 && a->call.mutating) {
    if (!ap->actions) ap->actions = json_array();
    gate_list_append(ap->actions, a->record, GATE_MAX_ACTIONS_COUNT, 1);
  }
  return 0;
}

/* It was allowed but did not run after all: a "deny", gone from the
 * daemon-wide actions so that limits do not count it. */
static void action_record_not_run(action *a) {
  json_object_set_new(a->record, "decision", json_string("deny"));
  json_t *list = action_app(a)->actions;
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    if (item == a->record) {
      json_array_remove(list, i);
      break;
    }
  }
}

/* Stamps a moment the gate's state changed: [ms, seq]. */
static json_t *action_moment(action *a, unsigned long long ms) {
  return json_pack("[I, I]", (json_int_t)ms, (json_int_t)++action_app(a)->gate_seq);
}

static void action_journal(action *a, int is_error, const char *content, size_t len,
                           unsigned long long now) {
  json_t *fields = json_pack(
      "{s:s, s:s, s:O, s:s, s:s, s:b, s:O, s:O?, s:{s:b, s:s%}, s:I, s:I, s:O, s:o}", "call_id",
      a->call.call_id, "name", a->call.tool, "input", a->call.input, "identity", a->call.identity,
      "source", a->call.source, "mutating", a->call.mutating, "decisions", a->decisions, "decision",
      json_object_get(a->record, "decision"), "result", "is_error", is_error, "content", content,
      len, "duration_ms", (json_int_t)(now - a->started_ms), "started_ms",
      (json_int_t)a->started_ms, "decided", a->decided, "finished", action_moment(a, now));
  if (!fields) return;
  if (a->inserted_by) json_object_set_new(fields, "inserted_by", json_string(a->inserted_by));
  if (a->answers.approved_by)
    json_object_set_new(fields, "approved_by", json_string(a->answers.approved_by));
  if (json_array_size(a->overridden) > 0) json_object_set(fields, "override", a->overridden);
  journal_action_record(a->s, fields);
}

/* Logged, and counted by tool, source and outcome; power verbs also by
 * verb. A tool name the scripts do not have (the model may ask for
 * anything) is "other", so that it cannot take a label value from a real
 * tool. */
static void action_note_end(action *a, int was_running, int is_error, unsigned long long now) {
  const char *outcome = was_running                    ? (is_error ? "error" : "ok")
                        : a->end_policy || a->declined ? "refused"
                                                       : "not_run";
  const char *source = daemon_metrics_source(a->call.source);
  const char *verb = json_string_value(json_object_get(a->call.input, "verb"));
  log_info("%s%s%s from %s: %s%s%s (%llu ms)", a->call.tool, verb ? " " : "", verb ? verb : "",
           source, outcome, a->end_policy ? " by policy " : "", a->end_policy ? a->end_policy : "",
           now - a->started_ms);
  daemon_metrics *m = action_app(a)->metrics;
  if (!m) return;
  int pve = strcmp(a->call.tool, "pve") == 0;
  const char *tool = pve || (a->call.scripts && lua_host_has_tool(a->call.scripts, a->call.tool))
                         ? a->call.tool
                         : METRICS_OTHER;
  metric_inc(metric_at(m->tool_calls, tool, source, outcome));
  if (was_running)
    metric_observe(metric_at(m->tool_call_seconds, tool), (double)(now - a->started_ms) / 1000);
  if (pve) metric_inc(metric_at(m->power_verbs, verb, source, outcome));
}

/* The one way an action ends: shown, journaled, recorded, then its owner
 * hears of it (unless it let go), then it is freed. */
static void action_end(action *a, int is_error, const char *content, size_t len,
                       const json_t *details) {
  if (a->phase == ACTION_DONE) return;
  int was_running = a->phase == ACTION_RUNNING;
  if (was_running) action_output_end(a);
  a->phase = ACTION_DONE;
  if (was_running) a->s->actions_running--;
  unsigned long long now = log_now_ms();
  action_note_end(a, was_running, is_error, now);
  if (!a->record && action_record(a, "deny") != 0) log_error("session %s: out of memory", a->s->id);
  json_t *ev = json_pack("{s:s, s:b, s:s%, s:I}", "call_id", a->call.call_id, "is_error", is_error,
                         "content", content, len, "duration_ms", (json_int_t)(now - a->started_ms));
  if (ev && details) json_object_set(ev, "details", (json_t *)details);
  session_emit_kind(a->s, "tool_result", ev);
  if (a->record) {
    action_journal(a, is_error, content, len, now);
    gate_record_finish(a->call.scripts, a->record, a->s->history, action_app(a)->actions, is_error,
                       content, len, now);
  }
  if (a->detached) {
    const char *verb = json_string_value(json_object_get(a->call.input, "verb"));
    log_info("%s%s%s, left running after its turn was cancelled, ended: %s", a->call.tool,
             verb ? " " : "", verb ? verb : "", is_error ? "error" : "ran");
  } else {
    action_outcome o = {.ran = was_running,
                        .is_error = is_error,
                        .content = content,
                        .len = len,
                        .policy = a->end_policy,
                        .reason = a->end_reason,
                        .overridable = a->overridable,
                        .unavailable = a->unavailable,
                        .note = a->note[0] ? a->note : NULL,
                        .details = details};
    a->on_done(a->ud, &o);
  }
  uv_timer_stop(&a->timer);
  uv_close((uv_handle_t *)&a->timer, action_free);
}

static void action_on_end_timer(uv_timer_t *t) {
  action *a = t->data;
  const char *text = a->end_text ? a->end_text : "out of memory";
  log_context previous = log_context_enter(&a->log);
  action_end(a, 1, text, strlen(text), NULL);
  log_context_leave(&previous);
}

/* Refused, or not run: the end comes from the loop. */
static void action_stop(action *a, const char *policy, const char *why) {
  a->phase = ACTION_ENDING;
  free(a->end_policy);
  free(a->end_reason);
  free(a->end_text);
  free(a->output_redact.held);
  a->end_policy = dup_or_null(policy);
  a->end_reason = strdup(why);
  a->end_text = NULL;
  if (!policy)
    a->end_text = strdup(why);
  else if (asprintf(&a->end_text, "refused by policy %s: %s", policy, why) < 0)
    a->end_text = NULL;
  action_defer(a, action_on_end_timer);
}

static void action_refuse(action *a, const char *policy, const char *why) {
  a->started_ms = log_now_ms();
  if (!a->record && action_record(a, "deny") != 0) log_error("session %s: out of memory", a->s->id);
  action_emit_tool(a);
  action_stop(a, policy, why);
}

/* --- run ---------------------------------------------------------------- */

static void action_run(action *a) {
  if (a->cancelled) {
    action_record_not_run(a);
    action_stop(a, NULL, "not run: the turn was stopped first");
    return;
  }
  a->phase = ACTION_RUNNING;
  a->s->actions_running++;
  a->run = a->runner.start(a, a->runner.ud);
  if (a->run) return;
  /* While the daemon drains, the transport starts nothing new. */
  const char *why = a->s->app->shutting_down ? "not run: the daemon is shutting down"
                                             : "out of memory starting the call";
  action_end(a, 1, why, strlen(why), NULL);
}

void action_finish(action *a, int is_error, const char *content, size_t len,
                   const json_t *details) {
  a->run = NULL;
  log_context previous = log_context_enter(&a->log);
  action_end(a, is_error, content, len, details);
  log_context_leave(&previous);
}

/* --- intent ------------------------------------------------------------- */

/* No journal, no action (DESIGN.md invariant 2): refused with the reason,
 * and the operator is told. */
static void action_not_recorded(action *a, const char *why) {
  char msg[1024];
  snprintf(msg, sizeof msg, "not run: its intent could not be written to the journal: %s", why);
  a->unavailable = 1;
  action_record_not_run(a);
  session_emit_kind(a->s, "error", json_pack("{s:s, s:s}", "error", msg, "error_type", "journal"));
  action_stop(a, NULL, msg);
}

static void action_on_intent(void *ud, int status) {
  action *a = ud;
  a->intent = NULL;
  log_context previous = log_context_enter(&a->log);
  if (status != 0) {
    char why[256];
    snprintf(why, sizeof why, "flushing it to disk failed: %s", uv_strerror(status));
    action_not_recorded(a, why);
  } else {
    action_run(a);
  }
  log_context_leave(&previous);
}

static void action_write_intent(action *a) {
  a->phase = ACTION_INTENT;
  json_t *fields = json_pack("{s:s, s:s, s:O, s:s, s:s, s:b}", "call_id", a->call.call_id, "name",
                             a->call.tool, "input", a->call.input, "identity", a->call.identity,
                             "source", a->call.source, "mutating", a->call.mutating);
  if (fields && a->inserted_by)
    json_object_set_new(fields, "inserted_by", json_string(a->inserted_by));
  char err[768];
  if (!fields) {
    action_not_recorded(a, "out of memory");
  } else if (journal_action_intent(a->s, fields, action_on_intent, a, &a->intent, err,
                                   sizeof err) != 0) {
    action_not_recorded(a, err);
  }
}

static void action_allow(action *a, const char *outcome) {
  a->started_ms = log_now_ms();
  if (action_record(a, outcome) != 0) {
    action_refuse(a, NULL, "out of memory recording the call");
    return;
  }
  action_emit_tool(a);
  action_write_intent(a);
}

/* --- the gate's rounds ---------------------------------------------------- */

static void action_emit_policy_events(action *a, const json_t *events) {
  size_t i;
  json_t *ev;
  daemon_metrics *m = action_app(a)->metrics;
  json_array_foreach(events, i, ev) {
    json_array_append(a->decisions, ev);
    session_emit_kind(a->s, "policy", json_deep_copy(ev));
    if (m)
      metric_inc(metric_at(m->policy_decisions, json_string_value(json_object_get(ev, "policy")),
                           json_string_value(json_object_get(ev, "verdict"))));
  }
}

static void action_on_first_done(void *ud, const action_outcome *o) {
  action *a = ud;
  a->first = NULL;
  if (a->cancelled) {
    action_refuse(a, NULL, "not run: the turn was stopped first");
    return;
  }
  if (!o->ran) {
    /* Asking again would only ask for it again: what stopped it (most
     * often no journal) stops this call too. */
    char why[1024];
    const char *its = o->reason ? o->reason : "refused";
    if (strncmp(its, "not run: ", 9) == 0) its += 9;
    snprintf(why, sizeof why, "not run: %s, which policy %s asked to run first, did not run: %s",
             a->first_what, a->first_policy, its);
    a->unavailable = o->unavailable;
    action_refuse(a, NULL, why);
    return;
  }
  size_t at = strlen(a->note);
  snprintf(a->note + at, sizeof a->note - at, "%s%s ran first for policy %s: %s.", at ? " " : "",
           a->first_what, a->first_policy, o->is_error ? "it failed" : "ok");
  a->answers.rounds++;
  a->phase = ACTION_DECIDING;
  action_decide(a);
}

/* The runtime runs what the policy named as an action of its own (shown,
 * its intent flushed, recorded as inserted by that policy), then asks
 * again. */
static void action_run_first(action *a, const gate_decision *d) {
  const char *verb = json_string_value(json_object_get(d->said.run_input, "verb"));
  free(a->first_what);
  free(a->first_policy);
  if (asprintf(&a->first_what, "%s%s%s", d->said.run_tool, verb ? " " : "", verb ? verb : "") < 0)
    a->first_what = NULL;
  a->first_policy = strdup(d->said.policy);
  if (!a->first_what || !a->first_policy) {
    action_refuse(a, NULL, "out of memory running a policy's first call");
    return;
  }
  action_call c = {.session = a->s,
                   .scripts = a->call.scripts,
                   .call_id = d->run_call_id,
                   .tool = d->said.run_tool,
                   .input = d->said.run_input,
                   .mutating = 0,
                   .source = a->call.source,
                   .identity = a->call.identity};
  a->phase = ACTION_FIRST;
  a->first = action_new(&c, &action_lua_runner, action_on_first_done, a, d->said.policy);
  if (!a->first) action_refuse(a, NULL, "out of memory running a policy's first call");
}

static void action_on_confirm_timeout(uv_timer_t *t) {
  action *a = t->data;
  log_context previous = log_context_enter(&a->log);
  a->s->confirming = NULL;
  a->declined = 1;
  char why[256];
  snprintf(why, sizeof why, "no answer from the operator within %ld s: counted as a denial",
           action_app(a)->options.session.confirm_timeout_s);
  session_emit_kind(
      a->s, "confirm_result",
      json_pack("{s:s, s:b, s:b}", "call_id", a->call.call_id, "approved", 0, "timed_out", 1));
  action_refuse(a, NULL, why);
  log_context_leave(&previous);
}

static void action_ask(action *a, const gate_decision *d) {
  if (a->s->confirming) {
    action_refuse(a, d->said.policy, "another call in this session is waiting for the operator");
    return;
  }
  uint64_t timeout_ms = (uint64_t)action_app(a)->options.session.confirm_timeout_s * 1000;
  session_emit_kind(a->s, "confirm_request",
                    json_pack("{s:s, s:s, s:O, s:s?, s:s?, s:I}", "call_id", a->call.call_id,
                              "tool", a->call.tool, "input", a->call.input, "reason",
                              d->said.reason, "policy", d->said.policy, "timeout_ms",
                              (json_int_t)timeout_ms));
  a->phase = ACTION_CONFIRMING;
  a->s->confirming = a;
  uv_timer_start(&a->timer, action_on_confirm_timeout, timeout_ms, 0);
}

static void action_decide(action *a) {
  if (a->cancelled) {
    action_refuse(a, NULL, "not run: the turn was stopped first");
    return;
  }
  if (a->inserted_by) {
    action_allow(a, "allow");
    return;
  }
  if (!a->call.scripts) {
    if (a->call.mutating) {
      a->unavailable = 1;
      action_refuse(a, NULL,
                    "the policies are not loaded (see /readyz), so calls that change "
                    "something are refused");
    } else {
      action_allow(a, "allow");
    }
    return;
  }
  gate_call gc = action_gate_call(a);
  gate_decision d;
  unsigned long long now = log_now_ms();
  json_array_append_new(a->decided, action_moment(a, now));
  gate_decide(a->call.scripts, &gc, &a->answers, a->s->history, action_app(a)->actions, now, &d);
  action_emit_policy_events(a, d.events);
  if (d.said.overridden) {
    json_decref(a->overridden);
    a->overridden = json_incref(d.said.overridden);
  }
  switch (d.verdict) {
  case GATE_ALLOW:
    if (!a->answers.approved_by && strcmp(d.outcome, "confirm") == 0)
      a->answers.approved_by = strdup(a->call.identity); /* a button: the press approved it */
    action_allow(a, d.outcome);
    break;
  case GATE_DENY:
    a->overridable = d.said.overridable;
    action_refuse(a, d.said.policy, d.said.reason ? d.said.reason : "out of memory");
    break;
  case GATE_RUN_FIRST:
    action_run_first(a, &d);
    break;
  case GATE_ASK:
    action_ask(a, &d);
    break;
  }
  gate_decision_free(&d);
}

static void action_on_start_timer(uv_timer_t *t) {
  action *a = t->data;
  log_context previous = log_context_enter(&a->log);
  action_decide(a);
  log_context_leave(&previous);
}

/* --- start, cancel, answers ---------------------------------------------------- */

/* inserted_by: the policy that asked for this call to run first (it then
 * passes no gate of its own), or NULL. */
static action *action_new(const action_call *c, const action_runner *r, action_done_cb on_done,
                          void *ud, const char *inserted_by) {
  action *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->call = (action_call){.session = c->session,
                          .scripts = c->scripts,
                          .call_id = strdup(c->call_id),
                          .tool = strdup(c->tool),
                          .input = c->input ? json_deep_copy(c->input) : json_object(),
                          .mutating = c->mutating,
                          .source = strdup(c->source),
                          .identity = strdup(c->identity),
                          .override_by = dup_or_null(c->override_by)};
  a->decisions = json_array();
  a->decided = json_array();
  a->inserted_by = dup_or_null(inserted_by);
  if (!a->call.call_id || !a->call.tool || !a->call.input || !a->call.source || !a->call.identity ||
      (c->override_by && !a->call.override_by) || !a->decisions || !a->decided ||
      (inserted_by && !a->inserted_by)) {
    a->call.scripts = NULL;
    action_release(a);
    return NULL;
  }
  if (a->call.scripts) lua_host_retain(a->call.scripts);
  a->s = c->session;
  a->runner = *r;
  a->on_done = on_done;
  a->ud = ud;
  a->answers.override_by = a->call.override_by;
  a->output_redact.r = journal_store_redactor(a->s->app->journals);
  a->started_ms = log_now_ms();
  /* The request (or model call) that asked keeps its id in the action's
   * lines; the rest is the action's own. */
  a->log = *log_context_now();
  log_context_set(&a->log, NULL, a->s->id, a->call.call_id, a->call.identity);
  a->phase = ACTION_DECIDING;
  uv_timer_init(a->s->app->loop, &a->timer);
  a->timer.data = a;
  action_defer(a, action_on_start_timer);
  return a;
}

action *action_start(const action_call *c, const action_runner *r, action_done_cb on_done,
                     void *ud) {
  return action_new(c, r, on_done, ud, NULL);
}

static void action_on_detached(uv_timer_t *t) {
  action *a = t->data;
  static const char msg[] =
      "the turn was stopped while this call ran: it changes something, so it runs on to its "
      "end; its result will show in this session when it ends";
  action_outcome o = {
      .ran = 1, .is_error = 1, .content = msg, .len = sizeof msg - 1, .detached = 1};
  action_done_cb cb = a->on_done;
  a->detached = 1;
  log_context previous = log_context_enter(&a->log);
  cb(a->ud, &o);
  log_context_leave(&previous);
}

void action_cancel(action *a) {
  if (a->cancelled || a->phase >= ACTION_ENDING) return;
  a->cancelled = 1;
  switch (a->phase) {
  case ACTION_DECIDING:
    break; /* the pending decision sees the cancel */
  case ACTION_CONFIRMING:
    a->s->confirming = NULL;
    session_emit_kind(
        a->s, "confirm_result",
        json_pack("{s:s, s:b, s:b}", "call_id", a->call.call_id, "approved", 0, "timed_out", 0));
    uv_timer_stop(&a->timer);
    a->phase = ACTION_DECIDING;
    action_defer(a, action_on_start_timer);
    break;
  case ACTION_FIRST:
    if (a->first) action_cancel(a->first);
    break;
  case ACTION_INTENT:
    /* A flush can wait on a slow disk: the action does not wait for it. */
    journal_sync_abandon(a->intent);
    a->intent = NULL;
    action_record_not_run(a);
    action_stop(a, NULL, "not run: the turn was stopped first");
    break;
  case ACTION_RUNNING:
    if (a->call.mutating) {
      session_emit_kind(a->s, "notice",
                        json_pack("{s:s, s:s}", "call_id", a->call.call_id, "text",
                                  "a call that changes something was running when the turn "
                                  "stopped: a power verb already sent to the Proxmox host runs "
                                  "to its end there, and its result will show here"));
      action_defer(a, action_on_detached);
    } else if (a->run) {
      a->runner.cancel(a->run);
    }
    break;
  case ACTION_ENDING:
  case ACTION_DONE:
    break;
  }
}

int action_answer(session *s, const char *call_id, int approve, const char *identity) {
  action *a = s->confirming;
  if (!a || strcmp(a->call.call_id, call_id) != 0) {
    size_t i;
    json_t *r;
    json_array_foreach(s->history, i, r) {
      const char *id = json_string_value(json_object_get(r, "call_id"));
      if (id && strcmp(id, call_id) == 0) return ACTION_ANSWER_DECIDED;
    }
    return ACTION_ANSWER_UNKNOWN;
  }
  s->confirming = NULL;
  uv_timer_stop(&a->timer);
  log_context_set(log_context_now(), NULL, s->id, call_id, identity);
  log_info("session %s: %s %s call %s (%s)", s->id, identity, approve ? "approved" : "declined",
           call_id, a->call.tool);
  session_emit_kind(s, "confirm_result",
                    json_pack("{s:s, s:b, s:s, s:b}", "call_id", call_id, "approved", approve,
                              "identity", identity, "timed_out", 0));
  if (!approve) {
    char why[256];
    a->declined = 1;
    snprintf(why, sizeof why, "the operator (%s) declined this call", identity);
    action_refuse(a, NULL, why);
    return 0;
  }
  free((char *)a->answers.approved_by);
  a->answers.approved_by = strdup(identity);
  /* Asked again: another action may have started while the operator read. */
  a->phase = ACTION_DECIDING;
  action_decide(a);
  return 0;
}

const action_call *action_call_of(const action *a) { return &a->call; }

/* --- the Lua runner ---------------------------------------------------------- */

static void lua_runner_output(void *ud, const char *chunk, size_t len) {
  action_output(ud, chunk, len);
}

static void lua_runner_done(void *ud, int is_error, const char *content, size_t len,
                            const json_t *details) {
  action_finish(ud, is_error, content, len, details);
}

static void *lua_runner_start(action *a, void *ud) {
  (void)ud;
  static const lua_tool_cbs cbs = {lua_runner_output, lua_runner_done};
  lua_tool_call_info info = {
      .session_id = a->s->id, .call_id = a->call.call_id, .identity = a->call.identity};
  return lua_host_call_tool(a->call.scripts, a->call.tool, a->call.input, &info, &cbs, a);
}

static void lua_runner_cancel(void *run) { lua_tool_call_cancel(run); }

const action_runner action_lua_runner = {.start = lua_runner_start, .cancel = lua_runner_cancel};
