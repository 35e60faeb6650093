/* The summary of an incident: Markdown exactly as www/incident.mjs's
 * incidentMarkdown writes it, and the parts whose shape the plain text
 * shares (incident_dialect); plain text and JSON in incident_plain.c. */
#include "incident_write.h"

#include <string.h>

#include "incident_call.h"
#include "incident_format.h"
#include "js_text.h"

/* cell() of text made by put(b, c). */
static void put_cell_of(buf *b, void (*put)(buf *, const incident_call *), const incident_call *c) {
  buf words;
  buf_init(&words, JS_TEXT_MAX_BYTES);
  put(&words, c);
  incident_put_cell(b, buf_cstr(&words));
  buf_free(&words);
}

/* cell(code(text)). */
static void put_code_cell(buf *b, const char *text) {
  buf code;
  buf_init(&code, JS_TEXT_MAX_BYTES);
  incident_put_code(&code, text);
  incident_put_cell(b, buf_cstr(&code));
  buf_free(&code);
}

static const incident_dialect md = {
    .title = "# ",
    .heading = "## ",
    .gap = "\n",
    .field = "- ",
    .item = "- ",
    .numbered = "",
    .zone = " UTC",
    .put_text = incident_put_cell,
    .put_word = incident_put_cell,
    .put_id = incident_put_code,
};

void incident_put_head(const incident *in, const incident_dialect *d, buf *b) {
  buf_appendf(b, "%sIncident: ", d->title);
  d->put_text(b, in->title && in->title[0] ? in->title : "untitled session");
  buf_appendf(b, "\n%s%sSession: ", d->gap, d->field);
  d->put_id(b, in->id[0] ? in->id : "?");
  buf_appendf(b, "\n%sFrom ", d->field);
  incident_put_utc(b, in->start);
  buf_append_str(b, " to ");
  incident_put_utc(b, in->end);
  buf_append_str(b, " (");
  incident_put_took(b, in->end - in->start);
  buf_appendf(b,
              "); every time here is UTC\n%sStatus: %s\n"
              "%sActions: %zu tool calls, %zu mutating, %zu from the power buttons\n",
              d->field, in->status, d->field, in->call_count, incident_mutating_calls(in),
              incident_button_calls(in));
  buf_appendf(b, "%sTokens: %lld in, %lld out\n", d->field, in->input_tokens, in->output_tokens);
}

void incident_put_section(const incident_dialect *d, buf *b, const char *name) {
  buf_appendf(b, "\n%s%s\n%s", d->heading, name, d->gap);
}

/* Each turn's prompt, numbered, with its time and who asked. */
void incident_put_prompts(const incident *in, const incident_dialect *d, buf *b) {
  for (size_t i = 0; i < in->turn_count; i++) {
    const incident_turn *t = &in->turns[i];
    buf_appendf(b, "%s%zu. ", d->numbered, i + 1);
    incident_put_clock(b, t->start);
    buf_append_str(b, d->zone);
    if (t->identity) {
      buf_append_str(b, " (");
      d->put_text(b, t->identity);
      buf_append_str(b, ")");
    }
    buf_append_str(b, ": ");
    d->put_text(b, t->prompt);
    buf_append_str(b, "\n");
  }
}

static void write_asked(const incident *in, buf *b) {
  incident_put_section(&md, b, "What was asked");
  incident_put_prompts(in, &md, b);
}

/* The turns' conclusions, then the calls that found something wrong. */
static void write_found(const incident *in, buf *b) {
  incident_put_section(&md, b, "What was found");
  int found = 0;
  for (size_t i = 0; i < in->turn_count; i++) found |= incident_has_findings(&in->turns[i]);
  if (!found) buf_append_str(b, "No conclusion was recorded.\n");
  for (size_t i = 0; i < in->turn_count; i++) {
    if (!incident_has_findings(&in->turns[i])) continue;
    buf_append_str(b, "After the prompt at ");
    incident_put_clock(b, in->turns[i].start);
    buf_append_str(b, " UTC:\n\n");
    incident_put_quote(b, in->turns[i].findings, "> ");
    buf_append_str(b, "\n\n");
  }
  int header = 0;
  for (size_t i = 0; i < in->call_count; i++) {
    const incident_call *c = &in->calls[i];
    if (strcmp(c->outcome, "finding") != 0) continue;
    if (!header++) buf_append_str(b, "Findings of the actions:\n\n");
    buf_append_str(b, "- ");
    incident_put_clock(b, c->start);
    /* The name and the argument, each left out when empty. */
    buf code;
    buf_init(&code, JS_TEXT_MAX_BYTES);
    incident_put_code(&code, c->arg);
    buf_append_str(b, " ");
    incident_put_cell(b, c->name);
    if (c->name[0] && code.len) buf_append_str(b, " ");
    incident_put_cell(b, buf_cstr(&code));
    buf_free(&code);
    buf_append_str(b, ": ");
    put_cell_of(b, incident_outcome_words, c);
    buf_append_str(b, "\n");
  }
  if (header) buf_append_str(b, "\n");
}

static void write_done(const incident *in, buf *b) {
  incident_put_section(&md, b, "What was done");
  if (!in->call_count)
    buf_append_str(b, "No tool ran.\n");
  else
    buf_append_str(b, "| Time (UTC) | Tool | Command or verb | By | Took | Outcome |\n"
                      "|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < in->call_count; i++) {
    const incident_call *c = &in->calls[i];
    buf_append_str(b, "| ");
    incident_put_clock(b, c->start);
    buf_append_str(b, " | ");
    incident_put_cell(b, c->name);
    if (c->mutating) buf_append_str(b, " (mutating)");
    buf_append_str(b, " | ");
    put_code_cell(b, c->arg);
    buf_append_str(b, " | ");
    put_cell_of(b, incident_call_source, c);
    buf_append_str(b, " | ");
    incident_put_took(b, c->duration_ms);
    buf_append_str(b, " | ");
    put_cell_of(b, incident_outcome_words, c);
    buf_append_str(b, " |\n");
  }
}

void incident_put_policies(const incident *in, const incident_dialect *d, buf *b) {
  if (in->policy_count) incident_put_section(d, b, "Policy decisions");
  for (size_t i = 0; i < in->policy_count; i++) {
    const incident_policy *p = &in->policies[i];
    buf_append_str(b, d->item);
    incident_put_clock(b, p->at);
    buf_append_str(b, " ");
    d->put_word(b, p->tool ? p->tool : "");
    if (p->verb) {
      buf_append_str(b, " ");
      d->put_word(b, p->verb);
    }
    buf_append_str(b, ": ");
    if (p->override) {
      d->put_word(b, p->policy ? p->policy : "");
      buf_append_str(b, " overridden by ");
      d->put_word(b, incident_policy_who(p));
    } else {
      d->put_word(b, p->verdict ? p->verdict : "");
      buf_append_str(b, " by ");
      d->put_word(b, p->policy ? p->policy : "");
    }
    if (p->reason) {
      buf_append_str(b, ": ");
      d->put_text(b, p->reason);
    }
    buf_append_str(b, "\n");
  }
}

void incident_put_timings(const incident *in, const incident_dialect *d, buf *b) {
  incident_put_section(d, b, "Timings");
  for (size_t i = 0; i < in->turn_count; i++) {
    const incident_turn *t = &in->turns[i];
    buf_appendf(b, "%sTurn %zu: ", d->item, i + 1);
    incident_put_clock(b, t->start);
    buf_append_str(b, " to ");
    incident_put_clock(b, t->end);
    buf_append_str(b, " (");
    incident_put_took(b, t->end - t->start);
    buf_appendf(b, "), %zu tool calls, %s\n", t->calls, t->outcome[0] ? t->outcome : "running");
  }
}

void incident_write_md(const incident *in, buf *b) {
  incident_put_head(in, &md, b);
  write_asked(in, b);
  write_found(in, b);
  write_done(in, b);
  incident_put_policies(in, &md, b);
  incident_put_timings(in, &md, b);
}
