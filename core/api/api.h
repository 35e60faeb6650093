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

/* The http_head_check_fn, before a body is read: credentials (on any path)
 * make the connection trusted; an /api request without them is answered
 * 401 at once, so its body is never read and a slow one holds no slot.
 * api_handle checks the complete request again. */
http_head_verdict api_head_check(void *ud, http_conn *c, const http_request *head);
/* The head check of a request without credentials (api_head_check's for
 * the page, /health and /readyz; the scraper's listener's for all): one
 * that announces a body is answered 413 at once, its body never read. */
http_head_verdict api_head_check_anonymous(void *ud, http_conn *c, const http_request *head);

#endif
