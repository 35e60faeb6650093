#include "api_metrics.h"

#include <string.h>

#include "buf.h"
#include "limits_table.h"

void api_metrics_serve(app *a, http_conn *c, const http_request *req) {
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    static const char body[] = "{\"error\":\"/metrics answers GET and HEAD\"}";
    http_respond(c, 405, "application/json", "Allow: GET, HEAD\r\n", body, sizeof body - 1);
    return;
  }
  if (!a->metrics) {
    http_respond_error(c, 503, "metrics are not available: the daemon ran out of memory at start");
    return;
  }
  buf out;
  buf_init(&out, API_METRICS_MAX_BYTES);
  if (daemon_metrics_render(a->metrics, a->scripts ? a->scripts_loaded_ms : 0, &out) != 0) {
    buf_free(&out);
    http_respond_error(c, 500, "cannot render the metrics");
    return;
  }
  http_respond(c, 200, METRICS_CONTENT_TYPE, NULL, out.data, out.len);
  buf_free(&out);
}

void api_metrics_only(void *ud, http_conn *c, const http_request *req) {
  if (req->path && strcmp(req->path, "/metrics") == 0) {
    api_metrics_serve(ud, c, req);
    return;
  }
  http_respond_error(c, 404, "this listener serves /metrics only");
}
