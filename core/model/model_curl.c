#include "model_curl.h"

#include <stdlib.h>
#include <strings.h>

struct model_curl {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer; /* curl's timeout */
  model_curl_done_cb on_done;
  void *ud;
  void (*on_closed)(void *ud);
  int polls; /* poll handles not yet closed */
  int timer_closed;
};

typedef struct model_curl_poll {
  uv_poll_t poll;
  model_curl *c;
  curl_socket_t fd;
} model_curl_poll;

/* curl_global_init is process-wide; the first client sets it up. */
static int curl_users;

static void curl_check_done(model_curl *c) {
  CURLMsg *msg;
  int left;
  /* on_done gets copies: msg dies with its handle. c->multi is gone if
   * on_done closed c. */
  while (c->multi && (msg = curl_multi_info_read(c->multi, &left)))
    if (msg->msg == CURLMSG_DONE) c->on_done(c->ud, msg->easy_handle, msg->data.result);
}

static void curl_on_poll(uv_poll_t *h, int status, int events) {
  model_curl_poll *p = h->data;
  model_curl *c = p->c;
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (status >= 0 && (events & UV_READABLE)) flags |= CURL_CSELECT_IN;
  if (status >= 0 && (events & UV_WRITABLE)) flags |= CURL_CSELECT_OUT;
  int running;
  curl_multi_socket_action(c->multi, p->fd, flags, &running);
  curl_check_done(c);
}

static void curl_free_if_closed(model_curl *c) {
  if (!c->timer_closed || c->polls > 0) return;
  void (*on_closed)(void *) = c->on_closed;
  void *ud = c->ud;
  free(c);
  if (--curl_users == 0) curl_global_cleanup();
  on_closed(ud);
}

static void curl_on_poll_closed(uv_handle_t *h) {
  model_curl_poll *p = h->data;
  model_curl *c = p->c;
  free(p);
  c->polls--;
  if (c->on_closed) curl_free_if_closed(c);
}

/* curl says which directions a socket waits for; REMOVE comes before curl
 * closes it, so the poll is stopped while the descriptor is still valid. */
static int curl_on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  (void)easy;
  model_curl *c = userp;
  model_curl_poll *p = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (p) {
      uv_poll_stop(&p->poll);
      uv_close((uv_handle_t *)&p->poll, curl_on_poll_closed);
      curl_multi_assign(c->multi, s, NULL);
    }
    return 0;
  }
  if (!p) {
    if (!(p = calloc(1, sizeof *p))) return -1;
    if (uv_poll_init_socket(c->loop, &p->poll, s) != 0) {
      free(p);
      return -1;
    }
    p->c = c;
    p->fd = s;
    p->poll.data = p;
    c->polls++;
    curl_multi_assign(c->multi, s, p);
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  return uv_poll_start(&p->poll, events, curl_on_poll) == 0 ? 0 : -1;
}

static void curl_on_timeout(uv_timer_t *t) {
  model_curl *c = t->data;
  int running;
  curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  curl_check_done(c);
}

/* ms < 0: no timeout; 0: act on the next loop iteration, not in here. */
static int curl_on_timer(CURLM *multi, long ms, void *userp) {
  (void)multi;
  model_curl *c = userp;
  if (ms < 0)
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, curl_on_timeout, (uint64_t)ms, 0);
  return 0;
}

int model_curl_new(model_curl **out, uv_loop_t *loop, model_curl_done_cb on_done, void *ud) {
  *out = NULL;
  if (curl_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return UV_ENOMEM;
  curl_users++;
  model_curl *c = calloc(1, sizeof *c);
  if (c) c->multi = curl_multi_init();
  if (!c || !c->multi) {
    free(c);
    if (--curl_users == 0) curl_global_cleanup();
    return UV_ENOMEM;
  }
  c->loop = loop;
  c->on_done = on_done;
  c->ud = ud;
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_on_socket);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_on_timer);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  *out = c;
  return 0;
}

int model_curl_setup_post(CURL *easy, const model_curl_post *post) {
  int rc = 0;
#define SET(opt, val) rc |= (int)curl_easy_setopt(easy, opt, val)
  SET(CURLOPT_URL, post->url);
  SET(CURLOPT_PROTOCOLS_STR, "https,http");
  SET(CURLOPT_POST, 1L);
  SET(CURLOPT_POSTFIELDS, post->body);
  SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post->body_len);
  SET(CURLOPT_HTTPHEADER, post->headers);
  SET(CURLOPT_WRITEFUNCTION, post->on_body);
  SET(CURLOPT_WRITEDATA, post->ud);
  SET(CURLOPT_ERRORBUFFER, post->error);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_CONNECTTIMEOUT_MS, post->connect_timeout_ms);
  if (post->ca_file) SET(CURLOPT_CAINFO, post->ca_file);
  if (strncasecmp(post->url, "http://", 7) == 0) SET(CURLOPT_PROXY, "");
#undef SET
  return rc;
}

int model_curl_add(model_curl *c, CURL *easy) {
  return curl_multi_add_handle(c->multi, easy) == CURLM_OK ? 0 : -1;
}

void model_curl_remove(model_curl *c, CURL *easy) { curl_multi_remove_handle(c->multi, easy); }

static void curl_on_timer_closed(uv_handle_t *h) {
  model_curl *c = h->data;
  c->timer_closed = 1;
  curl_free_if_closed(c);
}

void model_curl_close(model_curl *c, void (*on_closed)(void *ud)) {
  c->on_closed = on_closed;
  /* Closing cached connections reports their sockets as REMOVE here. */
  curl_multi_cleanup(c->multi);
  c->multi = NULL;
  uv_close((uv_handle_t *)&c->timer, curl_on_timer_closed);
}
