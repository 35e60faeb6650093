/* An event from a journal written before events named themselves by
 * "kind": served with kind, first, as the daemon's restore and the offline
 * commands both read it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>

#include "journal_events.h"

static void expect_served(const char *in, const char *want) {
  json_t *ev = journal_event_with_kind(json_loads(in, 0, NULL));
  char *got = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
  assert_string_equal(got, want);
  free(got);
  json_decref(ev);
}

static void test_type_becomes_kind(void **state) {
  (void)state;
  expect_served("{\"id\":3,\"type\":\"text\",\"text\":\"hi\"}",
                "{\"kind\":\"text\",\"id\":3,\"text\":\"hi\"}");
  /* A kind wins; a type that is no string is left as it is. */
  expect_served("{\"id\":4,\"type\":\"old\",\"kind\":\"new\"}",
                "{\"id\":4,\"type\":\"old\",\"kind\":\"new\"}");
  expect_served("{\"id\":5,\"type\":7}", "{\"id\":5,\"type\":7}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_type_becomes_kind),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
