/* The SSE decoder on its own: WHATWG field rules, line endings, chunking at
 * every offset, the per-event cap and stopping from the callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "sse_parser.h"

#define TEST_MAX_EVENT_BYTES 4096
#define TEST_MAX_LOG_BYTES (1024 * 1024)

typedef struct trace {
  buf out;     /* "[event]{data}" per dispatched event */
  int stop_at; /* return 7 from this event on (1-based), 0: never */
  int count;
} trace;

static int log_event(void *ud, const char *event, size_t event_len, const char *data,
                     size_t data_len) {
  trace *l = ud;
  assert_int_equal(event[event_len], '\0');
  assert_int_equal(data[data_len], '\0');
  buf_append(&l->out, "[", 1);
  buf_append(&l->out, event, event_len);
  buf_append(&l->out, "]{", 2);
  buf_append(&l->out, data, data_len);
  buf_append(&l->out, "}", 1);
  l->count++;
  return l->stop_at && l->count >= l->stop_at ? 7 : 0;
}

/* Feeds the pieces [0,a), [a,b), [b,n) and returns what was dispatched. */
static char *decode3(const char *p, size_t n, size_t a, size_t b, size_t cap) {
  trace l = {.stop_at = 0};
  buf_init(&l.out, TEST_MAX_LOG_BYTES);
  sse_parser sp;
  sse_parser_init(&sp, cap, log_event, &l);
  assert_int_equal(sse_parser_feed(&sp, p, a), 0);
  assert_int_equal(sse_parser_feed(&sp, p + a, b - a), 0);
  assert_int_equal(sse_parser_feed(&sp, p + b, n - b), 0);
  sse_parser_free(&sp);
  char *out = strdup(buf_cstr(&l.out));
  buf_free(&l.out);
  return out;
}

static void expect_decoded(const char *stream, const char *expect) {
  size_t n = strlen(stream);
  char *whole = decode3(stream, n, n, n, TEST_MAX_EVENT_BYTES);
  assert_string_equal(whole, expect);
  free(whole);
  /* Every way of cutting it in two or three pieces gives the same events. */
  for (size_t a = 0; a <= n; a++)
    for (size_t b = a; b <= n; b++) {
      char *got = decode3(stream, n, a, b, TEST_MAX_EVENT_BYTES);
      if (strcmp(got, expect) != 0) fail_msg("cut at %zu,%zu: got %s want %s", a, b, got, expect);
      free(got);
    }
}

static void test_named_event(void **state) {
  (void)state;
  expect_decoded("event: ping\ndata: {\"type\":\"ping\"}\n\n", "[ping]{{\"type\":\"ping\"}}");
}

static void test_line_endings(void **state) {
  (void)state;
  expect_decoded("event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\rdata: 3\n\n",
                 "[a]{1}[b]{2}[]{3}");
  /* CR then LF is one terminator even split across reads (the cut loop in
   * expect_decoded puts a boundary between every CR and LF): had it counted
   * twice, "x" would be dispatched alone before "y". */
  expect_decoded("data: x\r\ndata: y\r\n\r\n", "[]{x\ny}");
  /* LF then CR is two terminators: a blank line. */
  expect_decoded("data: x\n\rdata: y\n\n", "[]{x}[]{y}");
}

static void test_field_rules(void **state) {
  (void)state;
  /* Only one space after the colon is dropped; no space is fine too. */
  expect_decoded("data:  two\n\ndata:none\n\n", "[]{ two}[]{none}");
  /* Several data lines join with "\n"; "data" without a colon is an empty line of data. */
  expect_decoded("data: a\ndata\ndata: b\n\n", "[]{a\n\nb}");
  /* An empty data field still makes an event, with empty data. */
  expect_decoded("event: e\ndata:\n\n", "[e]{}");
  /* The last event field wins; "event" alone names nothing. */
  expect_decoded("event: a\nevent: b\ndata: 1\n\nevent: c\nevent\ndata: 2\n\n", "[b]{1}[]{2}");
  /* Names are exact: "Data" and "data " are other fields. */
  expect_decoded("Data: x\ndata : y\ndata: z\n\n", "[]{z}");
}

static void test_ignored_lines(void **state) {
  (void)state;
  expect_decoded(": comment\nid: 5\nretry: 100\nfoo: bar\n:\ndata: d\n: inside\n\n", "[]{d}");
  /* An event with no data is dropped and its name does not carry over. */
  expect_decoded("event: lonely\n\ndata: next\n\n", "[]{next}");
  expect_decoded("\n\n\r\n: only comments\n\n", "");
}

static void test_unterminated_event_is_dropped(void **state) {
  (void)state;
  expect_decoded("data: done\n\ndata: half\n", "[]{done}");
  expect_decoded("data: done\n\ndata: half", "[]{done}");
  expect_decoded("data: done\n\nevent: x\ndata: half\r", "[]{done}");
}

static void test_nul_bytes_kept(void **state) {
  (void)state;
  const char stream[] = "data: a\0b\n\n";
  trace l = {.stop_at = 0};
  buf_init(&l.out, TEST_MAX_LOG_BYTES);
  sse_parser sp;
  sse_parser_init(&sp, TEST_MAX_EVENT_BYTES, log_event, &l);
  assert_int_equal(sse_parser_feed(&sp, stream, sizeof stream - 1), 0);
  assert_int_equal(l.out.len, 7);
  assert_memory_equal(l.out.data, "[]{a\0b}", 7);
  sse_parser_free(&sp);
  buf_free(&l.out);
}

static void test_callback_stops_feed(void **state) {
  (void)state;
  const char *stream = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
  trace l = {.stop_at = 2};
  buf_init(&l.out, TEST_MAX_LOG_BYTES);
  sse_parser sp;
  sse_parser_init(&sp, TEST_MAX_EVENT_BYTES, log_event, &l);
  assert_int_equal(sse_parser_feed(&sp, stream, strlen(stream)), 7);
  assert_string_equal(buf_cstr(&l.out), "[]{1}[]{2}");
  sse_parser_free(&sp);
  buf_free(&l.out);
}

/* The cap counts the line being read plus the event gathered so far. */
static void test_event_cap(void **state) {
  (void)state;
  char *ok = decode3("data: 12345\n\n", 13, 13, 13, 11);
  assert_string_equal(ok, "[]{12345}");
  free(ok);

  const char *streams[] = {
      "data: 123456\n\n",          /* one line over the cap */
      "data: 12345\ndata: 1\n\n",  /* data gathered over several lines */
      "event: abcd\ndata: 12\n\n", /* the name counts too */
  };
  for (size_t i = 0; i < 3; i++) {
    trace l = {.stop_at = 0};
    buf_init(&l.out, TEST_MAX_LOG_BYTES);
    sse_parser sp;
    sse_parser_init(&sp, 11, log_event, &l);
    int rc = 0;
    for (const char *p = streams[i]; *p && rc == 0; p++) rc = sse_parser_feed(&sp, p, 1);
    assert_int_equal(rc, SSE_ERR_TOO_LARGE);
    assert_int_equal(l.count, 0);
    /* Failed for good: later bytes, even a fine event, are refused. */
    assert_int_equal(sse_parser_feed(&sp, "\n\ndata: x\n\n", 11), SSE_ERR_TOO_LARGE);
    assert_int_equal(l.count, 0);
    sse_parser_free(&sp);
    buf_free(&l.out);
  }
  /* Comments are bounded too: a long comment line fails rather than grows. */
  trace l = {.stop_at = 0};
  buf_init(&l.out, TEST_MAX_LOG_BYTES);
  sse_parser sp;
  sse_parser_init(&sp, 11, log_event, &l);
  assert_int_equal(sse_parser_feed(&sp, ": 0123456789abc", 15), SSE_ERR_TOO_LARGE);
  sse_parser_free(&sp);
  buf_free(&l.out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_named_event),
      cmocka_unit_test(test_line_endings),
      cmocka_unit_test(test_field_rules),
      cmocka_unit_test(test_ignored_lines),
      cmocka_unit_test(test_unterminated_event_is_dropped),
      cmocka_unit_test(test_nul_bytes_kept),
      cmocka_unit_test(test_callback_stops_feed),
      cmocka_unit_test(test_event_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
