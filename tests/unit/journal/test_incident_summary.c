/* The incident summary's sections, Markdown and plain text side by side.
 * The Markdown is checked whole against the page's own export
 * (export.test.mjs); the plain text's shape is pinned here.
 *
 * "What was asked": each prompt numbered, at its time, with who asked,
 * on one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "incident.h"

#define SUMMARY_MAX_BYTES (64u * 1024)

/* 2026-06-11T08:30:05Z and 08:31:10Z */
#define T0 1781166605000LL
#define T1 1781166670000LL

/* The section of the summary of events in format f, from its heading to
 * the next one, is want. */
static void expect_asked(const json_t *events, incident_format f, const char *want) {
  incident *in = incident_build(events, "s1");
  assert_non_null(in);
  buf b;
  buf_init(&b, SUMMARY_MAX_BYTES);
  incident_write(in, f, &b);
  const char *from = strstr(buf_cstr(&b), "What was asked\n");
  assert_non_null(from);
  const char *to = strstr(from, "What was found\n");
  assert_non_null(to);
  while (to > from && to[-1] != '\n') to--; /* the heading's "## " */
  char *got = strndup(from, (size_t)(to - from));
  assert_string_equal(got, want);
  free(got);
  buf_free(&b);
  incident_free(in);
}

static void prompts_are_numbered_with_time_and_who(void **state) {
  (void)state;
  json_t *events = json_pack("[{s:s, s:I, s:s, s:s}, {s:s, s:I, s:s}]", "kind", "user", "ts", T0,
                             "text", "is the `disk` | full?\nsay so", "identity", "ann", "kind",
                             "user", "ts", T1, "text", "and now");
  expect_asked(events, INCIDENT_MD,
               "What was asked\n"
               "\n"
               "1. 08:30:05 UTC (ann): is the `disk` \\| full? say so\n"
               "2. 08:31:10 UTC: and now\n"
               "\n");
  expect_asked(events, INCIDENT_TXT,
               "What was asked\n"
               "  1. 08:30:05 (ann): is the `disk` | full? say so\n"
               "  2. 08:31:10: and now\n"
               "\n");
  json_decref(events);
}

/* Only the plain text says so; the Markdown's section stays empty. */
static void no_prompt_is_said_in_plain_text(void **state) {
  (void)state;
  json_t *events = json_pack("[{s:s, s:I}]", "kind", "session", "ts", T0);
  expect_asked(events, INCIDENT_MD, "What was asked\n\n\n");
  expect_asked(events, INCIDENT_TXT, "What was asked\n  Nothing was asked.\n\n");
  json_decref(events);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(prompts_are_numbered_with_time_and_who),
      cmocka_unit_test(no_prompt_is_said_in_plain_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
