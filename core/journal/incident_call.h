/* One action of an incident as the page reads it (incident_call.c), and
 * the String() of event values the fold (incident.c) and the call share.
 */
#ifndef BG_INCIDENT_CALL_H
#define BG_INCIDENT_CALL_H

#include <jansson.h>

#include "buf.h"
#include "incident_parts.h"

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

#endif
