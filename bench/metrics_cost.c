/* What counting costs on the hot path: the relay of one text delta.
 *
 * Per delta the daemon builds the event, serialises it, redacts it, frames
 * it for SSE and writes it (the journal's line; each client's copy), and
 * counts the bytes sent: one metric_add on a series found at attach. This
 * runs that work without and with the count, in alternating rounds of the
 * same run, and prints the fastest round of each side by side, with the
 * cost of metric_add alone. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics_daemon.h"
#include "redactor.h"

#define DELTAS_PER_ROUND 20000
#define ROUNDS 25
#define ADDS 50000000

static const char pem[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBZb2xvLWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDAwMDAwMAAAAJiYmJiY\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One delta's relay; returns the bytes written. */
static size_t relay(const redactor *r, int sink, unsigned long long id,
                    metric_series *bytes) {
  json_t *ev = json_pack("{s:s, s:s, s:I}", "kind", "text_delta", "text", "The devvm ",
                         "id", (json_int_t)id);
  char stamp[32];
  log_format_utc(stamp, log_now_ms());
  json_object_set_new(ev, "ts", json_string(stamp));
  char *text = json_dumps(ev, JSON_COMPACT);
  json_decref(ev);
  size_t n;
  char *clean = redactor_apply(r, text, strlen(text), &n);
  free(text);
  char *frame = NULL;
  int len = asprintf(&frame, "id: %llu\ndata: %s\n\n", id, clean);
  free(clean);
  if (write(sink, frame, (size_t)len) != len) abort();
  free(frame);
  if (bytes) metric_add(bytes, (double)len);
  return (size_t)len;
}

static double round_ns(const redactor *r, int sink, metric_series *bytes) {
  double t0 = now_ns();
  size_t total = 0;
  for (unsigned long long i = 0; i < DELTAS_PER_ROUND; i++) total += relay(r, sink, i, bytes);
  double per = (now_ns() - t0) / DELTAS_PER_ROUND;
  return total ? per : 0;
}

int main(void) {
  redactor *r = redactor_new();
  redactor_add(r, "sk-ant-api03-bench-key-0123456789", 33);
  redactor_add(r, "bench-bearer-token-0123456789", 29);
  redactor_add_key_file(r, pem, strlen(pem));
  daemon_metrics *m = daemon_metrics_new();
  int sink = open("/dev/null", O_WRONLY);
  if (!r || !m || sink < 0) return 1;

  double without = 1e18, with = 1e18;
  for (int i = 0; i < ROUNDS; i++) {
    double a = round_ns(r, sink, NULL);
    double b = round_ns(r, sink, m->sse_bytes);
    if (a < without) without = a;
    if (b < with) with = b;
  }
  double t0 = now_ns();
  for (long i = 0; i < ADDS; i++) metric_add(m->sse_bytes, 1);
  double add = (now_ns() - t0) / ADDS;

  printf("text delta relay, fastest of %d rounds of %d:\n", ROUNDS, DELTAS_PER_ROUND);
  printf("  without counting  %8.1f ns/delta\n", without);
  printf("  with counting     %8.1f ns/delta  (%+.1f%%)\n", with, 100 * (with - without) / without);
  printf("  metric_add alone  %8.2f ns  (%.3f%% of a delta's relay)\n", add, 100 * add / without);
  printf("  bytes counted: %.0f\n", metric_value(m->sse_bytes));
  close(sink);
  daemon_metrics_free(m);
  redactor_free(r);
  return 0;
}
