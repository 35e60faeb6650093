/* replay_compare: the sentences replay prints for one call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "replay_compare.h"

static json_t *forensics_first(void) {
  return json_pack("[{s:s, s:s, s:s, s:{s:s, s:{s:s}}}]", "verdict", "run_first", "policy",
                   "forensics_first", "reason", "evidence first", "run_first", "tool", "pve",
                   "input", "verb", "forensics");
}

static json_t *denied_by(const char *policy) {
  return json_pack("[{s:s, s:s, s:s}]", "verdict", "deny", "policy", policy, "reason", "no");
}

static replay_call_facts facts(const char *was, const json_t *was_d, const char *now,
                               const json_t *now_d) {
  return (replay_call_facts){.tool = "pve",
                             .exists = 1,
                             .recorded_content = "pve cycle: ok",
                             .recorded = {was, was_d, 1},
                             .now = {now, now_d, 1}};
}

static const char *nth(const json_t *diffs, size_t i) {
  return json_string_value(json_array_get(diffs, i));
}

static void test_same_call_has_no_difference(void **state) {
  (void)state;
  json_t *d = forensics_first(), *e = forensics_first(), *diffs = json_array();
  replay_call_facts f = facts("allow", d, "allow", e);
  assert_int_equal(replay_compare(&f, diffs), 0);
  assert_int_equal(json_array_size(diffs), 0);
  json_decref(d), json_decref(e), json_decref(diffs);
}

static void test_newly_denied_names_policy_and_reason(void **state) {
  (void)state;
  json_t *none = json_array(), *deny = denied_by("deny_cycle"), *diffs = json_array();
  replay_call_facts f = facts("allow", none, "deny", deny);
  assert_int_equal(replay_compare(&f, diffs), 1);
  assert_string_equal(nth(diffs, 0), "decision: recorded allow, now deny (policy deny_cycle: no)");
  json_decref(none), json_decref(deny), json_decref(diffs);
}

static void test_denied_by_another_policy(void **state) {
  (void)state;
  json_t *a = denied_by("rate_limit"), *b = denied_by("deny_cycle"), *diffs = json_array();
  replay_call_facts f = facts("deny", a, "deny", b);
  assert_int_equal(replay_compare(&f, diffs), 1);
  assert_string_equal(nth(diffs, 0),
                      "denied by policy deny_cycle now, by policy rate_limit when recorded");
  json_decref(a), json_decref(b), json_decref(diffs);
}

static void test_inserted_and_dropped_runs(void **state) {
  (void)state;
  json_t *none = json_array(), *first = forensics_first(), *diffs = json_array();
  replay_call_facts added = facts("allow", none, "insert", first);
  assert_int_equal(replay_compare(&added, diffs), 1);
  assert_string_equal(
      nth(diffs, 0),
      "policy forensics_first would now run pve forensics first (not in the recording)");
  json_array_clear(diffs);
  replay_call_facts dropped = facts("allow", first, "allow", none);
  assert_int_equal(replay_compare(&dropped, diffs), 1);
  assert_string_equal(
      nth(diffs, 0),
      "policy forensics_first would no longer run pve forensics first (it did when recorded)");
  json_decref(none), json_decref(first), json_decref(diffs);
}

static void test_missing_tool_and_invalid_input(void **state) {
  (void)state;
  json_t *none = json_array(), *diffs = json_array();
  replay_call_facts gone = facts("allow", none, "allow", none);
  gone.exists = 0;
  gone.now.mutating = 0;
  assert_int_equal(replay_compare(&gone, diffs), 1);
  assert_string_equal(nth(diffs, 0), "tool pve no longer exists");
  /* It failed the same way live: no divergence. */
  json_array_clear(diffs);
  gone.recorded_content = "unknown tool \"pve\" (tools: echo)";
  assert_int_equal(replay_compare(&gone, diffs), 0);
  replay_call_facts bad = facts("allow", none, "allow", none);
  bad.invalid = "input.verb: must be one of the enum values";
  assert_int_equal(replay_compare(&bad, diffs), 1);
  assert_string_equal(nth(diffs, 0),
                      "input no longer validates: input.verb: must be one of the enum values");
  json_array_clear(diffs);
  bad.recorded_is_error = 1;
  bad.recorded_content = "invalid input: input.verb: must be one of the enum values";
  assert_int_equal(replay_compare(&bad, diffs), 0);
  json_decref(none), json_decref(diffs);
}

static void test_mutating_changed(void **state) {
  (void)state;
  json_t *none = json_array(), *diffs = json_array();
  replay_call_facts f = facts("allow", none, "allow", none);
  f.now.mutating = 0;
  assert_int_equal(replay_compare(&f, diffs), 1);
  assert_string_equal(nth(diffs, 0), "pve: now not mutating, recorded mutating");
  json_decref(none), json_decref(diffs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_call_has_no_difference),
      cmocka_unit_test(test_newly_denied_names_policy_and_reason),
      cmocka_unit_test(test_denied_by_another_policy),
      cmocka_unit_test(test_inserted_and_dropped_runs),
      cmocka_unit_test(test_missing_tool_and_invalid_input),
      cmocka_unit_test(test_mutating_changed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
