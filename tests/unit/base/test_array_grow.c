/* The growable arrays' one way to make room. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>

#include "array_grow.h"

static void test_grows_by_doubling(void **state) {
  (void)state;
  int *v = NULL;
  size_t cap = 0, count = 0;
  size_t caps[40];
  for (int i = 0; i < 40; i++) {
    assert_int_equal(ARRAY_GROW(v, cap, count, 4), 0);
    assert_true(count < cap);
    v[count++] = i;
    caps[i] = cap;
  }
  assert_int_equal(caps[0], 4);
  assert_int_equal(caps[4], 8);
  assert_int_equal(caps[8], 16);
  assert_int_equal(caps[39], 64);
  for (int i = 0; i < 40; i++) assert_int_equal(v[i], i);
  free(v);
}

static void test_room_left_changes_nothing(void **state) {
  (void)state;
  int *v = malloc(8 * sizeof *v);
  assert_non_null(v);
  int *before = v;
  size_t cap = 8;
  assert_int_equal(ARRAY_GROW(v, cap, 7, 4), 0);
  assert_ptr_equal(v, before);
  assert_int_equal(cap, 8);
  free(v);
}

/* A capacity whose double would pass size_t: refused, the array kept. */
static void test_overflow_refused(void **state) {
  (void)state;
  struct big {
    char bytes[64];
  } *v = malloc(sizeof *v);
  assert_non_null(v);
  struct big *before = v;
  size_t cap = SIZE_MAX / sizeof *v / 2 + 1;
  size_t was = cap;
  assert_int_equal(ARRAY_GROW(v, cap, cap, 4), -1);
  assert_ptr_equal(v, before);
  assert_int_equal(cap, was);
  cap = SIZE_MAX / 2 + 1; /* doubling wraps to 0 */
  assert_int_equal(array_grow(&v, &cap, cap, 1, 4), -1);
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grows_by_doubling),
      cmocka_unit_test(test_room_left_changes_nothing),
      cmocka_unit_test(test_overflow_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
