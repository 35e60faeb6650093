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
#include "journal_redact.h"

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

static void reads_whole_lines(void **state) {
  (void)state;
  read_all a = read_text("{\"kind\":\"event\",\"ts\":\"x\"}\n{\"kind\":\"message\"}\n");
  assert_int_equal(a.records, 2);
  assert_int_equal(a.garbage, 0);
  assert_int_equal(a.torn_line, 0);
}

static void empty_journal_has_nothing(void **state) {
  (void)state;
  read_all a = read_text("");
  assert_int_equal(a.records, 0);
  assert_int_equal(a.torn_line, 0);
}

static void torn_last_line_is_ignored(void **state) {
  (void)state;
  const char *text = "{\"kind\":\"a\"}\n{\"kind\":\"b\"}\n{\"kind\":\"c\",\"te";
  read_all a = read_text(text);
  assert_int_equal(a.records, 2);
  assert_int_equal(a.garbage, 0);
  assert_int_equal(a.torn_line, 3);
  assert_int_equal(a.good_bytes, strlen("{\"kind\":\"a\"}\n{\"kind\":\"b\"}\n"));
  assert_non_null(strstr(a.last_why, "line 3 is torn"));
}

/* A last line that parses but lacks its newline was still cut short: the
 * writer always ends a record with one. */
static void whole_json_without_newline_is_torn(void **state) {
  (void)state;
  read_all a = read_text("{\"kind\":\"a\"}\n{\"kind\":\"b\"}");
  assert_int_equal(a.records, 1);
  assert_int_equal(a.torn_line, 2);
}

static void garbage_in_the_middle_is_numbered_and_skipped(void **state) {
  (void)state;
  read_all a = read_text("{\"kind\":\"a\"}\nnot json at all\n{\"kind\":\"b\"}\n[1,2]\n"
                         "{\"no_kind\":1}\n\n{\"kind\":\"c\"}\n");
  assert_int_equal(a.records, 3);
  assert_int_equal(a.garbage, 4);
  assert_int_equal(a.garbage_lines[0], 2);
  assert_int_equal(a.garbage_lines[1], 4);
  assert_int_equal(a.garbage_lines[2], 5);
  assert_int_equal(a.garbage_lines[3], 6);
  assert_int_equal(a.torn_line, 0);
}

static void duplicate_keys_are_garbage(void **state) {
  (void)state;
  read_all a = read_text("{\"kind\":\"a\",\"kind\":\"b\"}\n");
  assert_int_equal(a.records, 0);
  assert_int_equal(a.garbage, 1);
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

static void parses_utc_with_ms(void **state) {
  (void)state;
  unsigned long long ms = 0;
  assert_int_equal(journal_parse_utc("2026-06-11T08:30:05.123Z", &ms), 0);
  assert_true(ms == 1781166605123ULL);
  assert_int_equal(journal_parse_utc("2026-06-11T08:30:05Z", &ms), -1);
  assert_int_equal(journal_parse_utc("2026-13-11T08:30:05.123Z", &ms), -1);
  assert_int_equal(journal_parse_utc(NULL, &ms), -1);
}

static char *redact(const journal_redactor *r, const char *text) {
  size_t n;
  char *out = journal_redact(r, text, strlen(text), &n);
  assert_non_null(out);
  assert_int_equal(n, strlen(out));
  return out;
}

static void redacts_every_occurrence(void **state) {
  (void)state;
  journal_redactor *r = journal_redactor_new();
  assert_int_equal(journal_redactor_add(r, "sk-ant-secret-1", 15), 0);
  assert_int_equal(journal_redactor_add(r, "tok", 3), 0); /* too short: ignored */
  char *out = redact(r, "{\"a\":\"sk-ant-secret-1 and sk-ant-secret-1\",\"tok\":1}");
  assert_string_equal(out, "{\"a\":\"[redacted] and [redacted]\",\"tok\":1}");
  free(out);
  journal_redactor_free(r);
}

/* A secret shorter than the mark makes the text longer. */
static void redacts_secrets_shorter_than_the_mark(void **state) {
  (void)state;
  journal_redactor *r = journal_redactor_new();
  assert_int_equal(journal_redactor_add(r, "test-key", 8), 0);
  char *out = redact(r, "test-keytest-key");
  assert_string_equal(out, "[redacted][redacted]");
  free(out);
  journal_redactor_free(r);
}

static const char pem[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBZb2xvLWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDAwMDAwMAAAAJiYmJiY\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

static void redacts_the_key_whole_and_by_line(void **state) {
  (void)state;
  journal_redactor *r = journal_redactor_new();
  assert_int_equal(journal_redactor_add_key_file(r, pem, strlen(pem)), 0);
  /* Whole, JSON-escaped as a record holds it. */
  json_t *rec = json_pack("{s:s}", "content", pem);
  char *text = json_dumps(rec, JSON_COMPACT);
  char *out = redact(r, text);
  assert_string_equal(out, "{\"content\":\"[redacted]\"}");
  free(out);
  free(text);
  json_decref(rec);
  /* One line printed by itself, e.g. by `sed -n 2p`. */
  out = redact(r, "{\"text\":\"QyNTUxOQAAACBZb2xvLWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDAwMDAwMAAAAJiYmJiY\\n\"}");
  assert_string_equal(out, "{\"text\":\"[redacted]\\n\"}");
  free(out);
  /* The armour lines are not secret. */
  out = redact(r, "-----END OPENSSH PRIVATE KEY-----");
  assert_string_equal(out, "-----END OPENSSH PRIVATE KEY-----");
  free(out);
  journal_redactor_free(r);
}

/* Text that is not JSON (a log record) has secrets as given, and may quote
 * JSON that holds them escaped: both go. */
static void redacts_text_as_given_and_escaped(void **state) {
  (void)state;
  journal_redactor *r = journal_redactor_new();
  assert_int_equal(journal_redactor_add(r, "tok\"en-with-quote", 17), 0);
  assert_int_equal(journal_redactor_add_key_file(r, pem, strlen(pem)), 0);
  size_t n;
  const char *text = "raw tok\"en-with-quote, escaped tok\\\"en-with-quote, key:\n";
  char *out = journal_redact_text(r, text, strlen(text), &n);
  assert_string_equal(out, "raw [redacted], escaped [redacted], key:\n");
  free(out);
  out = journal_redact_text(r, pem, strlen(pem), &n);
  assert_string_equal(out, "[redacted]");
  free(out);
  /* The JSON form alone does not look for the raw one. */
  out = redact(r, "{\"a\":\"tok\"en-with-quote\"}");
  assert_string_equal(out, "{\"a\":\"tok\"en-with-quote\"}");
  free(out);
  journal_redactor_free(r);
}

static void no_redactor_copies(void **state) {
  (void)state;
  char *out = redact(NULL, "{\"a\":1}");
  assert_string_equal(out, "{\"a\":1}");
  free(out);
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
      cmocka_unit_test(parses_utc_with_ms),
      cmocka_unit_test(redacts_every_occurrence),
      cmocka_unit_test(redacts_secrets_shorter_than_the_mark),
      cmocka_unit_test(redacts_the_key_whole_and_by_line),
      cmocka_unit_test(redacts_text_as_given_and_escaped),
      cmocka_unit_test(no_redactor_copies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
