/* The page's text forms, byte for byte: the times, durations, table
 * cells, inline code and quotes of www/incident.mjs (with formatDuration
 * of www/format.mjs), and the counts its summary gives. Cells, code and
 * quotes name their hidden characters first, as the page does. */
#include "incident_format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "js_reveal.h"
#include "js_text.h"

#define INCIDENT_NO_DURATION "\xe2\x80\x93" /* an en dash, as the page writes it */

int incident_iso_time(double ms, char out[80]) {
  if (!isfinite(ms) || fabs(ms) > 8.64e15) return -1;
  double whole = trunc(ms);
  long long t = (long long)whole;
  long long secs = t >= 0 ? t / 1000 : -((-t + 999) / 1000);
  int milli = (int)(t - secs * 1000);
  time_t tt = (time_t)secs;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) return -1;
  snprintf(out, 80, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
  return 0;
}

void incident_put_utc(buf *b, double ms) {
  char iso[80];
  if (incident_iso_time(ms, iso) != 0) {
    buf_append_str(b, "?");
    return;
  }
  iso[10] = ' ';
  buf_append(b, iso, 19);
  buf_append(b, "Z", 1);
}

void incident_put_clock(buf *b, double ms) {
  char iso[80];
  if (incident_iso_time(ms, iso) != 0)
    buf_append_str(b, "?");
  else
    buf_append(b, iso + 11, 8);
}

/* formatDuration (www/format.mjs); nothing for what is not a duration. */
static void put_duration(buf *b, double ms) {
  if (!isfinite(ms) || ms < 0) return;
  if (ms < 1000) {
    js_number(b, js_round(ms));
    buf_append_str(b, " ms");
    return;
  }
  if (ms < 60000) {
    js_fixed1(b, ms / 1000);
    buf_append_str(b, " s");
    return;
  }
  double s = js_round(ms / 1000);
  double rest = fmod(s, 60);
  if (s < 3600) {
    js_number(b, floor(s / 60));
    buf_appendf(b, " min %02d s", (int)rest);
    return;
  }
  js_number(b, floor(s / 3600));
  buf_appendf(b, " h %02d min", (int)fmod(floor(s / 60), 60));
}

void incident_put_took(buf *b, double ms) {
  size_t before = b->len;
  put_duration(b, ms);
  if (b->len == before) buf_append_str(b, INCIDENT_NO_DURATION);
}

/* text into a new buffer (buf_free it) with its hidden characters named. */
static void revealed(buf *out, const char *text) {
  buf_init(out, JS_TEXT_MAX_BYTES);
  js_reveal(out, text, strlen(text));
}

void incident_put_cell(buf *b, const char *text) {
  buf shown, joined;
  revealed(&shown, text);
  buf_init(&joined, JS_TEXT_MAX_BYTES);
  for (const char *p = buf_cstr(&shown); *p; p++) {
    if (*p == '|') buf_append(&joined, "\\", 1);
    buf_append(&joined, p, 1);
  }
  js_join_lines(b, joined.data ? joined.data : "", joined.len);
  buf_free(&joined);
  buf_free(&shown);
}

void incident_put_code(buf *b, const char *text) {
  buf shown, s;
  revealed(&shown, text);
  buf_init(&s, JS_TEXT_MAX_BYTES);
  js_join_lines(&s, buf_cstr(&shown), shown.len);
  buf_free(&shown);
  if (s.len > 0) {
    size_t longest = 0, run = 0;
    for (size_t i = 0; i < s.len; i++) {
      run = s.data[i] == '`' ? run + 1 : 0;
      if (run > longest) longest = run;
    }
    int pad = s.data[0] == '`' || s.data[s.len - 1] == '`';
    for (size_t i = 0; i <= longest; i++) buf_append(b, "`", 1);
    if (pad) buf_append(b, " ", 1);
    buf_append(b, s.data, s.len);
    if (pad) buf_append(b, " ", 1);
    for (size_t i = 0; i <= longest; i++) buf_append(b, "`", 1);
  }
  buf_free(&s);
}

/* The length of text without the whitespace at its end (trimEnd()). */
static size_t trim_end(const char *text, size_t len) {
  for (;;) {
    size_t w = 0;
    for (size_t k = 1; k <= 3 && k <= len && !w; k++)
      if (js_space_at(text + len - k, k) == k) w = k;
    if (!w) return len;
    len -= w;
  }
}

void incident_put_quote(buf *b, const char *raw, const char *mark) {
  buf shown;
  revealed(&shown, raw);
  const char *text = buf_cstr(&shown);
  size_t start, end;
  js_trim(text, shown.len, &start, &end);
  for (size_t at = start;;) {
    const char *nl = memchr(text + at, '\n', end - at);
    size_t line_end = nl ? (size_t)(nl - text) : end;
    buf line;
    buf_init(&line, JS_TEXT_MAX_BYTES);
    buf_append_str(&line, mark);
    buf_append(&line, text + at, line_end - at);
    buf_append(b, line.data, trim_end(line.data, line.len));
    buf_free(&line);
    if (!nl) break;
    buf_append(b, "\n", 1);
    at = line_end + 1;
  }
  buf_free(&shown);
}

int incident_has_findings(const incident_turn *t) {
  size_t s, e;
  js_trim(t->findings, strlen(t->findings), &s, &e);
  return e > s;
}

size_t incident_mutating_calls(const incident *in) {
  size_t n = 0;
  for (size_t i = 0; i < in->call_count; i++) n += in->calls[i].mutating;
  return n;
}

size_t incident_button_calls(const incident *in) {
  size_t n = 0;
  for (size_t i = 0; i < in->call_count; i++)
    n += strcmp(in->calls[i].source, "button") == 0 && !in->calls[i].inserted_by[0];
  return n;
}
