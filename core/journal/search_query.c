#include "search_query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_reader.h"

#define DAY_MS 86400000.0

void search_query_init(search_query *q) {
  memset(q, 0, sizeof *q);
  q->given = json_object();
  q->since_ms = q->until_ms = NAN;
  q->limit = SEARCH_DEFAULT_LIMIT_COUNT;
}

void search_query_free(search_query *q) {
  free(q->words);
  free(q->tool);
  free(q->verb);
  free(q->outcome);
  json_decref(q->given);
  memset(q, 0, sizeof *q);
}

/* A time: ISO 8601 UTC with or without milliseconds, a day (its start, or
 * with end set its last millisecond), or epoch milliseconds. */
static int parse_time(const char *v, int end, double *out) {
  unsigned long long ms;
  size_t n = strlen(v);
  if (n > 0 && n <= 15 && strspn(v, "0123456789") == n) {
    *out = strtod(v, NULL);
    return 0;
  }
  if (journal_parse_utc(v, &ms) == 0) {
    *out = (double)ms;
    return 0;
  }
  char full[32];
  if (n == 20 && v[19] == 'Z') {
    snprintf(full, sizeof full, "%.19s.000Z", v);
  } else if (n == 10) {
    snprintf(full, sizeof full, "%sT00:00:00.000Z", v);
  } else {
    return -1;
  }
  if (journal_parse_utc(full, &ms) != 0) return -1;
  *out = (double)ms + (n == 10 && end ? DAY_MS - 1 : 0);
  return 0;
}

static int set_text(char **slot, const char *value) {
  free(*slot);
  *slot = strdup(value);
  return *slot ? 0 : -1;
}

int search_query_set(search_query *q, const char *name, const char *value, char *err,
                     size_t errlen) {
  if (strlen(value) > SEARCH_MAX_VALUE_BYTES) {
    snprintf(err, errlen, "%s: longer than %d bytes", name, SEARCH_MAX_VALUE_BYTES);
    return -1;
  }
  int rc = 0;
  if (strcmp(name, "q") == 0) {
    q->word_count = 0;
    rc = search_words(value, strlen(value), &q->words, &q->word_count, &q->word_cap);
    q->word_count = search_words_unique(q->words, q->word_count);
  } else if (strcmp(name, "tool") == 0) {
    rc = set_text(&q->tool, value);
  } else if (strcmp(name, "verb") == 0) {
    rc = set_text(&q->verb, value);
  } else if (strcmp(name, "outcome") == 0) {
    if (strcmp(value, "ok") && strcmp(value, "error") && strcmp(value, "denied") &&
        strcmp(value, "unknown")) {
      snprintf(err, errlen, "outcome: '%.64s' is not ok, error, denied or unknown", value);
      return -1;
    }
    rc = set_text(&q->outcome, value);
  } else if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0) {
    int until = name[0] == 'u';
    if (parse_time(value, until, until ? &q->until_ms : &q->since_ms) != 0) {
      snprintf(err, errlen,
               "%s: '%.64s' is not a time (2026-06-11T08:30:05Z, 2026-06-11, or epoch "
               "milliseconds)",
               name, value);
      return -1;
    }
  } else if (strcmp(name, "limit") == 0) {
    char *end;
    long n = strtol(value, &end, 10);
    if (!*value || *end || n < 1 || n > SEARCH_MAX_LIMIT_COUNT) {
      snprintf(err, errlen, "limit: '%.64s' is not a number of sessions from 1 to %d", value,
               SEARCH_MAX_LIMIT_COUNT);
      return -1;
    }
    q->limit = (size_t)n;
  } else {
    snprintf(err, errlen, "unknown parameter '%.64s' (q, tool, verb, outcome, since, until, limit)",
             name);
    return -1;
  }
  if (rc != 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  json_object_set_new(q->given, name, json_string(value));
  return 0;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes s[0..n) into out (n + 1 bytes): -1 on a bad escape or a NUL. */
static int url_decode(const char *s, size_t n, char *out) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '+') {
      out[k++] = ' ';
    } else if (s[i] == '%') {
      int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
      int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return -1;
      out[k++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      out[k++] = s[i];
    }
  }
  out[k] = '\0';
  return 0;
}

int search_query_parse(search_query *q, const char *query, char *err, size_t errlen) {
  for (const char *p = query; p && *p;) {
    size_t n = strcspn(p, "&");
    const char *eq = memchr(p, '=', n);
    size_t name_len = eq ? (size_t)(eq - p) : n, value_len = eq ? n - name_len - 1 : 0;
    if (n > 0) {
      char *name = malloc(name_len + 1), *value = malloc(value_len + 1);
      int ok = name && value && url_decode(p, name_len, name) == 0 &&
               url_decode(eq ? eq + 1 : "", value_len, value) == 0;
      int rc = ok ? search_query_set(q, name, value, err, errlen) : -1;
      if (!ok) snprintf(err, errlen, "the query string has a bad %%-escape");
      free(name);
      free(value);
      if (rc != 0) return -1;
    }
    p += n;
    if (*p == '&') p++;
  }
  return 0;
}

int search_query_matches(const search_query *q, const search_doc *d) {
  for (size_t i = 0; i < q->word_count; i++)
    if (!search_doc_has(d, q->words[i])) return 0;
  int call = d->kind == SEARCH_DOC_CALL;
  if (q->tool && (!call || !d->tool || strcmp(d->tool, q->tool) != 0)) return 0;
  if (q->verb && (!call || !d->verb || strcmp(d->verb, q->verb) != 0)) return 0;
  if (q->outcome && (!call || strcmp(d->outcome, q->outcome) != 0)) return 0;
  if (!isnan(q->since_ms) && !(d->ts_ms >= q->since_ms)) return 0;
  if (!isnan(q->until_ms) && !(d->ts_ms <= q->until_ms)) return 0;
  return 1;
}
