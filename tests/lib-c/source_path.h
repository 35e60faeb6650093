/* Paths into the source tree, for tests that read its files (fixtures,
 * the shipped scripts): under BREAKGLASS_SOURCE_DIR, which ctest sets, or
 * under the current folder when a test is run by hand from the top. */
#ifndef SOURCE_PATH_H
#define SOURCE_PATH_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* path (size bytes) gets the source tree's folder, '/', then fmt's text. */
static inline void source_path(char *path, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void source_path(char *path, size_t size, const char *fmt, ...) {
  const char *dir = getenv("BREAKGLASS_SOURCE_DIR");
  int n = snprintf(path, size, "%s/", dir != NULL ? dir : ".");
  if (n < 0 || (size_t)n >= size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(path + n, size - (size_t)n, fmt, ap);
  va_end(ap);
}

#endif
