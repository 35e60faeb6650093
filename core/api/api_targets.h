/* GET /api/targets: can the service reach what an incident needs? The
 * model API, the devvm and the Proxmox host, each with the layer where it
 * fails (refused, timed out, no banner, auth, ...) and how long each phase
 * took. Probes run with short limits on connections of their own and are
 * cached briefly; requests that arrive while a probe runs share it. */
#ifndef BG_API_TARGETS_H
#define BG_API_TARGETS_H

#include "app.h"
#include "http_server.h"

/* The probes' cache and the requests waiting on them; the daemon owns one
 * (app->targets). NULL when out of memory. */
typedef struct api_targets api_targets;
api_targets *api_targets_new(void);
void api_targets_free(api_targets *t);

/* Answers once every probe it needs has ended (bounded by the SSH connect
 * limit plus a few seconds). ?refresh=1 skips the cache. */
void api_targets_get(app *a, http_conn *c, const http_request *req);

#endif
