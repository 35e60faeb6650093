/* The fold of www/incident.mjs's buildIncident, step for step: times are
 * milliseconds as doubles (NaN when unknown, as in the page), strings are
 * what String() makes of the event's values. */
#include "incident.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "incident_internal.h"
#include "journal_reader.h"
#include "js_text.h"

/* As session.c: the title is the first prompt on one line, shortened. */
#define INCIDENT_TITLE_MAX_BYTES 120
#define INCIDENT_OPERATOR_TITLE "Power buttons"

static char *js_dup(const json_t *v) {
  buf b;
  buf_init(&b, JS_TEXT_MAX_BYTES);
  js_string(&b, v);
  size_t n;
  char *s = buf_steal(&b, &n);
  return s ? s : strdup("");
}

/* `v || ''`, as a string. */
static char *js_or_empty(const json_t *v) { return js_truthy(v) ? js_dup(v) : strdup(""); }

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

static void *grow(void *items, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return items;
  size_t want = *cap ? *cap * 2 : 16;
  void *more = realloc(items, want * size);
  if (more) *cap = want;
  return more;
}

static incident_turn *turn_new(incident *in) {
  incident_turn *turns = grow(in->turns, &in->turn_cap, in->turn_count, sizeof *turns);
  if (!turns) return NULL;
  in->turns = turns;
  incident_turn *t = &turns[in->turn_count++];
  memset(t, 0, sizeof *t);
  return t;
}

static void close_turn(incident *in, double t, const char *outcome) {
  if (in->open_turn < 0) return;
  incident_turn *turn = &in->turns[in->open_turn];
  turn->end = t;
  if (!turn->outcome[0]) snprintf(turn->outcome, sizeof turn->outcome, "%s", outcome);
  for (size_t i = 0; i < in->call_count; i++) {
    incident_call *c = &in->calls[i];
    if (c->turn == in->open_turn && strcmp(c->outcome, "running") == 0) {
      snprintf(c->outcome, sizeof c->outcome, "unknown");
      c->end = t;
    }
  }
  in->open_turn = -1;
}

/* The call the page's Map holds for this call_id: the last one made. */
static incident_call *call_of(incident *in, const json_t *call_id) {
  for (size_t i = in->call_count; i > 0; i--)
    if (js_same_key(in->calls[i - 1].call_id, call_id)) return &in->calls[i - 1];
  return NULL;
}

/* exitOf: "exit status 1" / "killed by signal KILL" at the start, or a
 * ctx.ssh result as JSON; "" when it says neither. */
static char *exit_of(const char *content) {
  static const char status[] = "exit status ", signal[] = "killed by signal ";
  static const char word[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
  buf b;
  buf_init(&b, JS_TEXT_MAX_BYTES);
  if (strncmp(content, status, sizeof status - 1) == 0) {
    const char *d = content + sizeof status - 1;
    size_t n = strspn(d, "0123456789");
    if (n > 0 && !(d[n] && strchr(word, d[n]))) buf_appendf(&b, "exit %.*s", (int)n, d);
  } else if (strncmp(content, signal, sizeof signal - 1) == 0) {
    const char *w = content + sizeof signal - 1;
    size_t n = strspn(w, word);
    if (n > 0) buf_appendf(&b, "signal %.*s", (int)n, w);
  } else if (content[0] == '{') {
    json_t *r = json_loads(content, JSON_ALLOW_NUL, NULL);
    json_t *sig = json_object_get(r, "exit_signal");
    if (json_is_string(sig) && json_string_length(sig) > 0) {
      buf_append_str(&b, "signal ");
      js_string(&b, sig);
    }
    static const char *const keys[] = {"exit_code", "exit_status"};
    for (int i = 0; i < 2 && json_is_object(r) && !b.len; i++) {
      json_t *v = json_object_get(r, keys[i]);
      double x = json_is_number(v) ? json_number_value(v) : NAN;
      if (isfinite(x) && floor(x) == x) {
        buf_append_str(&b, "exit ");
        js_number(&b, x);
      }
    }
    json_decref(r);
  }
  size_t n;
  char *s = buf_steal(&b, &n);
  return s ? s : strdup("");
}

/* toolArgument: the one argument that says what a call does. */
static char *tool_argument(const json_t *input) {
  if (!js_truthy(input) || !(json_is_object(input) || json_is_array(input)))
    return input ? js_dup(input) : strdup("");
  static const char *const named[] = {"command", "verb", "cmd", "path", "query"};
  if (json_is_object(input))
    for (int i = 0; i < 5; i++)
      if (json_is_string(json_object_get(input, named[i])))
        return strdup(json_string_value(json_object_get(input, named[i])));
  const json_t *first = NULL;
  if (json_is_array(input)) {
    size_t i;
    json_t *v;
    json_array_foreach(input, i, v) if (!first && json_is_string(v)) first = v;
  } else {
    size_t n;
    const char **order = js_keys(input, &n);
    for (size_t i = 0; i < n && !first; i++)
      if (json_is_string(json_object_get(input, order[i]))) first = json_object_get(input, order[i]);
    free(order);
  }
  if (first) return strdup(json_string_value(first));
  buf b;
  buf_init(&b, JS_TEXT_MAX_BYTES);
  js_json(&b, input);
  size_t n;
  char *s = buf_steal(&b, &n);
  return s ? s : strdup("");
}

static void on_tool(incident *in, const json_t *ev, double t) {
  incident_call *calls = grow(in->calls, &in->call_cap, in->call_count, sizeof *calls);
  if (!calls) return;
  in->calls = calls;
  incident_call *c = &calls[in->call_count++];
  memset(c, 0, sizeof *c);
  c->call_id = json_object_get(ev, "call_id");
  json_t *name = json_object_get(ev, "name");
  c->name = js_truthy(name) ? js_dup(name) : strdup("tool");
  c->arg = tool_argument(json_object_get(ev, "input"));
  c->input = json_object_get(ev, "input");
  c->source = json_object_get(ev, "source");
  c->mutating = json_is_true(json_object_get(ev, "mutating"));
  c->exit = strdup("");
  c->start = t;
  c->end = c->duration_ms = NAN;
  snprintf(c->outcome, sizeof c->outcome, "running");
  c->turn = in->open_turn;
  if (in->open_turn >= 0) in->turns[in->open_turn].calls++;
}

static void on_tool_result(incident *in, const json_t *ev, double t) {
  incident_call *c = call_of(in, json_object_get(ev, "call_id"));
  if (!c) return;
  c->duration_ms = js_to_number(json_object_get(ev, "duration_ms"));
  c->end = isfinite(c->duration_ms) && isfinite(c->start) ? c->start + c->duration_ms : t;
  if (strcmp(c->outcome, "denied") != 0)
    snprintf(c->outcome, sizeof c->outcome, "%s",
             js_truthy(json_object_get(ev, "is_error")) ? "error" : "ok");
  const char *content = json_string_value(json_object_get(ev, "content"));
  free(c->exit);
  c->exit = exit_of(content ? content : "");
}

static void on_policy(incident *in, const json_t *ev, double t) {
  incident_policy *p = grow(in->policies, &in->policy_cap, in->policy_count, sizeof *p);
  if (!p) return;
  in->policies = p;
  p = &p[in->policy_count++];
  p->at = t;
  p->tool = js_or_empty(json_object_get(ev, "tool"));
  p->policy = js_or_empty(json_object_get(ev, "policy"));
  p->verdict = js_or_empty(json_object_get(ev, "verdict"));
  p->reason = js_or_empty(json_object_get(ev, "reason"));
  p->call_id = json_object_get(ev, "call_id");
}

static void on_user(incident *in, const json_t *ev, double t) {
  close_turn(in, t, "unknown");
  incident_turn *turn = turn_new(in);
  if (!turn) return;
  json_t *text = json_object_get(ev, "text");
  turn->start = t;
  turn->end = NAN;
  turn->prompt = text && !json_is_null(text) ? js_dup(text) : strdup("");
  turn->identity = js_or_empty(json_object_get(ev, "identity"));
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
      size_t n = strlen(text);
      if (n > INCIDENT_TITLE_MAX_BYTES) {
        n = INCIDENT_TITLE_MAX_BYTES;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
      }
      in->title = strndup(text, n);
      for (char *p = in->title; p && *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
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
  if (isfinite(t)) {
    if (!(t >= in->start)) in->start = t;
    if (!(t <= in->end)) in->end = t;
  }
  if (!kind) return;
  session_account(in, kind, ev);
  incident_turn *turn = in->open_turn >= 0 ? &in->turns[in->open_turn] : NULL;
  if (strcmp(kind, "user") == 0) {
    on_user(in, ev, t);
  } else if (strcmp(kind, "tool") == 0) {
    on_tool(in, ev, t);
  } else if (strcmp(kind, "tool_result") == 0) {
    on_tool_result(in, ev, t);
  } else if (strcmp(kind, "policy") == 0) {
    on_policy(in, ev, t);
  } else if (strcmp(kind, "confirm_result") == 0) {
    incident_call *c = call_of(in, json_object_get(ev, "call_id"));
    if (c && !json_is_true(json_object_get(ev, "approved")))
      snprintf(c->outcome, sizeof c->outcome, "denied");
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
  } else if (strcmp(kind, "turn_end") == 0) {
    close_turn(in, t, "ok");
  }
}

incident *incident_build(const json_t *events, const char *session_id) {
  incident *in = calloc(1, sizeof *in);
  if (!in) return NULL;
  in->id = strdup(session_id ? session_id : "");
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
  for (size_t i = 0; i < in->call_count; i++) {
    free(in->calls[i].name);
    free(in->calls[i].arg);
    free(in->calls[i].exit);
  }
  for (size_t i = 0; i < in->policy_count; i++) {
    free(in->policies[i].tool);
    free(in->policies[i].policy);
    free(in->policies[i].verdict);
    free(in->policies[i].reason);
  }
  free(in->turns);
  free(in->calls);
  free(in->policies);
  free(in->title);
  free(in->id);
  free(in);
}
