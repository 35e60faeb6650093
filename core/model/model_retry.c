#include "model_retry.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "limits_table.h"

static const struct {
  long status;
  const char *type;
} status_types[] = {
    {400, "invalid_request_error"}, {401, "authentication_error"},
    {402, "billing_error"},         {403, "permission_error"},
    {404, "not_found_error"},       {408, "timeout_error"},
    {409, "conflict_error"},        {413, "request_too_large"},
    {429, "rate_limit_error"},      {500, "api_error"},
    {504, "timeout_error"},         {529, "overloaded_error"},
};

const char *model_retry_status_type(long http_status) {
  for (size_t i = 0; i < sizeof status_types / sizeof status_types[0]; i++)
    if (status_types[i].status == http_status) return status_types[i].type;
  /* The docs file unlisted 4xx under invalid_request_error. */
  return http_status >= 500 ? "api_error" : "invalid_request_error";
}

/* Copies s without surrounding blanks into out; 0, or -1 when too long. */
static int retry_trim(const char *s, char *out, size_t out_size) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    n--;
  if (n >= out_size) return -1;
  memcpy(out, s, n);
  out[n] = '\0';
  return 0;
}

int model_retry_status(long http_status, const char *should_retry) {
  static const long never[] = {400, 401, 402, 403, 404, 413};
  for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
    if (http_status == never[i]) return 0;
  char v[8];
  if (should_retry && retry_trim(should_retry, v, sizeof v) == 0) {
    if (strcasecmp(v, "true") == 0) return 1;
    if (strcasecmp(v, "false") == 0) return 0;
  }
  return http_status == 408 || http_status == 409 || http_status == 429 || http_status >= 500;
}

int model_retry_stream_error(const char *type) {
  static const char *const retryable[] = {"overloaded_error", "api_error", "timeout_error",
                                          "rate_limit_error"};
  for (size_t i = 0; type && i < sizeof retryable / sizeof retryable[0]; i++)
    if (strcmp(type, retryable[i]) == 0) return 1;
  return 0;
}

/* A positive number of units as ms, or -1; the whole value must be numeric. */
static long retry_parse_number(const char *s, double ms_per_unit) {
  char v[64];
  if (retry_trim(s, v, sizeof v) != 0 || v[0] == '\0') return -1;
  char *end;
  double x = strtod(v, &end);
  if (*end != '\0' || !(x > 0)) return -1; /* !(x > 0) also refuses NaN */
  double ms = x * ms_per_unit;
  return ms >= (double)MODEL_RETRY_MAX_SERVER_DELAY_MS ? MODEL_RETRY_MAX_SERVER_DELAY_MS
                                                       : (long)(ms + 0.5);
}

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") as ms from now, or -1. */
static long retry_parse_date(const char *s, time_t now) {
  char v[64];
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (retry_trim(s, v, sizeof v) != 0) return -1;
  const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return -1;
  time_t at = timegm(&tm);
  if (at == (time_t)-1 || at <= now) return -1;
  double ms = difftime(at, now) * 1000.0;
  return ms >= (double)MODEL_RETRY_MAX_SERVER_DELAY_MS ? MODEL_RETRY_MAX_SERVER_DELAY_MS : (long)ms;
}

long model_retry_after_ms(const char *retry_after_ms, const char *retry_after, time_t now) {
  long ms = retry_after_ms ? retry_parse_number(retry_after_ms, 1.0) : -1;
  if (ms < 0 && retry_after) {
    ms = retry_parse_number(retry_after, 1000.0);
    if (ms < 0) ms = retry_parse_date(retry_after, now);
  }
  return ms;
}

long model_retry_delay_ms(long server_ms, int retries_done, double draw, long max_delay_ms) {
  long delay = server_ms;
  if (delay < 0) {
    long step = MODEL_RETRY_BASE_DELAY_MS;
    for (int i = 0; i < retries_done && step < MODEL_RETRY_MAX_BACKOFF_MS; i++) step *= 2;
    if (step > MODEL_RETRY_MAX_BACKOFF_MS) step = MODEL_RETRY_MAX_BACKOFF_MS;
    if (draw < 0) draw = 0;
    if (draw > 1) draw = 1;
    delay = (long)((double)step * (1.0 - 0.25 * draw));
  }
  if (delay > max_delay_ms) delay = max_delay_ms;
  return delay < 0 ? 0 : delay;
}
