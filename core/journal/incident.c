/* The fold of www/incident.mjs's buildIncident, step for step: times are
 * milliseconds as doubles (NaN when unknown, as in the page), strings are
 * what String() makes of the event's values. The page's Maps are jansson
 * objects keyed by js_map_key's text, so a long journal folds in time
 * linear in its events. */
#include "incident.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "incident_call.h"
#include "incident_parts.h"
#include "incident_plain.h"
#include "incident_write.h"
#include "journal_reader.h"
#include "js_text.h"
#include "limits_table.h"
#include "utf8_text.h"

#define INCIDENT_OPERATOR_TITLE "Power buttons"
/* A call a policy ran first for another: "ID.first1" (gate.c). */
#define INCIDENT_FIRST_SUFFIX ".first"

/* parseTime: epoch seconds or milliseconds, or the daemon's ISO time. */
static double incident_time(const json_t *ts) {
  if (json_is_number(ts)) {
    double x = json_number_value(ts);
    return x < 1e12 ? x * 1000 : x;
  }
  unsigned long long ms;
  if (json_is_string(ts) && journal_parse_utc(json_string_value(ts), &ms) == 0) return (double)ms;
  return NAN;
}

/* map.get(key) of one of the page's Maps; NULL when it holds none. */
static json_t *map_get(const json_t *map, const json_t *key) {
  buf k;
  buf_init(&k, JS_TEXT_MAX_BYTES);
  json_t *v = js_map_key(&k, key) == 0 ? json_object_getn(map, buf_cstr(&k), k.len) : NULL;
  buf_free(&k);
  return v;
}

/* map.set(key, value); steals value. An object or array key is never
 * found again, so it is not kept. */
static void map_set(json_t *map, const json_t *key, json_t *value) {
  buf k;
  buf_init(&k, JS_TEXT_MAX_BYTES);
  if (js_map_key(&k, key) == 0)
    json_object_setn_new_nocheck(map, buf_cstr(&k), k.len, value);
  else
    json_decref(value);
  buf_free(&k);
}

/* The call the page's Map holds for this call_id: the last one made. */
static incident_call *call_of(incident *in, const json_t *call_id) {
  json_t *at = map_get(in->call_index, call_id);
  return at ? &in->calls[json_integer_value(at)] : NULL;
}

/* pressOf: the button event of a call_id, the call a policy ran first for
 * a press ("ID.first2") being the press's too. Only a string call_id
 * keys a press the page finds: it looks the press up by String(). */
static const json_t *press_of(const incident *in, const json_t *call_id) {
  buf id;
  buf_init(&id, JS_TEXT_MAX_BYTES);
  buf_append_str(&id, "s");
  js_string(&id, call_id);
  size_t digits = 0, suffix = sizeof INCIDENT_FIRST_SUFFIX - 1;
  while (digits < id.len && id.data[id.len - 1 - digits] >= '0' &&
         id.data[id.len - 1 - digits] <= '9')
    digits++;
  size_t len = id.len;
  if (digits > 0 && len - digits >= suffix &&
      memcmp(id.data + len - digits - suffix, INCIDENT_FIRST_SUFFIX, suffix) == 0)
    len -= digits + suffix;
  const json_t *press = id.data ? json_object_getn(in->presses, id.data, len) : NULL;
  buf_free(&id);
  return press;
}

static incident_turn *turn_new(incident *in) {
  if (ARRAY_GROW(in->turns, in->turn_cap, in->turn_count, 16) != 0) return NULL;
  incident_turn *t = &in->turns[in->turn_count++];
  memset(t, 0, sizeof *t);
  t->first_call = in->call_count;
  return t;
}

/* A call still running when its turn or the service ended has no result. */
static void lose_calls(incident *in, size_t from, long turn, double t) {
  for (size_t i = from; i < in->call_count; i++) {
    incident_call *c = &in->calls[i];
    if ((turn < 0 || c->turn == turn) && strcmp(c->outcome, "running") == 0) {
      snprintf(c->outcome, sizeof c->outcome, "unknown");
      c->end = t;
    }
  }
}

static void close_turn(incident *in, double t, const char *outcome) {
  if (in->open_turn < 0) return;
  incident_turn *turn = &in->turns[in->open_turn];
  turn->end = t;
  if (!turn->outcome[0]) snprintf(turn->outcome, sizeof turn->outcome, "%s", outcome);
  lose_calls(in, turn->first_call, in->open_turn, t);
  in->open_turn = -1;
}

static void on_tool(incident *in, const json_t *ev, double t) {
  if (ARRAY_GROW(in->calls, in->call_cap, in->call_count, 16) != 0) return;
  incident_call *c = &in->calls[in->call_count];
  const json_t *press = press_of(in, json_object_get(ev, "call_id"));
  if (incident_call_open(c, ev, press, t) != 0) {
    incident_call_free(c);
    return;
  }
  /* A press belongs to no turn: a turn's end does not make it lost. */
  if (in->open_turn >= 0 && !press) {
    c->turn = in->open_turn;
    in->turns[in->open_turn].calls++;
  }
  map_set(in->call_index, c->call_id, json_integer((json_int_t)in->call_count));
  in->call_count++;
}

static void on_tool_result(incident *in, const json_t *ev, double t) {
  const json_t *call_id = json_object_get(ev, "call_id");
  incident_call *c = call_of(in, call_id);
  if (c) incident_call_finish(c, ev, t, map_get(in->denied, call_id) != NULL);
}

static void on_policy(incident *in, const json_t *ev, double t) {
  const json_t *call_id = json_object_get(ev, "call_id");
  const json_t *verdict = json_object_get(ev, "verdict");
  /* A call a policy refused ends as denied, not as a failure. */
  if (js_is_string(verdict, "deny")) map_set(in->denied, call_id, json_true());
  if (ARRAY_GROW(in->policies, in->policy_cap, in->policy_count, 16) != 0) return;
  incident_policy *p = &in->policies[in->policy_count++];
  const json_t *identity = json_object_get(ev, "identity");
  *p = (incident_policy){
      .at = t,
      .call_id = call_id,
      .tool = incident_js_or_null(json_object_get(ev, "tool")),
      .verb = incident_js_or_null(json_object_get(press_of(in, call_id), "verb")),
      .policy = incident_js_or_null(json_object_get(ev, "policy")),
      .verdict = incident_js_or_null(verdict),
      .reason = incident_js_or_null(json_object_get(ev, "reason")),
      .identity = incident_js_or_null(identity),
      .override = js_is_string(verdict, "override"),
      .by_bearer = js_is_string(identity, "bearer"),
  };
}

static void on_user(incident *in, const json_t *ev, double t) {
  close_turn(in, t, "unknown");
  incident_turn *turn = turn_new(in);
  if (!turn) return;
  json_t *text = json_object_get(ev, "text");
  turn->start = t;
  turn->end = NAN;
  turn->prompt = text && !json_is_null(text) ? incident_js_dup(text) : strdup("");
  turn->identity = incident_js_or_null(json_object_get(ev, "identity"));
  turn->findings = strdup("");
  in->open_turn = (long)in->turn_count - 1;
}

/* The entry GET /api/sessions gives, as recovery rebuilds it. */
static void session_account(incident *in, const char *kind, const json_t *ev) {
  if (strcmp(kind, "session") == 0) {
    const char *k = json_string_value(json_object_get(ev, "session_kind"));
    if (k && strcmp(k, "operator") == 0 && !in->title) in->title = strdup(INCIDENT_OPERATOR_TITLE);
  } else if (strcmp(kind, "user") == 0) {
    const char *text = json_string_value(json_object_get(ev, "text"));
    in->turn_open = 1;
    in->cancelled = in->interrupted = 0;
    if (text && !in->title) {
      in->title = utf8_text_title(text, INCIDENT_TITLE_MAX_BYTES);
    }
  } else if (strcmp(kind, "turn_end") == 0) {
    in->turn_open = 0;
  } else if (strcmp(kind, "interrupted") == 0) {
    in->turn_open = 0;
    in->interrupted = 1;
  } else if (strcmp(kind, "cancelled") == 0) {
    in->cancelled = 1;
  } else if (strcmp(kind, "result") == 0) {
    in->last_failed = json_is_true(json_object_get(ev, "is_error"));
  } else if (strcmp(kind, "usage") == 0) {
    const json_t *u = json_object_get(ev, "call");
    in->input_tokens += json_integer_value(json_object_get(u, "input_tokens"));
    in->output_tokens += json_integer_value(json_object_get(u, "output_tokens"));
  }
}

static void fold(incident *in, const json_t *ev) {
  const char *kind = json_string_value(json_object_get(ev, "kind"));
  double t = incident_time(json_object_get(ev, "ts"));
  /* The incident is what was asked and done: the session's own opening
   * event, which may come long before the first prompt, is not of it. */
  if (isfinite(t) && !(kind && strcmp(kind, "session") == 0)) {
    if (!(t >= in->start)) in->start = t;
    if (!(t <= in->end)) in->end = t;
  }
  if (!kind) return;
  session_account(in, kind, ev);
  incident_turn *turn = in->open_turn >= 0 ? &in->turns[in->open_turn] : NULL;
  if (strcmp(kind, "user") == 0) {
    on_user(in, ev, t);
  } else if (strcmp(kind, "button") == 0) {
    map_set(in->presses, json_object_get(ev, "call_id"), json_incref((json_t *)ev));
  } else if (strcmp(kind, "tool") == 0) {
    on_tool(in, ev, t);
  } else if (strcmp(kind, "tool_result") == 0) {
    on_tool_result(in, ev, t);
  } else if (strcmp(kind, "policy") == 0) {
    on_policy(in, ev, t);
  } else if (strcmp(kind, "confirm_result") == 0) {
    /* Declined (or timed out) at its confirm, the call ends as denied, as
     * search has it; the call itself is shown after its answer. */
    const json_t *call_id = json_object_get(ev, "call_id");
    if (!json_is_true(json_object_get(ev, "approved"))) {
      map_set(in->denied, call_id, json_true());
      incident_call *c = call_of(in, call_id);
      if (c) snprintf(c->outcome, sizeof c->outcome, "denied");
    }
  } else if (strcmp(kind, "result") == 0 && turn) {
    const char *result = json_string_value(json_object_get(ev, "result"));
    free(turn->findings);
    turn->findings = strdup(result ? result : "");
    snprintf(turn->outcome, sizeof turn->outcome, "%s",
             js_truthy(json_object_get(ev, "is_error")) ? "error" : "ok");
  } else if (strcmp(kind, "cancelled") == 0 && turn) {
    snprintf(turn->outcome, sizeof turn->outcome, "cancelled");
  } else if (strcmp(kind, "interrupted") == 0) {
    if (turn) snprintf(turn->outcome, sizeof turn->outcome, "interrupted");
    close_turn(in, t, "interrupted");
    /* The restart ended every action still running, a press's too; the
     * calls before the last restart were ended by it. */
    lose_calls(in, in->settled_calls, -1, t);
    in->settled_calls = in->call_count;
  } else if (strcmp(kind, "turn_end") == 0) {
    close_turn(in, t, "ok");
  }
}

incident *incident_build(const json_t *events, const char *session_id) {
  incident *in = calloc(1, sizeof *in);
  if (!in) return NULL;
  in->id = strdup(session_id ? session_id : "");
  in->call_index = json_object();
  in->presses = json_object();
  in->denied = json_object();
  if (!in->id || !in->call_index || !in->presses || !in->denied) {
    incident_free(in);
    return NULL;
  }
  in->start = in->end = NAN;
  in->open_turn = -1;
  size_t i;
  json_t *ev;
  json_array_foreach(events, i, ev) fold(in, ev);
  in->status = in->turn_open || in->interrupted ? "interrupted"
               : in->cancelled                  ? "cancelled"
               : in->last_failed                ? "error"
                                                : "idle";
  return in;
}

void incident_free(incident *in) {
  if (!in) return;
  for (size_t i = 0; i < in->turn_count; i++) {
    free(in->turns[i].prompt);
    free(in->turns[i].identity);
    free(in->turns[i].findings);
  }
  for (size_t i = 0; i < in->call_count; i++) incident_call_free(&in->calls[i]);
  for (size_t i = 0; i < in->policy_count; i++) {
    incident_policy *p = &in->policies[i];
    free(p->tool);
    free(p->verb);
    free(p->policy);
    free(p->verdict);
    free(p->reason);
    free(p->identity);
  }
  json_decref(in->call_index);
  json_decref(in->presses);
  json_decref(in->denied);
  free(in->turns);
  free(in->calls);
  free(in->policies);
  free(in->title);
  free(in->id);
  free(in);
}

void incident_write(const incident *in, incident_format f, buf *out) {
  if (f == INCIDENT_MD)
    incident_write_md(in, out);
  else if (f == INCIDENT_TXT)
    incident_write_txt(in, out);
  else
    incident_write_json(in, out);
}
