/* The incident summary's sections, Markdown and plain text side by side.
 * The Markdown is checked whole against the page's own export
 * (export.test.mjs); the plain text's shape is pinned here.
 *
 * "What was asked": each prompt numbered, at its time, with who asked,
 * on one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "incident.h"

#define SUMMARY_MAX_BYTES (64u * 1024)

/* 2026-06-11T08:30:05Z and 08:31:10Z */
#define T0 1781166605000LL
#define T1 1781166670000LL

/* The section of the summary of events in format f, from its heading to
 * the next one, into out. */
static void asked_of(const json_t *events, incident_format f, char *out, size_t cap) {
  incident *in = incident_build(events, "s1");
  assert_non_null(in);
  buf b;
  buf_init(&b, SUMMARY_MAX_BYTES);
  incident_write(in, f, &b);
  const char *text = buf_cstr(&b);
  const char *from = strstr(text, "What was asked\n");
  assert_non_null(from);
  const char *to = strstr(from, "What was found\n");
  assert_non_null(to);
  while (to > from && to[-1] != '\n') to--; /* the heading's "## " */
  assert_true((size_t)(to - from) < cap);
  memcpy(out, from, (size_t)(to - from));
  out[to - from] = '\0';
  buf_free(&b);
  incident_free(in);
}

static json_t *two_prompts(void) {
  return json_pack("[{s:s, s:I, s:s, s:s}, {s:s, s:I, s:s}]", "kind", "user", "ts", T0, "text",
                   "is the `disk` | full?\nsay so", "identity", "ann", "kind", "user", "ts", T1,
                   "text", "and now");
}

static void markdown_numbers_the_prompts(void **state) {
  (void)state;
  json_t *events = two_prompts();
  char out[1024];
  asked_of(events, INCIDENT_MD, out, sizeof out);
  assert_string_equal(out, "What was asked\n"
                           "\n"
                           "1. 08:30:05 UTC (ann): is the `disk` \\| full? say so\n"
                           "2. 08:31:10 UTC: and now\n"
                           "\n");
  json_decref(events);
}

static void plain_text_numbers_the_prompts(void **state) {
  (void)state;
  json_t *events = two_prompts();
  char out[1024];
  asked_of(events, INCIDENT_TXT, out, sizeof out);
  assert_string_equal(out, "What was asked\n"
                           "  1. 08:30:05 (ann): is the `disk` | full? say so\n"
                           "  2. 08:31:10: and now\n"
                           "\n");
  json_decref(events);
}

static void plain_text_says_when_nothing_was_asked(void **state) {
  (void)state;
  json_t *events = json_pack("[{s:s, s:I}]", "kind", "session", "ts", T0);
  char out[1024];
  asked_of(events, INCIDENT_TXT, out, sizeof out);
  assert_string_equal(out, "What was asked\n"
                           "  Nothing was asked.\n"
                           "\n");
  asked_of(events, INCIDENT_MD, out, sizeof out);
  assert_string_equal(out, "What was asked\n"
                           "\n"
                           "\n");
  json_decref(events);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(markdown_numbers_the_prompts),
      cmocka_unit_test(plain_text_numbers_the_prompts),
      cmocka_unit_test(plain_text_says_when_nothing_was_asked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
