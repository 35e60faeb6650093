#include "metrics_daemon.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

/* The closed sets of label values. */
static const char *const turn_outcomes[] = {"ok", "error", "cancelled", "timeout", NULL};
/* ok, cancelled, and the error types of the API and of the client
 * (model_client.h); an unknown type the API may add is "other". */
static const char *const model_outcomes[] = {"ok",
                                             "cancelled",
                                             "invalid_request_error",
                                             "authentication_error",
                                             "billing_error",
                                             "permission_error",
                                             "not_found_error",
                                             "timeout_error",
                                             "conflict_error",
                                             "request_too_large",
                                             "rate_limit_error",
                                             "api_error",
                                             "overloaded_error",
                                             "connection_error",
                                             "idle_timeout",
                                             "request_timeout",
                                             "stream_error",
                                             "response_too_large",
                                             "protocol_error",
                                             NULL};
static const char *const token_types[] = {"input", "output", "cache_read", "cache_creation", NULL};
static const char *const sources[] = {"agent", "button", NULL};
static const char *const action_outcomes[] = {"ok", "error", "refused", "not_run", NULL};
static const char *const verbs[] = {"status", "forensics", "reset", "stop", "start", "cycle", NULL};
static const char *const decisions[] = {"deny", "run_first", "confirm", "override", NULL};
static const char *const ssh_layers[] = {
    "connect_refused", "connect_timeout", "no_banner", "hostkey_unknown",
    "hostkey_changed", "auth_refused",    "kex",       "channel",
    "connection_lost", "command_timeout", "cancelled", NULL};
static const char *const reload_outcomes[] = {"ok", "error", NULL};

/* Seconds. A model call streams for seconds to minutes; a tool call runs
 * from milliseconds (a policy refusal) to the tool limit (a wait for the
 * devvm); a journal flush is an fdatasync. */
static const double model_bounds[] = {0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 600};
static const double tool_bounds[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                     5,    10,   30,  60,   120, 300, 900};
static const double flush_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

#define LABELS(...)                                                                                \
  (const metric_label[]){__VA_ARGS__},                                                             \
      sizeof((const metric_label[]){__VA_ARGS__}) / sizeof(metric_label)

static metric *family(daemon_metrics *m, metric_type type, const char *name, const char *help,
                      const metric_label *labels, size_t label_count, const double *bounds,
                      size_t bound_count, int *failed) {
  metric_desc d = {.type = type,
                   .name = name,
                   .help = help,
                   .labels = labels,
                   .label_count = label_count,
                   .bounds = bounds,
                   .bound_count = bound_count};
  metric *f = metrics_add(m->registry, &d);
  if (!f) *failed = 1;
  return f;
}

#define COUNTER(name, help, ...)                                                                   \
  family(m, METRIC_COUNTER, name, help, __VA_ARGS__, NULL, 0, &failed)
#define GAUGE(name, help) family(m, METRIC_GAUGE, name, help, NULL, 0, NULL, 0, &failed)
#define HISTOGRAM(name, help, bounds, ...)                                                         \
  family(m, METRIC_HISTOGRAM, name, help, __VA_ARGS__, bounds, sizeof bounds / sizeof bounds[0],   \
         &failed)
#define NO_LABELS NULL, 0

static int daemon_metrics_declare(daemon_metrics *m) {
  int failed = 0;
  m->turns_started = COUNTER("breakglass_turns_started_total", "Agent turns started.", NO_LABELS);
  m->turns_ended = COUNTER("breakglass_turns_ended_total", "Agent turns ended, by outcome.",
                           LABELS({"outcome", turn_outcomes}));
  m->model_calls = COUNTER(
      "breakglass_model_calls_total",
      "Messages API calls ended, by outcome (ok, cancelled or the error type).",
      LABELS({"outcome", model_outcomes}));
  m->model_call_seconds = HISTOGRAM("breakglass_model_call_duration_seconds",
                                    "Messages API calls from start to end, retries included.",
                                    model_bounds, NO_LABELS);
  m->model_retries = COUNTER("breakglass_model_retries_total",
                             "Messages API attempts retried, by the error that caused it.",
                             LABELS({"reason", model_outcomes}));
  m->model_tokens = COUNTER("breakglass_model_tokens_total",
                            "Tokens of finished Messages API calls, by type.",
                            LABELS({"type", token_types}));
  m->tool_calls = COUNTER(
      "breakglass_tool_calls_total",
      "Actions (agent tool calls and buttons) ended, by tool, source and outcome.",
      LABELS({"tool", NULL}, {"source", sources}, {"outcome", action_outcomes}));
  m->tool_call_seconds = HISTOGRAM("breakglass_tool_call_duration_seconds",
                                   "Actions that ran, from the policies' allow to their end.",
                                   tool_bounds, LABELS({"tool", NULL}));
  m->power_verbs = COUNTER(
      "breakglass_power_verbs_total",
      "Power verbs on the Proxmox host ended, by verb, source and outcome.",
      LABELS({"verb", verbs}, {"source", sources}, {"outcome", action_outcomes}));
  m->policy_decisions = COUNTER(
      "breakglass_policy_decisions_total",
      "Policy decisions other than a plain allow, by policy and decision.",
      LABELS({"policy", NULL}, {"decision", decisions}));
  m->ssh_connects = COUNTER("breakglass_ssh_connects_total", "SSH connections started, by target.",
                            LABELS({"target", NULL}));
  m->ssh_connect_failures = COUNTER("breakglass_ssh_connect_failures_total",
                                    "SSH connections that did not come up, by target and the "
                                    "layer they stopped at.",
                                    LABELS({"target", NULL}, {"layer", ssh_layers}));
  m->http_responses = COUNTER("breakglass_http_responses_total", "HTTP answers, by status code.",
                              LABELS({"code", NULL}));
  m->script_reloads = COUNTER(
      "breakglass_script_reloads_total",
      "Script set reloads, by outcome (error: the last good set serves on).",
      LABELS({"outcome", reload_outcomes}));
  m->sse_clients = metric_series_of(
      GAUGE("breakglass_sse_clients", "Event stream (SSE) clients connected."), NULL);
  m->sse_bytes = metric_series_of(COUNTER("breakglass_sse_bytes_sent_total",
                                          "Bytes written to event stream clients.", NO_LABELS),
                                  NULL);
  m->scripts_loaded = metric_series_of(
      GAUGE("breakglass_scripts_loaded", "1 while a valid script set serves, else 0."), NULL);
  m->scripts_age = metric_series_of(
      GAUGE("breakglass_scripts_age_seconds", "Seconds since the serving script set loaded."),
      NULL);
  m->journal_bytes = metric_series_of(COUNTER("breakglass_journal_bytes_written_total",
                                              "Bytes appended to session journals.", NO_LABELS),
                                      NULL);
  m->journal_flush_seconds = metric_series_of(
      HISTOGRAM("breakglass_journal_flush_duration_seconds",
                "Journal flushes: each fdatasync, from its start to its end.", flush_bounds,
                NO_LABELS),
      NULL);
  metric *build = family(m, METRIC_GAUGE, "breakglass_build_info", "The running version, as 1.",
                         LABELS({"version", NULL}), NULL, 0, &failed);
  metric_set(metric_at(build, BREAKGLASS_VERSION), 1);
  m->process_rss = metric_series_of(
      GAUGE("process_resident_memory_bytes", "Resident memory size in bytes."), NULL);
  m->process_vsize = metric_series_of(
      GAUGE("process_virtual_memory_bytes", "Virtual memory size in bytes."), NULL);
  m->process_fds = metric_series_of(GAUGE("process_open_fds", "Open file descriptors."), NULL);
  m->process_max_fds = metric_series_of(
      GAUGE("process_max_fds", "The limit on open file descriptors."), NULL);
  m->process_cpu = metric_series_of(COUNTER("process_cpu_seconds_total",
                                            "User and system CPU time spent, in seconds.",
                                            NO_LABELS),
                                    NULL);
  m->process_start = metric_series_of(
      GAUGE("process_start_time_seconds", "Start time of the process since the epoch, in seconds."),
      NULL);
  metric_set(m->process_start, (double)log_now_ms() / 1000);
  return failed ? -1 : 0;
}

daemon_metrics *daemon_metrics_new(void) {
  daemon_metrics *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  if (!(m->registry = metrics_new()) || daemon_metrics_declare(m) != 0) {
    daemon_metrics_free(m);
    return NULL;
  }
  return m;
}

void daemon_metrics_free(daemon_metrics *m) {
  if (!m) return;
  metrics_free(m->registry);
  free(m);
}

/* --- sampled at scrape time ---------------------------------------------- */

static void sample_memory(daemon_metrics *m) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long size = 0, resident = 0;
  if (!f) return;
  if (fscanf(f, "%llu %llu", &size, &resident) == 2) {
    double page = (double)sysconf(_SC_PAGESIZE);
    metric_set(m->process_vsize, (double)size * page);
    metric_set(m->process_rss, (double)resident * page);
  }
  fclose(f);
}

static void sample_files(daemon_metrics *m) {
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    /* Less the one opendir holds itself, and "." and "..". */
    long n = -1;
    struct dirent *e;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') n++;
    closedir(d);
    metric_set(m->process_fds, (double)n);
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    metric_set(m->process_max_fds, (double)rl.rlim_cur);
}

static void sample_cpu(daemon_metrics *m) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return;
  double s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  metric_set(m->process_cpu, s);
}

int daemon_metrics_render(daemon_metrics *m, unsigned long long scripts_loaded_ms, buf *out) {
  sample_memory(m);
  sample_files(m);
  sample_cpu(m);
  unsigned long long now = log_now_ms();
  metric_set(m->scripts_loaded, scripts_loaded_ms ? 1 : 0);
  metric_set(m->scripts_age, scripts_loaded_ms && now > scripts_loaded_ms
                                 ? (double)(now - scripts_loaded_ms) / 1000
                                 : 0);
  return metrics_render(m->registry, out);
}

const char *daemon_metrics_source(const char *action_source) {
  return action_source && strcmp(action_source, "button") == 0 ? "button" : "agent";
}
