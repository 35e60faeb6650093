/* The HTTP routes: the contract today's web client speaks, plus the
 * session list, readiness and /metrics. Everything under /api, and
 * /metrics, is authenticated; /api is refused to other sites; everything
 * else is the page's static files. */
#ifndef BG_API_H
#define BG_API_H

#include "app.h"
#include "http_server.h"

/* The http_handler_fn; ud is the app. */
void api_handle(void *ud, http_conn *c, const http_request *req);

#endif
