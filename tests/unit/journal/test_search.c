/* Search's words and queries: what counts as a word, the caps on words and
 * texts, and the query string with its refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search_query.h"

/* A call document holding text's words. */
static search_doc doc_of(const char *text) {
  search_doc d = {.kind = SEARCH_DOC_CALL, .ts_ms = 1781166605123.0};
  snprintf(d.outcome, sizeof d.outcome, "ok");
  assert_int_equal(search_words(text, strlen(text), &d.words, &d.word_count, &d.word_cap), 0);
  d.word_count = search_words_unique(d.words, d.word_count);
  return d;
}

static int finds(const char *text, const char *q) {
  search_doc d = doc_of(text);
  search_query query;
  search_query_init(&query);
  char err[256];
  assert_int_equal(search_query_set(&query, "q", q, err, sizeof err), 0);
  int found = search_query_matches(&query, &d);
  search_query_free(&query);
  free(d.words);
  return found;
}

static void test_words(void **state) {
  (void)state;
  assert_true(finds("sudo systemctl restart docker.service", "Docker RESTART"));
  assert_true(finds("x86_64 /var/log/syslog", "x86_64 var-log"));
  assert_false(finds("docker", "dock"));
  assert_true(finds("café naïve", "café"));
  assert_false(finds("CAFÉ", "café")); /* only ASCII is folded */
  /* A word is cut at 64 bytes: a longer one is found by its first 64. */
  char longword[101];
  memset(longword, 'a', 100);
  longword[100] = '\0';
  assert_true(finds(longword, longword + 36));
  /* A text is searched in its first 16 KiB. */
  size_t n = SEARCH_MAX_PIECE_BYTES + 32;
  char *big = malloc(n + 1);
  memset(big, ' ', n);
  memcpy(big, "early", 5);
  memcpy(big + n - 10, "late", 4);
  big[n] = '\0';
  assert_true(finds(big, "early"));
  assert_false(finds(big, "late"));
  free(big);
}

static void test_query_string(void **state) {
  (void)state;
  search_query q;
  search_query_init(&q);
  char err[256];
  assert_int_equal(search_query_parse(&q,
                                      "q=systemctl+restart%20docker&tool=devvm_shell&outcome=error"
                                      "&since=2026-06-11&until=2026-06-11&limit=7",
                                      err, sizeof err),
                   0);
  assert_int_equal(q.word_count, 3);
  assert_string_equal(q.tool, "devvm_shell");
  assert_string_equal(q.outcome, "error");
  assert_true(q.since_ms == 1781136000000.0);
  assert_true(q.until_ms == 1781136000000.0 + 86400000 - 1);
  assert_int_equal(q.limit, 7);
  search_doc d = doc_of("systemctl restart docker");
  assert_false(search_query_matches(&q, &d)); /* no tool */
  d.tool = "devvm_shell";
  snprintf(d.outcome, sizeof d.outcome, "error");
  assert_true(search_query_matches(&q, &d));
  d.ts_ms = NAN;
  assert_false(search_query_matches(&q, &d)); /* a time filter needs a time */
  free(d.words);
  search_query_free(&q);

  static const char *const bad[][2] = {
      {"q=%zz", "bad %-escape"},
      {"q=a%00b", "bad %-escape"},
      {"q=%4", "bad %-escape"},
      {"outcome=maybe", "outcome: 'maybe'"},
      {"since=2026-13-01", "since: '2026-13-01' is not a time"},
      {"until=soon", "until: 'soon' is not a time"},
      {"limit=1001", "limit: '1001'"},
      {"colour=red", "unknown parameter 'colour'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    search_query_init(&q);
    err[0] = '\0';
    assert_int_equal(search_query_parse(&q, bad[i][0], err, sizeof err), -1);
    if (!strstr(err, bad[i][1])) fail_msg("%s: %s", bad[i][0], err);
    search_query_free(&q);
  }
  search_query_init(&q);
  assert_int_equal(
      search_query_parse(&q, "since=1781136000000&until=2026-06-11T08:30:05Z", err, sizeof err), 0);
  assert_true(q.since_ms == 1781136000000.0);
  assert_true(q.until_ms == 1781166605000.0);
  search_query_free(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_words),
      cmocka_unit_test(test_query_string),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
