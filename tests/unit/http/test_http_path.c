/* Percent-decoding and the traversal check, including encoded variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "http_path.h"

/* Decodes raw and reports whether the result is safe to look up; false
 * also when it does not decode at all. */
static bool path_ok(const char *raw) {
  char out[256];
  size_t n = 0;
  assert_true(strlen(raw) < sizeof(out));
  if (http_path_decode(raw, strlen(raw), out, &n) != 0) return false;
  assert_int_equal(n, strlen(out));
  return http_path_is_safe(out);
}

static void test_decode(void **state) {
  (void)state;
  char out[64];
  size_t n = 0;
  assert_int_equal(http_path_decode("/a%20b%2Fc%2fd+e", 16, out, &n), 0);
  assert_string_equal(out, "/a b/c/d+e");
  assert_int_equal(n, 10);
  assert_int_equal(http_path_decode("%41%62", 6, out, &n), 0);
  assert_string_equal(out, "Ab");
  assert_int_equal(http_path_decode("", 0, out, &n), 0);
  assert_string_equal(out, "");
  /* Only len bytes are read. */
  assert_int_equal(http_path_decode("/ab%zz", 3, out, &n), 0);
  assert_string_equal(out, "/ab");
}

static void test_decode_rejects_bad_escapes_and_nul(void **state) {
  (void)state;
  static const char *const bad[] = {"/a%", "/a%2", "/a%zz", "/a%2g", "/a/%00", "%00", "/%0"};
  char out[64];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (http_path_decode(bad[i], strlen(bad[i]), out, NULL) == 0) fail_msg("decoded %s", bad[i]);
}

static void test_safe_paths(void **state) {
  (void)state;
  assert_true(path_ok("/"));
  assert_true(path_ok("/index.html"));
  assert_true(path_ok("/assets/app.js"));
  assert_true(path_ok("/a..b/.hidden/x..."));
  assert_true(path_ok("/%61pp.css"));
}

static void test_traversal_is_refused(void **state) {
  (void)state;
  static const char *const bad[] = {
      "/../../etc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/%2E%2E%2Fetc",
      "/a/%2e%2e",
      "/a/..",
      "/a/%2e",
      "/./a",
      "/a/%00",
      "//etc/passwd",
      "/a//b",
      "/a/",
      "/..%5c..%5cetc",
      "/a\\b",
      "/a%5cb",
      "/a%0ab",
      "/a%7f",
      "",
      "etc/passwd",
      "%2e%2e/etc",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (path_ok(bad[i])) fail_msg("accepted %s", bad[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode),
      cmocka_unit_test(test_decode_rejects_bad_escapes_and_nul),
      cmocka_unit_test(test_safe_paths),
      cmocka_unit_test(test_traversal_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
