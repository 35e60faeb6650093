/* The incident's parts, shared by the fold (incident.c, incident_call.c)
 * and its writers (incident_write.c, incident_plain.c, with the page's
 * text forms in incident_format.c). Times are milliseconds since the
 * epoch as doubles, NaN when unknown, as the page keeps them.
 *
 * A string the page keeps as `ev.field || ''` is NULL here when the
 * event's value was falsy: the page then tests the value itself, and a
 * truthy value may still read as "" (an empty array).
 *
 * The lower files of the export read these without incident.h, whose
 * incident.c includes their headers, so that includes point one way; the
 * typedef is incident.h's own again (C11 allows the repeat).
 */
#ifndef BG_INCIDENT_PARTS_H
#define BG_INCIDENT_PARTS_H

#include <jansson.h>
#include <stddef.h>

typedef struct incident incident;

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

#endif
