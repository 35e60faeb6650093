/* The page's text forms (incident_format.c: www/incident.mjs,
 * www/format.mjs), for the writers. */
#ifndef BG_INCIDENT_FORMAT_H
#define BG_INCIDENT_FORMAT_H

#include <stddef.h>

#include "buf.h"
#include "incident_parts.h"

/* new Date(ms).toISOString() into out, 0; -1 when ms is not a time. */
int incident_iso_time(double ms, char out[80]);
/* utc: "2026-06-11 08:30:05Z", or "?". */
void incident_put_utc(buf *b, double ms);
/* clockUtc: "08:30:05", or "?". */
void incident_put_clock(buf *b, double ms);
/* took: formatDuration, or an en dash when ms is not a duration. */
void incident_put_took(buf *b, double ms);
/* Each names text's hidden characters first (js_reveal.h).
 * cell: pipes escaped, whitespace runs with a newline as one space. */
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

#endif
