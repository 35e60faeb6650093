/* What a count_tokens probe's end means (model_probe_classify): the layer
 * where it stopped, from curl's code, how far the connection got and the
 * API's answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model_probe.h"

static model_probe_result classify(CURLcode res, long status, const char *body, int connected,
                                   int tls_done) {
  model_probe_result r;
  model_probe_classify(res, "curl says why", status, body, body ? strlen(body) : 0, connected,
                       tls_done, &r);
  return r;
}

static void test_answered(void **state) {
  (void)state;
  model_probe_result r = classify(CURLE_OK, 200, "{\"input_tokens\":12}", 1, 1);
  assert_true(r.ok);
  assert_string_equal(r.layer, "none");
  assert_int_equal(r.http_status, 200);
  /* A 200 that is not the endpoint's answer (a captive portal, a wrong
   * base URL) is not "up". */
  r = classify(CURLE_OK, 200, "<html>hello</html>", 1, 1);
  assert_false(r.ok);
  assert_string_equal(r.layer, "protocol");
}

static void test_connection_layers(void **state) {
  (void)state;
  static const struct {
    CURLcode res;
    int connected, tls_done;
    const char *layer;
  } cases[] = {
      {CURLE_COULDNT_RESOLVE_HOST, 0, 0, "dns"},
      {CURLE_COULDNT_CONNECT, 0, 0, "connect_refused"},
      {CURLE_OPERATION_TIMEDOUT, 0, 0, "connect_timeout"},
      /* TCP up, the handshake stuck: "SSL connection timeout" in curl's words. */
      {CURLE_OPERATION_TIMEDOUT, 1, 0, "tls"},
      {CURLE_OPERATION_TIMEDOUT, 1, 1, "timeout"},
      {CURLE_PEER_FAILED_VERIFICATION, 1, 0, "tls"},
      {CURLE_SSL_CONNECT_ERROR, 1, 0, "tls"},
      {CURLE_RECV_ERROR, 1, 1, "connection_lost"},
      {CURLE_GOT_NOTHING, 1, 1, "connection_lost"},
      {CURLE_WRITE_ERROR, 1, 1, "protocol"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    model_probe_result r = classify(cases[i].res, 0, NULL, cases[i].connected, cases[i].tls_done);
    assert_false(r.ok);
    if (strcmp(r.layer, cases[i].layer) != 0)
      fail_msg("case %zu (curl %d): want %s, got %s", i, cases[i].res, cases[i].layer, r.layer);
    assert_int_equal(r.http_status, 0);
    if (cases[i].res != CURLE_WRITE_ERROR) assert_non_null(strstr(r.message, "curl says why"));
  }
}

static void test_api_errors(void **state) {
  (void)state;
  static const struct {
    long status;
    const char *layer;
  } cases[] = {{401, "auth_refused"}, {403, "auth_refused"}, {404, "not_found"},
               {429, "rate_limited"}, {529, "overloaded"},   {503, "overloaded"},
               {500, "api_error"},    {400, "http"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    model_probe_result r = classify(
        CURLE_OK, cases[i].status,
        "{\"type\":\"error\",\"error\":{\"type\":\"some_error\",\"message\":\"said so\"},"
        "\"request_id\":\"req_1\"}",
        1, 1);
    assert_false(r.ok);
    assert_string_equal(r.layer, cases[i].layer);
    assert_int_equal(r.http_status, cases[i].status);
    assert_string_equal(r.error_type, "some_error");
    assert_string_equal(r.request_id, "req_1");
    assert_non_null(strstr(r.message, "said so"));
  }
  /* A proxy's HTML page instead of the API's error body. */
  model_probe_result r = classify(CURLE_OK, 502, "<html>bad gateway</html>", 1, 1);
  assert_string_equal(r.layer, "api_error");
  assert_string_equal(r.error_type, "");
  assert_non_null(strstr(r.message, "HTTP 502"));
  /* An HTTP error is what the API said, whatever reading its body met. */
  r = classify(CURLE_RECV_ERROR, 401,
               "{\"error\":{\"type\":\"authentication_error\",\"message\":\"no\"}}", 1, 1);
  assert_string_equal(r.layer, "auth_refused");
}

static void test_long_message_is_cut(void **state) {
  (void)state;
  char body[4096];
  int n = snprintf(body, sizeof body, "{\"error\":{\"type\":\"x\",\"message\":\"");
  memset(body + n, 'a', 3000);
  strcpy(body + n + 3000, "\"}}");
  model_probe_result r = classify(CURLE_OK, 500, body, 1, 1);
  assert_true(strlen(r.message) < MODEL_PROBE_MESSAGE_MAX_BYTES);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_answered),
      cmocka_unit_test(test_connection_layers),
      cmocka_unit_test(test_api_errors),
      cmocka_unit_test(test_long_message_is_cut),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
