#include "model_probe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "buf.h"
#include "limits_table.h"
#include "model_curl.h"
#include "model_request.h"

struct model_probe {
  uv_loop_t *loop;
  model_curl *curl;
  struct curl_slist *headers;
  char *url;
  char *ca_file;
  char *body;
  int plain_http; /* no TLS: "connected" is as far as the handshake goes */
  long connect_timeout_ms;
  CURL *easy; /* the probe running, or NULL */
  buf answer;
  char curl_error[CURL_ERROR_SIZE];
  uint64_t started_ms;
  model_probe_cb on_done;
  void *ud;
  char *(*redact)(void *ud, const char *text, size_t len, size_t *outlen); /* or NULL */
  void *redact_ud;
};

/* ---- what a transfer's end means ---- */

static void result_say(model_probe_result *out, const char *layer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void result_say(model_probe_result *out, const char *layer, const char *fmt, ...) {
  out->layer = layer;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->message, sizeof out->message, fmt, ap);
  va_end(ap);
}

static const char *http_layer(long status) {
  if (status == 401 || status == 403) return "auth_refused";
  if (status == 404) return "not_found";
  if (status == 429) return "rate_limited";
  if (status == 503 || status == 529) return "overloaded";
  if (status >= 500) return "api_error";
  return "http";
}

/* An API error body: {type, error: {type, message}, request_id}. */
static void result_http_error(model_probe_result *out, long status, const char *body, size_t len) {
  json_t *root = json_loadb(body, len, 0, NULL);
  json_t *e = json_object_get(root, "error");
  const char *type = json_string_value(json_object_get(e, "type"));
  const char *text = json_string_value(json_object_get(e, "message"));
  const char *rid = json_string_value(json_object_get(root, "request_id"));
  snprintf(out->error_type, sizeof out->error_type, "%s", type ? type : "");
  snprintf(out->request_id, sizeof out->request_id, "%s", rid ? rid : "");
  if (text)
    result_say(out, http_layer(status), "HTTP %ld %s: %.*s", status, type ? type : "error",
               MODEL_PROBE_ERROR_TEXT_MAX_BYTES, text);
  else
    result_say(out, http_layer(status), "HTTP %ld from the model API, without an API error body",
               status);
  json_decref(root);
}

static void result_curl_error(model_probe_result *out, CURLcode res, const char *why, int connected,
                              int tls_done) {
  switch (res) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    result_say(out, "dns", "the model API's name does not resolve: %s", why);
    return;
  case CURLE_COULDNT_CONNECT:
    result_say(out, "connect_refused", "the model API refused the connection: %s", why);
    return;
  case CURLE_OPERATION_TIMEDOUT:
    if (!connected)
      result_say(out, "connect_timeout", "no TCP connection to the model API: %s", why);
    else if (!tls_done)
      result_say(out, "tls", "the TLS handshake with the model API did not finish: %s", why);
    else
      result_say(out, "timeout", "the model API did not answer in time: %s", why);
    return;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ENGINE_NOTFOUND:
    result_say(out, "tls", "TLS with the model API failed: %s", why);
    return;
  case CURLE_WRITE_ERROR:
    result_say(out, "protocol", "the model API's answer passed %u bytes",
               MODEL_PROBE_MAX_BODY_BYTES);
    return;
  default:
    result_say(out, "connection_lost", "the connection to the model API failed: %s", why);
    return;
  }
}

void model_probe_classify(CURLcode res, const char *curl_error, long http_status, const char *body,
                          size_t body_len, int connected, int tls_done, model_probe_result *out) {
  memset(out, 0, sizeof *out);
  out->http_status = (int)http_status;
  const char *why = curl_error && *curl_error ? curl_error : curl_easy_strerror(res);
  if (http_status != 0 && (http_status < 200 || http_status > 299)) {
    result_http_error(out, http_status, body, body_len);
    return;
  }
  if (res != CURLE_OK) {
    out->http_status = 0;
    result_curl_error(out, res, why, connected, tls_done);
    return;
  }
  json_t *root = json_loadb(body, body_len, 0, NULL);
  json_t *n = json_object_get(root, "input_tokens");
  if (json_is_integer(n)) {
    out->ok = 1;
    result_say(out, "none", "answered (count_tokens: %lld input tokens)",
               (long long)json_integer_value(n));
  } else {
    result_say(out, "protocol", "HTTP %ld without {\"input_tokens\": N}: not the Messages API?",
               http_status);
  }
  json_decref(root);
}

/* ---- the transfer ---- */

static size_t probe_on_body(char *p, size_t size, size_t nmemb, void *ud) {
  model_probe *probe = ud;
  size_t n = size * nmemb;
  return buf_append(&probe->answer, p, n) == 0 ? n : 0;
}

static void probe_end_transfer(model_probe *p) {
  if (!p->easy) return;
  model_curl_remove(p->curl, p->easy);
  curl_easy_cleanup(p->easy);
  p->easy = NULL;
  buf_free(&p->answer);
}

/* A malloc'd copy of text, redacted when the probe has the redactor;
 * NULL when memory ran out. */
static char *probe_redacted(const model_probe *p, const char *text, size_t *len) {
  if (p->redact) return p->redact(p->redact_ud, text, *len, len);
  char *copy = malloc(*len + 1);
  if (copy) {
    memcpy(copy, text, *len);
    copy[*len] = '\0';
  }
  return copy;
}

static void probe_on_transfer_done(void *ud, CURL *easy, CURLcode res) {
  model_probe *p = ud;
  long status = 0;
  curl_off_t connect_us = 0, tls_us = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
  /* The result goes to the page: an error body may quote the credential
   * it refused (a gateway's 401 does), so what the API said is redacted
   * whole, before classifying cuts it short. */
  size_t body_len = p->answer.len, why_len = strlen(p->curl_error);
  char *body = probe_redacted(p, buf_cstr(&p->answer), &body_len);
  char *why = probe_redacted(p, p->curl_error, &why_len);
  model_probe_result r;
  model_probe_classify(res, why ? why : "", status, body ? body : "", body ? body_len : 0,
                       connect_us > 0, p->plain_http ? connect_us > 0 : tls_us > 0, &r);
  free(body);
  free(why);
  r.duration_ms = uv_now(p->loop) - p->started_ms;
  probe_end_transfer(p);
  model_probe_cb cb = p->on_done;
  p->on_done = NULL;
  cb(p->ud, &r);
}

static int probe_setup(model_probe *p) {
  model_curl_post post = {
      .url = p->url,
      .body = p->body,
      .body_len = strlen(p->body),
      .headers = p->headers,
      .on_body = probe_on_body,
      .ud = p,
      .error = p->curl_error,
      .connect_timeout_ms = p->connect_timeout_ms,
      .ca_file = p->ca_file,
  };
  CURL *e = p->easy;
  int rc = model_curl_setup_post(e, &post);
#define SET(opt, val) rc |= (int)curl_easy_setopt(e, opt, val)
  SET(CURLOPT_TIMEOUT_MS, p->connect_timeout_ms + (long)MODEL_PROBE_ANSWER_MS);
  /* A fresh connection each time: the probe is about reaching the API now. */
  SET(CURLOPT_FORBID_REUSE, 1L);
#undef SET
  return rc;
}

int model_probe_start(model_probe *p, model_probe_cb on_done, void *ud) {
  if (p->easy) return UV_EBUSY;
  if (!(p->easy = curl_easy_init())) return UV_ENOMEM;
  p->curl_error[0] = '\0';
  buf_init(&p->answer, MODEL_PROBE_MAX_BODY_BYTES);
  if (probe_setup(p) != 0 || model_curl_add(p->curl, p->easy) != 0) {
    curl_easy_cleanup(p->easy);
    p->easy = NULL;
    return UV_ENOMEM;
  }
  p->on_done = on_done;
  p->ud = ud;
  p->started_ms = uv_now(p->loop);
  return 0;
}

int model_probe_running(const model_probe *p) { return p->easy != NULL; }

/* ---- lifetime ---- */

static void probe_free(void *ud) {
  model_probe *p = ud;
  curl_slist_free_all(p->headers);
  free(p->url);
  free(p->ca_file);
  free(p->body);
  free(p);
}

int model_probe_new(model_probe **out, uv_loop_t *loop, const model_client_options *o,
                    const char *model) {
  *out = NULL;
  model_probe *p = calloc(1, sizeof *p);
  if (!p) return UV_ENOMEM;
  p->loop = loop;
  p->connect_timeout_ms = o->connect_timeout_ms;
  p->redact = o->redact;
  p->redact_ud = o->redact_ud;
  char *messages_url = model_request_url(o->base_url);
  int rc = model_request_headers(&p->headers, o->api_key, o->auth_token, o->version);
  if (rc == 0 && !messages_url) rc = UV_EINVAL;
  if (rc == 0 && asprintf(&p->url, "%s/count_tokens", messages_url) < 0) p->url = NULL;
  if (rc == 0 && !p->url) rc = UV_ENOMEM;
  free(messages_url);
  /* The smallest request the endpoint takes: one user message. */
  json_t *body = json_pack("{s:s, s:[{s:s, s:s}]}", "model", model, "messages", "role", "user",
                           "content", "ping");
  if (rc == 0 && !(p->body = body ? json_dumps(body, JSON_COMPACT) : NULL)) rc = UV_ENOMEM;
  json_decref(body);
  if (rc == 0 && o->ca_file && !(p->ca_file = strdup(o->ca_file))) rc = UV_ENOMEM;
  if (rc == 0) rc = model_curl_new(&p->curl, loop, probe_on_transfer_done, p);
  if (rc != 0) {
    probe_free(p);
    return rc;
  }
  p->plain_http = strncasecmp(p->url, "http://", 7) == 0;
  *out = p;
  return 0;
}

void model_probe_close(model_probe *p) {
  if (!p) return;
  probe_end_transfer(p);
  p->on_done = NULL;
  model_curl_close(p->curl, probe_free);
}
