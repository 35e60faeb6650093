/* The offline commands' arguments: a path, an option with its value,
 * --json where the command has it; anything else is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli_args.h"

typedef struct parsed {
  int rc;
  const char *path, *value;
  int json;
} parsed;

static parsed parse(int argc, char **argv, int with_json) {
  parsed p = {.value = "default"};
  p.rc = cli_args_parse(argc, argv, &p.path, "--key", &p.value, with_json ? &p.json : NULL);
  return p;
}

static void test_accepted(void **state) {
  (void)state;
  char *full[] = {"--json", "j.jsonl", "--key", "k"};
  parsed p = parse(4, full, 1);
  assert_int_equal(p.rc, 0);
  assert_string_equal(p.path, "j.jsonl");
  assert_string_equal(p.value, "k");
  assert_int_equal(p.json, 1);
  char *bare[] = {"dir"};
  p = parse(1, bare, 1);
  assert_int_equal(p.rc, 0);
  assert_string_equal(p.path, "dir");
  assert_string_equal(p.value, "default");
  assert_int_equal(p.json, 0);
}

static void test_refused(void **state) {
  (void)state;
  char *none[] = {"--json"};
  assert_int_equal(parse(1, none, 1).rc, -1);
  char *two[] = {"a", "b"};
  assert_int_equal(parse(2, two, 1).rc, -1);
  char *no_value[] = {"a", "--key"};
  assert_int_equal(parse(2, no_value, 1).rc, -1);
  char *unknown[] = {"a", "--other", "x"};
  assert_int_equal(parse(3, unknown, 1).rc, -1);
  char *json_not_taken[] = {"a", "--json"};
  assert_int_equal(parse(2, json_not_taken, 0).rc, -1);
  assert_int_equal(parse(0, NULL, 1).rc, -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accepted),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
