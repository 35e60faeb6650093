/* Scratch files and folders for a cmocka test: made fresh under /tmp,
 * written into, and removed with all they hold. Any failure fails the
 * test. Include it after cmocka.h. */
#ifndef SCRATCH_H
#define SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Makes /tmp/bg-<name>-XXXXXX; dir (size bytes) gets its path. */
static inline void scratch_dir_make(char *dir, size_t size, const char *name) {
  assert_true((size_t)snprintf(dir, size, "/tmp/bg-%s-XXXXXX", name) < size);
  assert_non_null(mkdtemp(dir));
}

/* Makes the empty file /tmp/bg-<name>-XXXXXX; path (size bytes) gets its
 * path. */
static inline void scratch_file_make(char *path, size_t size, const char *name) {
  assert_true((size_t)snprintf(path, size, "/tmp/bg-%s-XXXXXX", name) < size);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
}

/* Writes len bytes of data to dir/name, in place of what was there. */
static inline void scratch_write(const char *dir, const char *name, const void *data, size_t len) {
  char path[1024];
  assert_true((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static inline void scratch_write_text(const char *dir, const char *name, const char *text) {
  scratch_write(dir, name, text, strlen(text));
}

/* Removes path: a file, or a folder and all below it. */
static inline void scratch_remove(const char *path) {
  char cmd[1100];
  assert_true((size_t)snprintf(cmd, sizeof cmd, "rm -rf '%s'", path) < sizeof cmd);
  assert_int_equal(system(cmd), 0);
}

#endif
