/* The retry policy as tables: status x x-should-retry, error event types,
 * retry-after parsing, backoff, jitter and the caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "model_retry.h"

static void test_status_table(void **state) {
  (void)state;
  static const struct {
    long status;
    const char *should_retry;
    int retry;
  } rows[] = {
      {408, NULL, 1},
      {409, NULL, 1},
      {429, NULL, 1},
      {500, NULL, 1},
      {502, NULL, 1},
      {503, NULL, 1},
      {504, NULL, 1},
      {529, NULL, 1},
      {400, NULL, 0},
      {401, NULL, 0},
      {402, NULL, 0},
      {403, NULL, 0},
      {404, NULL, 0},
      {413, NULL, 0},
      {422, NULL, 0},
      {200, NULL, 0},
      /* The header decides for statuses that could go either way. */
      {429, "false", 0},
      {529, " false\r\n", 0},
      {418, "true", 1},
      {422, "TRUE", 1},
      {500, "maybe", 1},
      {418, "maybe", 0},
      /* but never turns a request the API refused for its content into a retry. */
      {400, "true", 0},
      {401, "true", 0},
      {403, "true", 0},
      {413, "true", 0},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (model_retry_status(rows[i].status, rows[i].should_retry) != rows[i].retry)
      fail_msg("status %ld x-should-retry %s: want %d", rows[i].status,
               rows[i].should_retry ? rows[i].should_retry : "(none)", rows[i].retry);
}

static void test_stream_error_types(void **state) {
  (void)state;
  assert_true(model_retry_stream_error("overloaded_error"));
  assert_true(model_retry_stream_error("api_error"));
  assert_true(model_retry_stream_error("timeout_error"));
  assert_true(model_retry_stream_error("rate_limit_error"));
  assert_false(model_retry_stream_error("invalid_request_error"));
  assert_false(model_retry_stream_error("authentication_error"));
  assert_false(model_retry_stream_error("protocol_error"));
  assert_false(model_retry_stream_error(NULL));
}

static void test_retry_after_headers(void **state) {
  (void)state;
  /* 1994-11-06 08:49:37 UTC */
  const time_t now = 784111777;
  static const struct {
    const char *ms, *after;
    long want;
  } rows[] = {
      {"1500", NULL, 1500},
      {" 250 ", "9", 250},  /* retry-after-ms wins */
      {"0", "2", 2000},     /* not positive: fall through to retry-after */
      {"abc", "1.5", 1500}, /* seconds may be a float */
      {NULL, "0.0004", 0},
      {NULL, "-3", -1},
      {NULL, "12x", -1},
      {NULL, "", -1},
      {NULL, "nan", -1},
      {NULL, "Sun, 06 Nov 1994 08:49:47 GMT", 10000},
      {NULL, "Sun, 06 Nov 1994 08:49:37 GMT", -1}, /* now: nothing to wait for */
      {NULL, "Sun, 06 Nov 1994 08:40:00 GMT", -1}, /* past */
      {NULL, "Sun, 06 Nov 1994 08:49:47 UTC", -1}, /* not an IMF-fixdate */
      {NULL, "1e30", 24L * 3600 * 1000},
      {NULL, NULL, -1},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    long got = model_retry_after_ms(rows[i].ms, rows[i].after, now);
    if (got != rows[i].want)
      fail_msg("retry-after-ms %s retry-after %s: got %ld want %ld", rows[i].ms ? rows[i].ms : "-",
               rows[i].after ? rows[i].after : "-", got, rows[i].want);
  }
}

static void test_backoff_doubles_and_caps(void **state) {
  (void)state;
  const long cap = 60000;
  assert_int_equal(model_retry_delay_ms(-1, 0, 0.0, cap), 500);
  assert_int_equal(model_retry_delay_ms(-1, 1, 0.0, cap), 1000);
  assert_int_equal(model_retry_delay_ms(-1, 2, 0.0, cap), 2000);
  assert_int_equal(model_retry_delay_ms(-1, 4, 0.0, cap), 8000);
  assert_int_equal(model_retry_delay_ms(-1, 5, 0.0, cap), 8000);
  assert_int_equal(model_retry_delay_ms(-1, 1000, 0.0, cap), 8000);
  /* The caller's cap applies to backoff and to the server's delay alike. */
  assert_int_equal(model_retry_delay_ms(-1, 4, 0.0, 3000), 3000);
  assert_int_equal(model_retry_delay_ms(20000, 0, 0.0, 3000), 3000);
  assert_int_equal(model_retry_delay_ms(1234, 3, 0.9, cap), 1234); /* no jitter on server delays */
  assert_int_equal(model_retry_delay_ms(-1, 0, 0.0, 0), 0);
}

static void test_jitter_bounds(void **state) {
  (void)state;
  srand(1);
  for (int retries = 0; retries < 6; retries++) {
    long base = model_retry_delay_ms(-1, retries, 0.0, 60000);
    long lo = base, hi = 0;
    for (int i = 0; i < 1000; i++) {
      double draw = (double)rand() / ((double)RAND_MAX + 1.0);
      long d = model_retry_delay_ms(-1, retries, draw, 60000);
      assert_true(d >= base * 3 / 4 && d <= base);
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    /* The draw is used: delays spread over most of the range. */
    assert_true(hi - lo > base / 8);
  }
  assert_int_equal(model_retry_delay_ms(-1, 0, 1.0, 60000), 375);
  assert_int_equal(model_retry_delay_ms(-1, 0, 7.0, 60000), 375);
  assert_int_equal(model_retry_delay_ms(-1, 0, -1.0, 60000), 500);
}

static void test_status_types(void **state) {
  (void)state;
  assert_string_equal(model_retry_status_type(529), "overloaded_error");
  assert_string_equal(model_retry_status_type(429), "rate_limit_error");
  assert_string_equal(model_retry_status_type(413), "request_too_large");
  assert_string_equal(model_retry_status_type(401), "authentication_error");
  assert_string_equal(model_retry_status_type(503), "api_error");
  assert_string_equal(model_retry_status_type(418), "invalid_request_error");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_table),        cmocka_unit_test(test_stream_error_types),
      cmocka_unit_test(test_retry_after_headers), cmocka_unit_test(test_backoff_doubles_and_caps),
      cmocka_unit_test(test_jitter_bounds),       cmocka_unit_test(test_status_types),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
