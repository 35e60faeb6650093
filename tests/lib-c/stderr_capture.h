/* What the code under test writes to stderr (the daemon's log), caught in
 * a temporary file for a cmocka test to read. Include it after cmocka.h. */
#ifndef STDERR_CAPTURE_H
#define STDERR_CAPTURE_H

#include <stdio.h>
#include <unistd.h>

typedef struct stderr_capture {
  FILE *file;
  int saved; /* the real stderr, put back by stderr_capture_stop */
} stderr_capture;

static inline void stderr_capture_start(stderr_capture *c) {
  c->file = tmpfile();
  assert_non_null(c->file);
  c->saved = dup(STDERR_FILENO);
  assert_true(c->saved >= 0);
  fflush(stderr);
  assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Puts stderr back; out (size bytes) gets what was written, cut to fit,
 * as a string. */
static inline void stderr_capture_stop(stderr_capture *c, char *out, size_t size) {
  fflush(stderr);
  assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
  close(c->saved);
  rewind(c->file);
  size_t n = fread(out, 1, size - 1, c->file);
  out[n] = '\0';
  fclose(c->file);
}

#endif
