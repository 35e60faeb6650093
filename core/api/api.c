#include "api.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "action.h"
#include "api_metrics.h"
#include "api_pve.h"
#include "api_search.h"
#include "api_sessions.h"
#include "api_targets.h"
#include "auth.h"
#include "http_static.h"
#include "log.h"
#include "session.h"
#include "session_prune.h"
#include "session_stream.h"
#include "session_turn.h"

static int method_is(const http_request *req, const char *m) { return strcmp(req->method, m) == 0; }

static void api_health(http_conn *c) {
  http_respond_json(c, 200,
                    json_pack("{s:s, s:s}", "status", "ok", "service", "claude-breakglass"));
}

/* Ready while a script set serves. A failed reload leaves the last good set
 * serving: still ready (taking the pod out of service would also hide the
 * page that shows the error), but "degraded" with the error. */
static void api_ready(app *a, http_conn *c) {
  json_t *body = json_pack("{s:b, s:b}", "ready", a->scripts != NULL, "degraded",
                           a->scripts && a->scripts_error[0] != '\0');
  if (a->scripts) {
    json_object_set_new(body, "scripts_loaded_ms", json_integer((json_int_t)a->scripts_loaded_ms));
    json_t *names = json_array(), *tools = lua_host_tools_json(a->scripts), *tool;
    size_t i;
    json_array_foreach(tools, i, tool) json_array_append(names, json_object_get(tool, "name"));
    json_decref(tools);
    json_object_set_new(body, "tools", names);
  }
  if (a->scripts_error[0]) json_object_set_new(body, "error", json_string(a->scripts_error));
  http_respond_json(c, a->scripts ? 200 : 503, body);
}

static int is_json_request(const http_request *req) {
  const char *type = http_request_header(req, "Content-Type");
  return type && strncasecmp(type, "application/json", 16) == 0 &&
         (type[16] == '\0' || type[16] == ';' || type[16] == ' ');
}

/* {"prompt": "...", "model": optional} */
static void api_prompt(session *s, http_conn *c, const http_request *req, const char *identity) {
  json_error_t jerr;
  json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(body)) {
    json_decref(body);
    http_respond_error(c, 400, "the body must be a JSON object with a \"prompt\" string");
    return;
  }
  json_t *prompt = json_object_get(body, "prompt");
  json_t *model = json_object_get(body, "model");
  const char *text = json_string_value(prompt);
  size_t skip = text ? strspn(text, " \t\r\n") : 0;
  if (!text || text[skip] == '\0' || (model && !json_is_null(model) && !json_is_string(model))) {
    json_decref(body);
    http_respond_error(c, 422,
                       "\"prompt\" must be a non-empty string (\"model\", if given, a string)");
    return;
  }
  char err[256];
  if (s->kind == SESSION_KIND_OPERATOR) {
    json_decref(body);
    http_respond_error(c, 409,
                       "this session records the power buttons; start a new session to "
                       "talk to the agent");
    return;
  }
  if (session_turn_start(s, text, json_string_value(model), identity, err, sizeof err) != 0) {
    json_decref(body);
    http_respond_error(c, s->turn ? 409 : 503, err);
    return;
  }
  json_decref(body);
  http_respond_json(c, 200, json_pack("{s:s}", "status", "started"));
}

/* {"call_id": "...", "approve": true|false}: the operator's answer to a
 * confirm_request. */
static void api_confirm(session *s, http_conn *c, const http_request *req, const char *identity) {
  json_error_t jerr;
  json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
  const char *call_id = json_string_value(json_object_get(body, "call_id"));
  json_t *approve = json_object_get(body, "approve");
  if (!call_id || !json_is_boolean(approve)) {
    json_decref(body);
    http_respond_error(c, 422,
                       "the body must be {\"call_id\": string, \"approve\": true or false}");
    return;
  }
  int rc = action_answer(s, call_id, json_is_true(approve), identity);
  if (rc == 0)
    http_respond_json(
        c, 200, json_pack("{s:s, s:b}", "call_id", call_id, "approved", json_is_true(approve)));
  else if (rc == ACTION_ANSWER_DECIDED)
    http_respond_error(c, 409, "this call was already decided");
  else
    http_respond_error(c, 404, "no call is waiting for this answer");
  json_decref(body);
}

static unsigned long long last_event_id(const http_request *req) {
  const char *v = http_request_header(req, "Last-Event-ID");
  if (!v) return 0;
  char *end;
  unsigned long long id = strtoull(v, &end, 10);
  return *end == '\0' ? id : 0;
}

/* /api/session/{id}/{action} */
static void api_session_route(app *a, http_conn *c, const http_request *req, const char *rest,
                              const char *identity) {
  char id[SESSION_ID_LEN + 1];
  const char *slash = strchr(rest, '/');
  size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
  const char *verb = slash ? slash + 1 : "";
  session *s = NULL;
  if (idlen == SESSION_ID_LEN) {
    memcpy(id, rest, idlen);
    id[idlen] = '\0';
    s = session_find(a, id);
  }
  if (!s) {
    http_respond_error(c, 404, "no such session");
    return;
  }
  log_context_set(log_context_now(), NULL, s->id, NULL, NULL);
  if (strcmp(verb, "stream") == 0 && method_is(req, "GET")) {
    if (session_stream_attach(s, c, last_event_id(req)) != 0)
      http_respond_error(c, 500, "could not start the event stream");
  } else if (strcmp(verb, "prompt") == 0 && method_is(req, "POST")) {
    api_prompt(s, c, req, identity);
  } else if (strcmp(verb, "journal") == 0 && method_is(req, "GET")) {
    api_session_journal(s, c);
  } else if (strcmp(verb, "confirm") == 0 && method_is(req, "POST")) {
    api_confirm(s, c, req, identity);
  } else if (strcmp(verb, "cancel") == 0 && method_is(req, "POST")) {
    http_respond_json(c, 200, json_pack("{s:b}", "cancelled", session_turn_cancel(s, identity)));
  } else {
    http_respond_error(c, 404, "no such route");
  }
}

static void api_route(app *a, http_conn *c, const http_request *req, const char *identity) {
  const char *p = req->path;
  if (strcmp(p, "/api/session") == 0 && method_is(req, "POST")) {
    session *s = session_create(a, SESSION_KIND_CHAT);
    if (!s) {
      http_respond_error(c, 500, "out of memory");
      return;
    }
    log_info("session %s created by %s", s->id, identity);
    session_prune(a, s);
    http_respond_json(c, 200, json_pack("{s:s}", "session_id", s->id));
  } else if (strcmp(p, "/api/sessions/search") == 0 && method_is(req, "GET")) {
    api_search(a, c, req);
  } else if (strcmp(p, "/api/sessions") == 0 && method_is(req, "GET")) {
    json_t *body = json_pack("{s:o}", "sessions", session_list_json(a));
    if (a->journal_damage) json_object_set(body, "journal_damage", a->journal_damage);
    http_respond_json(c, 200, body);
  } else if (strncmp(p, "/api/session/", 13) == 0) {
    api_session_route(a, c, req, p + 13, identity);
  } else if (strcmp(p, "/api/targets") == 0 && method_is(req, "GET")) {
    api_targets_get(a, c, req);
  } else if (strncmp(p, "/api/pve/", 9) == 0) {
    api_pve_route(a, c, req, p + 9, identity);
  } else {
    http_respond_error(c, 404, "no such route");
  }
}

static bool is_api_path(const char *path) {
  return path && (strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0);
}

/* The routes that need credentials on the main port. */
static bool needs_credentials(const char *path) {
  return is_api_path(path) || (path && strcmp(path, "/metrics") == 0);
}

static void api_unauthorized(http_conn *c) {
  /* RFC 9110 asks a 401 to name the scheme it wants. */
  static const char body[] = "{\"error\":\"authentication required\"}";
  http_respond(c, 401, "application/json", "WWW-Authenticate: Bearer\r\n", body, sizeof body - 1);
}

/* 0 and identity, or the request has its 401 answer. */
static int api_authenticate(app *a, http_conn *c, const http_request *req,
                            char identity[AUTH_IDENTITY_MAX_BYTES]) {
  if (auth_identify(a->api, req, identity) != 0) {
    api_unauthorized(c);
    return -1;
  }
  log_context_set(log_context_now(), NULL, NULL, NULL, identity);
  return 0;
}

static bool head_announces_body(const http_request *head) {
  const char *length = http_request_header(head, "Content-Length");
  return http_request_header(head, "Transfer-Encoding") ||
         (length && strtoull(length, NULL, 10) != 0);
}

/* Every slot holding a body of max_body_bytes would be the pod's whole
 * memory, before any credential is asked for. No route without
 * credentials takes a body, so none is read. */
http_head_verdict api_head_check_anonymous(void *ud, http_conn *c, const http_request *head) {
  (void)ud;
  if (!head_announces_body(head)) return HTTP_HEAD_ANONYMOUS;
  http_respond_error(c, 413, "a request without credentials carries no body here");
  return HTTP_HEAD_ANSWERED;
}

http_head_verdict api_head_check(void *ud, http_conn *c, const http_request *head) {
  app *a = ud;
  char identity[AUTH_IDENTITY_MAX_BYTES];
  if (auth_identify(a->api, head, identity) == 0) return HTTP_HEAD_TRUSTED;
  if (!needs_credentials(head->path)) return api_head_check_anonymous(ud, c, head);
  /* A refused credential is news, as every API request is. */
  http_conn_log_at(c, LOG_INFO);
  api_unauthorized(c);
  return HTTP_HEAD_ANSWERED;
}

void api_handle(void *ud, http_conn *c, const http_request *req) {
  app *a = ud;
  if (!req->path) {
    http_respond_error(c, 404, "not found");
    return;
  }
  if (strcmp(req->path, "/health") == 0) {
    api_health(c);
    return;
  }
  /* Shutting down, the daemon only waits for a power verb to end. */
  if (a->shutting_down) {
    http_respond_error(c, 503, "shutting down");
    return;
  }
  if (strcmp(req->path, "/readyz") == 0) {
    api_ready(a, c);
    return;
  }
  char identity[AUTH_IDENTITY_MAX_BYTES];
  if (strcmp(req->path, "/metrics") == 0) {
    if (api_authenticate(a, c, req, identity) == 0) api_metrics_serve(a, c, req);
    return;
  }
  if (!is_api_path(req->path)) {
    http_static_serve(a->www, c, req);
    return;
  }
  /* The API's requests are the news in the log; the page's files, the
   * probes and the scrapes are not. */
  http_conn_log_at(c, LOG_INFO);
  if (api_authenticate(a, c, req, identity) != 0) return;
  if (auth_check_same_origin(req) != 0) {
    http_respond_error(c, 403, "cross-site request refused");
    return;
  }
  /* A browser cannot send a cross-site request with an Authorization header
   * unless the server answers CORS, which this one never does; so only the
   * proxy-authenticated requests (cookies at the proxy) need the JSON rule
   * against form posts. Bearer callers post bodyless as today's service
   * accepts. */
  int bearer = strcmp(identity, "bearer") == 0;
  if (!bearer && !method_is(req, "GET") && !method_is(req, "HEAD") && !is_json_request(req)) {
    http_respond_error(c, 415, "state-changing requests must be application/json");
    return;
  }
  api_route(a, c, req, identity);
}
