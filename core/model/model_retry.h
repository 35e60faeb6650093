/* What a failed Messages API attempt means, and how long to wait before the
 * next one. Pure: the caller passes in the clock and the random draw, so
 * every rule is table-tested.
 *
 * The rules follow the official SDKs: x-should-retry decides first, then
 * 408, 409, 429 and 5xx (529 included) retry; retry-after-ms, else
 * retry-after (seconds or an HTTP date), else 0.5 s * 2^n backoff capped at
 * 8 s with jitter in [0.75, 1]. Two rules are ours: 400, 401, 402, 403, 404
 * and 413 never retry whatever the headers say (the same request cannot
 * succeed), and every delay is capped by the caller's max_retry_delay_ms.
 */
#ifndef BG_MODEL_RETRY_H
#define BG_MODEL_RETRY_H

#include <time.h>

#include "limits_table.h"

/* 1 when an HTTP answer with this status may be retried. should_retry is
 * the x-should-retry header's value, or NULL. */
int model_retry_status(long http_status, const char *should_retry);

/* 1 for the error event types worth another attempt (overloaded_error,
 * api_error, timeout_error, rate_limit_error). */
int model_retry_stream_error(const char *type);

/* The delay the server asked for, in ms, from the header values (or NULL);
 * -1 when neither is present and positive. now is for HTTP dates. */
long model_retry_after_ms(const char *retry_after_ms, const char *retry_after, time_t now);

/* The delay before retry number retries_done + 1: server_ms when it is
 * >= 0, else backoff with jitter (draw in [0, 1)), at most max_delay_ms. */
long model_retry_delay_ms(long server_ms, int retries_done, double draw, long max_delay_ms);

/* The API's error.type for a status, for bodies that carry none. */
const char *model_retry_status_type(long http_status);

#endif
