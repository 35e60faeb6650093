/* Bytes into JSON-safe text, and characters split between chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8_text.h"

static void expect_sanitized_n(const char *in, size_t len, const char *want, size_t want_len) {
  size_t out_len;
  char *out = utf8_text_sanitize(in, len, &out_len);
  assert_non_null(out);
  assert_int_equal(out_len, want_len);
  assert_memory_equal(out, want, out_len);
  free(out);
}

static void expect_sanitized(const char *in, size_t len, const char *want) {
  expect_sanitized_n(in, len, want, strlen(want));
}

static void test_sanitize(void **state) {
  (void)state;
  expect_sanitized("plain", 5, "plain");
  expect_sanitized("caf\xC3\xA9", 5, "caf\xC3\xA9");
  expect_sanitized("a\xFF"
                   "b",
                   3,
                   "a\xEF\xBF\xBD"
                   "b");
  expect_sanitized("\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD");                 /* overlong */
  expect_sanitized("\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* surrogate */
  expect_sanitized_n("x\0y", 3, "x\0y", 3);
}

static void test_incomplete_tail(void **state) {
  (void)state;
  assert_int_equal(utf8_text_incomplete_tail("abc", 3), 0);
  assert_int_equal(utf8_text_incomplete_tail("ab\xC3", 3), 1);
  assert_int_equal(utf8_text_incomplete_tail("a\xE2\x82", 3), 2);
  assert_int_equal(utf8_text_incomplete_tail("\xF0\x9F\x98", 3), 3);
  assert_int_equal(utf8_text_incomplete_tail("\xE2\x82\xAC", 3), 0); /* complete euro sign */
  assert_int_equal(utf8_text_incomplete_tail("a\xFF", 2), 0);        /* not a lead byte */
  assert_int_equal(utf8_text_incomplete_tail("", 0), 0);
}

/* A cut never splits a character; text within the limit is kept whole. */
static void test_cut(void **state) {
  (void)state;
  assert_int_equal(utf8_text_cut("abc", 3, 5), 3);
  assert_int_equal(utf8_text_cut("abcdef", 6, 4), 4);
  assert_int_equal(utf8_text_cut("ab\xE2\x82\xAC", 5, 3), 2); /* euro sign: all or nothing */
  assert_int_equal(utf8_text_cut("ab\xE2\x82\xAC", 5, 4), 2);
  assert_int_equal(utf8_text_cut("ab\xE2\x82\xACz", 6, 5), 5);
  assert_int_equal(utf8_text_cut("\xC3\xA9", 2, 1), 0);
  assert_int_equal(utf8_text_cut("", 0, 0), 0);
}

/* A title is one line, cut on a character boundary. */
static void test_title(void **state) {
  (void)state;
  char *t = utf8_text_title("disk\nfull\tnow\r", 100);
  assert_string_equal(t, "disk full now ");
  free(t);
  t = utf8_text_title("ab\xE2\x82\xAC tail", 4);
  assert_string_equal(t, "ab");
  free(t);
  t = utf8_text_title("", 8);
  assert_string_equal(t, "");
  free(t);
}

/* The seven characters JSON escapes in two; the rest have none. */
static void test_json_escape(void **state) {
  (void)state;
  static const struct {
    unsigned char c;
    const char *want;
  } cases[] = {{'"', "\\\""}, {'\\', "\\\\"}, {'\b', "\\b"}, {'\f', "\\f"},
               {'\n', "\\n"}, {'\r', "\\r"},  {'\t', "\\t"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_string_equal(utf8_text_json_escape(cases[i].c), cases[i].want);
  static const unsigned char none[] = {0x00, 0x01, 0x0b, 0x1f, ' ', '/', 'a', 0x7f, 0x80, 0xff};
  for (size_t i = 0; i < sizeof none; i++) assert_null(utf8_text_json_escape(none[i]));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sanitize),    cmocka_unit_test(test_incomplete_tail),
      cmocka_unit_test(test_cut),         cmocka_unit_test(test_title),
      cmocka_unit_test(test_json_escape),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
