/* The daemon's metrics: every family it exposes, declared in one place
 * with its labels (docs/deploy.md#metrics lists them for operators).
 *
 * The daemon creates one at start and hands it to the modules that count
 * (app->metrics, and the options of the model client, the SSH pool, the
 * HTTP server and the journal store); a module given NULL counts nothing.
 * Series that hot paths touch are found here once.
 */
#ifndef BG_METRICS_DAEMON_H
#define BG_METRICS_DAEMON_H

#include "metrics.h"

typedef struct daemon_metrics {
  metrics *registry;

  metric *turns_started; /* no labels */
  metric *turns_ended;   /* outcome: ok error cancelled timeout */

  metric *model_calls;        /* outcome: ok cancelled, or the error's type */
  metric *model_call_seconds; /* histogram, no labels */
  metric *model_retries;      /* reason: the error's type */
  metric *model_tokens;       /* type: input output cache_read cache_creation */

  metric *tool_calls;        /* tool, source (agent button), outcome */
  metric *tool_call_seconds; /* histogram by tool: calls that ran */
  metric *power_verbs;       /* verb, source, outcome */
  metric *policy_decisions;  /* policy, decision: deny run_first confirm override */

  metric *ssh_connects;         /* target */
  metric *ssh_connect_failures; /* target, layer */

  metric_series *sse_clients; /* gauge */
  metric_series *sse_bytes;   /* counter: every SSE write */
  metric *http_responses;     /* code */

  metric *script_reloads;        /* outcome: ok error */
  metric_series *scripts_loaded; /* gauge: 1 while a set serves */
  metric_series *scripts_age;    /* gauge: seconds since it loaded */

  metric_series *journal_bytes;         /* counter */
  metric_series *journal_flush_seconds; /* histogram */

  metric_series *process_rss, *process_vsize, *process_fds, *process_max_fds;
  metric_series *process_cpu, *process_start;
} daemon_metrics;

/* NULL when memory ran out. */
daemon_metrics *daemon_metrics_new(void);
void daemon_metrics_free(daemon_metrics *m);

/* The scrape: reads what is sampled rather than counted (the process's
 * memory, files and CPU; the script set's age: scripts_loaded_ms 0 when no
 * set serves), then renders every family. 0, or -1 when out of memory. */
int daemon_metrics_render(daemon_metrics *m, unsigned long long scripts_loaded_ms, struct buf *out);

/* Label values the call sites share. */
const char *daemon_metrics_source(const char *action_source); /* "model" -> "agent" */

#endif
