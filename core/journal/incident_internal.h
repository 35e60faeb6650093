/* The incident's parts, shared by the fold (incident.c, incident_call.c)
 * and its writers (incident_write.c, incident_plain.c, with the page's
 * text forms in incident_format.c). Times are milliseconds since the
 * epoch as doubles, NaN when unknown, as the page keeps them.
 *
 * A string the page keeps as `ev.field || ''` is NULL here when the
 * event's value was falsy: the page then tests the value itself, and a
 * truthy value may still read as "" (an empty array). */
#ifndef BG_INCIDENT_INTERNAL_H
#define BG_INCIDENT_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "incident.h"

typedef struct incident_turn {
  double start, end;
  char *prompt, *findings;
  char *identity;    /* NULL: none */
  char outcome[16];  /* "" while it runs, ok, error, cancelled, interrupted, unknown */
  size_t calls;      /* the turn's calls (presses are no turn's) */
  size_t first_call; /* index in calls of the first made in the turn or after */
} incident_turn;

typedef struct incident_call {
  const json_t *call_id, *input; /* borrowed from the events */
  char *name, *arg;
  char *exit;        /* "exit 0", "signal KILL", or "" */
  char *layer;       /* the layer a failure or finding names, or "" */
  char *source;      /* "button" for a press, else the event's ("model" when none) */
  char *identity;    /* who pressed the button, else the event's; "" for none */
  char *inserted_by; /* the policy that ran it first, or "" */
  int mutating, override;
  double start, end, duration_ms;
  char outcome[16]; /* running, ok, finding, error, denied, unknown */
  long turn;        /* index in turns, or -1 (none, or a press: no turn's) */
} incident_call;

typedef struct incident_policy {
  double at;
  const json_t *call_id;                                    /* borrowed */
  char *tool, *verb, *policy, *verdict, *reason, *identity; /* NULL: none */
  int override;  /* the verdict is "override": the operator overrode policy */
  int by_bearer; /* the identity is "bearer": the token holder */
} incident_policy;

struct incident {
  char *id, *title; /* title NULL: "untitled session" */
  const char *status;
  long long input_tokens, output_tokens;
  double start, end;
  incident_turn *turns;
  size_t turn_count, turn_cap;
  incident_call *calls;
  size_t call_count, call_cap;
  incident_policy *policies;
  size_t policy_count, policy_cap;
  long open_turn;       /* index in turns, or -1 */
  size_t settled_calls; /* the calls before it ended, by the last restart at the latest */
  /* The page's Maps, keyed by js_map_key's text: a call_id to the index of
   * its last call, a press's call_id to its button event, and the
   * call_ids a policy denied. */
  json_t *call_index, *presses, *denied;
  int turn_open, interrupted, cancelled, last_failed; /* the status, as recovery reads it */
};

/* What the page makes of `v || ''`: NULL when v is falsy, else String(v)
 * (malloc'd; NULL too when out of memory). */
char *incident_js_or_null(const json_t *v);
/* String(v), malloc'd; NULL when out of memory. */
char *incident_js_dup(const json_t *v);

/* The call as the page opens it from its tool event; press: the button
 * event that asked for it, or NULL. 0, or -1 when out of memory. */
int incident_call_open(incident_call *c, const json_t *ev, const json_t *press, double t);
/* The call ended with the tool_result ev at time t; denied: a policy
 * refused it. */
void incident_call_finish(incident_call *c, const json_t *ev, double t, int denied);
void incident_call_free(incident_call *c);

/* How a call ended, in words: "ok, exit 0", "finding: no banner". */
void incident_outcome_words(buf *b, const incident_call *c);
/* Who asked for a call: "agent", "button, viktor, override", "run first
 * by policy forensics_first". */
void incident_call_source(buf *b, const incident_call *c);
/* Who overrode a policy: "token holder", a name, or "the operator". */
const char *incident_policy_who(const incident_policy *p);

/* The page's text forms (www/incident.mjs, www/format.mjs). */
/* new Date(ms).toISOString() into out, 0; -1 when ms is not a time. */
int incident_iso_time(double ms, char out[80]);
/* utc: "2026-06-11 08:30:05Z", or "?". */
void incident_put_utc(buf *b, double ms);
/* clockUtc: "08:30:05", or "?". */
void incident_put_clock(buf *b, double ms);
/* took: formatDuration, or an en dash when ms is not a duration. */
void incident_put_took(buf *b, double ms);
/* cell: pipes escaped, whitespace runs with a newline as one space. */
void incident_put_cell(buf *b, const char *text);
/* code: inline code fenced longer than any backtick run in it; "" for "". */
void incident_put_code(buf *b, const char *text);
/* quote: text trimmed, each line mark + line without trailing whitespace. */
void incident_put_quote(buf *b, const char *text, const char *mark);
/* Whether a turn's findings say anything (findings.trim()). */
int incident_has_findings(const incident_turn *t);
/* Calls that are mutating; calls a button asked for, not run first by policy. */
size_t incident_mutating_calls(const incident *in);
size_t incident_button_calls(const incident *in);

/* What tells the Markdown summary from the plain one where the two share
 * a shape: the head, the sections' names, the policy decisions and the
 * timings (incident_write.c writes these for both). */
typedef struct incident_dialect {
  const char *title;                          /* before the first line: "# " or "" */
  const char *heading;                        /* before a section's name: "## " or "" */
  const char *gap;                            /* after a heading: "\n" (a blank line) or "" */
  const char *field;                          /* before a line of the head: "- " or "" */
  const char *item;                           /* before an entry of a list: "- " or "  " */
  void (*put_text)(buf *b, const char *text); /* what someone typed, on one line */
  void (*put_word)(buf *b, const char *text); /* a name or verdict in a policy decision */
  void (*put_id)(buf *b, const char *text);   /* the session's id */
} incident_dialect;

/* The summary's parts in dialect d. */
void incident_put_head(const incident *in, const incident_dialect *d, buf *b);
void incident_put_section(const incident_dialect *d, buf *b, const char *name);
void incident_put_policies(const incident *in, const incident_dialect *d, buf *b);
void incident_put_timings(const incident *in, const incident_dialect *d, buf *b);

/* The writers of incident_write. */
void incident_write_md(const incident *in, buf *b);
void incident_write_txt(const incident *in, buf *b);
void incident_write_json(const incident *in, buf *b);

#endif
