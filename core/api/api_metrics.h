/* GET /metrics: the daemon's metrics in the Prometheus text format. On the
 * main port it is behind the same credentials as /api (api.c); on
 * BREAKGLASS_METRICS_LISTEN a listener of its own serves it alone, without
 * credentials, for the scraper that the NetworkPolicy lets in. */
#ifndef BG_API_METRICS_H
#define BG_API_METRICS_H

#include "app.h"
#include "http_server.h"

/* Answers a GET or HEAD with the metrics (405 for another method). */
void api_metrics_serve(app *a, http_conn *c, const http_request *req);

/* The metrics listener's http_handler_fn (ud is the app): /metrics, and
 * 404 for everything else. */
void api_metrics_only(void *ud, http_conn *c, const http_request *req);

#endif
