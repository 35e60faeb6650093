/* The incident's parts, shared by the fold (incident.c) and its writers
 * (incident_write.c). Times are milliseconds since the epoch as doubles,
 * NaN when unknown, as the page keeps them. */
#ifndef BG_INCIDENT_INTERNAL_H
#define BG_INCIDENT_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "incident.h"

typedef struct incident_turn {
  double start, end;
  char *prompt, *identity, *findings;
  char outcome[16]; /* "" while it runs, ok, error, cancelled, interrupted, unknown */
  size_t calls;
} incident_turn;

typedef struct incident_call {
  const json_t *call_id, *input, *source; /* borrowed from the events */
  char *name, *arg, *exit;
  int mutating;
  double start, end, duration_ms;
  char outcome[16]; /* running, ok, error, denied, unknown */
  long turn;        /* index in turns, or -1 */
} incident_call;

typedef struct incident_policy {
  double at;
  char *tool, *policy, *verdict, *reason;
  const json_t *call_id;
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
  long open_turn; /* index in turns, or -1 */
  int turn_open, interrupted, cancelled, last_failed; /* the status, as recovery reads it */
};

#endif
