/* A session's fields, apart from what is done with them (session.h), so
 * that the two files session.c hands its records and its streams to
 * (journal_session.c, session_stream.c) read the struct without seeing
 * session.h: session.c includes their headers, and includes point one way.
 */
#ifndef BG_SESSION_DATA_H
#define BG_SESSION_DATA_H

#include <jansson.h>
#include <stddef.h>

#include "app.h"

#define SESSION_ID_LEN 32

typedef struct session_event {
  unsigned long long id;
  char *frame; /* the whole SSE frame: "id: N\ndata: {...}\n\n"; NULL for a
                  text_delta its text blocks replaced (the journal keeps it) */
  size_t frame_len;
} session_event;

typedef enum {
  SESSION_IDLE,
  SESSION_RUNNING,
  SESSION_FAILED,
  SESSION_CANCELLED,
  SESSION_INTERRUPTED, /* its turn was cut by a restart */
} session_status;

struct session_turn;
struct session_subscriber;
struct journal;
struct action;

/* A chat with the agent, or the daemon-wide record of the power buttons
 * pressed outside any chat (one at a time; a new one when it is full). */
typedef enum { SESSION_KIND_CHAT, SESSION_KIND_OPERATOR } session_kind;

typedef struct session {
  app *app;
  char id[SESSION_ID_LEN + 1];
  session_kind kind;
  char *title; /* the first prompt, shortened; NULL before it */
  unsigned long long created_ms;
  unsigned long long last_activity_ms;
  session_status status;
  json_t *messages; /* the conversation sent to the model */
  session_event *events;
  size_t event_count;
  size_t event_cap;
  size_t event_bytes;
  unsigned long long last_event_id;
  struct journal *journal; /* NULL when it could not be opened: no mutating calls */
  char *journal_error;     /* why not, when it is NULL */
  unsigned long tool_calls;
  unsigned long mutating_calls;
  model_usage usage;         /* all turns' model calls */
  struct session_turn *turn; /* NULL when no turn runs */
  json_t *history;           /* the calls, as policies see them (gate.h) */
  struct action *confirming; /* waiting for the operator, or NULL */
  unsigned actions_running;  /* started and not ended: the session stays */
  struct session_subscriber *subscribers;
  struct session *next;
} session;

#endif
