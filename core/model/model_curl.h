/* libcurl's multi interface driven by the libuv loop.
 *
 * One uv_poll_t per socket curl asks to watch (CURLMOPT_SOCKETFUNCTION) and
 * one uv_timer_t for curl's timeout (CURLMOPT_TIMERFUNCTION). curl is only
 * entered from those callbacks, and finished transfers are handed to
 * on_done from there too, never from inside a libcurl callback: on_done may
 * add and remove easy handles.
 */
#ifndef BG_MODEL_CURL_H
#define BG_MODEL_CURL_H

#include <curl/curl.h>
#include <uv.h>

typedef struct model_curl model_curl;

/* A transfer ended: the easy handle is still added; remove it here or later. */
typedef void (*model_curl_done_cb)(void *ud, CURL *easy, CURLcode result);

int model_curl_new(model_curl **out, uv_loop_t *loop, model_curl_done_cb on_done, void *ud);

/* 0, or -1 when curl refused the handle. */
int model_curl_add(model_curl *c, CURL *easy);
/* Not from inside a libcurl callback (a write or header function). */
void model_curl_remove(model_curl *c, CURL *easy);

/* A POST to the model API, as every request there is made. */
typedef struct model_curl_post {
  const char *url;
  const char *body; /* the caller's until the transfer ends */
  size_t body_len;
  const struct curl_slist *headers; /* they carry the credential */
  curl_write_callback on_body;
  void *ud;    /* on_body's */
  char *error; /* CURL_ERROR_SIZE bytes for curl's message */
  long connect_timeout_ms;
  const char *ca_file; /* NULL: the system's CAs */
} model_curl_post;

/* Sets easy up for post: http or https only, no signals, and plain HTTP
 * never through a proxy from the environment (http_proxy would get the
 * credential in clear; base_url allows plain HTTP only to this machine).
 * 0, or nonzero when curl refused an option. */
int model_curl_setup_post(CURL *easy, const model_curl_post *post);

/* Every easy handle must be removed first. Frees curl's state (closing its
 * cached connections), then its loop handles; on_closed(ud) runs once the
 * last one is closed and c is gone. */
void model_curl_close(model_curl *c, void (*on_closed)(void *ud));

#endif
