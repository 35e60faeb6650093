/* The capped byte buffer: the cap holds and a refused append changes
 * nothing, a cap of SIZE_MAX (no cap) still grows, and steal hands out a
 * string (empty too) and leaves the buffer empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_cap_holds_and_a_refused_append_changes_nothing(void **state) {
  (void)state;
  buf b;
  buf_init(&b, 8);
  assert_string_equal(buf_cstr(&b), "");
  assert_int_equal(buf_append_str(&b, "12345"), 0);
  assert_int_equal(buf_appendf(&b, "%d", 678), 0);
  assert_int_equal(buf_append_str(&b, "9"), -1);
  assert_int_equal(buf_appendf(&b, "%s", "9"), -1);
  assert_int_equal(buf_append(&b, "9", SIZE_MAX), -1);
  assert_int_equal(b.len, 8);
  assert_string_equal(buf_cstr(&b), "12345678");
  buf_free(&b);
}

static void test_a_cap_of_size_max_grows(void **state) {
  (void)state;
  enum { PIECES = 1000, PIECE = 1000 };
  char piece[PIECE];
  buf b;
  buf_init(&b, SIZE_MAX);
  for (int i = 0; i < PIECES; i++) {
    memset(piece, 'a' + i % 26, sizeof piece);
    assert_int_equal(buf_append(&b, piece, sizeof piece), 0);
  }
  assert_int_equal(b.len, (size_t)PIECES * PIECE);
  for (int i = 0; i < PIECES; i++) assert_int_equal(b.data[(size_t)i * PIECE], 'a' + i % 26);
  assert_int_equal(b.data[b.len], '\0');
  assert_int_equal(buf_append(&b, piece, SIZE_MAX / 2), -1);
  assert_int_equal(b.len, (size_t)PIECES * PIECE);
  buf_free(&b);
}

static void test_steal_leaves_it_empty(void **state) {
  (void)state;
  buf b;
  buf_init(&b, 64);
  size_t len;
  char *bytes = buf_steal(&b, &len);
  assert_int_equal(len, 0);
  assert_string_equal(bytes, "");
  free(bytes);
  assert_int_equal(buf_append_str(&b, "abcdef"), 0);
  bytes = buf_steal(&b, &len);
  assert_int_equal(len, 6);
  assert_string_equal(bytes, "abcdef");
  free(bytes);
  assert_int_equal(b.len, 0);
  assert_string_equal(buf_cstr(&b), "");
  assert_int_equal(buf_append_str(&b, "again"), 0);
  assert_string_equal(buf_cstr(&b), "again");
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cap_holds_and_a_refused_append_changes_nothing),
      cmocka_unit_test(test_a_cap_of_size_max_grows),
      cmocka_unit_test(test_steal_leaves_it_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
