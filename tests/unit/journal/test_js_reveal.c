/* Hidden characters named as www/reveal.mjs names them; the export test
 * compares whole summaries, this the edges of the set and of UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "js_reveal.h"

static void expect_revealed_n(const char *in, size_t len, const char *want) {
  buf b;
  buf_init(&b, 1024);
  js_reveal(&b, in, len);
  assert_string_equal(buf_cstr(&b), want);
  buf_free(&b);
}

static void expect_revealed(const char *in, const char *want) {
  expect_revealed_n(in, strlen(in), want);
}

#define L "\xe2\x9f\xa8" /* ⟨ */
#define R "\xe2\x9f\xa9" /* ⟩ */

static void test_plain_text_is_kept(void **state) {
  (void)state;
  expect_revealed("", "");
  expect_revealed("uptime\tnow\nfree -m", "uptime\tnow\nfree -m");
  expect_revealed("caf\xc3\xa9 \xf0\x9f\x98\x80 \xd7\x90", "caf\xc3\xa9 \xf0\x9f\x98\x80 \xd7\x90");
  /* No-break spaces (Zs) show themselves. */
  expect_revealed("\xc2\xa0\xe2\x80\xaf", "\xc2\xa0\xe2\x80\xaf");
}

static void test_hidden_characters_are_named(void **state) {
  (void)state;
  expect_revealed("a\rb\x1b[2J\x7f", "a" L "U+000D" R "b" L "U+001B" R "[2J" L "U+007F" R);
  expect_revealed("\xc2\x85\xc2\xad", L "U+0085" R L "U+00AD" R); /* C1, soft hyphen */
  expect_revealed("\xe2\x80\xae\xe2\x80\x8b\xe2\x81\xa6", L "U+202E" R L "U+200B" R L "U+2066" R);
  expect_revealed("\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf", L "U+2028" R L "U+2029" R L "U+FEFF" R);
  expect_revealed("x\xf3\xa0\x81\x81y", "x" L "U+E0041" R "y"); /* a tag character */
  expect_revealed("\xf0\x91\x82\xbd", L "U+110BD" R);
}

/* Bytes that are not UTF-8 are copied: a lone 0x85 is not U+0085. */
static void test_bytes_that_are_not_utf8_are_kept(void **state) {
  (void)state;
  expect_revealed("a\x85z", "a\x85z");
  expect_revealed("\xc0\x8d", "\xc0\x8d");          /* an overlong CR */
  expect_revealed("\xe2\x80", "\xe2\x80");          /* cut short */
  expect_revealed_n("\xe2\x80\xae", 2, "\xe2\x80"); /* cut by len */
  expect_revealed("\xed\xa0\x80", "\xed\xa0\x80");  /* a surrogate */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_text_is_kept),
      cmocka_unit_test(test_hidden_characters_are_named),
      cmocka_unit_test(test_bytes_that_are_not_utf8_are_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
