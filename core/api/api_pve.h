/* The power-verb buttons: GET /api/pve/verbs and POST /api/pve/{verb},
 * with no model in the path. */
#ifndef BG_API_PVE_H
#define BG_API_PVE_H

#include "app.h"
#include "http_server.h"

/* rest is the path after "/api/pve/". */
void api_pve_route(app *a, http_conn *c, const http_request *req, const char *rest,
                   const char *identity);

#endif
