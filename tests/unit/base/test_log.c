/* The log: both formats, the context fields, and the redactor on every
 * record, read back from stderr as the cluster would read it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"
#include "redactor.h"
#include "stderr_capture.h"

#define CAPTURE_MAX_BYTES (256u * 1024)

/* 2026-06-11T08:30:05.123Z */
static const unsigned long long T0 = 1781166605123ULL;

static const char pem[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                          "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
                          "QyNTUxOQAAACBZb2xvLWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDAwMDAwMAAAAJiYmJiY\n"
                          "-----END OPENSSH PRIVATE KEY-----\n";

/* Runs fn with stderr going to a file; returns what it wrote. */
static char *capture(void (*fn)(void)) {
  char *out = malloc(CAPTURE_MAX_BYTES);
  assert_non_null(out);
  stderr_capture c;
  stderr_capture_start(&c);
  fn();
  stderr_capture_stop(&c, out, CAPTURE_MAX_BYTES);
  return out;
}

static void plain_record_is_unchanged(void **state) {
  (void)state;
  log_context c = {.request_id = "r1"};
  char out[256];
  log_format_record(out, sizeof out, LOG_FORMAT_PLAIN, LOG_WARN, T0, "scripts: two\nlines", &c);
  assert_string_equal(out, "2026-06-11T08:30:05.123Z warn scripts: two\nlines");
}

static void json_record_has_the_context(void **state) {
  (void)state;
  log_context c = {.request_id = ""};
  log_context_set(&c, "req-1", "abcd", NULL, "user:\"ann\"");
  char out[512];
  log_format_record(out, sizeof out, LOG_FORMAT_JSON, LOG_INFO, T0,
                    "a \"quote\", a tab\t, \x01 and bad \xff utf-8", &c);
  assert_string_equal(out,
                      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"level\":\"info\","
                      "\"msg\":\"a \\\"quote\\\", a tab\\t, \\u0001 and bad \xEF\xBF\xBD utf-8\","
                      "\"request_id\":\"req-1\",\"session\":\"abcd\","
                      "\"identity\":\"user:\\\"ann\\\"\"}");
  json_error_t err;
  json_t *j = json_loads(out, 0, &err);
  assert_non_null(j);
  assert_null(json_object_get(j, "call_id")); /* absent where it does not apply */
  json_decref(j);
}

/* Every character JSON must escape, escaped as jansson escapes it (the
 * redactor matches secrets in that form). */
static void json_record_escapes_as_jansson(void **state) {
  (void)state;
  log_context c = {.request_id = ""};
  char msg[64], *m = msg;
  for (int ch = 1; ch < 0x20; ch++) *m++ = (char)ch;
  strcpy(m, "\"\\/\x7f");
  char out[512];
  log_format_record(out, sizeof out, LOG_FORMAT_JSON, LOG_INFO, T0, msg, &c);
  json_t *s = json_string(msg);
  char *want = json_dumps(s, JSON_ENCODE_ANY);
  assert_non_null(want);
  assert_non_null(strstr(out, want));
  free(want);
  json_decref(s);
}

static void context_enter_and_leave(void **state) {
  (void)state;
  log_context outer = {.request_id = ""};
  log_context_set(&outer, "outer", NULL, NULL, NULL);
  log_context before = log_context_enter(&outer);
  log_context inner = *log_context_now();
  log_context_set(&inner, NULL, "sess", "call", NULL);
  log_context mid = log_context_enter(&inner);
  assert_string_equal(log_context_now()->request_id, "outer");
  assert_string_equal(log_context_now()->call_id, "call");
  log_context_leave(&mid);
  assert_string_equal(log_context_now()->call_id, "");
  log_context_leave(&before);
  assert_string_equal(log_context_now()->request_id, "");
  /* A field is cut to fit, on a character boundary. */
  char longer[LOG_MAX_FIELD_BYTES * 2];
  memset(longer, 'i', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  log_context_set(&outer, longer, NULL, NULL, NULL);
  assert_int_equal(strlen(outer.request_id), LOG_MAX_FIELD_BYTES - 1);
}

static redactor *test_redactor(void) {
  redactor *r = redactor_new();
  assert_int_equal(redactor_add(r, "sk-ant-api-KEY-123", 18), 0);
  assert_int_equal(redactor_add(r, "bearer\"with\\odd", 15), 0);
  assert_int_equal(redactor_add_key_file(r, pem, strlen(pem)), 0);
  return r;
}

static void write_secrets(void) {
  log_context c = {.request_id = ""};
  /* A client may send a secret as its request id: the context is redacted too. */
  log_context_set(&c, "sk-ant-api-KEY-123", "s1", "toolu_1", "bearer");
  log_context previous = log_context_enter(&c);
  log_error(
      "model call failed: {\"error\":{\"message\":\"invalid x-api-key sk-ant-api-KEY-123\"}}");
  log_warn("token bearer\"with\\odd, escaped bearer\\\"with\\\\odd");
  log_info("the key:\n%s and one line "
           "QyNTUxOQAAACBZb2xvLWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDAwMDAwMAAAAJiYmJiY",
           pem);
  log_debug("not written at info");
  log_context_leave(&previous);
}

static void assert_no_secret(const char *text) {
  assert_null(strstr(text, "sk-ant-api-KEY"));
  assert_null(strstr(text, "with\\odd"));
  assert_null(strstr(text, "with\\\\odd"));
  assert_null(strstr(text, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"));
  assert_null(strstr(text, "QyNTUxOQAAACBZb2xvLWtleS1mb3I"));
}

/* Every JSON line is whole and parses; no secret survives, in the message
 * or in a context field, as given or JSON-escaped. */
static void json_lines_are_redacted(void **state) {
  (void)state;
  redactor *r = test_redactor();
  log_set_redactor(r);
  log_set_format(LOG_FORMAT_JSON);
  char *out = capture(write_secrets);
  log_set_format(LOG_FORMAT_PLAIN);
  log_set_redactor(NULL);
  redactor_free(r);
  assert_no_secret(out);
  int lines = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), lines++) {
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    if (!j) fail_msg("not JSON: %s (%s)", line, err.text);
    assert_string_equal(json_string_value(json_object_get(j, "request_id")), REDACT_MARK);
    assert_string_equal(json_string_value(json_object_get(j, "call_id")), "toolu_1");
    assert_non_null(strstr(json_string_value(json_object_get(j, "msg")), REDACT_MARK));
    json_decref(j);
  }
  assert_int_equal(lines, 3);
  free(out);
}

static void plain_lines_are_redacted(void **state) {
  (void)state;
  redactor *r = test_redactor();
  log_set_redactor(r);
  char *out = capture(write_secrets);
  log_set_redactor(NULL);
  redactor_free(r);
  assert_no_secret(out);
  assert_non_null(strstr(out, " error model call failed: "));
  free(out);
}

static char *long_message;

static void write_long(void) { log_info("%s", long_message); }

/* The length limit cuts after redaction: a secret across the cut is not
 * left half there. */
static void long_messages_are_cut_after_redaction(void **state) {
  (void)state;
  redactor *r = test_redactor();
  log_set_redactor(r);
  size_t n = LOG_MAX_MESSAGE_BYTES + 64;
  long_message = malloc(n + 1);
  memset(long_message, 'a', n);
  memcpy(long_message + LOG_MAX_MESSAGE_BYTES - 6, "sk-ant-api-KEY-123", 18);
  long_message[n] = '\0';
  log_set_format(LOG_FORMAT_JSON);
  char *out = capture(write_long);
  log_set_format(LOG_FORMAT_PLAIN);
  log_set_redactor(NULL);
  redactor_free(r);
  free(long_message);
  assert_null(strstr(out, "sk-ant"));
  json_error_t err;
  json_t *j = json_loads(out, 0, &err);
  assert_non_null(j);
  assert_true(json_string_length(json_object_get(j, "msg")) <= LOG_MAX_MESSAGE_BYTES);
  json_decref(j);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(plain_record_is_unchanged),
      cmocka_unit_test(json_record_has_the_context),
      cmocka_unit_test(json_record_escapes_as_jansson),
      cmocka_unit_test(context_enter_and_leave),
      cmocka_unit_test(json_lines_are_redacted),
      cmocka_unit_test(plain_lines_are_redacted),
      cmocka_unit_test(long_messages_are_cut_after_redaction),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
