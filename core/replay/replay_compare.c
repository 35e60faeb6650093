#include "replay_compare.h"

#include <stdio.h>
#include <string.h>

/* Messages lua_host_call_tool answers with: a call that failed this way
 * live fails the same way now, which is no divergence. */
#define UNKNOWN_TOOL_PREFIX "unknown tool \""
#define INVALID_INPUT_PREFIX "invalid input: "

static int starts_with(const char *s, const char *prefix) {
  return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int add(json_t *diffs, const char *text) {
  return json_array_append_new(diffs, json_string(text)) == 0 ? 1 : -1;
}

/* "pve forensics" or "devvm_probe": what a run_first names, as people say it. */
static void describe_first(const json_t *first, char *out, size_t outlen) {
  const char *tool = json_string_value(json_object_get(first, "tool"));
  const char *verb = json_string_value(json_object_get(json_object_get(first, "input"), "verb"));
  snprintf(out, outlen, "%s%s%s", tool ? tool : "?", verb ? " " : "", verb ? verb : "");
}

static int same_first(const json_t *a, const json_t *b) {
  const char *pa = json_string_value(json_object_get(a, "policy"));
  const char *pb = json_string_value(json_object_get(b, "policy"));
  const json_t *fa = json_object_get(a, "run_first"), *fb = json_object_get(b, "run_first");
  return pa && pb && strcmp(pa, pb) == 0 && json_equal(fa, fb);
}

static int is_run_first(const json_t *d) {
  const char *v = json_string_value(json_object_get(d, "verdict"));
  return v && strcmp(v, "run_first") == 0;
}

/* Each run_first of `from` without its like in `in` (counted, so a policy
 * that inserted twice and now once is a difference). */
static int firsts_missing(const json_t *from, const json_t *in, int added, json_t *diffs) {
  int n = 0;
  size_t i, j;
  json_t *d, *e;
  json_array_foreach(from, i, d) {
    if (!is_run_first(d)) continue;
    size_t seen_before = 0, seen_in = 0;
    for (j = 0; j < i; j++)
      if (same_first(json_array_get(from, j), d)) seen_before++;
    json_array_foreach(in, j, e) if (same_first(e, d)) seen_in++;
    if (seen_in > seen_before) continue;
    char what[256], text[512];
    describe_first(json_object_get(d, "run_first"), what, sizeof what);
    const char *policy = json_string_value(json_object_get(d, "policy"));
    if (added)
      snprintf(text, sizeof text, "policy %s would now run %s first (not in the recording)",
               policy ? policy : "?", what);
    else
      snprintf(text, sizeof text, "policy %s would no longer run %s first (it did when recorded)",
               policy ? policy : "?", what);
    if (add(diffs, text) < 0) return -1;
    n++;
  }
  return n;
}

/* The last decision's policy and reason: who decided the outcome. */
static const json_t *last_decision(const json_t *decisions) {
  size_t n = json_array_size(decisions);
  return n ? json_array_get(decisions, n - 1) : NULL;
}

static void describe_outcome(const replay_side *s, char *out, size_t outlen) {
  const json_t *d = last_decision(s->decisions);
  const char *policy = json_string_value(json_object_get(d, "policy"));
  const char *reason = json_string_value(json_object_get(d, "reason"));
  if (strcmp(s->outcome, "allow") == 0 || !policy)
    snprintf(out, outlen, "%s", s->outcome);
  else
    snprintf(out, outlen, "%s (policy %s: %s)", s->outcome, policy, reason ? reason : "");
}

static int compare_outcomes(const replay_call_facts *f, json_t *diffs) {
  /* A run first the recording lacks is said by firsts_missing. */
  if (strcmp(f->now.outcome, "insert") == 0) return 0;
  if (strcmp(f->recorded.outcome, f->now.outcome) == 0) {
    if (strcmp(f->now.outcome, "deny") != 0) return 0;
    const char *was = json_string_value(
        json_object_get(last_decision(f->recorded.decisions), "policy"));
    const char *now = json_string_value(json_object_get(last_decision(f->now.decisions), "policy"));
    if (!was || !now || strcmp(was, now) == 0) return 0;
    char text[512];
    snprintf(text, sizeof text, "denied by policy %s now, by policy %s when recorded", now, was);
    return add(diffs, text);
  }
  char was[1024], now[1024], text[2200];
  describe_outcome(&f->recorded, was, sizeof was);
  describe_outcome(&f->now, now, sizeof now);
  snprintf(text, sizeof text, "decision: recorded %s, now %s", was, now);
  return add(diffs, text);
}

int replay_compare(const replay_call_facts *f, json_t *diffs) {
  int n = 0, r;
  char text[1024];
  if (!f->exists && !starts_with(f->recorded_content, UNKNOWN_TOOL_PREFIX)) {
    snprintf(text, sizeof text, "tool %s no longer exists", f->tool);
    if ((r = add(diffs, text)) < 0) return -1;
    n += r;
  }
  if (f->exists && f->invalid) {
    char live[1024];
    snprintf(live, sizeof live, INVALID_INPUT_PREFIX "%s", f->invalid);
    if (!(f->recorded_is_error && f->recorded_content && strcmp(f->recorded_content, live) == 0)) {
      snprintf(text, sizeof text, "input no longer validates: %s", f->invalid);
      if ((r = add(diffs, text)) < 0) return -1;
      n += r;
    }
  }
  if (f->exists && f->now.mutating != f->recorded.mutating) {
    snprintf(text, sizeof text, "%s: now %s, recorded %s", f->tool,
             f->now.mutating ? "mutating" : "not mutating",
             f->recorded.mutating ? "mutating" : "not mutating");
    if ((r = add(diffs, text)) < 0) return -1;
    n += r;
  }
  if ((r = firsts_missing(f->now.decisions, f->recorded.decisions, 1, diffs)) < 0) return -1;
  n += r;
  if ((r = firsts_missing(f->recorded.decisions, f->now.decisions, 0, diffs)) < 0) return -1;
  n += r;
  if ((r = compare_outcomes(f, diffs)) < 0) return -1;
  return n + r;
}
