/* The power-verb buttons: one verb on the Proxmox host with no model in the
 * path, so they work when the model API does not. A press is an action
 * like any agent call (action.h): the policies decide, its intent is
 * flushed first, its output and result are events of a session, and it is
 * recorded and replayable. It goes to the session named in the body
 * ({"session_id": ...}: the chat the operator is in) or else to the
 * daemon's operator session.
 *
 * The answer keeps today's contract, {"verb", "exit_code", "stdout",
 * "stderr", "rejected"}: 200 when breakglass-pve exited 0, 502 otherwise;
 * plus session_id and call_id (where the press is recorded), and for a
 * refusal the policy, its reason and whether the operator may override it
 * ({"override": true} in the body, recorded with who gave it). A client
 * that leaves does not stop the verb. */
#include "api_pve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "gate.h"
#include "journal_store.h"
#include "limits_table.h"
#include "log.h"
#include "pve_verbs.h"
#include "redactor.h"
#include "session.h"
#include "ssh_service.h"
#include "utf8_text.h"

/* breakglass-pve's exit code for a verb it refused (docs/breakglass-pve.md). */
#define PVE_EXIT_REJECTED 2
#define PVE_CALL_ID_HEX_CHARS 16

typedef struct pve_button {
  app *a;
  http_conn *conn; /* NULL once the client left */
  char verb[16];
  char session_id[SESSION_ID_LEN + 1];
  char call_id[sizeof "button_" + PVE_CALL_ID_HEX_CHARS];
  char *identity;
} pve_button;

/* --- the runner: the verb over SSH ------------------------------------------ */

typedef struct pve_run {
  app *a;
  action *action;
  ssh_exec *exec;
  utf8_stream streams[2];
} pve_run;

static void pve_run_output(void *ud, int stream, const char *bytes, size_t len) {
  pve_run *run = ud;
  size_t text_len;
  char *text = utf8_stream_text(&run->streams[stream == 2], bytes, len, &text_len);
  if (text && text_len) action_output(run->action, text, text_len);
  free(text);
}

/* The result in words, as the pve tool gives it to the model. */
static char *pve_result_text(const char *verb, const ssh_result *r, const json_t *j) {
  const char *out = json_string_value(json_object_get(j, "stdout"));
  const char *err = json_string_value(json_object_get(j, "stderr"));
  char *text = NULL;
  int n;
  if (!r->ok)
    n = asprintf(&text, "pve %s did not complete (%s): %s%s%s", verb, ssh_layer_name(r->layer),
                 r->message, out[0] ? "\nOutput so far:\n" : "", out);
  else
    n = asprintf(&text, "pve %s: exit %d%s%s, %.1f s\n%s%s%s", verb, r->exit_status,
                 r->exit_signal ? ", signal " : "", r->exit_signal ? r->exit_signal : "",
                 (double)r->duration_ms / 1000, out, err[0] ? "--- stderr ---\n" : "", err);
  return n < 0 ? NULL : text;
}

static void pve_run_done(void *ud, const ssh_result *r) {
  pve_run *run = ud;
  const char *verb = json_string_value(json_object_get(action_call_of(run->action)->input, "verb"));
  int code = r->ok && !r->exit_signal ? r->exit_status : -1;
  json_t *j = ssh_result_json(r, PVE_MAX_ANSWER_BYTES, journal_store_redactor(run->a->journals));
  char *text = j ? pve_result_text(verb, r, j) : NULL;
  if (j) {
    json_object_set_new(j, "verb", json_string(verb));
    json_object_set_new(j, "exit_code", code >= 0 ? json_integer(code) : json_null());
    json_object_set_new(j, "rejected", json_boolean(code == PVE_EXIT_REJECTED));
    if (!r->ok) json_object_set_new(j, "error", json_string(r->message));
  }
  static const char oom[] = "out of memory reading the verb's answer";
  action_finish(run->action, code != 0, text ? text : oom, text ? strlen(text) : sizeof oom - 1, j);
  free(text);
  json_decref(j);
  free(run);
}

static void *pve_run_start(action *a, void *ud) {
  app *ap = ud;
  pve_run *run = calloc(1, sizeof *run);
  if (!run) return NULL;
  run->a = ap;
  run->action = a;
  const char *verb = json_string_value(json_object_get(action_call_of(a)->input, "verb"));
  static const ssh_exec_cbs cbs = {pve_run_output, pve_run_done};
  uint64_t timeout_ms = (uint64_t)ap->options.ssh.pve_verb_timeout_s * 1000;
  run->exec = ssh_exec_start(ap->ssh, "pve", verb, timeout_ms, pve_verb_exec_flags(verb), &cbs,
                             run);
  if (!run->exec) {
    free(run);
    return NULL;
  }
  return run;
}

static void pve_run_cancel(void *r) { ssh_exec_cancel(((pve_run *)r)->exec); }

/* --- the press ---------------------------------------------------------------- */

static void pve_button_free(pve_button *b) {
  free(b->identity);
  free(b);
}

static void pve_button_on_close(void *ud, http_conn *c) {
  (void)c;
  pve_button *b = ud;
  b->conn = NULL;
  log_info("pve %s: the client of %s left; the verb goes on", b->verb, b->identity);
}

/* The answer carries what the host printed, which no event wraps here:
 * it passes the redactor, as the same output in the tool_result event
 * does (DESIGN.md invariant 10). */
static void pve_button_respond(pve_button *b, int status, json_t *body) {
  json_object_set_new(body, "session_id", json_string(b->session_id));
  json_object_set_new(body, "call_id", json_string(b->call_id));
  http_conn *c = b->conn;
  b->conn = NULL;
  char *text = c ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!c) return;
  size_t n = 0;
  char *safe = text ? redactor_apply(journal_store_redactor(b->a->journals), text, strlen(text), &n)
                    : NULL;
  free(text);
  if (safe)
    http_respond(c, status, "application/json", NULL, safe, n);
  else
    http_respond_error(c, 500, "out of memory answering the press");
  free(safe);
}

/* Why a press that did not run was refused: a policy, or the operator
 * (403), or the daemon lacked a journal or policies to decide by (503). */
static int pve_refusal_status(const action_outcome *o) { return o->unavailable ? 503 : 403; }

static void pve_button_on_done(void *ud, const action_outcome *o) {
  pve_button *b = ud;
  log_info("pve %s asked by %s: %s%.*s", b->verb, b->identity,
           o->ran ? "" : "refused: ", (int)(o->len < 200 ? o->len : 200), o->content);
  json_t *body;
  int status;
  if (o->ran && o->details) {
    body = json_deep_copy(o->details);
    json_object_set_new(body, "identity", json_string(b->identity));
    json_t *code = json_object_get(body, "exit_code");
    status = json_is_integer(code) && json_integer_value(code) == 0 ? 200 : 502;
  } else {
    body = json_pack("{s:s, s:s, s:s?, s:b, s:b}", "verb", b->verb, "error",
                     o->reason ? o->reason : o->content, "policy", o->policy, "overridable",
                     o->overridable, "rejected", 0);
    status = o->ran ? 500 : pve_refusal_status(o);
  }
  if (o->note) json_object_set_new(body, "note", json_string(o->note));
  pve_button_respond(b, status, body);
  pve_button_free(b);
}

/* The session a press is recorded in: the one named, else the operator's. */
static session *pve_button_session(app *a, const json_t *body, int *status, const char **why) {
  const char *id = json_string_value(json_object_get(body, "session_id"));
  if (!id) {
    session *s = session_operator(a);
    if (!s) *status = 500, *why = "out of memory";
    return s;
  }
  session *s = strlen(id) == SESSION_ID_LEN ? session_find(a, id) : NULL;
  if (!s) *status = 404, *why = "no such session";
  return s;
}

static void api_pve_run(app *a, http_conn *c, const http_request *req, const char *verb,
                        const char *identity) {
  const char *why =
      !a->options.ssh.pve.host ? "the Proxmox host is not configured (set BREAKGLASS_PVE_HOST)"
      : !a->ssh ? "SSH is not configured (set BREAKGLASS_KEY_PATH and BREAKGLASS_KNOWN_HOSTS)"
                : NULL;
  if (why) {
    log_info("pve %s asked by %s: %s", verb, identity, why);
    http_respond_json(c, 503,
                      json_pack("{s:s, s:s, s:b}", "verb", verb, "error", why, "rejected", 0));
    return;
  }
  json_error_t jerr;
  json_t *body = req->body_len ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr)
                               : json_object();
  const json_t *override = json_object_get(body, "override");
  if (!json_is_object(body) || (override && !json_is_boolean(override))) {
    json_decref(body);
    http_respond_error(c, 400,
                       "the body must be empty or {\"session_id\": string, \"override\": "
                       "true or false}");
    return;
  }
  int status = 0;
  session *s = pve_button_session(a, body, &status, &why);
  if (!s) {
    json_decref(body);
    http_respond_error(c, status, why);
    return;
  }
  pve_button *b = calloc(1, sizeof *b);
  if (b) b->identity = strdup(identity);
  if (!b || !b->identity) {
    free(b);
    json_decref(body);
    http_respond_error(c, 500, "out of memory");
    return;
  }
  b->a = a;
  b->conn = c;
  snprintf(b->verb, sizeof b->verb, "%s", verb);
  snprintf(b->session_id, sizeof b->session_id, "%s", s->id);
  char hex[PVE_CALL_ID_HEX_CHARS + 1];
  session_random_hex(hex, PVE_CALL_ID_HEX_CHARS);
  snprintf(b->call_id, sizeof b->call_id, "button_%s", hex);
  int overriding = json_is_true(override);
  log_info("pve %s asked by %s%s (session %s)", verb, identity, overriding ? ", overriding" : "",
           s->id);
  http_conn_on_close(c, pve_button_on_close, b);
  session_emit_kind(s, "button",
                    json_pack("{s:s, s:s, s:s, s:b}", "call_id", b->call_id, "verb", verb,
                              "identity", identity, "override", overriding));
  json_t *input = json_pack("{s:s}", "verb", verb);
  action_call call = {.session = s,
                      .scripts = a->scripts,
                      .call_id = b->call_id,
                      .tool = "pve",
                      .input = input,
                      .mutating = pve_verb_mutating(verb),
                      .source = "button",
                      .identity = identity,
                      .override_by = overriding ? identity : NULL};
  action_runner runner = {.start = pve_run_start, .cancel = pve_run_cancel, .ud = a};
  action *act = action_start(&call, &runner, pve_button_on_done, b);
  json_decref(input);
  json_decref(body);
  if (!act) {
    pve_button_respond(b, 500, json_pack("{s:s}", "error", "out of memory starting the verb"));
    pve_button_free(b);
  }
}

/* What pressing verb would meet now, asked of the gate without running
 * anything (policies do no I/O): {available, policy, reason, overridable,
 * first}. history is the session the press would go to (NULL: none yet). */
static json_t *pve_verb_state(app *a, const json_t *history, const char *verb,
                              const char *identity) {
  if (!a->scripts)
    return pve_verb_mutating(verb) ? json_pack("{s:b, s:s}", "available", 0, "reason",
                                               "the policies are not loaded (see /readyz)")
                                   : json_pack("{s:b}", "available", 1);
  json_t *input = json_pack("{s:s}", "verb", verb);
  gate_call gc = {.session_id = "",
                  .call_id = "dry-run",
                  .tool = "pve",
                  .source = "button",
                  .identity = identity,
                  .input = input,
                  .mutating = pve_verb_mutating(verb)};
  gate_answers none = {0};
  gate_decision d;
  gate_decide(a->scripts, &gc, &none, history, a->actions, log_now_ms(), &d);
  json_t *state = json_pack("{s:b, s:s?, s:s?, s:b}", "available", d.verdict != GATE_DENY, "policy",
                            d.said.policy, "reason", d.verdict == GATE_DENY ? d.said.reason : NULL,
                            "overridable", d.said.overridable);
  if (d.verdict == GATE_RUN_FIRST) {
    const char *first = json_string_value(json_object_get(d.said.run_input, "verb"));
    json_object_set_new(state, "first",
                        json_pack("{s:s, s:s?, s:s?}", "tool", d.said.run_tool, "verb", first,
                                  "policy", d.said.policy));
  }
  gate_decision_free(&d);
  json_decref(input);
  return state;
}

/* Today's {verbs, mutating}, plus each verb's state before the press, so
 * that the page can grey out a verb a limit holds back ("available in
 * 52 s") and still offer the override. ?session_id= names the chat. */
static void api_pve_verbs(app *a, http_conn *c, const http_request *req, const char *identity) {
  char id[SESSION_ID_LEN + 1] = "";
  const char *q = strstr(req->query, "session_id=");
  if (q && strlen(q + 11) >= SESSION_ID_LEN)
    snprintf(id, sizeof id, "%.*s", SESSION_ID_LEN, q + 11);
  session *s = id[0] ? session_find(a, id) : NULL;
  if (!s)
    for (session *it = a->sessions; it && !s; it = it->next)
      if (it->kind == SESSION_KIND_OPERATOR) s = it;
  json_t *body = pve_verbs_json();
  json_t *states = json_object();
  size_t i;
  json_t *verb;
  json_array_foreach(json_object_get(body, "verbs"), i, verb) json_object_set_new(
      states, json_string_value(verb),
      pve_verb_state(a, s ? s->history : NULL, json_string_value(verb), identity));
  json_object_set_new(body, "state", states);
  http_respond_json(c, 200, body);
}

void api_pve_route(app *a, http_conn *c, const http_request *req, const char *rest,
                   const char *identity) {
  if (strcmp(rest, "verbs") == 0 && strcmp(req->method, "GET") == 0) {
    api_pve_verbs(a, c, req, identity);
    return;
  }
  if (strcmp(req->method, "POST") != 0) {
    http_respond_error(c, 404, "no such route");
    return;
  }
  /* A verb outside the allow-list never gets near a connection. */
  if (!pve_verb_known(rest)) {
    http_respond_json(c, 400,
                      json_pack("{s:s, s:s, s:b}", "error",
                                "unknown verb; allowed: status forensics reset stop start cycle",
                                "verb", rest, "rejected", 1));
    return;
  }
  api_pve_run(a, c, req, rest, identity);
}
