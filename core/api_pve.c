#include "api_pve.h"

#include <string.h>

#include "log.h"

/* Sorted, as the contract lists them. */
static const char *const pve_verbs[] = {"cycle", "forensics", "reset", "start", "status", "stop"};
static const char *const pve_mutating[] = {"cycle", "reset", "start", "stop"};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static json_t *names_json(const char *const *names, size_t n) {
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(list, json_string(names[i]));
  return list;
}

static int pve_verb_known(const char *verb) {
  for (size_t i = 0; i < COUNT_OF(pve_verbs); i++)
    if (strcmp(verb, pve_verbs[i]) == 0) return 1;
  return 0;
}

void api_pve_route(app *a, http_conn *c, const http_request *req, const char *rest,
                   const char *identity) {
  if (strcmp(rest, "verbs") == 0 && strcmp(req->method, "GET") == 0) {
    http_respond_json(c, 200, json_pack("{s:o, s:o}", "verbs", names_json(pve_verbs, COUNT_OF(pve_verbs)),
                                        "mutating", names_json(pve_mutating, COUNT_OF(pve_mutating))));
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
  if (!a->config->pve.host) {
    log_info("pve %s asked by %s: the Proxmox host is not configured", rest, identity);
    http_respond_json(c, 503, json_pack("{s:s, s:s, s:b}", "verb", rest, "error",
                                        "the Proxmox host is not configured (set BREAKGLASS_PVE_HOST)",
                                        "rejected", 0));
    return;
  }
  http_respond_json(c, 501, json_pack("{s:s, s:s}", "verb", rest, "error",
                                      "power verbs over SSH are not available in this build yet"));
}
