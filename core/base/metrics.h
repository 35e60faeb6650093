/* Counters, gauges and histograms, written in the Prometheus text
 * exposition format 0.0.4.
 *
 * A registry holds families declared up front, each with a fixed list of
 * label names. A label takes its values from a closed list given with the
 * family, or, for names the daemon learns at run time (tools from the
 * loaded scripts, SSH targets), from the first METRICS_MAX_LABEL_VALUES_COUNT
 * distinct values it sees; anything else is counted as "other". So no
 * outside input can grow a registry, and its size has a bound known at
 * start. Session ids and free text never go in labels.
 *
 * A series (one family's value for one set of label values) is found once
 * and may be kept: counting is then an add to a field, cheap enough for
 * the hot paths (every SSE write). Series live as long as the registry.
 *
 * The loop thread only. Every function takes NULL for a family or series
 * and then does nothing, so a module runs the same without metrics.
 */
#ifndef BG_METRICS_H
#define BG_METRICS_H

#include <stddef.h>

#include "limits_table.h"

struct buf;

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_OTHER "other"

typedef struct metrics metrics;
typedef struct metric metric;
typedef struct metric_series metric_series;

typedef enum { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_type;

typedef struct metric_label {
  const char *name;
  /* The closed set, NULL-terminated; NULL: open (the first values seen). */
  const char *const *values;
} metric_label;

/* What a family is. Strings and arrays are copied. */
typedef struct metric_desc {
  metric_type type;
  const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]*, with its unit */
  const char *help;
  const metric_label *labels;
  size_t label_count;   /* at most METRICS_MAX_LABELS_COUNT */
  const double *bounds; /* histograms: the buckets' upper bounds, ascending */
  size_t bound_count;   /* at most METRICS_MAX_BUCKETS_COUNT; +Inf is added */
} metric_desc;

metrics *metrics_new(void);
void metrics_free(metrics *m);

/* Declares a family. When every label is closed, each combination of
 * values is there from the start (at 0), so that rate() and absent()
 * work before the first event. NULL for a bad declaration (name, labels,
 * bounds) or when memory ran out. */
metric *metrics_add(metrics *m, const metric_desc *d);

/* The series of these label values, one a label in the family's order
 * (NULL for a family without labels). Values outside a closed set, past
 * an open label's cap, empty or too long are "other". NULL only for a NULL
 * family or when memory ran out. */
metric_series *metric_series_of(metric *f, const char *const *values);
#define metric_at(f, ...) metric_series_of((f), (const char *const[]){__VA_ARGS__})

/* Counters: adds v (>= 0; a negative v is ignored). */
void metric_add(metric_series *s, double v);
static inline void metric_inc(metric_series *s) { metric_add(s, 1); }
/* Gauges. */
void metric_set(metric_series *s, double v);
void metric_gauge_add(metric_series *s, double v);
/* Histograms. */
void metric_observe(metric_series *s, double v);
/* The value of a counter or gauge, the count of a histogram (tests). */
double metric_value(const metric_series *s);

/* Appends the exposition of every family in the order declared. 0, or -1
 * when out of memory or past out's cap. */
int metrics_render(const metrics *m, struct buf *out);

#endif
