/* A script read whole: the text, and why a path that is no script file is
 * refused (the host and require both report these words); a folder's
 * scripts listed as both load them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua_script_file.h"
#include "scratch.h"

typedef struct scratch {
  char dir[64];
  char file[96];
} scratch;

static int scratch_setup(void **state) {
  scratch *s = calloc(1, sizeof *s);
  scratch_dir_make(s->dir, sizeof s->dir, "lua-script-file");
  scratch_write_text(s->dir, "x.lua", "return 42\n");
  snprintf(s->file, sizeof s->file, "%s/x.lua", s->dir);
  *state = s;
  return 0;
}

static int scratch_teardown(void **state) {
  scratch *s = *state;
  scratch_remove(s->dir);
  free(s);
  return 0;
}

static void test_reads_whole(void **state) {
  scratch *s = *state;
  char *text = NULL, why[128];
  size_t len = 0;
  assert_int_equal(lua_script_read(s->file, 10, &text, &len, why, sizeof why), 0);
  assert_int_equal(len, 10);
  assert_memory_equal(text, "return 42\n", 10);
  free(text);
}

static void test_refusals(void **state) {
  scratch *s = *state;
  char *text = NULL, why[128], missing[128];
  size_t len = 0;
  snprintf(missing, sizeof missing, "%s/none.lua", s->dir);
  assert_int_equal(lua_script_read(missing, 10, &text, &len, why, sizeof why), -1);
  assert_string_equal(why, "No such file or directory");
  assert_null(text);
  assert_int_equal(lua_script_read(s->dir, 10, &text, &len, why, sizeof why), -2);
  assert_string_equal(why, "not a regular file");
  assert_null(text);
  assert_int_equal(lua_script_read(s->file, 9, &text, &len, why, sizeof why), -2);
  assert_string_equal(why, "larger than the script limit");
  assert_null(text);
}

/* Only *.lua files not hidden, in byte order (capitals first, as strcmp
 * sorts, whatever the locale). */
static void test_lists_scripts(void **state) {
  scratch *s = *state;
  scratch_write_text(s->dir, "a.lua", "");
  scratch_write_text(s->dir, "B.lua", "");
  scratch_write_text(s->dir, ".hidden.lua", "");
  scratch_write_text(s->dir, "notes.txt", "");
  scratch_write_text(s->dir, "x.lua.orig", "");
  struct dirent **names;
  int n = lua_script_list(s->dir, &names);
  assert_int_equal(n, 3);
  const char *want[] = {"B.lua", "a.lua", "x.lua"};
  for (int i = 0; i < n; i++) {
    assert_string_equal(names[i]->d_name, want[i]);
    free(names[i]);
  }
  free(names);
}

static void test_list_missing(void **state) {
  scratch *s = *state;
  char missing[128];
  struct dirent **names;
  snprintf(missing, sizeof missing, "%s/none", s->dir);
  assert_int_equal(lua_script_list(missing, &names), -1);
  assert_int_equal(errno, ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_reads_whole, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_refusals, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_lists_scripts, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_list_missing, scratch_setup, scratch_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
