/* The model API probed without spending tokens: one POST
 * {base}/v1/messages/count_tokens (the reference, 7.2) with the daemon's
 * own credential, model and headers, answered {"input_tokens": N}. It
 * checks what a turn needs (DNS, TCP, TLS, the credential, the model name)
 * before any prompt, so the page can say "model down" while the operator
 * still decides what to do.
 *
 * One probe at a time, on a curl multi of its own on the loop, bounded by
 * the model's connect limit plus MODEL_PROBE_ANSWER_MS. How often it runs
 * is the caller's business (api_targets.c: at most once a minute).
 */
#ifndef BG_MODEL_PROBE_H
#define BG_MODEL_PROBE_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "limits_table.h"
#include "model_client.h"

typedef struct model_probe model_probe;

/* How a probe ended. layer names where it stopped, in the words the page
 * knows: "none" (answered), "dns", "connect_refused", "connect_timeout",
 * "tls", "timeout" (connected, no answer in time), "connection_lost",
 * "auth_refused" (401/403), "not_found" (404: a wrong base URL or model),
 * "rate_limited" (429), "overloaded" (503/529), "api_error" (other 5xx),
 * "http" (any other status), "protocol" (200 that is not the answer). */
typedef struct model_probe_result {
  int ok;
  const char *layer;
  int http_status;      /* 0 when no HTTP answer came */
  char error_type[64];  /* the API's error.type, "" when none */
  char request_id[128]; /* "" when none */
  char message[MODEL_PROBE_MESSAGE_MAX_BYTES];
  uint64_t duration_ms;
} model_probe_result;

typedef void (*model_probe_cb)(void *ud, const model_probe_result *r);

/* o: the model client's options (base URL, credential, version, CA file,
 * connect limit); model: the model id the turns use. 0, UV_EINVAL for a
 * URL or header the client would refuse too, or UV_ENOMEM. */
int model_probe_new(model_probe **out, uv_loop_t *loop, const model_client_options *o,
                    const char *model);
/* 0: on_done runs once, from the loop, never inside this call.
 * UV_EBUSY while a probe runs; UV_ENOMEM. */
int model_probe_start(model_probe *p, model_probe_cb on_done, void *ud);
int model_probe_running(const model_probe *p);
/* Stops a running probe (its on_done never runs) and frees p once curl's
 * handles are closed. */
void model_probe_close(model_probe *p);

/* Pure: the result of a transfer that ended with res, HTTP status (0 for
 * none), the response body, and whether TCP and TLS had completed. */
void model_probe_classify(CURLcode res, const char *curl_error, long http_status, const char *body,
                          size_t body_len, int connected, int tls_done, model_probe_result *out);

#endif
