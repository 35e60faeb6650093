/* The bounds of the model client, its stream and its probe. Each is a
 * macro of its own for the code; MODEL_LIMITS lists them all, X(NAME,
 * unit, what it bounds), for `breakglass --help --limits`. A name ends in
 * its unit. The settings' timeouts and retries are in core/base/config.c. */
#ifndef BG_MODEL_LIMITS_H
#define BG_MODEL_LIMITS_H

/* Real answers are far smaller (tens of thousands of tokens); this bounds
 * a hostile or broken upstream. */
#define MODEL_MAX_RESPONSE_BYTES (64u * 1024 * 1024)
/* The API's own request limit; a larger body would only earn a 413. */
#define MODEL_CLIENT_MAX_REQUEST_BYTES (32u * 1024 * 1024)
/* A whole redacted_thinking block arrives in one event. */
#define MODEL_CLIENT_MAX_EVENT_BYTES (8u * 1024 * 1024)
#define MODEL_CLIENT_MAX_HEADER_VALUE_BYTES 128
#define MODEL_CLIENT_MAX_MESSAGE_BYTES 2048
#define MODEL_CLIENT_MAX_LOG_VALUE_BYTES 128
#define MODEL_CLIENT_AFTER_STOP_MS 1000
/* long: curl_easy_setopt takes them as such. */
#define MODEL_CLIENT_KEEPIDLE_SECONDS 60L
#define MODEL_CLIENT_KEEPINTVL_SECONDS 60L
/* The caller's cap is lower. */
#define MODEL_RETRY_MAX_SERVER_DELAY_MS (24L * 3600 * 1000)
#define MODEL_RETRY_BASE_DELAY_MS 500L
#define MODEL_RETRY_MAX_BACKOFF_MS 8000L
/* An index at or past this is refused. */
#define MODEL_STREAM_MAX_BLOCKS_COUNT 256
#define MODEL_STREAM_MAX_TOOL_INPUT_BYTES (4u * 1024 * 1024)
#define MODEL_STREAM_MAX_MESSAGE_BYTES 256
/* {"input_tokens": N} is a few bytes; an error body a few hundred. */
#define MODEL_PROBE_MAX_BODY_BYTES (16u * 1024)
#define MODEL_PROBE_ERROR_TEXT_MAX_BYTES 200
#define MODEL_PROBE_ANSWER_MS 5000u
#define MODEL_PROBE_MESSAGE_MAX_BYTES 320

#define MODEL_LIMITS(X)                                                                            \
  X(MODEL_MAX_RESPONSE_BYTES, "bytes", "the SSE bytes of one model answer")                        \
  X(MODEL_CLIENT_MAX_REQUEST_BYTES, "bytes", "one request to the Messages API")                    \
  X(MODEL_CLIENT_MAX_EVENT_BYTES, "bytes", "one SSE event of an answer")                           \
  X(MODEL_CLIENT_MAX_HEADER_VALUE_BYTES, "bytes",                                                  \
    "a response header value kept (request-id, ...)")                                              \
  X(MODEL_CLIENT_MAX_MESSAGE_BYTES, "bytes", "an error message handed to the operator")            \
  X(MODEL_CLIENT_MAX_LOG_VALUE_BYTES, "bytes",                                                     \
    "an outside value (error type, request id) in a log line")                                     \
  X(MODEL_CLIENT_AFTER_STOP_MS, "ms", "the response's clean end after message_stop")               \
  X(MODEL_CLIENT_KEEPIDLE_SECONDS, "seconds", "idle time before TCP keepalive probes")             \
  X(MODEL_CLIENT_KEEPINTVL_SECONDS, "seconds", "between two TCP keepalive probes")                 \
  X(MODEL_RETRY_MAX_SERVER_DELAY_MS, "ms",                                                         \
    "a retry-after the server asks (longer counts as this)")                                       \
  X(MODEL_RETRY_BASE_DELAY_MS, "ms", "the first backoff step")                                     \
  X(MODEL_RETRY_MAX_BACKOFF_MS, "ms", "the backoff step it doubles up to")                         \
  X(MODEL_STREAM_MAX_BLOCKS_COUNT, "count", "content blocks in one message")                       \
  X(MODEL_STREAM_MAX_TOOL_INPUT_BYTES, "bytes", "the JSON text of one tool_use input")             \
  X(MODEL_STREAM_MAX_MESSAGE_BYTES, "bytes", "a diagnostic the stream makes")                      \
  X(MODEL_PROBE_MAX_BODY_BYTES, "bytes", "the reachability probe's answer")                        \
  X(MODEL_PROBE_ERROR_TEXT_MAX_BYTES, "bytes", "the API's error message as the page shows it")     \
  X(MODEL_PROBE_ANSWER_MS, "ms", "the probe's answer once connected")                              \
  X(MODEL_PROBE_MESSAGE_MAX_BYTES, "bytes", "the probe's message")

#endif
