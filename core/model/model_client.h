/* Streamed calls to the Anthropic Messages API (POST {base}/v1/messages).
 *
 * libcurl's multi interface runs on the libuv loop: no blocking call and no
 * thread. A call assembles one assistant message from the SSE stream
 * (text, tool_use from partial_json, thinking and unknown blocks kept as
 * received), retries what the API says is retryable, and reports once.
 *
 * A call logs with the log context it was started in (log.h), less any
 * call_id: a model call is not a tool call.
 */
#ifndef BG_MODEL_CLIENT_H
#define BG_MODEL_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "model_response.h"

typedef struct model_client model_client;
typedef struct model_call model_call;
struct daemon_metrics;

typedef struct model_client_options {
  const char *base_url;      /* e.g. "https://api.anthropic.com"; path gets /v1/messages */
  const char *api_key;       /* sent as x-api-key; or NULL */
  const char *auth_token;    /* sent as Authorization: Bearer; used only without api_key */
  const char *version;       /* anthropic-version */
  const char *ca_file;       /* extra trusted CA bundle, or NULL */
  long connect_timeout_ms;   /* TCP + TLS handshake */
  long idle_timeout_ms;      /* no byte (ping included) for this long: stalled */
  long request_timeout_ms;   /* one attempt, start to message_stop */
  int max_retries;           /* attempts after the first */
  long max_retry_delay_ms;   /* cap on retry-after and backoff */
  size_t max_response_bytes; /* SSE bytes of one attempt, or an error body */
  /* Every request body passes this before it leaves (the daemon's one
   * redactor: no secret a host printed reaches the model). It returns a
   * malloc'd copy, or NULL when memory ran out. NULL: sent as built. */
  char *(*redact)(void *ud, const char *text, size_t len, size_t *outlen);
  void *redact_ud;
  struct daemon_metrics *metrics; /* calls, latency, retries, tokens; or NULL */
} model_client_options;

int model_client_new(model_client **out, uv_loop_t *loop, const model_client_options *o);
/* Cancels every call in flight (their on_done runs with UV_ECANCELED), then
 * frees the client once curl's handles are closed. */
void model_client_close(model_client *m);

typedef struct model_call_cbs {
  /* A text_delta as it arrives. */
  void (*on_text)(void *ud, const char *text, size_t len);
  /* An attempt failed and another follows after delay_ms: text delivered
   * by on_text during the failed attempt is void. */
  void (*on_retry)(void *ud, int attempt, long delay_ms, const model_error *why);
  /* Exactly once. status 0: resp is set; UV_ECANCELED: cancelled; other
   * negative: err is set. Pointers live only during the callback. */
  void (*on_done)(void *ud, int status, const model_response *resp, const model_error *err);
} model_call_cbs;

/* Starts a streamed call with request (model, max_tokens, system, tools,
 * messages, ...; "stream": true is added). request is not kept. NULL only
 * when memory ran out. */
model_call *model_call_start(model_client *m, const json_t *request, const model_call_cbs *cbs,
                             void *ud);
/* Aborts at once; on_done(UV_ECANCELED) runs from the loop, never inside
 * this function. */
void model_call_cancel(model_call *call);

#endif
