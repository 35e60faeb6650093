/* The bounds of the helpers every folder uses: the log, the redactor,
 * metrics, JSON paths, the settings' own caps. Each is a macro of its own
 * for the code; BASE_LIMITS lists them all, X(NAME, unit, what it bounds),
 * for `breakglass --help --limits`. A name ends in its unit. */
#ifndef BG_BASE_LIMITS_H
#define BG_BASE_LIMITS_H

/* Past it the text is cut. */
#define LOG_MAX_MESSAGE_BYTES (16u * 1024)
/* Longer values are cut (they are ids and names). */
#define LOG_MAX_FIELD_BYTES 128
/* The message and the fields, escaped (at most 6 bytes a byte), and the
 * keys. */
#define LOG_MAX_RECORD_BYTES (8 * (LOG_MAX_MESSAGE_BYTES + 4 * LOG_MAX_FIELD_BYTES) + 256)
/* Shorter values are not treated as secrets: replacing them would garble
 * ordinary text and hides little. */
#define REDACT_MIN_SECRET_BYTES 8
#define REDACT_MAX_SECRETS_COUNT 256
/* Past it journal_redactor_add fails. */
#define REDACT_MAX_PATTERN_BYTES (64u * 1024)
/* Beyond it everything goes to the series whose labels are all "other"
 * (one more). The label caps keep real families far below it. */
#define METRICS_MAX_SERIES_COUNT 1024
#define METRICS_MAX_LABELS_COUNT 3
/* The rest fold into "other". */
#define METRICS_MAX_LABEL_VALUES_COUNT 32
/* A longer label value is "other" too. */
#define METRICS_MAX_LABEL_VALUE_BYTES 64
#define METRICS_MAX_BUCKETS_COUNT 16
#define JSON_PATH_MAX_BYTES 256
/* 1 TiB: past any machine this runs on, and far from overflowing bytes. */
#define LUA_MEMORY_MAX_MB (1 << 20)

#define BASE_LIMITS(X)                                                                             \
  X(LOG_MAX_MESSAGE_BYTES, "bytes", "the text of one log record")                                  \
  X(LOG_MAX_FIELD_BYTES, "bytes", "one context field of a log record")                             \
  X(LOG_MAX_RECORD_BYTES, "bytes", "a whole log record")                                           \
  X(REDACT_MIN_SECRET_BYTES, "bytes", "the shortest value treated as a secret")                    \
  X(REDACT_MAX_SECRETS_COUNT, "count", "secrets one redactor knows")                               \
  X(REDACT_MAX_PATTERN_BYTES, "bytes", "all secrets' forms together")                              \
  X(METRICS_MAX_SERIES_COUNT, "count", "series in one metric family")                              \
  X(METRICS_MAX_LABELS_COUNT, "count", "labels of one metric family")                              \
  X(METRICS_MAX_LABEL_VALUES_COUNT, "count", "distinct values of one open label")                  \
  X(METRICS_MAX_LABEL_VALUE_BYTES, "bytes", "one label value")                                     \
  X(METRICS_MAX_BUCKETS_COUNT, "count", "buckets of one histogram")                                \
  X(JSON_PATH_MAX_BYTES, "bytes", "a JSON path named in an error")                                 \
  X(LUA_MEMORY_MAX_MB, "MB", "the largest BREAKGLASS_LUA_MEMORY_MB and _TOTAL_MB accepted")

#endif
