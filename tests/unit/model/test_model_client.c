/* A call's two time limits (model_client.c), against a loopback server
 * playing the Messages API: a stream that goes silent ends as
 * idle_timeout, one that keeps talking past the request limit as
 * request_timeout, each naming its limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "model_client.h"

#define PING_EVERY_MS 50

static const char head[] = "HTTP/1.1 200 OK\r\n"
                           "content-type: text/event-stream\r\n"
                           "\r\n";
static const char ping[] = "event: ping\n"
                           "data: {\"type\": \"ping\"}\n\n";

/* The server's side: one connection, a stream head, then a ping every
 * PING_EVERY_MS or silence. */
typedef struct fake_api {
  uv_tcp_t listener, conn;
  uv_timer_t pinger;
  int pings, connected;
  model_client *m;
  int done, status;
  char type[32], message[128];
} fake_api;

static void api_on_written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

static void api_send(fake_api *api, const char *text, size_t len) {
  uv_write_t *req = malloc(sizeof *req);
  assert_non_null(req);
  uv_buf_t b = uv_buf_init((char *)text, (unsigned)len);
  assert_int_equal(uv_write(req, (uv_stream_t *)&api->conn, &b, 1, api_on_written), 0);
}

static void api_on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b) {
  static char sink[4096];
  (void)h;
  (void)size;
  *b = uv_buf_init(sink, sizeof sink);
}

/* The request is not read: only the answer's timing matters. */
static void api_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)s;
  (void)n;
  (void)b;
}

static void api_on_ping(uv_timer_t *t) {
  fake_api *api = t->data;
  api_send(api, ping, sizeof ping - 1);
}

static void api_on_connection(uv_stream_t *listener, int status) {
  fake_api *api = listener->data;
  assert_int_equal(status, 0);
  uv_tcp_init(listener->loop, &api->conn);
  assert_int_equal(uv_accept(listener, (uv_stream_t *)&api->conn), 0);
  api->connected = 1;
  uv_read_start((uv_stream_t *)&api->conn, api_on_alloc, api_on_read);
  api_send(api, head, sizeof head - 1);
  if (api->pings) uv_timer_start(&api->pinger, api_on_ping, PING_EVERY_MS, PING_EVERY_MS);
}

static void on_done(void *ud, int status, const model_response *resp, const model_error *err) {
  fake_api *api = ud;
  (void)resp;
  api->done++;
  api->status = status;
  if (err) {
    snprintf(api->type, sizeof api->type, "%s", err->type);
    snprintf(api->message, sizeof api->message, "%s", err->message);
  }
  model_client_close(api->m);
  uv_close((uv_handle_t *)&api->pinger, NULL);
  if (api->connected) uv_close((uv_handle_t *)&api->conn, NULL);
  uv_close((uv_handle_t *)&api->listener, NULL);
}

/* Runs one call, without retries, against a server that pings or stays
 * silent after the stream's head; it must end as type with message. */
static void expect_end(int pings, long idle_ms, long request_ms, const char *type,
                       const char *message) {
  fake_api api = {.pings = pings};
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_tcp_init(&loop, &api.listener);
  uv_timer_init(&loop, &api.pinger);
  api.listener.data = api.pinger.data = &api;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(uv_tcp_bind(&api.listener, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&api.listener, 1, api_on_connection), 0);
  int addr_len = sizeof addr;
  assert_int_equal(uv_tcp_getsockname(&api.listener, (struct sockaddr *)&addr, &addr_len), 0);
  char base[64];
  snprintf(base, sizeof base, "http://127.0.0.1:%d", ntohs(addr.sin_port));
  model_client_options o = {.base_url = base,
                            .api_key = "test-key",
                            .version = "2023-06-01",
                            .connect_timeout_ms = 5000,
                            .idle_timeout_ms = idle_ms,
                            .request_timeout_ms = request_ms,
                            .max_retries = 0,
                            .max_retry_delay_ms = 1000,
                            .max_response_bytes = 1 << 20};
  assert_int_equal(model_client_new(&api.m, &loop, &o), 0);
  json_t *request = json_pack("{s:s, s:i, s:[{s:s, s:s}]}", "model", "test-model", "max_tokens", 16,
                              "messages", "role", "user", "content", "hello");
  model_call_cbs cbs = {.on_done = on_done};
  assert_non_null(model_call_start(api.m, request, &cbs, &api));
  json_decref(request);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(api.done, 1);
  assert_true(api.status < 0);
  assert_string_equal(api.type, type);
  assert_string_equal(api.message, message);
}

static void silent_stream_ends_as_idle_timeout(void **state) {
  (void)state;
  expect_end(0, 200, 60000, "idle_timeout", "no data from the Messages API for 200 ms");
}

static void talking_stream_ends_as_request_timeout(void **state) {
  (void)state;
  expect_end(1, 60000, 300, "request_timeout", "the Messages API call took longer than 300 ms");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(silent_stream_ends_as_idle_timeout),
      cmocka_unit_test(talking_stream_ends_as_request_timeout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
