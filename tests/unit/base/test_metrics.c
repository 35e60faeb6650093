/* The metrics registry: declarations, bounded labels, counting, and the
 * text format 0.0.4 exactly as written (the integration tests parse it
 * with a Prometheus parser). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "metrics.h"
#include "metrics_daemon.h"

#define RENDER_MAX_BYTES (1024u * 1024)

static char *render(const metrics *m) {
  buf b;
  buf_init(&b, RENDER_MAX_BYTES);
  assert_int_equal(metrics_render(m, &b), 0);
  char *text = strdup(buf_cstr(&b));
  buf_free(&b);
  return text;
}

/* The registry's text must be want, byte for byte. */
static void expect_render(const metrics *m, const char *want) {
  char *text = render(m);
  assert_string_equal(text, want);
  free(text);
}

static metric *counter(metrics *m, const char *name, const metric_label *labels, size_t n) {
  metric_desc d = {
      .type = METRIC_COUNTER, .name = name, .help = "Things.", .labels = labels, .label_count = n};
  return metrics_add(m, &d);
}

static void counter_without_labels(void **state) {
  (void)state;
  metrics *m = metrics_new();
  metric *f = counter(m, "bg_things_total", NULL, 0);
  assert_non_null(f);
  metric_series *s = metric_series_of(f, NULL);
  metric_inc(s);
  metric_add(s, 2.5);
  metric_add(s, -7); /* a counter only goes up */
  assert_true(metric_value(s) == 3.5);
  assert_ptr_equal(metric_series_of(f, NULL), s);
  expect_render(m, "# HELP bg_things_total Things.\n"
                   "# TYPE bg_things_total counter\n"
                   "bg_things_total 3.5\n");
  metrics_free(m);
}

/* Every combination of closed values is there at 0 from the start; a value
 * outside the set is counted as "other". */
static void closed_labels_start_at_zero(void **state) {
  (void)state;
  static const char *const outcomes[] = {"ok", "error", NULL};
  static const char *const sources[] = {"agent", "button", NULL};
  metrics *m = metrics_new();
  metric_label labels[] = {{"outcome", outcomes}, {"source", sources}};
  metric *f = counter(m, "bg_calls_total", labels, 2);
  metric_inc(metric_at(f, "error", "button"));
  metric_inc(metric_at(f, "weird", "button"));
  metric_inc(metric_at(f, "weird", NULL));
  expect_render(m, "# HELP bg_calls_total Things.\n"
                   "# TYPE bg_calls_total counter\n"
                   "bg_calls_total{outcome=\"ok\",source=\"agent\"} 0\n"
                   "bg_calls_total{outcome=\"ok\",source=\"button\"} 0\n"
                   "bg_calls_total{outcome=\"error\",source=\"agent\"} 0\n"
                   "bg_calls_total{outcome=\"error\",source=\"button\"} 1\n"
                   "bg_calls_total{outcome=\"other\",source=\"button\"} 1\n"
                   "bg_calls_total{outcome=\"other\",source=\"other\"} 1\n");
  metrics_free(m);
}

/* An open label keeps the first METRICS_MAX_LABEL_VALUES_COUNT values it meets;
 * the rest, empty and overlong values share "other". */
static void open_labels_are_capped(void **state) {
  (void)state;
  metrics *m = metrics_new();
  metric_label labels[] = {{"tool", NULL}};
  metric *f = counter(m, "bg_tools_total", labels, 1);
  char name[32];
  for (int i = 0; i < METRICS_MAX_LABEL_VALUES_COUNT + 10; i++) {
    snprintf(name, sizeof name, "tool_%d", i);
    metric_inc(metric_at(f, name));
  }
  char overlong[METRICS_MAX_LABEL_VALUE_BYTES + 2];
  memset(overlong, 'x', sizeof overlong - 1);
  overlong[sizeof overlong - 1] = '\0';
  metric_inc(metric_at(f, overlong));
  metric_inc(metric_at(f, ""));
  assert_true(metric_value(metric_at(f, "tool_0")) == 1);
  assert_true(metric_value(metric_at(f, METRICS_OTHER)) == 12);
  snprintf(name, sizeof name, "tool_%d", METRICS_MAX_LABEL_VALUES_COUNT);
  assert_ptr_equal(metric_at(f, name), metric_at(f, METRICS_OTHER));
  char *text = render(m);
  size_t lines = 0;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 2 + METRICS_MAX_LABEL_VALUES_COUNT + 1);
  free(text);
  metrics_free(m);
}

static void label_values_and_help_are_escaped(void **state) {
  (void)state;
  metrics *m = metrics_new();
  metric_label labels[] = {{"path", NULL}};
  metric_desc d = {.type = METRIC_GAUGE,
                   .name = "bg_odd",
                   .help = "Back\\slash\nnewline \"q\".",
                   .labels = labels,
                   .label_count = 1};
  metric *f = metrics_add(m, &d);
  metric_set(metric_at(f, "a\"b\\c\nd"), -2);
  metric_gauge_add(metric_at(f, "a\"b\\c\nd"), 0.25);
  expect_render(m, "# HELP bg_odd Back\\\\slash\\nnewline \"q\".\n"
                   "# TYPE bg_odd gauge\n"
                   "bg_odd{path=\"a\\\"b\\\\c\\nd\"} -1.75\n");
  metrics_free(m);
}

/* Buckets are cumulative, end with +Inf, and _sum and _count follow. */
static void histogram_buckets(void **state) {
  (void)state;
  static const double bounds[] = {0.005, 0.1, 1};
  metrics *m = metrics_new();
  metric_desc d = {.type = METRIC_HISTOGRAM,
                   .name = "bg_wait_seconds",
                   .help = "Waits.",
                   .bounds = bounds,
                   .bound_count = 3};
  metric *f = metrics_add(m, &d);
  metric_series *s = metric_series_of(f, NULL);
  metric_observe(s, 0.005); /* on a bound: in that bucket (le) */
  metric_observe(s, 0.05);
  metric_observe(s, 3);
  expect_render(m, "# HELP bg_wait_seconds Waits.\n"
                   "# TYPE bg_wait_seconds histogram\n"
                   "bg_wait_seconds_bucket{le=\"0.005\"} 1\n"
                   "bg_wait_seconds_bucket{le=\"0.1\"} 2\n"
                   "bg_wait_seconds_bucket{le=\"1\"} 2\n"
                   "bg_wait_seconds_bucket{le=\"+Inf\"} 3\n"
                   "bg_wait_seconds_sum 3.055\n"
                   "bg_wait_seconds_count 3\n");
  metrics_free(m);
}

static void bad_declarations_are_refused(void **state) {
  (void)state;
  static const double unsorted[] = {1, 0.5};
  metrics *m = metrics_new();
  static const metric_label le[] = {{"le", NULL}};
  static const metric_label twice[] = {{"a", NULL}, {"a", NULL}};
  static const metric_label four[] = {{"a", NULL}, {"b", NULL}, {"c", NULL}, {"d", NULL}};
  static const struct {
    const char *why, *name;
    const metric_label *labels;
    size_t label_count;
  } bad[] = {
      {"a dash in the name", "bad-name", NULL, 0},
      {"a leading digit", "9starts_with_a_digit", NULL, 0},
      {"the label le", "bg_ok_total", le, 1},
      {"a label twice", "bg_ok_total", twice, 2},
      {"four labels", "bg_ok_total", four, 4},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (counter(m, bad[i].name, bad[i].labels, bad[i].label_count) != NULL)
      fail_msg("%s: accepted", bad[i].why);
  metric_desc h = {
      .type = METRIC_HISTOGRAM, .name = "bg_h", .help = "h", .bounds = unsorted, .bound_count = 2};
  assert_null(metrics_add(m, &h));
  h.bound_count = 0;
  assert_null(metrics_add(m, &h));
  expect_render(m, "");
  metrics_free(m);
}

/* A module given no metrics counts nothing and does not crash. */
static void null_is_a_no_op(void **state) {
  (void)state;
  assert_null(metric_series_of(NULL, NULL));
  metric_inc(NULL);
  metric_set(NULL, 1);
  metric_observe(NULL, 1);
  assert_true(metric_value(NULL) == 0);
  assert_null(metrics_add(NULL, NULL));
  metrics_free(NULL);
}

/* The daemon's own set declares cleanly and renders every family once. */
static void daemon_set_renders(void **state) {
  (void)state;
  daemon_metrics *dm = daemon_metrics_new();
  assert_non_null(dm);
  metric_inc(metric_at(dm->tool_calls, "devvm_shell", "agent", "ok"));
  metric_inc(metric_at(dm->ssh_connect_failures, "devvm", "no_banner"));
  buf b;
  buf_init(&b, RENDER_MAX_BYTES);
  assert_int_equal(daemon_metrics_render(dm, 0, &b), 0);
  const char *text = buf_cstr(&b);
  assert_non_null(strstr(text, "breakglass_tool_calls_total{tool=\"devvm_shell\",source=\"agent\","
                               "outcome=\"ok\"} 1\n"));
  assert_non_null(strstr(text, "breakglass_ssh_connect_failures_total{target=\"devvm\","
                               "layer=\"no_banner\"} 1\n"));
  assert_non_null(strstr(text, "breakglass_scripts_loaded 0\n"));
  assert_non_null(strstr(text, "# TYPE process_resident_memory_bytes gauge\n"));
  assert_null(strstr(text, "process_resident_memory_bytes 0\n"));
  buf_free(&b);
  daemon_metrics_free(dm);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(counter_without_labels), cmocka_unit_test(closed_labels_start_at_zero),
      cmocka_unit_test(open_labels_are_capped), cmocka_unit_test(label_values_and_help_are_escaped),
      cmocka_unit_test(histogram_buckets),      cmocka_unit_test(bad_declarations_are_refused),
      cmocka_unit_test(null_is_a_no_op),        cmocka_unit_test(daemon_set_renders),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
