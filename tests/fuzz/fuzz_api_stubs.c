/* What lies past the HTTP routes, for fuzz_http_server: sessions kept in
 * memory, turns that only say they started, streams that say "caught up",
 * and no SSH or model. Everything up to the routes (server, parser, head
 * check, auth, static files, api.c's routing and checks) is the real code.
 *
 * Every stand-in for a route that needs credentials counts its calls, so
 * that the target can tell when one was reached without them. The log is
 * here too: an error line from the request path is a broken contract, so
 * it aborts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "api_metrics.h"
#include "api_pve.h"
#include "api_search.h"
#include "api_sessions.h"
#include "api_targets.h"
#include "fuzz_api_stubs.h"
#include "log.h"
#include "session.h"
#include "session_prune.h"
#include "session_stream.h"
#include "session_turn.h"

enum { FUZZ_MAX_SESSIONS_COUNT = 8 };

static unsigned long authed_calls;
static unsigned long sessions_made;
/* A session's turn is only ever compared with NULL by the routes. */
static char running_turn;

unsigned long fuzz_api_authed_calls(void) { return authed_calls; }

void fuzz_api_reset(app *a) {
  while (a->sessions) {
    session *s = a->sessions;
    a->sessions = s->next;
    free(s);
  }
  authed_calls = 0;
  sessions_made = 0;
}

/* log.c is the real one (the request path sets its context); its
 * log_write is wrapped (-Wl,--wrap=log_write) so an error aborts. */
void __wrap_log_write(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void __wrap_log_write(log_level level, const char *fmt, ...) {
  if (level < LOG_ERROR) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nfuzz_http_server: an error was logged\n", stderr);
  abort();
}

session *session_create(app *a, session_kind kind) {
  authed_calls++;
  size_t n = 0;
  for (session *s = a->sessions; s; s = s->next) n++;
  if (n >= FUZZ_MAX_SESSIONS_COUNT) return NULL; /* the route's out-of-memory answer */
  session *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  s->app = a;
  s->kind = kind;
  snprintf(s->id, sizeof(s->id), "%032lx", ++sessions_made);
  s->next = a->sessions;
  a->sessions = s;
  return s;
}

session *session_find(app *a, const char *id) {
  authed_calls++;
  for (session *s = a->sessions; s; s = s->next)
    if (strcmp(s->id, id) == 0) return s;
  return NULL;
}

json_t *session_list_json(const app *a) {
  authed_calls++;
  json_t *list = json_array();
  for (const session *s = a->sessions; s; s = s->next)
    json_array_append_new(list, json_pack("{s:s}", "id", s->id));
  return list;
}

int session_prune(app *a, const session *keep) {
  (void)a;
  (void)keep;
  authed_calls++;
  return 0;
}

static void stream_on_close(void *ud, http_conn *c) {
  (void)ud;
  (void)c;
}

/* A Last-Event-ID ends the stream at once; without one it stays open until
 * the connection closes, as a live stream does. */
int session_stream_attach(session *s, http_conn *c, unsigned long long after_id) {
  (void)s;
  authed_calls++;
  http_conn_on_close(c, stream_on_close, NULL);
  if (http_stream_begin(c, 200, "text/event-stream", NULL) != 0) return -1;
  static const char caught_up[] = "event: caught-up\ndata: {}\n\n";
  if (http_stream_write(c, caught_up, sizeof(caught_up) - 1) != 0) return 0;
  if (after_id) http_stream_end(c);
  return 0;
}

int session_turn_start(session *s, const char *prompt, const char *model, const char *identity,
                       char *err, size_t errlen) {
  (void)prompt;
  (void)model;
  (void)identity;
  authed_calls++;
  if (s->turn) {
    snprintf(err, errlen, "a turn is already running");
    return -1;
  }
  s->turn = (struct session_turn *)&running_turn;
  return 0;
}

int session_turn_cancel(session *s, const char *identity) {
  (void)identity;
  authed_calls++;
  int was = s->turn != NULL;
  s->turn = NULL;
  return was;
}

int action_answer(session *s, const char *call_id, int approve, const char *identity) {
  (void)s;
  (void)approve;
  (void)identity;
  authed_calls++;
  return strcmp(call_id, "decided") == 0 ? ACTION_ANSWER_DECIDED : ACTION_ANSWER_UNKNOWN;
}

void api_session_journal(session *s, http_conn *c) {
  authed_calls++;
  http_respond(c, 200, "application/x-ndjson", NULL, s->id, SESSION_ID_LEN);
}

void api_metrics_serve(app *a, http_conn *c, const http_request *req) {
  (void)a;
  (void)req;
  authed_calls++;
  http_respond(c, 200, "text/plain; version=0.0.4", NULL, "", 0);
}

void api_targets_get(app *a, http_conn *c, const http_request *req) {
  (void)a;
  (void)req;
  authed_calls++;
  http_respond_json(c, 200, json_pack("{s:n, s:n}", "devvm", "pve"));
}

void api_search(app *a, http_conn *c, const http_request *req) {
  (void)a;
  (void)req;
  authed_calls++;
  http_respond_json(c, 200, json_pack("{s:[]}", "hits"));
}

void api_pve_route(app *a, http_conn *c, const http_request *req, const char *rest,
                   const char *identity) {
  (void)a;
  (void)req;
  (void)rest;
  (void)identity;
  authed_calls++;
  http_respond_error(c, 503, "BREAKGLASS_PVE_HOST is not configured");
}

json_t *lua_host_tools_json(const lua_host *h) {
  (void)h;
  return json_array();
}
