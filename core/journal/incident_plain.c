/* The summary of an incident for a terminal or a ticket (plain text: the
 * Markdown's sections and words, no Markdown) and for tools (JSON). */
#include "incident_plain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "incident_call.h"
#include "incident_format.h"
#include "incident_write.h"
#include "js_reveal.h"
#include "js_text.h"

static const char *or_empty(const char *s) { return s ? s : ""; }

/* text with its hidden characters named, as the Markdown has it. */
static void put_word(buf *b, const char *text) { js_reveal(b, text, strlen(text)); }

/* text on one line, hidden characters named. */
static void put_line(buf *b, const char *text) {
  buf shown;
  buf_init(&shown, JS_TEXT_MAX_BYTES);
  put_word(&shown, text);
  js_join_lines(b, buf_cstr(&shown), shown.len);
  buf_free(&shown);
}

static void put_as_is(buf *b, const char *text) { buf_append_str(b, text); }

static const incident_dialect txt = {
    .title = "",
    .heading = "",
    .gap = "",
    .field = "",
    .item = "  ",
    .numbered = "  ",
    .zone = "",
    .put_text = put_line,
    .put_word = put_word,
    .put_id = put_as_is,
};

static void txt_asked(const incident *in, buf *b) {
  incident_put_section(&txt, b, "What was asked");
  if (!in->turn_count) buf_append_str(b, "  Nothing was asked.\n");
  incident_put_prompts(in, &txt, b);
}

static void txt_found(const incident *in, buf *b) {
  incident_put_section(&txt, b, "What was found");
  int found = 0;
  for (size_t i = 0; i < in->turn_count; i++) {
    if (!incident_has_findings(&in->turns[i])) continue;
    found = 1;
    buf_append_str(b, "  After the prompt at ");
    incident_put_clock(b, in->turns[i].start);
    buf_append_str(b, ":\n");
    incident_put_quote(b, in->turns[i].findings, "    ");
    buf_append_str(b, "\n");
  }
  for (size_t i = 0; i < in->call_count; i++) {
    const incident_call *c = &in->calls[i];
    if (strcmp(c->outcome, "finding") != 0) continue;
    found = 1;
    buf_append_str(b, "  ");
    incident_put_clock(b, c->start);
    buf_appendf(b, " %s", c->name);
    if (c->arg[0]) buf_append_str(b, " ");
    put_line(b, c->arg);
    buf_append_str(b, ": ");
    incident_outcome_words(b, c);
    buf_append_str(b, "\n");
  }
  if (!found) buf_append_str(b, "  No conclusion was recorded.\n");
}

static void txt_done(const incident *in, buf *b) {
  incident_put_section(&txt, b, "What was done");
  if (!in->call_count) buf_append_str(b, "  No tool ran.\n");
  for (size_t i = 0; i < in->call_count; i++) {
    const incident_call *c = &in->calls[i];
    buf_append_str(b, "  ");
    incident_put_clock(b, c->start);
    buf_appendf(b, "  %s%s: ", c->name, c->mutating ? " (mutating)" : "");
    put_line(b, c->arg);
    buf_append_str(b, "  (");
    incident_put_took(b, c->duration_ms);
    buf_append_str(b, ", ");
    incident_outcome_words(b, c);
    buf_append_str(b, "; ");
    incident_call_source(b, c);
    buf_append_str(b, ")\n");
  }
}

void incident_write_txt(const incident *in, buf *b) {
  incident_put_head(in, &txt, b);
  txt_asked(in, b);
  txt_found(in, b);
  txt_done(in, b);
  incident_put_policies(in, &txt, b);
  incident_put_timings(in, &txt, b);
}

/* A time as the JSON export gives it: ISO 8601, or null. */
static json_t *time_json(double ms) {
  char iso[80];
  return incident_iso_time(ms, iso) == 0 ? json_string(iso) : json_null();
}

static json_t *ms_json(double ms) {
  return isfinite(ms) ? json_integer((json_int_t)ms) : json_null();
}

/* What put(b, c) writes, as a JSON string. */
static json_t *words_json(void (*put)(buf *, const incident_call *), const incident_call *c) {
  buf words;
  buf_init(&words, JS_TEXT_MAX_BYTES);
  put(&words, c);
  json_t *s = json_string(buf_cstr(&words));
  buf_free(&words);
  return s;
}

static json_t *call_json(const incident_call *c) {
  json_t *call = json_pack(
      "{s:O?, s:s, s:O?, s:s, s:s, s:o, s:s, s:b, s:b, s:o, s:o, s:o, s:s, s:s, s:s, s:o}",
      "call_id", c->call_id, "name", c->name, "input", c->input, "argument", c->arg, "source",
      c->source, "by", words_json(incident_call_source, c), "identity", c->identity, "override",
      c->override, "mutating", c->mutating, "start", time_json(c->start), "end", time_json(c->end),
      "duration_ms", ms_json(c->duration_ms), "outcome", c->outcome, "exit", c->exit, "layer",
      c->layer, "outcome_words", words_json(incident_outcome_words, c));
  if (call && c->inserted_by[0])
    json_object_set_new(call, "inserted_by", json_string(c->inserted_by));
  if (call && c->turn >= 0) json_object_set_new(call, "turn", json_integer(c->turn + 1));
  return call;
}

void incident_write_json(const incident *in, buf *b) {
  json_t *turns = json_array(), *calls = json_array(), *policies = json_array();
  for (size_t i = 0; i < in->turn_count; i++) {
    const incident_turn *t = &in->turns[i];
    json_array_append_new(
        turns, json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:I}", "start", time_json(t->start), "end",
                         time_json(t->end), "prompt", t->prompt, "identity", or_empty(t->identity),
                         "findings", t->findings, "outcome", t->outcome[0] ? t->outcome : "running",
                         "tool_calls", (json_int_t)t->calls));
  }
  for (size_t i = 0; i < in->call_count; i++)
    json_array_append_new(calls, call_json(&in->calls[i]));
  for (size_t i = 0; i < in->policy_count; i++) {
    const incident_policy *p = &in->policies[i];
    json_array_append_new(policies,
                          json_pack("{s:o, s:O?, s:s, s:s, s:s, s:s, s:s, s:s}", "at",
                                    time_json(p->at), "call_id", p->call_id, "tool",
                                    or_empty(p->tool), "verb", or_empty(p->verb), "policy",
                                    or_empty(p->policy), "verdict", or_empty(p->verdict), "reason",
                                    or_empty(p->reason), "identity", or_empty(p->identity)));
  }
  json_t *doc = json_pack("{s:{s:s, s:s?, s:s, s:{s:I, s:I}}, s:o, s:o, s:o, s:o, s:o}", "session",
                          "id", in->id, "title", in->title, "status", in->status, "usage",
                          "input_tokens", (json_int_t)in->input_tokens, "output_tokens",
                          (json_int_t)in->output_tokens, "start", time_json(in->start), "end",
                          time_json(in->end), "turns", turns, "calls", calls, "policies", policies);
  char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  if (text) {
    buf_append_str(b, text);
    buf_append(b, "\n", 1);
  }
  free(text);
  json_decref(doc);
}
