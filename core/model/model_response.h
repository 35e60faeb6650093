/* What a model call gives back: the assistant message with its usage, or
 * the error. Apart from model_client.h because the stream parser that
 * builds the message (model_stream.c) fills it too, and sits below the
 * client.
 */
#ifndef BG_MODEL_RESPONSE_H
#define BG_MODEL_RESPONSE_H

#include <jansson.h>

typedef struct model_usage {
  long long input_tokens;
  long long output_tokens;
  long long cache_creation_input_tokens;
  long long cache_read_input_tokens;
} model_usage;

typedef struct model_error {
  int http_status;        /* 0 when there was no HTTP answer */
  const char *type;       /* the API's error.type, or one of ours:
                             "connection_error", "idle_timeout",
                             "request_timeout", "stream_error",
                             "response_too_large", "protocol_error" */
  const char *message;    /* for the operator; never holds a credential */
  const char *request_id; /* request-id header or body field, or NULL */
  int retryable;
  long retry_after_ms; /* from retry-after(-ms), or -1 */
} model_error;

typedef struct model_response {
  json_t *message;         /* {"role":"assistant","content":[...]} as received,
                             borrowed: json_incref to keep it */
  const char *stop_reason; /* "end_turn", "tool_use", "max_tokens", ... */
  json_t *stop_details;    /* borrowed, may be NULL */
  const char *message_id;
  const char *request_id;
  model_usage usage;       /* final, cumulative for this call */
  int incomplete_tool_use; /* a tool_use block whose input did not parse or
                             never stopped (max_tokens): do not run it */
} model_response;

#endif
