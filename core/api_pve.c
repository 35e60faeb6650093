/* The power-verb buttons: one verb on the Proxmox host with no model in the
 * path, so they work when the model API does not. The answer is the
 * contract's {"verb","exit_code","stdout","stderr","rejected"}: 200 when
 * breakglass-pve exited 0, 502 otherwise. A client that leaves does not
 * stop the verb; its outcome still reaches the log. */
#include "api_pve.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pve_verbs.h"
#include "ssh_service.h"

/* The host's answer to a verb is short (forensics is the longest); what
 * passes this is cut in the middle. */
#define PVE_MAX_ANSWER_BYTES (256u * 1024)
/* breakglass-pve's exit code for a verb it refused (docs/breakglass-pve.md). */
#define PVE_EXIT_REJECTED 2

typedef struct pve_button {
  http_conn *conn; /* NULL once the client left */
  char verb[16];
  char *identity;
} pve_button;

static void pve_button_on_close(void *ud, http_conn *c) {
  (void)c;
  pve_button *b = ud;
  b->conn = NULL;
  log_info("pve %s: the client of %s left; the verb runs on", b->verb, b->identity);
}

static void pve_button_on_done(void *ud, const ssh_result *r) {
  pve_button *b = ud;
  int code = r->ok && !r->exit_signal ? r->exit_status : -1;
  log_info("pve %s asked by %s: %s%s%s, exit %d, %llu ms", b->verb, b->identity,
           r->ok ? "ran" : ssh_layer_name(r->layer), r->ok ? "" : ": ", r->message, code,
           (unsigned long long)r->duration_ms);
  if (b->conn) {
    json_t *j = ssh_result_json(r, PVE_MAX_ANSWER_BYTES);
    json_object_set_new(j, "verb", json_string(b->verb));
    json_object_set_new(j, "exit_code", code >= 0 ? json_integer(code) : json_null());
    json_object_set_new(j, "rejected", json_boolean(code == PVE_EXIT_REJECTED));
    json_object_set_new(j, "identity", json_string(b->identity));
    if (!r->ok) json_object_set_new(j, "error", json_string(r->message));
    http_conn *c = b->conn;
    http_respond_json(c, code == 0 ? 200 : 502, j);
  }
  free(b->identity);
  free(b);
}

static void api_pve_run(app *a, http_conn *c, const char *verb, const char *identity) {
  const char *why = !a->config->pve.host ? "the Proxmox host is not configured (set BREAKGLASS_PVE_HOST)"
                    : !a->ssh ? "SSH is not configured (set BREAKGLASS_KEY_PATH and BREAKGLASS_KNOWN_HOSTS)"
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
  snprintf(b->verb, sizeof b->verb, "%s", verb);
  b->conn = c;
  static const ssh_exec_cbs cbs = {.on_done = pve_button_on_done};
  uint64_t timeout_ms = (uint64_t)a->config->pve_verb_timeout_s * 1000;
  if (!ssh_exec_start(a->ssh, "pve", verb, timeout_ms, 0, &cbs, b)) {
    free(b->identity);
    free(b);
    http_respond_error(c, 500, "out of memory starting the verb");
    return;
  }
  log_info("pve %s asked by %s", verb, identity);
  http_conn_on_close(c, pve_button_on_close, b);
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
