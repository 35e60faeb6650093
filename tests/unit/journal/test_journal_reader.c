/* The journal reader (records, torn last line, garbage at line N) and the
 * redaction of secrets from serialised records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "journal_reader.h"

typedef struct read_all {
  int records;
  int garbage;
  size_t garbage_lines[8];
  size_t torn_line;
  size_t good_bytes;
  char last_why[256];
} read_all;

static read_all read_text(const char *text) {
  read_all out = {0};
  journal_reader r;
  journal_reader_init(&r, text, strlen(text));
  json_t *rec;
  journal_read_result res;
  while ((res = journal_reader_next(&r, &rec, out.last_why, sizeof out.last_why)) !=
         JOURNAL_READ_END) {
    if (res == JOURNAL_READ_RECORD) {
      assert_non_null(rec);
      out.records++;
      json_decref(rec);
    } else if (res == JOURNAL_READ_GARBAGE) {
      assert_null(rec);
      if (out.garbage < 8) out.garbage_lines[out.garbage] = r.line;
      out.garbage++;
    } else {
      out.torn_line = r.line;
    }
  }
  out.good_bytes = r.good_bytes;
  return out;
}

/* read_text, and its counts must be these (torn_line 0: none is torn). */
static read_all expect_read(const char *text, int records, int garbage, size_t torn_line) {
  read_all a = read_text(text);
  assert_int_equal(a.records, records);
  assert_int_equal(a.garbage, garbage);
  assert_int_equal(a.torn_line, torn_line);
  return a;
}

static void reads_whole_lines(void **state) {
  (void)state;
  expect_read("{\"kind\":\"event\",\"ts\":\"x\"}\n{\"kind\":\"message\"}\n", 2, 0, 0);
}

static void empty_journal_has_nothing(void **state) {
  (void)state;
  expect_read("", 0, 0, 0);
}

static void torn_last_line_is_ignored(void **state) {
  (void)state;
  const char *text = "{\"kind\":\"a\"}\n{\"kind\":\"b\"}\n{\"kind\":\"c\",\"te";
  read_all a = expect_read(text, 2, 0, 3);
  assert_int_equal(a.good_bytes, strlen("{\"kind\":\"a\"}\n{\"kind\":\"b\"}\n"));
  assert_non_null(strstr(a.last_why, "line 3 is torn"));
}

/* A last line that parses but lacks its newline was still cut short: the
 * writer always ends a record with one. */
static void whole_json_without_newline_is_torn(void **state) {
  (void)state;
  expect_read("{\"kind\":\"a\"}\n{\"kind\":\"b\"}", 1, 0, 2);
}

static void garbage_in_the_middle_is_numbered_and_skipped(void **state) {
  (void)state;
  read_all a = expect_read("{\"kind\":\"a\"}\nnot json at all\n{\"kind\":\"b\"}\n[1,2]\n"
                           "{\"no_kind\":1}\n\n{\"kind\":\"c\"}\n",
                           3, 4, 0);
  assert_int_equal(a.garbage_lines[0], 2);
  assert_int_equal(a.garbage_lines[1], 4);
  assert_int_equal(a.garbage_lines[2], 5);
  assert_int_equal(a.garbage_lines[3], 6);
}

static void duplicate_keys_are_garbage(void **state) {
  (void)state;
  read_all a = expect_read("{\"kind\":\"a\",\"kind\":\"b\"}\n", 0, 1, 0);
  assert_non_null(strstr(a.last_why, "line 1 is not JSON"));
}

static void nul_bytes_do_not_stop_the_reader(void **state) {
  (void)state;
  static const char text[] = "{\"kind\":\"a\"}\n\0\0\0\n{\"kind\":\"b\"}\n";
  journal_reader r;
  journal_reader_init(&r, text, sizeof text - 1);
  json_t *rec;
  char why[128];
  int records = 0, garbage = 0;
  journal_read_result res;
  while ((res = journal_reader_next(&r, &rec, why, sizeof why)) != JOURNAL_READ_END) {
    records += res == JOURNAL_READ_RECORD;
    garbage += res == JOURNAL_READ_GARBAGE;
    json_decref(rec);
  }
  assert_int_equal(records, 2);
  assert_int_equal(garbage, 1);
}

/* A reader that wants some kinds skips, unparsed, the lines whose head
 * (as the daemon writes it) names another; lines are still numbered, the
 * last one can still be torn, and a line with another head is read as ever. */
static void wanted_kinds_skip_the_others_unparsed(void **state) {
  (void)state;
  static const char *const wanted[] = {"tool_call", "event tool", NULL};
  static const char text[] =
      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":\"message\",\"index\":0,broken\n"
      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":\"tool_call\",\"call_id\":\"a\"}\n"
      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":\"event\",\"event\":{\"kind\":"
      "\"tool_output\",broken\n"
      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":\"event\",\"event\":{\"kind\":"
      "\"tool\",\"id\":3}}\n"
      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":\"event\",\"event\":{\"id\":4,"
      "\"kind\":\"tool_output\"}}\n"
      "{\"kind\":\"message\",\"ts\":\"2026-06-11T08:30:05.123Z\"}\n"
      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":\"mes\\u0073age\"}\n"
      "not json\n"
      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":\"message\",torn";
  journal_reader r;
  journal_reader_init(&r, text, sizeof text - 1);
  journal_reader_want(&r, wanted);
  json_t *rec;
  char why[256];
  size_t lines[8];
  int n = 0;
  journal_read_result res;
  while ((res = journal_reader_next(&r, &rec, why, sizeof why)) != JOURNAL_READ_END && n < 8) {
    lines[n++] = res == JOURNAL_READ_GARBAGE ? 100 + r.line
                 : res == JOURNAL_READ_TORN  ? 200 + r.line
                                             : r.line;
    json_decref(rec);
  }
  /* 2 and 4: wanted; 5, 6, 7: heads not as the daemon writes them, read;
   * 8: garbage; 9: torn. 1 and 3 are skipped although broken. */
  static const size_t want[] = {2, 4, 5, 6, 7, 108, 209};
  assert_int_equal(n, sizeof want / sizeof want[0]);
  for (int i = 0; i < n; i++) assert_int_equal(lines[i], want[i]);
}

static void parses_utc_with_ms(void **state) {
  (void)state;
  unsigned long long ms = 0;
  assert_int_equal(journal_parse_utc("2026-06-11T08:30:05.123Z", &ms), 0);
  assert_true(ms == 1781166605123ULL);
  assert_int_equal(journal_parse_utc("2026-06-11T08:30:05Z", &ms), -1);
  assert_int_equal(journal_parse_utc("2026-13-11T08:30:05.123Z", &ms), -1);
  assert_int_equal(journal_parse_utc(NULL, &ms), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reads_whole_lines),
      cmocka_unit_test(empty_journal_has_nothing),
      cmocka_unit_test(torn_last_line_is_ignored),
      cmocka_unit_test(whole_json_without_newline_is_torn),
      cmocka_unit_test(garbage_in_the_middle_is_numbered_and_skipped),
      cmocka_unit_test(duplicate_keys_are_garbage),
      cmocka_unit_test(nul_bytes_do_not_stop_the_reader),
      cmocka_unit_test(wanted_kinds_skip_the_others_unparsed),
      cmocka_unit_test(parses_utc_with_ms),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
