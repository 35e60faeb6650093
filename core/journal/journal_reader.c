#include "journal_reader.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void journal_reader_init(journal_reader *r, const char *data, size_t len) {
  *r = (journal_reader){.data = data, .len = len};
}

journal_read_result journal_parse_line(const char *start, size_t n, size_t line, json_t **record,
                                       char *why, size_t whylen) {
  *record = NULL;
  if (n > JOURNAL_MAX_RECORD_BYTES) {
    snprintf(why, whylen, "line %zu is longer than %u MiB", line, JOURNAL_MAX_RECORD_BYTES >> 20);
    return JOURNAL_READ_GARBAGE;
  }
  json_error_t jerr;
  json_t *v = json_loadb(start, n, JSON_REJECT_DUPLICATES, &jerr);
  if (!v) {
    snprintf(why, whylen, "line %zu is not JSON: %s (column %d)", line, jerr.text, jerr.column);
    return JOURNAL_READ_GARBAGE;
  }
  if (!json_is_object(v) || !json_is_string(json_object_get(v, "kind"))) {
    json_decref(v);
    snprintf(why, whylen, "line %zu is not a journal record (an object with a \"kind\")", line);
    return JOURNAL_READ_GARBAGE;
  }
  *record = v;
  return JOURNAL_READ_RECORD;
}

void journal_reader_want(journal_reader *r, const char *const *wanted) { r->wanted = wanted; }

/* If s (n bytes) begins with `prefix` then a string "<word>" (no escapes),
 * the word and where it ends; else NULL. */
static const char *head_word(const char *s, size_t n, const char *prefix, const char **word,
                             size_t *len) {
  size_t p = strlen(prefix);
  if (n <= p || memcmp(s, prefix, p) != 0) return NULL;
  const char *end = memchr(s + p, '"', n - p);
  if (!end || memchr(s + p, '\\', (size_t)(end - s) - p)) return NULL;
  *word = s + p;
  *len = (size_t)(end - *word);
  return end + 1;
}

/* Whether the line's head names a record (or event) kind the reader does
 * not want: {"ts":"<24>","kind":"K"[,"event":{"kind":"E"]. */
int journal_line_unwanted(const char *const *wanted, const char *s, size_t n) {
  static const char ts[] = "{\"ts\":\"";
  static const size_t stamp_len = 24;
  const char *kind, *ev = NULL;
  size_t kind_len, ev_len = 0;
  size_t at = sizeof ts - 1 + stamp_len;
  if (!wanted || n <= at || memcmp(s, ts, sizeof ts - 1) != 0) return 0;
  const char *after = head_word(s + at, n - at, "\",\"kind\":\"", &kind, &kind_len);
  if (!after) return 0;
  if (kind_len == 5 && memcmp(kind, "event", 5) == 0 &&
      !head_word(after, n - (size_t)(after - s), ",\"event\":{\"kind\":\"", &ev, &ev_len))
    return 0;
  for (const char *const *w = wanted; *w; w++) {
    const char *space = strchr(*w, ' ');
    size_t wk = space ? (size_t)(space - *w) : strlen(*w);
    if (wk != kind_len || memcmp(*w, kind, kind_len) != 0) continue;
    if (!space || (ev && strlen(space + 1) == ev_len && memcmp(space + 1, ev, ev_len) == 0))
      return 0;
  }
  return 1;
}

journal_read_result journal_reader_next(journal_reader *r, json_t **record, char *why,
                                        size_t whylen) {
  *record = NULL;
  const char *start;
  size_t n;
  do {
    if (r->pos >= r->len) return JOURNAL_READ_END;
    start = r->data + r->pos;
    size_t rest = r->len - r->pos;
    const char *nl = memchr(start, '\n', rest);
    r->line++;
    if (!nl) {
      r->pos = r->len;
      snprintf(why, whylen, "line %zu is torn: %zu bytes without a newline", r->line, rest);
      return JOURNAL_READ_TORN;
    }
    n = (size_t)(nl - start);
    r->pos += n + 1;
    r->good_bytes = r->pos;
  } while (journal_line_unwanted(r->wanted, start, n));
  return journal_parse_line(start, n, r->line, record, why, whylen);
}

int journal_parse_utc(const char *text, unsigned long long *epoch_ms) {
  struct tm tm = {0};
  int ms = 0, used = 0;
  if (!text || strlen(text) != 24 ||
      sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &used) != 7 ||
      used != 24)
    return -1;
  if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || ms < 0)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t secs = timegm(&tm);
  if (secs < 0) return -1;
  *epoch_ms = (unsigned long long)secs * 1000 + (unsigned long long)ms;
  return 0;
}

const char *journal_event_kind(const json_t *ev) {
  const char *kind = json_string_value(json_object_get(ev, "kind"));
  return kind ? kind : json_string_value(json_object_get(ev, "type"));
}
