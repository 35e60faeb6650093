/* One action of an incident as the page reads it: what it ran
 * (toolArgument, www/tool-chip.mjs), how it ended (callOutcome,
 * www/outcome.mjs: from the result's structured details, never from its
 * text, which an operator's tool may word as it likes) and who asked for
 * it (callSource, www/incident.mjs), in the page's words; and String()
 * of the event values that it and the fold read. */
#include "incident_call.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "js_text.h"

char *incident_js_dup(const json_t *v) {
  buf b;
  buf_init(&b, JS_TEXT_MAX_BYTES);
  js_string(&b, v);
  size_t n;
  return buf_steal(&b, &n);
}

char *incident_js_or_null(const json_t *v) { return js_truthy(v) ? incident_js_dup(v) : NULL; }

/* LAYER_WORDS: the layers of a connection (ssh_transport.h,
 * model_probe.h) in the operator's words; another layer is named with its
 * underscores as spaces. */
static const struct {
  const char *layer, *words;
} LAYER_WORDS[] = {
    {"none", "up"},
    {"command_ran", "up"},
    {"not_configured", "not configured"},
    {"unknown", "unknown"},
    {"connect_refused", "refused"},
    {"connect_timeout", "timed out"},
    {"no_banner", "no banner"},
    {"kex", "key exchange failed"},
    {"hostkey_unknown", "host key unknown"},
    {"hostkey_changed", "host key changed"},
    {"auth_refused", "auth refused"},
    {"channel", "no session channel"},
    {"command_timeout", "command timed out"},
    {"connection_lost", "connection lost"},
    {"cancelled", "cancelled"},
    {"dns", "name not found"},
    {"tls", "TLS failed"},
    {"timeout", "no answer"},
    {"not_found", "not found"},
    {"rate_limited", "rate limited"},
    {"overloaded", "overloaded"},
    {"api_error", "API error"},
    {"http", "HTTP error"},
    {"protocol", "not the API"},
};

/* Number.isInteger(v). */
static int is_integer(const json_t *v) {
  return json_is_number(v) && floor(json_number_value(v)) == json_number_value(v);
}

static char *steal_or_empty(buf *b) {
  size_t n;
  char *s = buf_steal(b, &n);
  return s ? s : strdup("");
}

/* toolArgument: the command or verb; else the first string in it; else
 * the input as JSON, "" for an empty one. */
static char *tool_argument(const json_t *input) {
  if (!js_truthy(input) || !(json_is_object(input) || json_is_array(input)))
    return input ? incident_js_dup(input) : strdup("");
  static const char *const named[] = {"command", "verb", "cmd", "path", "query"};
  if (json_is_object(input))
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
      if (json_is_string(json_object_get(input, named[i])))
        return strdup(json_string_value(json_object_get(input, named[i])));
  const json_t *first = NULL;
  size_t size;
  if (json_is_array(input)) {
    size = json_array_size(input);
    for (size_t i = 0; i < size && !first; i++)
      if (json_is_string(json_array_get(input, i))) first = json_array_get(input, i);
  } else {
    const char **order = js_keys(input, &size);
    for (size_t i = 0; i < size && !first; i++)
      if (json_is_string(json_object_get(input, order[i])))
        first = json_object_get(input, order[i]);
    free(order);
  }
  if (first) return strdup(json_string_value(first));
  if (size == 0) return strdup("");
  buf b;
  buf_init(&b, JS_TEXT_MAX_BYTES);
  js_json(&b, input);
  return steal_or_empty(&b);
}

int incident_call_open(incident_call *c, const json_t *ev, const json_t *press, double t) {
  memset(c, 0, sizeof *c);
  c->call_id = json_object_get(ev, "call_id");
  c->input = json_object_get(ev, "input");
  const json_t *name = json_object_get(ev, "name");
  c->name = js_truthy(name) ? incident_js_dup(name) : strdup("tool");
  c->arg = tool_argument(c->input);
  c->exit = strdup("");
  c->layer = strdup("");
  const json_t *source = json_object_get(ev, "source");
  c->source = press               ? strdup("button")
              : js_truthy(source) ? incident_js_dup(source)
                                  : strdup("model");
  c->identity = incident_js_or_null(json_object_get(press ? press : ev, "identity"));
  if (!c->identity) c->identity = strdup("");
  const json_t *inserted_by = json_object_get(ev, "inserted_by");
  c->inserted_by = strdup(json_is_string(inserted_by) ? json_string_value(inserted_by) : "");
  /* The press's own call, not one a policy ran first for it. */
  const json_t *pressed = json_object_get(press, "call_id");
  c->override = press && json_equal(pressed, c->call_id) &&
                json_is_true(json_object_get(press, "override"));
  c->mutating = json_is_true(json_object_get(ev, "mutating"));
  c->start = t;
  c->end = c->duration_ms = NAN;
  snprintf(c->outcome, sizeof c->outcome, "running");
  c->turn = -1;
  return c->name && c->arg && c->exit && c->layer && c->source && c->identity && c->inserted_by
             ? 0
             : -1;
}

/* callOutcome's exit: "signal KILL", "exit 0", or "". */
static char *exit_words(const json_t *details) {
  const json_t *signal = json_object_get(details, "exit_signal");
  buf b;
  buf_init(&b, JS_TEXT_MAX_BYTES);
  if (json_is_string(signal) && json_string_length(signal) > 0) {
    buf_append_str(&b, "signal ");
    js_string(&b, signal);
  } else {
    static const char *const keys[] = {"exit_status", "exit_code"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys && !b.len; i++) {
      const json_t *v = json_object_get(details, keys[i]);
      if (!is_integer(v)) continue;
      buf_append_str(&b, "exit ");
      js_number(&b, json_number_value(v));
    }
  }
  return steal_or_empty(&b);
}

void incident_call_finish(incident_call *c, const json_t *ev, double t, int denied) {
  const json_t *details = json_object_get(ev, "details");
  if (!json_is_object(details)) details = NULL;
  const char *state = js_truthy(json_object_get(ev, "is_error"))      ? "error"
                      : json_is_false(json_object_get(details, "ok")) ? "finding"
                                                                      : "ok";
  const json_t *layer = json_object_get(details, "layer");
  const json_t *took = json_object_get(details, "duration_ms");
  c->duration_ms = json_is_number(took) ? json_number_value(took)
                                        : js_to_number(json_object_get(ev, "duration_ms"));
  c->end = isfinite(c->duration_ms) && isfinite(c->start) ? c->start + c->duration_ms : t;
  if (strcmp(c->outcome, "denied") != 0)
    snprintf(c->outcome, sizeof c->outcome, "%s", denied ? "denied" : state);
  /* A layer that names no failure ("none": the connection was up) is none. */
  int failed_at = json_is_string(layer) && json_string_length(layer) > 0 &&
                  !js_is_string(layer, "none") && !js_is_string(layer, "command_ran");
  char *exit = exit_words(details);
  char *failed_layer = strdup(failed_at ? json_string_value(layer) : "");
  if (exit) {
    free(c->exit);
    c->exit = exit;
  }
  if (failed_layer) {
    free(c->layer);
    c->layer = failed_layer;
  }
}

void incident_call_free(incident_call *c) {
  free(c->name);
  free(c->arg);
  free(c->exit);
  free(c->layer);
  free(c->source);
  free(c->identity);
  free(c->inserted_by);
}

/* layerWords: a layer in the operator's words. */
static void put_layer(buf *b, const char *layer) {
  for (size_t i = 0; i < sizeof LAYER_WORDS / sizeof *LAYER_WORDS; i++)
    if (strcmp(layer, LAYER_WORDS[i].layer) == 0) {
      buf_append_str(b, LAYER_WORDS[i].words);
      return;
    }
  for (const char *p = layer; *p; p++) buf_append(b, *p == '_' ? " " : p, 1);
}

void incident_outcome_words(buf *b, const incident_call *c) {
  buf_append_str(b, c->outcome);
  if (c->layer[0] && strcmp(c->outcome, "ok") != 0) {
    buf_append_str(b, ": ");
    put_layer(b, c->layer);
  }
  if (c->exit[0]) buf_appendf(b, ", %s", c->exit);
}

void incident_call_source(buf *b, const incident_call *c) {
  const char *who = strcmp(c->identity, "bearer") == 0 ? "token holder" : c->identity;
  if (c->inserted_by[0]) {
    buf_appendf(b, "run first by policy %s", c->inserted_by);
  } else if (strcmp(c->source, "button") == 0) {
    buf_append_str(b, "button");
    if (who[0]) buf_appendf(b, ", %s", who);
    if (c->override) buf_append_str(b, ", override");
  } else {
    buf_append_str(b, "agent");
  }
}

const char *incident_policy_who(const incident_policy *p) {
  return p->by_bearer ? "token holder" : p->identity ? p->identity : "the operator";
}
