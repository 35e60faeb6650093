/* The runbooks folder: what is listed, read and grepped, and what is
 * refused: "..", absolute paths, symlinks out of the folder, files over
 * the cap, what is not text. A ConfigMap volume's symlinks (into ..data,
 * inside the folder) are followed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runbook.h"
#include "scratch.h"

static char base[64], dir[96];

static void link_to(const char *target, const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  assert_int_equal(symlink(target, path), 0);
}

static int setup(void **state) {
  (void)state;
  scratch_dir_make(base, sizeof base, "test-runbook");
  snprintf(dir, sizeof dir, "%s/runbooks", base);
  assert_int_equal(mkdir(dir, 0700), 0);
  scratch_write_text(base, "outside.md", "secret outside the folder: stall\n");
  scratch_write_text(dir, "hang.md", "# Hang\nThe disk I/O stalled.\ncycle, not reset\n");
  scratch_write_text(dir, "notes.txt", "nothing STALLED here\n");
  scratch_write_text(dir, "tool.bin", "stall");
  scratch_write(dir, "nul.md", "a\0b", 3);
  char *big = malloc(RUNBOOK_MAX_FILE_BYTES + 1);
  memset(big, 'x', RUNBOOK_MAX_FILE_BYTES + 1);
  scratch_write(dir, "big.md", big, RUNBOOK_MAX_FILE_BYTES + 1);
  memset(big, 'y', 100 * 1024);
  scratch_write(dir, "long.md", big, 100 * 1024);
  free(big);
  char path[256];
  snprintf(path, sizeof path, "%s/sub", dir);
  mkdir(path, 0700);
  scratch_write_text(dir, "sub/inner.md", "inner stall\n");
  snprintf(path, sizeof path, "%s/..data", dir);
  mkdir(path, 0700);
  scratch_write_text(dir, "..data/cm.md", "from a ConfigMap: stall\n");
  link_to("..data/cm.md", "cm.md");
  link_to("hang.md", "again.md");
  link_to("/etc/hostname", "absolute.md");
  link_to("../outside.md", "up.md");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  scratch_remove(base);
  return 0;
}

static const char *error_of(json_t *r) { return json_string_value(json_object_get(r, "error")); }

static void test_list(void **state) {
  (void)state;
  json_t *r = runbook_list(dir);
  char *text = json_dumps(json_object_get(r, "runbooks"), JSON_COMPACT);
  const char *want =
      "[{\"path\":\"again.md\",\"bytes\":46},{\"path\":\"big.md\",\"bytes\":262145},"
      "{\"path\":\"cm.md\",\"bytes\":24},{\"path\":\"hang.md\",\"bytes\":46},"
      "{\"path\":\"long.md\",\"bytes\":102400},{\"path\":\"notes.txt\",\"bytes\":21},"
      "{\"path\":\"nul.md\",\"bytes\":3},{\"path\":\"sub/inner.md\",\"bytes\":12}]";
  assert_string_equal(text, want);
  free(text);
  json_decref(r);
}

static void assert_refused(const char *path, const char *why) {
  json_t *r = runbook_read(dir, path, 0);
  const char *e = error_of(r);
  if (!e || !strstr(e, why))
    fail_msg("%s: got %s, want an error holding \"%s\"", path, e ? e : "no error", why);
  assert_null(json_object_get(r, "text"));
  json_decref(r);
}

static void test_refusals(void **state) {
  (void)state;
  assert_refused("../outside.md", "\"..\" is refused");
  assert_refused("sub/../../outside.md", "\"..\" is refused");
  assert_refused("/etc/hostname", "absolute paths are refused");
  assert_refused("absolute.md", "leads out of the runbooks folder");
  assert_refused("up.md", "leads out of the runbooks folder");
  assert_refused("big.md", "over the cap of 256 KiB");
  assert_refused("tool.bin", "only Markdown and text");
  assert_refused("nul.md", "not text");
  assert_refused("..data/cm.md", "hidden names");
  assert_refused("missing.md", "no such runbook");
  assert_refused("sub//inner.md", "empty part");
  assert_refused("", "empty");
}

static void test_read(void **state) {
  (void)state;
  json_t *r = runbook_read(dir, "cm.md", 0);
  assert_string_equal(json_string_value(json_object_get(r, "text")), "from a ConfigMap: stall\n");
  json_decref(r);
  r = runbook_read(dir, "sub/inner.md", 0);
  assert_string_equal(json_string_value(json_object_get(r, "text")), "inner stall\n");
  json_decref(r);

  r = runbook_read(dir, "long.md", 0);
  assert_int_equal(json_string_length(json_object_get(r, "text")), RUNBOOK_MAX_CALL_BYTES);
  assert_int_equal(json_integer_value(json_object_get(r, "next_offset")), RUNBOOK_MAX_CALL_BYTES);
  json_decref(r);
  r = runbook_read(dir, "long.md", RUNBOOK_MAX_CALL_BYTES);
  assert_int_equal(json_string_length(json_object_get(r, "text")),
                   100 * 1024 - RUNBOOK_MAX_CALL_BYTES);
  assert_null(json_object_get(r, "next_offset"));
  json_decref(r);
}

static void test_grep(void **state) {
  (void)state;
  json_t *r = runbook_grep(dir, "stall");
  char *text = json_dumps(json_object_get(r, "matches"), JSON_COMPACT);
  const char *want = "[{\"path\":\"again.md\",\"line\":2,\"text\":\"The disk I/O stalled.\"},"
                     "{\"path\":\"cm.md\",\"line\":1,\"text\":\"from a ConfigMap: stall\"},"
                     "{\"path\":\"hang.md\",\"line\":2,\"text\":\"The disk I/O stalled.\"},"
                     "{\"path\":\"notes.txt\",\"line\":1,\"text\":\"nothing STALLED here\"},"
                     "{\"path\":\"sub/inner.md\",\"line\":1,\"text\":\"inner stall\"}]";
  assert_string_equal(text, want);
  free(text);
  json_decref(r);
  r = runbook_grep(dir, "");
  assert_non_null(error_of(r));
  json_decref(r);
  r = runbook_list("/nonexistent/runbooks");
  assert_non_null(strstr(error_of(r), "cannot be opened"));
  json_decref(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_list),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_read),
      cmocka_unit_test(test_grep),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
