/* The Messages API client: transfers on the loop through model_curl, one
 * SSE parser and one message assembler per attempt, and the retry loop
 * around attempts.
 *
 * No callback of the caller runs inside a call into this module: the first
 * attempt and a cancelled call's on_done both start from a loop timer. The
 * one callback that runs inside libcurl is on_text (from curl's write
 * callback); while it runs (m->in_curl) no easy handle is removed, so a
 * cancel there makes the write callback abort the transfer and the loop
 * cleans up after it.
 *
 * Trust: ca_file goes to CURLOPT_CAINFO, which replaces libcurl's default
 * CA bundle *file*, while libcurl's default CA *directory* (CApath,
 * /etc/ssl/certs on Debian, hashed by update-ca-certificates) stays in use.
 * So the public CAs keep working and ca_file adds to them, with no bundle
 * to build at start. Where the image has no hashed directory, ca_file has
 * to hold every CA needed.
 */
#include "model_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dlist.h"
#include "limits_table.h"
#include "log.h"
#include "metrics_daemon.h"
#include "model_curl.h"
#include "model_request.h"
#include "model_retry.h"
#include "model_stream.h"
#include "sse_parser.h"
#include "utf8_text.h"

struct model_client {
  uv_loop_t *loop;
  model_curl *curl;
  struct curl_slist *headers;
  char *url;
  char *ca_file;
  model_client_options o; /* numbers only; strings are copied above */
  model_call *calls;      /* every call whose memory is not yet freed */
  int in_curl;            /* inside curl's write callback */
  int closing;
  int curl_closing;
  unsigned long long rng;
};

enum { CALL_WAITING, CALL_RUNNING, CALL_FAILING, CALL_CANCELLED, CALL_FINISHED };
enum { BODY_UNKNOWN, BODY_SSE, BODY_OTHER };

struct model_call {
  model_client *m;
  model_call *next, *prev;
  model_call_cbs cbs;
  void *ud;
  char *body;
  size_t body_len;
  int state;
  int retries; /* retries made so far */
  uint64_t started_ns;
  log_context log; /* the context it was started in, for its log lines */
  int open_timers; /* closing frees the call when this reaches 0 */
  uv_timer_t wait; /* before an attempt, or before a deferred on_done */
  uv_timer_t idle; /* no byte for idle_timeout_ms */
  uv_timer_t deadline;
  /* The current attempt. */
  CURL *easy;
  int body_kind;
  int stream_done; /* message_stop seen */
  size_t received;
  sse_parser sse;
  model_stream stream;
  buf error_body;
  long http_status;
  char content_type[MODEL_CLIENT_MAX_HEADER_VALUE_BYTES];
  char request_id[MODEL_CLIENT_MAX_HEADER_VALUE_BYTES];
  char retry_after[MODEL_CLIENT_MAX_HEADER_VALUE_BYTES];
  char retry_after_ms[MODEL_CLIENT_MAX_HEADER_VALUE_BYTES];
  char should_retry[MODEL_CLIENT_MAX_HEADER_VALUE_BYTES];
  char curl_error[CURL_ERROR_SIZE];
  int stream_rc; /* the assembler's last answer */
  int aborted;   /* we ended the attempt and call->err says why */
  /* The error being reported (on_retry or on_done); kept until the next
   * attempt starts so its strings outlive the callback. */
  model_error err;
  char *err_type;
  char *err_message;
};

/* ---- small helpers ---- */

/* Copies an outside value for the log: printable ASCII only, bounded. */
static const char *log_safe(char *out, size_t size, const char *s) {
  size_t i = 0;
  for (; s && s[i] && i + 1 < size; i++) out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
  out[i] = '\0';
  return i ? out : "-";
}

static unsigned long long client_random(model_client *m) {
  /* xorshift64: jitter only needs to differ between clients and retries. */
  m->rng ^= m->rng << 13;
  m->rng ^= m->rng >> 7;
  m->rng ^= m->rng << 17;
  return m->rng;
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void utf8_truncate(char *s, size_t max) { s[utf8_text_cut(s, strlen(s), max)] = '\0'; }

static void call_set_error(model_call *call, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void call_set_error(model_call *call, const char *type, const char *fmt, ...) {
  free(call->err_type);
  free(call->err_message);
  call->err_type = strdup(type);
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&call->err_message, fmt, ap) < 0) call->err_message = NULL;
  va_end(ap);
  if (call->err_message) utf8_truncate(call->err_message, MODEL_CLIENT_MAX_MESSAGE_BYTES);
  memset(&call->err, 0, sizeof call->err);
  call->err.type = call->err_type ? call->err_type : "connection_error";
  call->err.message = call->err_message;
  call->err.http_status = (int)call->http_status;
  call->err.request_id = call->request_id[0] ? call->request_id : NULL;
  call->err.retry_after_ms = -1;
}

/* Ends the attempt for a reason of ours; the transfer stops at the next
 * callback or is removed by the caller. */
static void call_abort(model_call *call, const char *type, int retryable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void call_abort(model_call *call, const char *type, int retryable, const char *fmt, ...) {
  char msg[MODEL_CLIENT_MAX_MESSAGE_BYTES + 1];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  call_set_error(call, type, "%s", msg);
  call->err.retryable = retryable;
  call->aborted = 1;
}

/* The call ends: counted by outcome ("ok", "cancelled" or the error's
 * type) with its duration, before its owner hears of it. */
static void call_count_end(model_call *call, const char *outcome, const model_usage *usage) {
  daemon_metrics *dm = call->m->o.metrics;
  if (!dm) return;
  metric_inc(metric_at(dm->model_calls, outcome));
  if (strcmp(outcome, "cancelled") != 0)
    metric_observe(metric_series_of(dm->model_call_seconds, NULL),
                   (double)(uv_hrtime() - call->started_ns) / 1e9);
  if (!usage) return;
  metric_add(metric_at(dm->model_tokens, "input"), (double)usage->input_tokens);
  metric_add(metric_at(dm->model_tokens, "output"), (double)usage->output_tokens);
  metric_add(metric_at(dm->model_tokens, "cache_read"), (double)usage->cache_read_input_tokens);
  metric_add(metric_at(dm->model_tokens, "cache_creation"),
             (double)usage->cache_creation_input_tokens);
}

/* ---- the attempt ---- */

static void call_on_idle(uv_timer_t *t);

/* Any byte from the server is activity, a comment or ping included. */
static void call_touch(model_call *call) {
  if (!call->stream_done)
    uv_timer_start(&call->idle, call_on_idle, (uint64_t)call->m->o.idle_timeout_ms, 0);
}

static void call_on_text(void *ud, const char *text, size_t len) {
  model_call *call = ud;
  if (call->state == CALL_RUNNING && call->cbs.on_text) call->cbs.on_text(call->ud, text, len);
}

static int call_on_event(void *ud, const char *event, size_t event_len, const char *data,
                         size_t data_len) {
  model_call *call = ud;
  call->stream_rc = model_stream_event(&call->stream, event, event_len, data, data_len);
  /* Any positive value stops the parser; stream_rc keeps the reason. */
  return call->stream_rc == MODEL_STREAM_MORE && call->state == CALL_RUNNING ? 0 : 1;
}

static void call_pick_body_kind(model_call *call) {
  curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->http_status);
  const char *ct = NULL;
  curl_easy_getinfo(call->easy, CURLINFO_CONTENT_TYPE, &ct);
  snprintf(call->content_type, sizeof call->content_type, "%s", ct ? ct : "");
  int ok = call->http_status >= 200 && call->http_status < 300;
  call->body_kind = ok && strncasecmp(call->content_type, "text/event-stream", 17) == 0
                        ? BODY_SSE
                        : BODY_OTHER;
}

static size_t call_on_body_locked(model_call *call, const char *p, size_t n) {
  size_t max = call->m->o.max_response_bytes;
  if (n > max - call->received) {
    call_abort(call, "response_too_large", 0, "the response passed %zu bytes", max);
    return 0;
  }
  call->received += n;
  call_touch(call);
  if (call->body_kind == BODY_UNKNOWN) call_pick_body_kind(call);
  if (call->body_kind == BODY_OTHER) return buf_append(&call->error_body, p, n) == 0 ? n : 0;
  if (call->stream_done) return n;
  int rc = sse_parser_feed(&call->sse, p, n);
  if (call->state != CALL_RUNNING) return 0; /* cancelled from on_text */
  if (rc == SSE_ERR_TOO_LARGE || rc == SSE_ERR_NOMEM) {
    call_abort(call, "response_too_large", 0, "one stream event passed %zu bytes",
               call->sse.max_event_bytes);
    return 0;
  }
  if (rc == 0) return n;
  if (call->stream_rc == MODEL_STREAM_DONE) {
    /* message_stop: let the response end by itself, briefly, so the
     * connection can be reused. */
    call->stream_done = 1;
    uv_timer_start(&call->idle, call_on_idle, MODEL_CLIENT_AFTER_STOP_MS, 0);
    return n;
  }
  const model_stream *st = &call->stream;
  call_abort(call, st->error_type,
             st->error_code == MODEL_STREAM_EAPI && model_retry_stream_error(st->error_type), "%s",
             st->error_message ? st->error_message : "the stream failed");
  return 0;
}

static size_t call_on_body(char *p, size_t size, size_t nmemb, void *ud) {
  model_call *call = ud;
  if (call->state != CALL_RUNNING || call->aborted) return 0;
  call->m->in_curl++;
  size_t taken = call_on_body_locked(call, p, size * nmemb);
  call->m->in_curl--;
  return taken;
}

/* Copies a header's value when its name is wanted; the first block of a
 * new response ("HTTP/...") forgets the previous one's. */
static size_t call_on_header(char *p, size_t size, size_t nmemb, void *ud) {
  model_call *call = ud;
  size_t n = size * nmemb;
  if (call->state != CALL_RUNNING) return 0;
  call_touch(call);
  if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    call->request_id[0] = call->retry_after[0] = call->retry_after_ms[0] = call->should_retry[0] =
        '\0';
    return n;
  }
  static const struct {
    const char *name;
    size_t offset;
  } wanted[] = {
      {"request-id", offsetof(model_call, request_id)},
      {"retry-after", offsetof(model_call, retry_after)},
      {"retry-after-ms", offsetof(model_call, retry_after_ms)},
      {"x-should-retry", offsetof(model_call, should_retry)},
  };
  const char *colon = memchr(p, ':', n);
  if (!colon) return n;
  size_t name_len = (size_t)(colon - p);
  for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
    if (strlen(wanted[i].name) != name_len || strncasecmp(p, wanted[i].name, name_len) != 0)
      continue;
    const char *v = colon + 1, *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
      end--;
    size_t len = (size_t)(end - v);
    if (len >= MODEL_CLIENT_MAX_HEADER_VALUE_BYTES) len = MODEL_CLIENT_MAX_HEADER_VALUE_BYTES - 1;
    char *dst = (char *)call + wanted[i].offset;
    memcpy(dst, v, len);
    dst[len] = '\0';
  }
  return n;
}

/* Ends the transfer and drops the attempt's parsing state; the error being
 * reported and the captured headers stay. Never inside a curl callback. */
static void call_end_attempt(model_call *call) {
  uv_timer_stop(&call->idle);
  uv_timer_stop(&call->deadline);
  if (call->easy) {
    model_curl_remove(call->m->curl, call->easy);
    curl_easy_cleanup(call->easy);
    call->easy = NULL;
    sse_parser_free(&call->sse);
    model_stream_free(&call->stream);
    buf_free(&call->error_body);
  }
}

static void call_on_deadline(uv_timer_t *t);

static int call_setup_easy(model_call *call) {
  model_client *m = call->m;
  CURL *e = call->easy;
  model_curl_post post = {
      .url = m->url,
      .body = call->body,
      .body_len = call->body_len,
      .headers = m->headers,
      .on_body = call_on_body,
      .ud = call,
      .error = call->curl_error,
      .connect_timeout_ms = m->o.connect_timeout_ms,
      .ca_file = m->ca_file,
  };
  int rc = model_curl_setup_post(e, &post);
#define SET(opt, val) rc |= (int)curl_easy_setopt(e, opt, val)
  SET(CURLOPT_HEADERFUNCTION, call_on_header);
  SET(CURLOPT_HEADERDATA, call);
  SET(CURLOPT_PRIVATE, call);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_TCP_KEEPIDLE, MODEL_CLIENT_KEEPIDLE_SECONDS);
  SET(CURLOPT_TCP_KEEPINTVL, MODEL_CLIENT_KEEPINTVL_SECONDS);
  SET(CURLOPT_ACCEPT_ENCODING, "");
#undef SET
  return rc;
}

static int call_begin_attempt(model_call *call) {
  model_client *m = call->m;
  size_t event_cap = m->o.max_response_bytes < MODEL_CLIENT_MAX_EVENT_BYTES
                         ? m->o.max_response_bytes
                         : MODEL_CLIENT_MAX_EVENT_BYTES;
  call->body_kind = BODY_UNKNOWN;
  call->stream_done = 0;
  call->received = 0;
  call->http_status = 0;
  call->stream_rc = MODEL_STREAM_MORE;
  call->aborted = 0;
  call->content_type[0] = call->request_id[0] = call->retry_after[0] = '\0';
  call->retry_after_ms[0] = call->should_retry[0] = call->curl_error[0] = '\0';
  if (!(call->easy = curl_easy_init())) return -1;
  sse_parser_init(&call->sse, event_cap, call_on_event, call);
  model_stream_init(&call->stream, m->o.max_response_bytes, call_on_text, call);
  buf_init(&call->error_body, m->o.max_response_bytes);
  if (call_setup_easy(call) != 0 || model_curl_add(m->curl, call->easy) != 0) {
    curl_easy_cleanup(call->easy);
    call->easy = NULL;
    sse_parser_free(&call->sse);
    model_stream_free(&call->stream);
    buf_free(&call->error_body);
    return -1;
  }
  call->state = CALL_RUNNING;
  /* The first byte may take a connect (TCP and TLS) plus one idle period. */
  uv_timer_start(&call->idle, call_on_idle,
                 (uint64_t)(m->o.connect_timeout_ms + m->o.idle_timeout_ms), 0);
  uv_timer_start(&call->deadline, call_on_deadline, (uint64_t)m->o.request_timeout_ms, 0);
  return 0;
}

/* ---- the end of an attempt: success, retry or failure ---- */

static void call_on_timer_closed(uv_handle_t *h);

static void call_release(model_call *call) {
  call->state = CALL_FINISHED;
  call_end_attempt(call);
  uv_close((uv_handle_t *)&call->wait, call_on_timer_closed);
  uv_close((uv_handle_t *)&call->idle, call_on_timer_closed);
  uv_close((uv_handle_t *)&call->deadline, call_on_timer_closed);
}

static void call_succeed(model_call *call) {
  model_response resp;
  if (model_stream_result(&call->stream, &resp) != 0) {
    call_set_error(call, "protocol_error", "out of memory assembling the message");
    call_count_end(call, call->err.type, NULL);
    call_release(call);
    call->cbs.on_done(call->ud, UV_ENOMEM, NULL, &call->err);
    return;
  }
  resp.request_id = call->request_id[0] ? call->request_id : NULL;
  call_count_end(call, "ok", &resp.usage);
  /* The response lives in the stream: report first, then let go. */
  call->state = CALL_FINISHED;
  call->cbs.on_done(call->ud, 0, &resp, NULL);
  call_release(call);
}

/* The API's error body: {type, error: {type, message}, request_id}. */
static void call_read_error_body(model_call *call) {
  json_error_t jerr;
  json_t *root = json_loadb(buf_cstr(&call->error_body), call->error_body.len, 0, &jerr);
  json_t *e = json_object_get(root, "error");
  const char *type = json_string_value(json_object_get(e, "type"));
  const char *message = json_string_value(json_object_get(e, "message"));
  const char *rid = json_string_value(json_object_get(root, "request_id"));
  if (!call->request_id[0] && rid) snprintf(call->request_id, sizeof call->request_id, "%s", rid);
  if (!type) type = model_retry_status_type(call->http_status);
  if (message)
    call_set_error(call, type, "%s", message);
  else
    call_set_error(call, type, "HTTP %ld from the Messages API without an API error body",
                   call->http_status);
  json_decref(root);
  call->err.retryable = model_retry_status(call->http_status,
                                           call->should_retry[0] ? call->should_retry : NULL);
  call->err.retry_after_ms = model_retry_after_ms(
      call->retry_after_ms[0] ? call->retry_after_ms : NULL,
      call->retry_after[0] ? call->retry_after : NULL, time(NULL));
}

/* Connection failures are retried, except those only a change of setup
 * (certificates, CA file, URL) can cure. */
static int call_curl_transient(CURLcode res) {
  switch (res) {
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
    return 0;
  default:
    return 1;
  }
}

/* Fills call->err for an attempt that did not end in message_stop. */
static void call_classify(model_call *call, CURLcode res) {
  if (call->http_status == 0 && call->easy)
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->http_status);
  /* An HTTP error says more than how reading its body ended. */
  if (call->http_status != 0 && (call->http_status < 200 || call->http_status >= 300))
    call_read_error_body(call);
  else if (call->aborted)
    ; /* call->err already says why */
  else if (res != CURLE_OK && call->body_kind == BODY_SSE)
    call_abort(call, "stream_error", 1, "the stream broke before message_stop: %s",
               call->curl_error[0] ? call->curl_error : curl_easy_strerror(res));
  else if (res != CURLE_OK)
    call_abort(call, "connection_error", call_curl_transient(res), "%s",
               call->curl_error[0] ? call->curl_error : curl_easy_strerror(res));
  else if (call->body_kind == BODY_OTHER)
    call_abort(call, "protocol_error", 0, "expected an event stream, got content-type \"%s\"",
               call->content_type);
  else
    call_abort(call, "stream_error", 1, "the stream ended before message_stop");
  /* Both may have arrived after the error was first recorded. */
  call->err.http_status = (int)call->http_status;
  call->err.request_id = call->request_id[0] ? call->request_id : NULL;
}

static int call_error_status(const char *type) {
  if (strcmp(type, "idle_timeout") == 0 || strcmp(type, "request_timeout") == 0)
    return UV_ETIMEDOUT;
  if (strcmp(type, "response_too_large") == 0 || strcmp(type, "request_too_large") == 0)
    return UV_E2BIG;
  if (strcmp(type, "protocol_error") == 0) return UV_EPROTO;
  return UV_EIO;
}

static void call_on_wait(uv_timer_t *t);

static void call_conclude_now(model_call *call, CURLcode res) {
  model_client *m = call->m;
  if (call->state == CALL_CANCELLED) {
    call_end_attempt(call); /* on_done is already on its way */
    return;
  }
  if (call->stream_done) {
    call_succeed(call);
    return;
  }
  call_classify(call, res);
  call_end_attempt(call);
  const model_error *e = &call->err;
  char type[MODEL_CLIENT_MAX_LOG_VALUE_BYTES], rid[MODEL_CLIENT_MAX_LOG_VALUE_BYTES];
  char msg[MODEL_CLIENT_MAX_MESSAGE_BYTES + 1];
  if (e->retryable && call->retries < m->o.max_retries && !m->closing) {
    double draw = (double)(client_random(m) >> 11) / 9007199254740992.0;
    long delay = model_retry_delay_ms(e->retry_after_ms, call->retries, draw,
                                      m->o.max_retry_delay_ms);
    call->retries++;
    log_warn("model call failed (%s, HTTP %d, request-id %s): retry %d in %ld ms",
             log_safe(type, sizeof type, e->type), e->http_status,
             log_safe(rid, sizeof rid, e->request_id), call->retries, delay);
    call->state = CALL_WAITING;
    if (m->o.metrics) metric_inc(metric_at(m->o.metrics->model_retries, e->type));
    uv_timer_start(&call->wait, call_on_wait, (uint64_t)delay, 0);
    if (call->cbs.on_retry) call->cbs.on_retry(call->ud, call->retries, delay, e);
    return;
  }
  log_warn("model call failed (%s, HTTP %d, request-id %s): %s",
           log_safe(type, sizeof type, e->type), e->http_status,
           log_safe(rid, sizeof rid, e->request_id), log_safe(msg, sizeof msg, e->message));
  call->state = CALL_FINISHED;
  call_count_end(call, e->type, NULL);
  call->cbs.on_done(call->ud, call_error_status(e->type), NULL, e);
  call_release(call);
}

/* The attempt ended; its lines and its owner's run in the call's context. */
static void call_conclude(model_call *call, CURLcode res) {
  log_context previous = log_context_enter(&call->log);
  call_conclude_now(call, res);
  log_context_leave(&previous);
}

/* One of the call's limits ran out: the call fails as type ("what ms ms"),
 * unless its stream had ended and only the response's end was awaited. */
static void call_time_out(model_call *call, const char *type, const char *what, long ms) {
  if (call->state != CALL_RUNNING) return;
  if (!call->stream_done) call_abort(call, type, 1, "%s %ld ms", what, ms);
  call_conclude(call, CURLE_OK);
}

static void call_on_idle(uv_timer_t *t) {
  model_call *call = t->data;
  call_time_out(call, "idle_timeout", "no data from the Messages API for",
                call->m->o.idle_timeout_ms);
}

static void call_on_deadline(uv_timer_t *t) {
  model_call *call = t->data;
  call_time_out(call, "request_timeout", "the Messages API call took longer than",
                call->m->o.request_timeout_ms);
}

/* Delivers an on_done that had to wait for the loop. */
static void call_deliver(model_call *call) {
  int status = call->state == CALL_CANCELLED ? UV_ECANCELED : call_error_status(call->err.type);
  call_count_end(call, status == UV_ECANCELED ? "cancelled" : call->err.type, NULL);
  call->state = CALL_FINISHED;
  call_end_attempt(call);
  log_context previous = log_context_enter(&call->log);
  call->cbs.on_done(call->ud, status, NULL, status == UV_ECANCELED ? NULL : &call->err);
  log_context_leave(&previous);
  call_release(call);
}

/* Starts an attempt, or delivers an on_done that had to wait for the loop. */
static void call_on_wait(uv_timer_t *t) {
  model_call *call = t->data;
  if (call->state == CALL_WAITING) {
    if (call_begin_attempt(call) == 0) return;
    call_set_error(call, "connection_error", "could not set up the request");
    call->state = CALL_FAILING;
  }
  call_deliver(call);
}

/* ---- lifetimes ---- */

/* A transfer ended (curl's view); the call decides what it means. */
static void client_on_transfer_done(void *ud, CURL *easy, CURLcode res) {
  (void)ud;
  char *call = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &call);
  if (call) call_conclude((model_call *)call, res);
}

static void client_free(void *ud) {
  model_client *m = ud;
  curl_slist_free_all(m->headers);
  free(m->url);
  free(m->ca_file);
  free(m);
}

/* Once closing and every call is gone, curl goes, then the client. */
static void client_maybe_free(model_client *m) {
  if (!m->closing || m->calls || m->curl_closing) return;
  m->curl_closing = 1;
  model_curl_close(m->curl, client_free);
}

static void call_on_timer_closed(uv_handle_t *h) {
  model_call *call = h->data;
  if (--call->open_timers > 0) return;
  model_client *m = call->m;
  DLIST_UNLINK(m->calls, call);
  free(call->body);
  free(call->err_type);
  free(call->err_message);
  free(call);
  client_maybe_free(m);
}

int model_client_new(model_client **out, uv_loop_t *loop, const model_client_options *o) {
  *out = NULL;
  if (!o->base_url || o->connect_timeout_ms <= 0 || o->idle_timeout_ms <= 0 ||
      o->request_timeout_ms <= 0 || o->max_retries < 0 || o->max_retry_delay_ms < 0 ||
      o->max_response_bytes == 0)
    return UV_EINVAL;
  model_client *m = calloc(1, sizeof *m);
  if (!m) return UV_ENOMEM;
  m->loop = loop;
  m->o = *o;
  m->o.base_url = m->o.api_key = m->o.auth_token = m->o.version = m->o.ca_file = NULL;
  m->rng = uv_hrtime() ^ ((unsigned long long)getpid() << 32) ^ (unsigned long long)(uintptr_t)m;
  if (m->rng == 0) m->rng = 1;
  int rc = model_request_headers(&m->headers, o->api_key, o->auth_token, o->version);
  if (rc == 0 && !(m->url = model_request_url(o->base_url))) rc = UV_EINVAL;
  if (rc == 0 && o->ca_file && !(m->ca_file = strdup(o->ca_file))) rc = UV_ENOMEM;
  if (rc == 0) rc = model_curl_new(&m->curl, loop, client_on_transfer_done, m);
  if (rc != 0) {
    client_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

void model_client_close(model_client *m) {
  if (!m || m->closing) return;
  m->closing = 1;
  for (model_call *c = m->calls; c; c = c->next) model_call_cancel(c);
  client_maybe_free(m);
}

/* The body as it may leave; frees body. NULL when memory ran out. */
static char *call_redact_body(model_client *m, char *body, size_t *len) {
  char *safe = m->o.redact(m->o.redact_ud, body, *len, len);
  free(body);
  return safe;
}

model_call *model_call_start(model_client *m, const json_t *request, const model_call_cbs *cbs,
                             void *ud) {
  model_call *call = calloc(1, sizeof *call);
  if (!call) return NULL;
  call->m = m;
  call->cbs = *cbs;
  call->ud = ud;
  call->state = CALL_WAITING;
  call->started_ns = uv_hrtime();
  call->log = *log_context_now();
  call->log.call_id[0] = '\0';
  if (!json_is_object(request)) {
    call->state = CALL_FAILING;
    call_set_error(call, "invalid_request_error", "the request is not a JSON object");
  } else if (!(call->body = model_request_body(request, &call->body_len)) ||
             (m->o.redact && !(call->body = call_redact_body(m, call->body, &call->body_len)))) {
    free(call);
    return NULL;
  } else if (call->body_len > MODEL_CLIENT_MAX_REQUEST_BYTES) {
    call->state = CALL_FAILING;
    call_set_error(call, "request_too_large", "the request is %zu bytes; the API takes at most %u",
                   call->body_len, MODEL_CLIENT_MAX_REQUEST_BYTES);
  }
  uv_timer_t *timers[] = {&call->wait, &call->idle, &call->deadline};
  for (int i = 0; i < 3; i++) {
    uv_timer_init(m->loop, timers[i]);
    timers[i]->data = call;
  }
  call->open_timers = 3;
  DLIST_PUSH(m->calls, call);
  if (m->closing) call->state = CALL_CANCELLED;
  /* Even the first attempt starts from the loop, never inside the caller. */
  uv_timer_start(&call->wait, call_on_wait, 0, 0);
  return call;
}

void model_call_cancel(model_call *call) {
  if (!call || call->state == CALL_CANCELLED || call->state == CALL_FINISHED) return;
  call->state = CALL_CANCELLED;
  uv_timer_stop(&call->idle);
  uv_timer_stop(&call->deadline);
  /* Inside a curl callback the write callback aborts the transfer and the
   * handle goes when the loop next runs (call_on_wait or call_conclude). */
  if (!call->m->in_curl) call_end_attempt(call);
  uv_timer_start(&call->wait, call_on_wait, 0, 0);
}
