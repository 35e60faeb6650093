/* The power-verb buttons: one verb on the Proxmox host with no model in the
 * path, so they work when the model API does not. Like a tool call, a verb
 * passes the policies (a refusal is 403 with the policy and its reason)
 * and, when it is mutating, its intent is flushed to the journal first.
 * The answer is the contract's {"verb","exit_code","stdout","stderr",
 * "rejected"}: 200 when breakglass-pve exited 0, 502 otherwise. A client
 * that leaves does not stop the verb; its outcome still reaches the log. */
#include "api_pve.h"

#include <stdlib.h>
#include <string.h>

#include "journal_store.h"
#include "log.h"
#include "policy_gate.h"
#include "pve_verbs.h"
#include "ssh_service.h"

/* The host's answer to a verb is short (forensics is the longest); what
 * passes this is cut in the middle. */
#define PVE_MAX_ANSWER_BYTES (256u * 1024)
/* breakglass-pve's exit code for a verb it refused (docs/breakglass-pve.md). */
#define PVE_EXIT_REJECTED 2

typedef struct pve_button {
  app *a;
  http_conn *conn; /* NULL once the client left */
  char verb[16];
  char *identity;
  int mutating;
  json_t *record; /* the call in the buttons' history, once allowed */
  char *note;     /* what the policies ran first */
} pve_button;

static void pve_button_free(pve_button *b) {
  json_decref(b->record);
  free(b->note);
  free(b->identity);
  free(b);
}

static void pve_button_respond(pve_button *b, int status, json_t *body) {
  if (b->note) json_object_set_new(body, "note", json_string(b->note));
  if (b->conn) {
    http_conn *c = b->conn;
    b->conn = NULL;
    http_respond_json(c, status, body);
  } else {
    json_decref(body);
  }
}

static void pve_button_on_close(void *ud, http_conn *c) {
  (void)c;
  pve_button *b = ud;
  b->conn = NULL;
  log_info("pve %s: the client of %s left; the verb goes on", b->verb, b->identity);
}

static void pve_button_on_done(void *ud, const ssh_result *r) {
  pve_button *b = ud;
  int code = r->ok && !r->exit_signal ? r->exit_status : -1;
  log_info("pve %s asked by %s: %s%s%s, exit %d, %llu ms", b->verb, b->identity,
           r->ok ? "ran" : ssh_layer_name(r->layer), r->ok ? "" : ": ", r->message, code,
           (unsigned long long)r->duration_ms);
  journal_button_record("button_result",
                        json_pack("{s:s, s:s, s:i, s:s, s:I}", "verb", b->verb, "identity",
                                  b->identity, "exit_code", code, "layer", ssh_layer_name(r->layer),
                                  "duration_ms", (json_int_t)r->duration_ms));
  json_t *j = ssh_result_json(r, PVE_MAX_ANSWER_BYTES);
  if (b->record) {
    const char *out = json_string_value(json_object_get(j, "stdout"));
    policy_gate_record_finish(b->a, b->a->scripts, b->record, code != 0, out, strlen(out));
  }
  json_object_set_new(j, "verb", json_string(b->verb));
  json_object_set_new(j, "exit_code", code >= 0 ? json_integer(code) : json_null());
  json_object_set_new(j, "rejected", json_boolean(code == PVE_EXIT_REJECTED));
  json_object_set_new(j, "identity", json_string(b->identity));
  if (!r->ok) json_object_set_new(j, "error", json_string(r->message));
  pve_button_respond(b, code == 0 ? 200 : 502, j);
  pve_button_free(b);
}

static void pve_button_run(pve_button *b) {
  static const ssh_exec_cbs cbs = {.on_done = pve_button_on_done};
  uint64_t timeout_ms = (uint64_t)b->a->config->pve_verb_timeout_s * 1000;
  unsigned flags = b->mutating ? SSH_EXEC_FINISH_ON_DRAIN : 0;
  if (!ssh_exec_start(b->a->ssh, "pve", b->verb, timeout_ms, flags, &cbs, b)) {
    int down = b->a->shutting_down;
    pve_button_respond(b, down ? 503 : 500,
                       json_pack("{s:s}", "error", down ? "not run: the daemon is shutting down"
                                                        : "out of memory starting the verb"));
    pve_button_free(b);
  }
}

static void pve_button_refuse(pve_button *b, int status, const char *policy, const char *why) {
  log_info("pve %s asked by %s: refused: %s", b->verb, b->identity, why);
  pve_button_respond(b, status, json_pack("{s:s, s:s, s:s?, s:b}", "verb", b->verb, "error", why,
                                          "policy", policy, "rejected", 0));
  if (b->record) policy_gate_record_finish(b->a, b->a->scripts, b->record, 1, why, strlen(why));
  pve_button_free(b);
}

static void pve_button_on_intent(void *ud, int status) {
  pve_button *b = ud;
  if (status != 0) {
    char why[256];
    snprintf(why, sizeof why, "not run: its intent could not be flushed to the journal: %s",
             uv_strerror(status));
    if (b->record) policy_gate_record_not_run(b->a, b->record);
    pve_button_refuse(b, 503, NULL, why);
    return;
  }
  pve_button_run(b);
}

/* No journal, no mutation (DESIGN.md invariant 2). */
static void pve_button_write_intent(pve_button *b) {
  char err[512];
  json_t *fields = json_pack("{s:s, s:s, s:s}", "verb", b->verb, "identity", b->identity, "source",
                             "button");
  if (journal_button_intent(fields, pve_button_on_intent, b, NULL, err, sizeof err) != 0) {
    char why[768];
    snprintf(why, sizeof why, "not run: its intent could not be written to the journal: %s", err);
    if (b->record) policy_gate_record_not_run(b->a, b->record);
    pve_button_refuse(b, 503, NULL, why);
  }
}

static void pve_button_on_gate(void *ud, const policy_gate_result *r) {
  pve_button *b = ud;
  b->note = r->note ? strdup(r->note) : NULL;
  if (!r->allowed) {
    pve_button_refuse(b, 403, r->policy, r->reason);
    return;
  }
  b->record = json_incref(r->record);
  if (b->mutating)
    pve_button_write_intent(b);
  else
    pve_button_run(b);
}

static void api_pve_run(app *a, http_conn *c, const char *verb, const char *identity) {
  int mutating = pve_verb_mutating(verb);
  const char *why = !a->config->pve.host ? "the Proxmox host is not configured (set BREAKGLASS_PVE_HOST)"
                    : !a->ssh ? "SSH is not configured (set BREAKGLASS_KEY_PATH and BREAKGLASS_KNOWN_HOSTS)"
                    : !a->scripts && mutating
                        ? "the policies are not loaded (see /readyz), so mutating verbs are refused"
                        : NULL;
  if (why) {
    log_info("pve %s asked by %s: %s", verb, identity, why);
    http_respond_json(c, 503, json_pack("{s:s, s:s, s:b}", "verb", verb, "error", why, "rejected", 0));
    return;
  }
  pve_button *b = calloc(1, sizeof *b);
  if (b) b->identity = strdup(identity);
  if (!b || !b->identity) {
    free(b);
    http_respond_error(c, 500, "out of memory");
    return;
  }
  b->a = a;
  b->conn = c;
  b->mutating = mutating;
  snprintf(b->verb, sizeof b->verb, "%s", verb);
  log_info("pve %s asked by %s", verb, identity);
  http_conn_on_close(c, pve_button_on_close, b);
  if (!a->scripts) {
    pve_button_run(b);
    return;
  }
  static unsigned long long button_calls;
  char call_id[32];
  snprintf(call_id, sizeof call_id, "button-%llu", ++button_calls);
  json_t *input = json_pack("{s:s}", "verb", verb);
  policy_gate_call call = {.scripts = a->scripts, .call_id = call_id, .tool = "pve", .input = input,
                           .mutating = mutating, .source = "button", .identity = identity};
  policy_gate *g = policy_gate_start(a, &call, pve_button_on_gate, b);
  json_decref(input);
  if (!g) pve_button_refuse(b, 500, NULL, "out of memory asking the policies");
}

void api_pve_route(app *a, http_conn *c, const http_request *req, const char *rest,
                   const char *identity) {
  if (strcmp(rest, "verbs") == 0 && strcmp(req->method, "GET") == 0) {
    http_respond_json(c, 200, pve_verbs_json());
    return;
  }
  if (strcmp(req->method, "POST") != 0) {
    http_respond_error(c, 404, "no such route");
    return;
  }
  /* A verb outside the allow-list never gets near a connection. */
  if (!pve_verb_known(rest)) {
    http_respond_json(c, 400, json_pack("{s:s, s:s, s:b}", "error",
                                        "unknown verb; allowed: status forensics reset stop start cycle",
                                        "verb", rest, "rejected", 1));
    return;
  }
  api_pve_run(a, c, rest, identity);
}
