/* The intrusive lists' push and unlink: at the head, the middle and the
 * tail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dlist.h"

typedef struct node {
  struct node *prev, *next;
  int id;
} node;

static void expect_ids(node *head, const int *ids, size_t n) {
  size_t i = 0;
  node *prev = NULL;
  for (node *x = head; x; prev = x, x = x->next, i++) {
    assert_true(i < n);
    assert_int_equal(x->id, ids[i]);
    assert_ptr_equal(x->prev, prev);
  }
  assert_int_equal(i, n);
}

static void test_dlist_push_and_unlink(void **state) {
  (void)state;
  node n[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
  node *head = NULL;
  for (int i = 0; i < 4; i++) DLIST_PUSH(head, &n[i]);
  expect_ids(head, (int[]){3, 2, 1, 0}, 4);
  DLIST_UNLINK(head, &n[2]); /* the middle */
  expect_ids(head, (int[]){3, 1, 0}, 3);
  DLIST_UNLINK(head, &n[3]); /* the head */
  expect_ids(head, (int[]){1, 0}, 2);
  DLIST_UNLINK(head, &n[0]); /* the tail */
  expect_ids(head, (int[]){1}, 1);
  DLIST_UNLINK(head, &n[1]);
  assert_null(head);
  DLIST_PUSH(head, &n[2]); /* a node pushed again starts clean */
  expect_ids(head, (int[]){2}, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dlist_push_and_unlink),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
