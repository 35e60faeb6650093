/* The registry and the text format (metrics.h). A family keeps its label
 * values interned (one copy each), so a series is a tuple of pointers and
 * finding one compares pointers. Series are allocated one by one, never
 * moved: callers may keep them. */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "limits_table.h"

struct metric_series {
  metric_series *next; /* the family's series, in order of creation */
  const metric *family;
  const char *values[METRICS_MAX_LABELS_COUNT]; /* interned */
  double value;                                 /* counter, gauge; histogram: the sum */
  unsigned long long count;
  unsigned long long buckets[]; /* histograms: bound_count + 1 (+Inf) */
};

typedef struct label_state {
  char *name;
  char **closed;                              /* NULL-terminated copy, or NULL when open */
  char *seen[METRICS_MAX_LABEL_VALUES_COUNT]; /* open: the values met so far */
  size_t seen_count;
} label_state;

struct metric {
  metric *next;
  metric_type type;
  char *name, *help;
  label_state labels[METRICS_MAX_LABELS_COUNT];
  size_t label_count;
  double bounds[METRICS_MAX_BUCKETS_COUNT];
  size_t bound_count;
  metric_series *series, *last;
  size_t series_count;
};

struct metrics {
  metric *families, *last;
};

static const char other_value[] = METRICS_OTHER;

metrics *metrics_new(void) { return calloc(1, sizeof(metrics)); }

static void family_free(metric *f) {
  for (metric_series *s = f->series, *next; s; s = next) {
    next = s->next;
    free(s);
  }
  for (size_t i = 0; i < f->label_count; i++) {
    label_state *l = &f->labels[i];
    free(l->name);
    for (char **v = l->closed; v && *v; v++) free(*v);
    free(l->closed);
    for (size_t k = 0; k < l->seen_count; k++) free(l->seen[k]);
  }
  free(f->name);
  free(f->help);
  free(f);
}

void metrics_free(metrics *m) {
  if (!m) return;
  for (metric *f = m->families, *next; f; f = next) {
    next = f->next;
    family_free(f);
  }
  free(m);
}

/* --- declaring ----------------------------------------------------------- */

static int name_valid(const char *s, int label) {
  if (!s || !*s) return 0;
  for (const char *p = s; *p; p++) {
    char c = *p;
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                (!label && c == ':');
    if (!alpha && !(p > s && c >= '0' && c <= '9')) return 0;
  }
  /* "le" is the histogram's own; names starting "__" are Prometheus's. */
  return !label || (strcmp(s, "le") != 0 && strncmp(s, "__", 2) != 0);
}

static int label_init(label_state *l, const metric_label *d) {
  if (!name_valid(d->name, 1) || !(l->name = strdup(d->name))) return -1;
  if (!d->values) return 0;
  size_t n = 0;
  while (d->values[n]) n++;
  if (n == 0 || !(l->closed = calloc(n + 1, sizeof(char *)))) return -1;
  for (size_t i = 0; i < n; i++)
    if (!(l->closed[i] = strdup(d->values[i]))) return -1;
  return 0;
}

static metric_series *series_new(metric *f, const char *const *interned) {
  size_t buckets = f->type == METRIC_HISTOGRAM ? f->bound_count + 1 : 0;
  metric_series *s = calloc(1, sizeof *s + buckets * sizeof s->buckets[0]);
  if (!s) return NULL;
  s->family = f;
  for (size_t i = 0; i < f->label_count; i++) s->values[i] = interned[i];
  if (f->last)
    f->last->next = s;
  else
    f->series = s;
  f->last = s;
  f->series_count++;
  return s;
}

/* Every combination of closed values, at 0; label i onwards. */
static int family_fill(metric *f, const char **tuple, size_t i) {
  if (i == f->label_count) return series_new(f, tuple) ? 0 : -1;
  /* family_init allows no more labels; said again so that gcc -O3, which
   * unrolls this recursion, sees the bound. */
  if (i >= METRICS_MAX_LABELS_COUNT) return -1;
  for (char **v = f->labels[i].closed; *v; v++) {
    tuple[i] = *v;
    if (family_fill(f, tuple, i + 1) != 0) return -1;
  }
  return 0;
}

static int family_closed_size(const metric *f, size_t *size) {
  *size = 1;
  for (size_t i = 0; i < f->label_count; i++) {
    if (!f->labels[i].closed) return 0;
    size_t n = 0;
    while (f->labels[i].closed[n]) n++;
    *size *= n;
  }
  return 1;
}

static int family_init(metric *f, const metric_desc *d) {
  if (!name_valid(d->name, 0) || !d->help || d->label_count > METRICS_MAX_LABELS_COUNT ||
      (d->label_count && !d->labels))
    return -1;
  if (d->type == METRIC_HISTOGRAM) {
    if (d->bound_count == 0 || d->bound_count > METRICS_MAX_BUCKETS_COUNT) return -1;
    for (size_t i = 0; i < d->bound_count; i++)
      if (!isfinite(d->bounds[i]) || (i > 0 && d->bounds[i] <= d->bounds[i - 1])) return -1;
    memcpy(f->bounds, d->bounds, d->bound_count * sizeof(double));
    f->bound_count = d->bound_count;
  }
  f->type = d->type;
  if (!(f->name = strdup(d->name)) || !(f->help = strdup(d->help))) return -1;
  for (size_t i = 0; i < d->label_count; i++) {
    f->label_count = i + 1;
    if (label_init(&f->labels[i], &d->labels[i]) != 0) return -1;
    for (size_t k = 0; k < i; k++)
      if (strcmp(f->labels[k].name, f->labels[i].name) == 0) return -1;
  }
  size_t size;
  const char *tuple[METRICS_MAX_LABELS_COUNT] = {0};
  if (family_closed_size(f, &size) && size <= METRICS_MAX_SERIES_COUNT)
    return family_fill(f, tuple, 0);
  return 0;
}

metric *metrics_add(metrics *m, const metric_desc *d) {
  if (!m || !d) return NULL;
  metric *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  if (family_init(f, d) != 0) {
    family_free(f);
    return NULL;
  }
  if (m->last)
    m->last->next = f;
  else
    m->families = f;
  m->last = f;
  return f;
}

/* --- finding a series ---------------------------------------------------- */

/* The interned copy of v for label l, or "other". */
static const char *label_intern(label_state *l, const char *v) {
  if (!v || !*v || strlen(v) > METRICS_MAX_LABEL_VALUE_BYTES) return other_value;
  if (l->closed) {
    for (char **c = l->closed; *c; c++)
      if (strcmp(*c, v) == 0) return *c;
    return other_value;
  }
  for (size_t k = 0; k < l->seen_count; k++)
    if (strcmp(l->seen[k], v) == 0) return l->seen[k];
  if (l->seen_count == METRICS_MAX_LABEL_VALUES_COUNT) return other_value;
  char *copy = strdup(v);
  if (!copy) return other_value;
  l->seen[l->seen_count++] = copy;
  return copy;
}

static metric_series *family_find(metric *f, const char *const *interned) {
  for (metric_series *s = f->series; s; s = s->next) {
    size_t i = 0;
    while (i < f->label_count && s->values[i] == interned[i]) i++;
    if (i == f->label_count) return s;
  }
  return NULL;
}

metric_series *metric_series_of(metric *f, const char *const *values) {
  if (!f) return NULL;
  const char *interned[METRICS_MAX_LABELS_COUNT];
  for (size_t i = 0; i < f->label_count; i++)
    interned[i] = label_intern(&f->labels[i], values ? values[i] : NULL);
  metric_series *s = family_find(f, interned);
  if (s) return s;
  if (f->series_count >= METRICS_MAX_SERIES_COUNT) {
    for (size_t i = 0; i < f->label_count; i++) interned[i] = other_value;
    s = family_find(f, interned);
    if (s) return s;
  }
  return series_new(f, interned);
}

/* --- counting ------------------------------------------------------------ */

void metric_add(metric_series *s, double v) {
  if (s && v >= 0) s->value += v;
}

void metric_set(metric_series *s, double v) {
  if (s) s->value = v;
}

void metric_gauge_add(metric_series *s, double v) {
  if (s) s->value += v;
}

void metric_observe(metric_series *s, double v) {
  if (!s || isnan(v) || s->family->type != METRIC_HISTOGRAM) return;
  const metric *f = s->family;
  size_t i = 0;
  while (i < f->bound_count && v > f->bounds[i]) i++;
  s->buckets[i]++;
  s->count++;
  s->value += v;
}

double metric_value(const metric_series *s) {
  if (!s) return 0;
  return s->family->type == METRIC_HISTOGRAM ? (double)s->count : s->value;
}

/* --- the text format ----------------------------------------------------- */

/* The shortest text that reads back as v (as Go's ParseFloat reads it). */
static const char *number_text(char text[32], double v) {
  if (isnan(v)) return "NaN";
  if (isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(text, 32, "%.*g", prec, v);
    if (strtod(text, NULL) == v) break;
  }
  return text;
}

/* HELP text escapes backslash and newline; label values also the quote. */
static int append_escaped(buf *out, const char *s, int quote) {
  int rc = 0;
  for (; *s && rc == 0; s++) {
    if (*s == '\\')
      rc = buf_append(out, "\\\\", 2);
    else if (*s == '\n')
      rc = buf_append(out, "\\n", 2);
    else if (quote && *s == '"')
      rc = buf_append(out, "\\\"", 2);
    else
      rc = buf_append(out, s, 1);
  }
  return rc;
}

/* name{labels[,le="..."]} value */
static int append_sample(buf *out, const metric *f, const metric_series *s, const char *suffix,
                         const char *le, double v) {
  int rc = buf_appendf(out, "%s%s", f->name, suffix);
  size_t n = f->label_count;
  if (rc == 0 && (n || le)) rc = buf_append(out, "{", 1);
  for (size_t i = 0; i < n && rc == 0; i++) {
    rc = buf_appendf(out, "%s%s=\"", i ? "," : "", f->labels[i].name);
    if (rc == 0) rc = append_escaped(out, s->values[i], 1);
    if (rc == 0) rc = buf_append(out, "\"", 1);
  }
  if (rc == 0 && le) rc = buf_appendf(out, "%sle=\"%s\"", n ? "," : "", le);
  if (rc == 0 && (n || le)) rc = buf_append(out, "}", 1);
  if (rc == 0) rc = buf_append(out, " ", 1);
  char text[32];
  if (rc == 0) rc = buf_append_str(out, number_text(text, v));
  if (rc == 0) rc = buf_append(out, "\n", 1);
  return rc;
}

static int append_histogram(buf *out, const metric *f, const metric_series *s) {
  unsigned long long cumulative = 0;
  int rc = 0;
  for (size_t i = 0; i <= f->bound_count && rc == 0; i++) {
    cumulative += s->buckets[i];
    char text[32];
    const char *le = i < f->bound_count ? number_text(text, f->bounds[i]) : "+Inf";
    rc = append_sample(out, f, s, "_bucket", le, (double)cumulative);
  }
  if (rc == 0) rc = append_sample(out, f, s, "_sum", NULL, s->value);
  if (rc == 0) rc = append_sample(out, f, s, "_count", NULL, (double)s->count);
  return rc;
}

int metrics_render(const metrics *m, buf *out) {
  static const char *const type_names[] = {"counter", "gauge", "histogram"};
  int rc = 0;
  for (const metric *f = m ? m->families : NULL; f && rc == 0; f = f->next) {
    rc = buf_appendf(out, "# HELP %s ", f->name);
    if (rc == 0) rc = append_escaped(out, f->help, 0);
    if (rc == 0) rc = buf_appendf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    for (const metric_series *s = f->series; s && rc == 0; s = s->next)
      rc = f->type == METRIC_HISTOGRAM ? append_histogram(out, f, s)
                                       : append_sample(out, f, s, "", NULL, s->value);
  }
  return rc;
}
