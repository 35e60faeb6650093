/* The summary of an incident: Markdown exactly as www/incident.mjs's
 * incidentMarkdown writes it, plain text with the same content for a
 * terminal or a ticket, and JSON for tools. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "incident_internal.h"
#include "js_text.h"

#define INCIDENT_UNTITLED "untitled session"
#define INCIDENT_NO_DURATION "\xe2\x80\x93" /* an en dash, as the page writes it */

/* new Date(ms).toISOString(), or NULL when ms is not a time. */
static int iso_time(double ms, char out[80]) {
  if (!isfinite(ms) || fabs(ms) > 8.64e15) return -1;
  double whole = trunc(ms);
  long long t = (long long)whole;
  long long secs = t >= 0 ? t / 1000 : -((-t + 999) / 1000);
  int milli = (int)(t - secs * 1000);
  time_t tt = (time_t)secs;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) return -1;
  snprintf(out, 80, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
  return 0;
}

/* utc: "2026-06-11 08:30:05Z", or "?". */
static void put_utc(buf *b, double ms) {
  char iso[80];
  if (iso_time(ms, iso) != 0) {
    buf_append_str(b, "?");
    return;
  }
  iso[10] = ' ';
  buf_append(b, iso, 19);
  buf_append(b, "Z", 1);
}

/* clockUtc: "08:30:05", or "?". */
static void put_clock(buf *b, double ms) {
  char iso[80];
  if (iso_time(ms, iso) != 0)
    buf_append_str(b, "?");
  else
    buf_append(b, iso + 11, 8);
}

/* formatDuration (www/format.mjs); nothing for what is not a duration. */
static void put_duration(buf *b, double ms) {
  if (!isfinite(ms) || ms < 0) return;
  if (ms < 1000) {
    js_number(b, js_round(ms));
    buf_append_str(b, " ms");
    return;
  }
  if (ms < 60000) {
    js_fixed1(b, ms / 1000);
    buf_append_str(b, " s");
    return;
  }
  double s = js_round(ms / 1000);
  double rest = fmod(s, 60);
  if (s < 3600) {
    js_number(b, floor(s / 60));
    buf_appendf(b, " min %02d s", (int)rest);
    return;
  }
  js_number(b, floor(s / 3600));
  buf_appendf(b, " h %02d min", (int)fmod(floor(s / 60), 60));
}

/* took: the duration, or an en dash. */
static void put_took(buf *b, double ms) {
  size_t before = b->len;
  put_duration(b, ms);
  if (b->len == before) buf_append_str(b, INCIDENT_NO_DURATION);
}

/* cell: pipes escaped, whitespace runs with a newline as one space. */
static void put_cell(buf *b, const char *text) {
  buf joined;
  buf_init(&joined, JS_TEXT_MAX_BYTES);
  for (const char *p = text; *p; p++) {
    if (*p == '|') buf_append(&joined, "\\", 1);
    buf_append(&joined, p, 1);
  }
  js_join_lines(b, joined.data ? joined.data : "", joined.len);
  buf_free(&joined);
}

/* code: inline code whose fence is longer than any backtick run in it. */
static void put_code(buf *b, const char *text) {
  buf s;
  buf_init(&s, JS_TEXT_MAX_BYTES);
  js_join_lines(&s, text, strlen(text));
  if (s.len > 0) {
    size_t longest = 0, run = 0;
    for (size_t i = 0; i < s.len; i++) {
      run = s.data[i] == '`' ? run + 1 : 0;
      if (run > longest) longest = run;
    }
    int pad = s.data[0] == '`' || s.data[s.len - 1] == '`';
    for (size_t i = 0; i <= longest; i++) buf_append(b, "`", 1);
    if (pad) buf_append(b, " ", 1);
    buf_append(b, s.data, s.len);
    if (pad) buf_append(b, " ", 1);
    for (size_t i = 0; i <= longest; i++) buf_append(b, "`", 1);
  }
  buf_free(&s);
}

/* The length of text without the whitespace at its end (trimEnd()). */
static size_t trim_end(const char *text, size_t len) {
  for (;;) {
    size_t w = 0;
    for (size_t k = 1; k <= 3 && k <= len && !w; k++)
      if (js_space_at(text + len - k, k) == k) w = k;
    if (!w) return len;
    len -= w;
  }
}

/* quote: trimmed, each line "> line" without trailing whitespace. */
static void put_quote(buf *b, const char *text, const char *mark) {
  size_t start, end;
  js_trim(text, strlen(text), &start, &end);
  for (size_t at = start;;) {
    const char *nl = memchr(text + at, '\n', end - at);
    size_t line_end = nl ? (size_t)(nl - text) : end;
    buf line;
    buf_init(&line, JS_TEXT_MAX_BYTES);
    buf_append_str(&line, mark);
    buf_append(&line, text + at, line_end - at);
    buf_append(b, line.data, trim_end(line.data, line.len));
    buf_free(&line);
    if (!nl) break;
    buf_append(b, "\n", 1);
    at = line_end + 1;
  }
}

static void put_outcome(buf *b, const incident_call *c) {
  buf_append_str(b, c->outcome);
  if (c->exit[0]) buf_appendf(b, ", %s", c->exit);
}

static size_t mutating_calls(const incident *in) {
  size_t n = 0;
  for (size_t i = 0; i < in->call_count; i++) n += in->calls[i].mutating;
  return n;
}

static int has_findings(const incident_turn *t) {
  size_t s, e;
  js_trim(t->findings, strlen(t->findings), &s, &e);
  return e > s;
}

static void write_md(const incident *in, buf *b) {
  buf_append_str(b, "# Incident: ");
  put_cell(b, in->title && in->title[0] ? in->title : INCIDENT_UNTITLED);
  buf_append_str(b, "\n\n- Session: ");
  put_code(b, in->id[0] ? in->id : "?");
  buf_append_str(b, "\n- From ");
  put_utc(b, in->start);
  buf_append_str(b, " to ");
  put_utc(b, in->end);
  buf_append_str(b, " (");
  put_took(b, in->end - in->start);
  buf_appendf(b, ")\n- Status: %s\n- Actions: %zu tool calls, %zu mutating\n", in->status,
              in->call_count, mutating_calls(in));
  buf_appendf(b, "- Tokens: %lld in, %lld out\n\n## What was asked\n\n", in->input_tokens,
              in->output_tokens);
  for (size_t i = 0; i < in->turn_count; i++) {
    const incident_turn *t = &in->turns[i];
    buf_appendf(b, "%zu. ", i + 1);
    put_clock(b, t->start);
    if (t->identity[0]) {
      buf_append_str(b, " (");
      put_cell(b, t->identity);
      buf_append_str(b, ")");
    }
    buf_append_str(b, ": ");
    put_cell(b, t->prompt);
    buf_append_str(b, "\n");
  }
  buf_append_str(b, "\n## What was found\n\n");
  int found = 0;
  for (size_t i = 0; i < in->turn_count; i++) found |= has_findings(&in->turns[i]);
  if (!found) buf_append_str(b, "No conclusion was recorded.\n");
  for (size_t i = 0; i < in->turn_count; i++) {
    if (!has_findings(&in->turns[i])) continue;
    buf_append_str(b, "After the prompt at ");
    put_clock(b, in->turns[i].start);
    buf_append_str(b, ":\n\n");
    put_quote(b, in->turns[i].findings, "> ");
    buf_append_str(b, "\n\n");
  }
  buf_append_str(b, "\n## What was done\n\n");
  if (!in->call_count) buf_append_str(b, "No tool ran.\n");
  else buf_append_str(b, "| Time (UTC) | Tool | Command or verb | Took | Outcome |\n|---|---|---|---|---|\n");
  for (size_t i = 0; i < in->call_count; i++) {
    const incident_call *c = &in->calls[i];
    buf_append_str(b, "| ");
    put_clock(b, c->start);
    buf_append_str(b, " | ");
    put_cell(b, c->name);
    if (c->mutating) buf_append_str(b, " (mutating)");
    buf_append_str(b, " | ");
    buf code;
    buf_init(&code, JS_TEXT_MAX_BYTES);
    put_code(&code, c->arg);
    put_cell(b, buf_cstr(&code));
    buf_free(&code);
    buf_append_str(b, " | ");
    put_took(b, c->duration_ms);
    buf_append_str(b, " | ");
    buf outcome;
    buf_init(&outcome, JS_TEXT_MAX_BYTES);
    put_outcome(&outcome, c);
    put_cell(b, buf_cstr(&outcome));
    buf_free(&outcome);
    buf_append_str(b, " |\n");
  }
  if (in->policy_count) buf_append_str(b, "\n## Policy decisions\n\n");
  for (size_t i = 0; i < in->policy_count; i++) {
    const incident_policy *p = &in->policies[i];
    buf_append_str(b, "- ");
    put_clock(b, p->at);
    buf_append_str(b, " ");
    put_cell(b, p->tool);
    buf_append_str(b, ": ");
    put_cell(b, p->verdict);
    buf_append_str(b, " by ");
    put_cell(b, p->policy);
    if (p->reason[0]) {
      buf_append_str(b, ": ");
      put_cell(b, p->reason);
    }
    buf_append_str(b, "\n");
  }
  buf_append_str(b, "\n## Timings\n\n");
  for (size_t i = 0; i < in->turn_count; i++) {
    const incident_turn *t = &in->turns[i];
    buf_appendf(b, "- Turn %zu: ", i + 1);
    put_clock(b, t->start);
    buf_append_str(b, " to ");
    put_clock(b, t->end);
    buf_append_str(b, " (");
    put_took(b, t->end - t->start);
    buf_appendf(b, "), %zu tool calls, %s\n", t->calls, t->outcome[0] ? t->outcome : "running");
  }
}

/* Plain text: the same sections, no Markdown, the full times, and who
 * pressed a button. */
static void write_txt(const incident *in, buf *b) {
  const char *title = in->title && in->title[0] ? in->title : INCIDENT_UNTITLED;
  buf_append_str(b, "Incident: ");
  js_join_lines(b, title, strlen(title));
  buf_appendf(b, "\nSession: %s\nFrom ", in->id[0] ? in->id : "?");
  put_utc(b, in->start);
  buf_append_str(b, " to ");
  put_utc(b, in->end);
  buf_append_str(b, " (");
  put_took(b, in->end - in->start);
  buf_appendf(b, ")\nStatus: %s\nActions: %zu tool calls, %zu mutating\n", in->status,
              in->call_count, mutating_calls(in));
  buf_appendf(b, "Tokens: %lld in, %lld out\n\nWhat was asked\n", in->input_tokens,
              in->output_tokens);
  if (!in->turn_count) buf_append_str(b, "  Nothing was asked.\n");
  for (size_t i = 0; i < in->turn_count; i++) {
    const incident_turn *t = &in->turns[i];
    buf_appendf(b, "  %zu. ", i + 1);
    put_clock(b, t->start);
    if (t->identity[0]) buf_appendf(b, " (%s)", t->identity);
    buf_append_str(b, ": ");
    js_join_lines(b, t->prompt, strlen(t->prompt));
    buf_append_str(b, "\n");
  }
  buf_append_str(b, "\nWhat was found\n");
  int found = 0;
  for (size_t i = 0; i < in->turn_count; i++) {
    if (!has_findings(&in->turns[i])) continue;
    found = 1;
    buf_append_str(b, "  After the prompt at ");
    put_clock(b, in->turns[i].start);
    buf_append_str(b, ":\n");
    put_quote(b, in->turns[i].findings, "    ");
    buf_append_str(b, "\n");
  }
  if (!found) buf_append_str(b, "  No conclusion was recorded.\n");
  buf_append_str(b, "\nWhat was done\n");
  if (!in->call_count) buf_append_str(b, "  No tool ran.\n");
  for (size_t i = 0; i < in->call_count; i++) {
    const incident_call *c = &in->calls[i];
    buf_append_str(b, "  ");
    put_clock(b, c->start);
    buf_appendf(b, "  %s%s%s: ", c->name, c->mutating ? " (mutating)" : "",
                json_is_string(c->source) && strcmp(json_string_value(c->source), "button") == 0
                    ? ", a button"
                    : "");
    js_join_lines(b, c->arg, strlen(c->arg));
    buf_append_str(b, "  (");
    put_took(b, c->duration_ms);
    buf_append_str(b, ", ");
    put_outcome(b, c);
    buf_append_str(b, ")\n");
  }
  if (in->policy_count) buf_append_str(b, "\nPolicy decisions\n");
  for (size_t i = 0; i < in->policy_count; i++) {
    const incident_policy *p = &in->policies[i];
    buf_append_str(b, "  ");
    put_clock(b, p->at);
    buf_appendf(b, " %s: %s by %s", p->tool, p->verdict, p->policy);
    if (p->reason[0]) {
      buf_append_str(b, ": ");
      js_join_lines(b, p->reason, strlen(p->reason));
    }
    buf_append_str(b, "\n");
  }
  buf_append_str(b, "\nTimings\n");
  for (size_t i = 0; i < in->turn_count; i++) {
    const incident_turn *t = &in->turns[i];
    buf_appendf(b, "  Turn %zu: ", i + 1);
    put_clock(b, t->start);
    buf_append_str(b, " to ");
    put_clock(b, t->end);
    buf_append_str(b, " (");
    put_took(b, t->end - t->start);
    buf_appendf(b, "), %zu tool calls, %s\n", t->calls, t->outcome[0] ? t->outcome : "running");
  }
}

/* A time as the JSON export gives it: ISO 8601, or null. */
static json_t *time_json(double ms) {
  char iso[80];
  return iso_time(ms, iso) == 0 ? json_string(iso) : json_null();
}

static json_t *ms_json(double ms) { return isfinite(ms) ? json_integer((json_int_t)ms) : json_null(); }

static void write_json(const incident *in, buf *b) {
  json_t *turns = json_array(), *calls = json_array(), *policies = json_array();
  for (size_t i = 0; i < in->turn_count; i++) {
    const incident_turn *t = &in->turns[i];
    json_array_append_new(turns, json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:I}", "start",
                                           time_json(t->start), "end", time_json(t->end), "prompt",
                                           t->prompt, "identity", t->identity, "findings",
                                           t->findings, "outcome",
                                           t->outcome[0] ? t->outcome : "running", "tool_calls",
                                           (json_int_t)t->calls));
  }
  for (size_t i = 0; i < in->call_count; i++) {
    const incident_call *c = &in->calls[i];
    json_t *call = json_pack("{s:O?, s:s, s:O?, s:s, s:O?, s:b, s:o, s:o, s:o, s:s, s:s}",
                             "call_id", c->call_id, "name", c->name, "input", c->input, "argument",
                             c->arg, "source", c->source, "mutating", c->mutating, "start",
                             time_json(c->start), "end", time_json(c->end), "duration_ms",
                             ms_json(c->duration_ms), "outcome", c->outcome, "exit", c->exit);
    if (c->turn >= 0) json_object_set_new(call, "turn", json_integer(c->turn + 1));
    json_array_append_new(calls, call);
  }
  for (size_t i = 0; i < in->policy_count; i++) {
    const incident_policy *p = &in->policies[i];
    json_array_append_new(policies, json_pack("{s:o, s:O?, s:s, s:s, s:s, s:s}", "at",
                                              time_json(p->at), "call_id", p->call_id, "tool",
                                              p->tool, "policy", p->policy, "verdict", p->verdict,
                                              "reason", p->reason));
  }
  json_t *doc = json_pack(
      "{s:{s:s, s:s?, s:s, s:{s:I, s:I}}, s:o, s:o, s:o, s:o, s:o}", "session", "id", in->id,
      "title", in->title, "status", in->status, "usage", "input_tokens",
      (json_int_t)in->input_tokens, "output_tokens", (json_int_t)in->output_tokens, "start",
      time_json(in->start), "end", time_json(in->end), "turns", turns, "calls", calls,
      "policies", policies);
  char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  if (text) {
    buf_append_str(b, text);
    buf_append(b, "\n", 1);
  }
  free(text);
  json_decref(doc);
}

void incident_write(const incident *in, incident_format f, buf *out) {
  if (f == INCIDENT_MD)
    write_md(in, out);
  else if (f == INCIDENT_TXT)
    write_txt(in, out);
  else
    write_json(in, out);
}
