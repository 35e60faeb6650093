#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level min) { min_level = min; }

unsigned long long log_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)(ts.tv_nsec / 1000000);
}

void log_format_utc(char *out, unsigned long long epoch_ms) {
  time_t secs = (time_t)(epoch_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  /* strftime bounds every field, which snprintf's analysis cannot see. */
  size_t n = strftime(out, 21, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 6, ".%03uZ", (unsigned)(epoch_ms % 1000));
}

void log_write(log_level level, const char *fmt, ...) {
  if (level < min_level) return;
  char stamp[32];
  log_format_utc(stamp, log_now_ms());
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* One fprintf per record keeps lines whole when stderr is a pipe. */
  fprintf(stderr, "%s %s %s\n", stamp, level_names[level], line);
}
