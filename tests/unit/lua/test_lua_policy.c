/* Policy hooks: the combination rule, failing closed, load checks and
 * self_test, ctx and state, per-input mutating, and the shipped policies of
 * lua/policy judged against made-up histories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"
#include "lua_host.h"
#include "source_path.h"
#include "stderr_capture.h"

/* A fixed "now" for the shipped policies: 2023-11-14T22:13:20Z. */
#define TEST_NOW_MS 1700000000000LL
#define MINUTE_MS 60000LL

static const lua_host_limits test_limits = {
    .memory_bytes = 8u << 20,
    .instructions = 1000000,
    .call_timeout_ms = 1500,
    .tool_timeout_ms = 5000,
    .max_json_bytes = 1 << 20,
    .max_result_bytes = 4096,
};

typedef struct policy_fixture {
  uv_loop_t loop;
  lua_host *host;
} policy_fixture;

static int load_dir(policy_fixture *fx, const char *rel, char *err, size_t errlen) {
  char dir[1200];
  source_path(dir, sizeof dir, "%s", rel);
  lua_host_options o = {.scripts_dir = dir, .limits = test_limits};
  return lua_host_load(&fx->host, &fx->loop, &o, err, errlen);
}

static int setup_dir(void **state, const char *rel) {
  policy_fixture *fx = calloc(1, sizeof *fx);
  uv_loop_init(&fx->loop);
  char err[4096];
  if (load_dir(fx, rel, err, sizeof err) < 0) fail_msg("load %s: %s", rel, err);
  *state = fx;
  return 0;
}

static int combo_setup(void **state) { return setup_dir(state, "tests/fixtures/lua/policy_combo"); }

static int shipped_setup(void **state) { return setup_dir(state, "lua"); }

static int fixture_teardown(void **state) {
  policy_fixture *fx = *state;
  lua_host_release(fx->host);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  free(fx);
  return 0;
}

static json_t *parse(const char *text) {
  if (text == NULL) return NULL;
  json_error_t e;
  json_t *v = json_loads(text, 0, &e);
  if (v == NULL) fail_msg("bad test JSON: %s: %s", e.text, text);
  return v;
}

static const char *const verdict_names[] = {"allow", "deny", "confirm", "run_first"};

/* Decides call (JSON text) against history and actions and checks the
 * verdict, the deciding policy and the reason (exact, or a part of it when
 * reason starts with "~"). */
static void expect_decision(policy_fixture *fx, const char *call, const char *history,
                            const char *actions, lua_policy_verdict verdict, const char *policy,
                            const char *reason, lua_policy_decision *keep) {
  json_t *c = parse(call), *h = parse(history), *a = parse(actions);
  lua_policy_view v = {.call = c, .history = h, .actions = a};
  lua_policy_decision d;
  assert_int_equal(lua_host_policy_before(fx->host, &v, &d), 0);
  int reason_ok = reason == NULL     ? d.reason == NULL
                  : d.reason == NULL ? 0
                  : reason[0] == '~' ? strstr(d.reason, reason + 1) != NULL
                                     : strcmp(d.reason, reason) == 0;
  int policy_ok = policy == NULL ? d.policy == NULL
                                 : d.policy != NULL && strcmp(d.policy, policy) == 0;
  if (d.verdict != verdict || !policy_ok || !reason_ok)
    fail_msg("%s\n  want %s by %s: %s\n  got  %s by %s: %s", call, verdict_names[verdict],
             policy ? policy : "-", reason ? reason : "-", verdict_names[d.verdict],
             d.policy ? d.policy : "-", d.reason ? d.reason : "-");
  if (keep != NULL)
    *keep = d;
  else
    lua_policy_decision_free(&d);
  json_decref(c);
  json_decref(h);
  json_decref(a);
}

/* An echo call of the combo set whose input.want steers its policies. */
static void expect_want(policy_fixture *fx, const char *want, lua_policy_verdict verdict,
                        const char *policy, const char *reason) {
  char call[512];
  snprintf(call, sizeof call,
           "{\"tool\": \"echo\", \"input\": {\"text\": \"x\", \"want\": \"%s\"}, "
           "\"session_id\": \"s-1\", \"call_id\": \"c-1\", \"now_ms\": 1000}",
           want);
  expect_decision(fx, call, NULL, NULL, verdict, policy, reason, NULL);
}

/* --- the combination rule ------------------------------------------------------ */

static void test_policy_combination(void **state) {
  policy_fixture *fx = *state;
  expect_want(fx, "", LUA_POLICY_ALLOW, NULL, NULL);
  expect_want(fx, "confirm:d", LUA_POLICY_CONFIRM, "d_confirm", "d wants a yes");
  /* The first confirm in file order, whatever the input says first. */
  expect_want(fx, "confirm:d confirm:a", LUA_POLICY_CONFIRM, "a_confirm", "a wants a yes");
  /* A run_first outranks a confirm of an earlier file. */
  expect_want(fx, "confirm:a run:e", LUA_POLICY_RUN_FIRST, "e_run", "e wants echo first");
  expect_want(fx, "run:e run:b", LUA_POLICY_RUN_FIRST, "b_run", "b wants echo first");
  /* A deny outranks everything; the first deny wins. */
  expect_want(fx, "confirm:a run:b deny:f", LUA_POLICY_DENY, "f_deny", "f says no");
  expect_want(fx, "deny:f deny:c", LUA_POLICY_DENY, "c_deny", "c says no");

  lua_policy_decision d;
  expect_decision(fx, "{\"tool\": \"echo\", \"input\": {\"text\": \"x\", \"want\": \"run:b\"}}",
                  NULL, NULL, LUA_POLICY_RUN_FIRST, "b_run", "b wants echo first", &d);
  assert_string_equal(d.run_tool, "echo");
  char *input = json_dumps(d.run_input, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(input, "{\"text\":\"from b\"}");
  free(input);
  lua_policy_decision_free(&d);
}

/* A deny the policy marks overridable is set aside for the operator who
 * overrides it, and the policies after it are asked as if it had not been
 * there; without an override it is a deny like any other. */
static void test_policy_override(void **state) {
  policy_fixture *fx = *state;
#define OVERRIDE_CALL(more)                                                                        \
  "{\"tool\": \"echo\", \"input\": {\"text\": \"x\", \"want\": \"deny:c overridable:c " more "\"}" \
  "}"
  char text[256];
  snprintf(text, sizeof text, OVERRIDE_CALL(""));
  json_t *c = parse(text);
  lua_policy_view v = {.call = c};
  lua_policy_decision d;
  assert_int_equal(lua_host_policy_before(fx->host, &v, &d), 0);
  assert_int_equal(d.verdict, LUA_POLICY_DENY);
  assert_true(d.overridable);
  assert_null(d.overridden);
  lua_policy_decision_free(&d);

  v.override_by = "viktor";
  assert_int_equal(lua_host_policy_before(fx->host, &v, &d), 0);
  assert_int_equal(d.verdict, LUA_POLICY_ALLOW);
  char *over = json_dumps(d.overridden, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(over,
                      "[{\"identity\":\"viktor\",\"policy\":\"c_deny\",\"reason\":\"c says no\"}]");
  free(over);
  lua_policy_decision_free(&d);
  json_decref(c);

  snprintf(text, sizeof text, OVERRIDE_CALL("confirm:d"));
#undef OVERRIDE_CALL
  c = parse(text);
  v.call = c;
  assert_int_equal(lua_host_policy_before(fx->host, &v, &d), 0);
  assert_int_equal(d.verdict, LUA_POLICY_CONFIRM);
  assert_string_equal(d.policy, "d_confirm");
  assert_int_equal(json_array_size(d.overridden), 1);
  lua_policy_decision_free(&d);
  json_decref(c);

  /* Only what the policy marks: f_deny's plain deny stands. */
  expect_decision(fx, "{\"tool\": \"echo\", \"input\": {\"text\": \"x\", \"want\": \"deny:f\"}}",
                  NULL, NULL, LUA_POLICY_DENY, "f_deny", "f says no", NULL);
}

/* After a deny, later policies do not run: h_state counts its calls. */
static void test_policy_deny_stops(void **state) {
  policy_fixture *fx = *state;
  expect_want(fx, "deny:c count:h", LUA_POLICY_DENY, "c_deny", "c says no");
  expect_want(fx, "count:h", LUA_POLICY_DENY, "h_state", "call 1, last result nil");
}

/* --- failing closed --------------------------------------------------------------- */

static void test_policy_fail_closed(void **state) {
  policy_fixture *fx = *state;
  static const struct {
    const char *want;
    const char *reason;
  } cases[] = {
      {"fail:error", "policy policy/g_fail.lua failed: policy/g_fail.lua:20: g broke"},
      {"fail:spin",
       "policy policy/g_fail.lua failed: policy/g_fail.lua:22: instruction limit (1000000) "
       "exceeded"},
      {"fail:bomb",
       "policy policy/g_fail.lua failed: policy/g_fail.lua:25: memory limit (8 MiB) exceeded"},
      {"fail:type", "policy policy/g_fail.lua failed: policy/g_fail.lua: before must return "
                    "nil, {deny = reason}, {confirm = reason} or {run_first = {...}, reason = "
                    "...} (got a string)"},
      {"fail:field", "~before returned an unknown field 'because' (fields: deny, confirm, "
                     "run_first, reason, overridable)"},
      {"fail:overconfirm", "~before: overridable must be a boolean, and only with deny"},
      {"fail:overtype", "~before: overridable must be a boolean, and only with deny"},
      {"fail:two", "~before must return exactly one of deny, confirm or run_first"},
      {"fail:empty", "~before: deny must be the reason, a non-empty string, alone"},
      {"fail:tool", "~before: run_first.tool must name a tool of this set"},
      {"fail:input", "~before: invalid input: run_first.input.text: must be a string"},
      {"fail:noreason", "~before: run_first needs reason, a non-empty string"},
      {"fail:fn", "~policy/g_fail.lua: the result cannot be read: "},
      {"fail:self", "~before: run_first asks for the call being decided"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_want(fx, cases[i].want, LUA_POLICY_DENY, "g_fail", cases[i].reason);
  /* A failure outranks a run_first and a confirm found before it. */
  expect_want(fx, "confirm:a run:b fail:error", LUA_POLICY_DENY, "g_fail",
              "~policy/g_fail.lua:20: g broke");
  /* A ctx kept from an earlier call cannot be used. */
  expect_want(fx, "fail:keep", LUA_POLICY_ALLOW, NULL, NULL);
  expect_want(fx, "fail:stale", LUA_POLICY_DENY, "g_fail",
              "~policy/g_fail.lua:29: ctx.history: this ctx belongs to a policy call that has "
              "ended");
  expect_want(fx, "fail:stalelist", LUA_POLICY_DENY, "g_fail",
              "~policy/g_fail.lua:33: ctx.actions(): this list belongs to a policy call that "
              "has ended");
  /* The state is usable again after a limit. */
  expect_want(fx, "", LUA_POLICY_ALLOW, NULL, NULL);
}

/* --- state, ctx, after ------------------------------------------------------------ */

static void test_policy_state_and_after(void **state) {
  policy_fixture *fx = *state;
  /* self_test ran in a state of its own: it set calls = 100 and last_result. */
  expect_want(fx, "count:h", LUA_POLICY_DENY, "h_state", "call 1, last result nil");
  json_t *call = parse("{\"tool\": \"echo\", \"input\": {\"text\": \"x\"}, \"now_ms\": 77}");
  json_t *result = parse("{\"is_error\": false, \"content\": \"ok\"}");
  lua_policy_view v = {.call = call};
  lua_host_policy_after(fx->host, &v, result);
  json_decref(call);
  json_decref(result);
  expect_want(fx, "count:h", LUA_POLICY_DENY, "h_state", "call 2, last result ok at 77");
}

static void test_policy_ctx(void **state) {
  policy_fixture *fx = *state;
  expect_decision(fx,
                  "{\"tool\": \"echo\", \"input\": {\"text\": \"x\", \"want\": \"ctx:h\"}, "
                  "\"now_ms\": 12345}",
                  "[{\"tool\": \"pve\", \"verb\": \"status\", \"input\": {\"verb\": "
                  "\"status\"}}, {\"tool\": \"echo\"}]",
                  "[{\"tool\": \"pve\", \"verb\": \"cycle\", \"started_ms\": 1}]", LUA_POLICY_DENY,
                  "h_state",
                  "now 12345, history 2 (pve), actions 1 (cycle, true), writes false, input "
                  "status, fields input,tool,verb, walked 4",
                  NULL);
  /* No now_ms in the call: the clock. No history or actions: empty lists. */
  unsigned long long before = log_now_ms();
  lua_policy_decision d;
  expect_decision(fx, "{\"tool\": \"echo\", \"input\": {\"want\": \"ctx:h\"}}", NULL,
                  "[{\"verb\": \"stop\", \"finished_ms\": 5}]", LUA_POLICY_DENY, "h_state",
                  "~history 0 (", &d);
  long long now = 0;
  assert_int_equal(sscanf(d.reason, "now %lld", &now), 1);
  assert_true(now >= (long long)before && now <= (long long)log_now_ms());
  assert_non_null(strstr(d.reason, "actions 1 (stop, false)"));
  lua_policy_decision_free(&d);
}

/* The views name themselves, and a write to either kind says what it
 * tried to change. */
static void test_policy_views_named(void **state) {
  policy_fixture *fx = *state;
  expect_decision(fx, "{\"tool\": \"echo\", \"input\": {\"want\": \"views:h\"}}",
                  "[{\"tool\": \"pve\"}]", "[{\"verb\": \"stop\"}]", LUA_POLICY_DENY, "h_state",
                  "ctx.history() list, ctx.history() entry, ctx.actions() list, ctx.actions() "
                  "entry | policy/h_state.lua:33: ctx.actions() is read-only: copy what you need "
                  "into a table of your own | policy/h_state.lua:34: an entry of ctx.history() "
                  "is read-only: copy what you need into a table of your own",
                  NULL);
}

/* ctx.log writes one quoted line naming the file, session and call. */
static void test_policy_log(void **state) {
  policy_fixture *fx = *state;
  stderr_capture capture;
  stderr_capture_start(&capture);
  expect_want(fx, "log:h", LUA_POLICY_ALLOW, NULL, NULL);
  char text[2048];
  stderr_capture_stop(&capture, text, sizeof text);
  assert_non_null(
      strstr(text, "lua policy/h_state.lua (session s-1, call c-1): \"h says \\\"hi\\\"\\x0a\""));
}

/* --- loading ---------------------------------------------------------------------- */

static void test_policy_load_errors(void **state) {
  (void)state;
  policy_fixture fx = {0};
  uv_loop_init(&fx.loop);
  char err[8192];
  assert_int_equal(load_dir(&fx, "tests/fixtures/lua/policy_broken", err, sizeof err), -1);
  static const char *const lines[] = {
      "policy/a_field.lua: unknown field 'befor' (fields: name, description, before, after, "
      "self_test)",
      "policy/b_nohook.lua: needs a before(ctx, call) or an after(ctx, call, result)",
      "policy/d_dup.lua: policy name \"dup\" is already used by policy/c_dup.lua",
      "policy/e_selftest.lua:4: e is wrong (in self_test)",
      "policy/f_notfn.lua: before: must be a function(ctx, call)",
      "policy/g_nodesc.lua: description: must be a non-empty string",
      "policy/h_spin.lua:4: instruction limit (1000000) exceeded (in self_test)",
      "policy/i_name.lua: name: must be a string of 1-64 letters, digits, '_' or '-'",
      "policy/j_number.lua: must return a table (got number)",
  };
  size_t count = sizeof lines / sizeof lines[0];
  for (size_t i = 0; i < count; i++) {
    if (strstr(err, lines[i]) == NULL) fail_msg("missing line:\n  %s\nin:\n%s", lines[i], err);
  }
  size_t n = 1;
  for (const char *p = err; *p != '\0'; p++) n += *p == '\n';
  assert_int_equal(n, count);
  assert_int_equal(uv_loop_close(&fx.loop), 0);
}

/* --- mutating as a function of the input ------------------------------------------ */

static int mutating(policy_fixture *fx, const char *tool, const char *input) {
  json_t *in = parse(input);
  int m = lua_host_tool_mutating(fx->host, tool, in);
  json_decref(in);
  return m;
}

static void test_policy_mutating_function(void **state) {
  policy_fixture *fx = *state;
  assert_int_equal(mutating(fx, "mut", "{\"mode\": \"write\"}"), 1);
  assert_int_equal(mutating(fx, "mut", "{\"mode\": \"read\"}"), 0);
  assert_int_equal(mutating(fx, "mut", NULL), 0);
  /* Fail closed: an error, a non-boolean, a limit. */
  assert_int_equal(mutating(fx, "mut", "{\"mode\": \"error\"}"), 1);
  assert_int_equal(mutating(fx, "mut", "{\"mode\": \"number\"}"), 1);
  assert_int_equal(mutating(fx, "mut", "{\"mode\": \"spin\"}"), 1);
  assert_int_equal(mutating(fx, "mut", "{\"mode\": \"read\"}"), 0);
  assert_int_equal(mutating(fx, "echo", "{\"mode\": \"write\"}"), 0);
  assert_int_equal(mutating(fx, "nope", NULL), -1);
}

static void test_shipped_pve_mutating(void **state) {
  policy_fixture *fx = *state;
  assert_int_equal(mutating(fx, "pve", "{\"verb\": \"status\"}"), 0);
  assert_int_equal(mutating(fx, "pve", "{\"verb\": \"forensics\"}"), 0);
  static const char *const verbs[] = {"start", "stop", "reset", "cycle"};
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
    char input[64];
    snprintf(input, sizeof input, "{\"verb\": \"%s\"}", verbs[i]);
    assert_int_equal(mutating(fx, "pve", input), 1);
  }
  assert_int_equal(mutating(fx, "pve", NULL), 1); /* no verb: assume the worst */
  assert_int_equal(mutating(fx, "devvm_shell", "{\"command\": \"reboot\"}"), 0);
}

/* --- the shipped policies ---------------------------------------------------------- */

/* Texts for the views: a pve call, a history entry, an action. */
static void pve_call(char *out, size_t len, const char *verb, int mutating_verb) {
  snprintf(out, len,
           "{\"tool\": \"pve\", \"input\": {\"verb\": \"%s\"}, \"verb\": \"%s\", "
           "\"mutating\": %s, \"source\": \"model\", \"session_id\": \"s-1\", "
           "\"call_id\": \"c-9\", \"identity\": \"op\", \"now_ms\": %lld}",
           verb, verb, mutating_verb ? "true" : "false", TEST_NOW_MS);
}

static void forensics_entry(char *out, size_t len, long long age_ms, int is_error,
                            const char *extra) {
  snprintf(out, len,
           "{\"tool\": \"pve\", \"input\": {\"verb\": \"forensics\"}, \"verb\": \"forensics\", "
           "\"mutating\": false, \"source\": \"model\", \"identity\": \"op\", "
           "\"started_ms\": %lld, \"finished_ms\": %lld, \"is_error\": %s, "
           "\"decision\": \"allow\"%s}",
           TEST_NOW_MS - age_ms, TEST_NOW_MS - age_ms + 3000, is_error ? "true" : "false", extra);
}

static void action(char *out, size_t len, const char *verb, long long started_ago_ms,
                   long long finished_ago_ms) {
  char finished[64] = "";
  if (finished_ago_ms >= 0)
    snprintf(finished, sizeof finished, ", \"finished_ms\": %lld", TEST_NOW_MS - finished_ago_ms);
  snprintf(out, len,
           "{\"tool\": \"pve\", \"verb\": \"%s\", \"session_id\": \"s-2\", \"source\": "
           "\"model\", \"started_ms\": %lld%s}",
           verb, TEST_NOW_MS - started_ago_ms, finished);
}

static void test_shipped_forensics_first(void **state) {
  policy_fixture *fx = *state;
  char cycle[512], fresh[512], stale[512], failed[512], inserted[512], history[2048];
  pve_call(cycle, sizeof cycle, "cycle", 1);
  forensics_entry(fresh, sizeof fresh, 2 * MINUTE_MS, 0, "");
  forensics_entry(stale, sizeof stale, 11 * MINUTE_MS, 0, "");
  forensics_entry(failed, sizeof failed, 2 * MINUTE_MS, 1, "");
  lua_policy_decision d;
  expect_decision(fx, cycle, "[]", "[]", LUA_POLICY_RUN_FIRST, "forensics_first",
                  "~no forensics capture in this session", &d);
  assert_string_equal(d.run_tool, "pve");
  char *input = json_dumps(d.run_input, JSON_COMPACT);
  assert_string_equal(input, "{\"verb\":\"forensics\"}");
  free(input);
  lua_policy_decision_free(&d);
  snprintf(history, sizeof history, "[%s]", stale);
  expect_decision(fx, cycle, history, "[]", LUA_POLICY_RUN_FIRST, "forensics_first",
                  "~within the last 10 minutes", NULL);
  snprintf(history, sizeof history, "[%s]", failed);
  expect_decision(fx, cycle, history, "[]", LUA_POLICY_RUN_FIRST, "forensics_first", "~", NULL);
  snprintf(history, sizeof history, "[%s]", fresh);
  expect_decision(fx, cycle, history, "[]", LUA_POLICY_ALLOW, NULL, NULL, NULL);
  /* A capture is used up by the mutating call after it. */
  char done[512];
  snprintf(done, sizeof done,
           "{\"tool\": \"pve\", \"verb\": \"reset\", \"mutating\": true, \"decision\": "
           "\"allow\", \"started_ms\": %lld, \"finished_ms\": %lld, \"is_error\": false}",
           TEST_NOW_MS - MINUTE_MS, TEST_NOW_MS - MINUTE_MS + 5000);
  snprintf(history, sizeof history, "[%s, %s]", fresh, done);
  expect_decision(fx, cycle, history, "[]", LUA_POLICY_RUN_FIRST, "forensics_first", "~", NULL);
  /* The runtime ran the capture for the run_first: now the cycle may go. */
  forensics_entry(inserted, sizeof inserted, 0, 0, ", \"inserted_by\": \"forensics_first\"");
  snprintf(history, sizeof history, "[%s, %s, %s]", fresh, done, inserted);
  expect_decision(fx, cycle, history, "[]", LUA_POLICY_ALLOW, NULL, NULL, NULL);
  /* Reading needs no capture. */
  char status[512];
  pve_call(status, sizeof status, "status", 0);
  expect_decision(fx, status, "[]", "[]", LUA_POLICY_ALLOW, NULL, NULL, NULL);
}

static void test_shipped_one_at_a_time(void **state) {
  policy_fixture *fx = *state;
  char stop[512], fresh[512], history[1024], running[512], finished[512], actions[2048];
  pve_call(stop, sizeof stop, "stop", 1);
  forensics_entry(fresh, sizeof fresh, MINUTE_MS, 0, "");
  snprintf(history, sizeof history, "[%s]", fresh);
  action(running, sizeof running, "cycle", 20000, -1);
  action(finished, sizeof finished, "reset", 14 * MINUTE_MS, 13 * MINUTE_MS);
  snprintf(actions, sizeof actions, "[%s, %s]", finished, running);
  expect_decision(fx, stop, history, actions, LUA_POLICY_DENY, "one_at_a_time",
                  "another mutating action is in flight: pve cycle from session s-2, started "
                  "20 s ago; try again when it has finished",
                  NULL);
  /* The deny outranks forensics_first's run_first (no capture here). */
  expect_decision(fx, stop, "[]", actions, LUA_POLICY_DENY, "one_at_a_time", "~in flight", NULL);
  snprintf(actions, sizeof actions, "[%s]", finished);
  expect_decision(fx, stop, history, actions, LUA_POLICY_ALLOW, NULL, NULL, NULL);
  char status[512];
  pve_call(status, sizeof status, "status", 0);
  snprintf(actions, sizeof actions, "[%s]", running);
  expect_decision(fx, status, "[]", actions, LUA_POLICY_ALLOW, NULL, NULL, NULL);
}

static void test_shipped_rate_limit(void **state) {
  policy_fixture *fx = *state;
  char reset[512], cycle[512], fresh[512], history[1024], a[3][512], actions[2048];
  pve_call(reset, sizeof reset, "reset", 1);
  pve_call(cycle, sizeof cycle, "cycle", 1);
  forensics_entry(fresh, sizeof fresh, MINUTE_MS, 0, "");
  snprintf(history, sizeof history, "[%s]", fresh);
  action(a[0], sizeof a[0], "stop", 14 * MINUTE_MS, 14 * MINUTE_MS - 5000);
  action(a[1], sizeof a[1], "start", 10 * MINUTE_MS, 10 * MINUTE_MS - 5000);
  action(a[2], sizeof a[2], "reset", 5 * MINUTE_MS, 5 * MINUTE_MS - 5000);
  snprintf(actions, sizeof actions, "[%s, %s]", a[1], a[2]);
  expect_decision(fx, reset, history, actions, LUA_POLICY_ALLOW, NULL, NULL, NULL);
  snprintf(actions, sizeof actions, "[%s, %s, %s]", a[0], a[1], a[2]);
  expect_decision(fx, reset, history, actions, LUA_POLICY_DENY, "rate_limit",
                  "rate limit: at most 3 mutating calls per 15 minutes; allowed again in 60 s "
                  "(at 22:14:20 UTC)",
                  NULL);
  /* Cycles: 60 s from the end of the last one. */
  action(a[0], sizeof a[0], "cycle", 2 * MINUTE_MS, 45000);
  snprintf(actions, sizeof actions, "[%s]", a[0]);
  expect_decision(fx, cycle, history, actions, LUA_POLICY_DENY, "rate_limit",
                  "rate limit: at least 60 s between two cycles; allowed again in 15 s (at "
                  "22:13:35 UTC)",
                  NULL);
  expect_decision(fx, reset, history, actions, LUA_POLICY_ALLOW, NULL, NULL, NULL);
  action(a[0], sizeof a[0], "cycle", 2 * MINUTE_MS, MINUTE_MS);
  snprintf(actions, sizeof actions, "[%s]", a[0]);
  expect_decision(fx, cycle, history, actions, LUA_POLICY_ALLOW, NULL, NULL, NULL);
  /* An action the runtime described badly: the shipped policy fails closed. */
  expect_decision(fx, cycle, history,
                  "[{\"tool\": \"pve\", \"verb\": \"stop\", \"finished_ms\": 1}]", LUA_POLICY_DENY,
                  "rate_limit",
                  "policy policy/rate_limit.lua failed: policy/rate_limit.lua:39: attempt to "
                  "perform arithmetic on a nil value (field 'started_ms')",
                  NULL);
}

static void shell_call(char *out, size_t len, const char *command) {
  snprintf(out, len,
           "{\"tool\": \"devvm_shell\", \"input\": {\"command\": \"%s\"}, \"mutating\": false, "
           "\"source\": \"model\", \"now_ms\": %lld}",
           command, TEST_NOW_MS);
}

static void test_shipped_confirm_destructive(void **state) {
  policy_fixture *fx = *state;
  char call[512];
  shell_call(call, sizeof call, "sudo dd if=/dev/zero of=/dev/vda bs=1M");
  expect_decision(fx, call, "[]", "[]", LUA_POLICY_CONFIRM, "confirm_destructive",
                  "a catastrophic devvm command (dd writes onto a disk): dd if=/dev/zero "
                  "of=/dev/vda bs=1M [through sudo]",
                  NULL);
  static const char *const confirmed[] = {"mkfs.xfs /dev/sdb1", "rm -rf --no-preserve-root /",
                                          "uptime && sudo poweroff", "echo 1 > /dev/nvme0n1"};
  for (size_t i = 0; i < sizeof confirmed / sizeof confirmed[0]; i++) {
    shell_call(call, sizeof call, confirmed[i]);
    expect_decision(fx, call, "[]", "[]", LUA_POLICY_CONFIRM, "confirm_destructive", "~", NULL);
  }
  static const char *const allowed[] = {"uptime",
                                        "free -m",
                                        "df -h",
                                        "systemctl --failed",
                                        "fdisk -l /dev/vda",
                                        "rm -rf /var/tmp/cache"};
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
    shell_call(call, sizeof call, allowed[i]);
    expect_decision(fx, call, "[]", "[]", LUA_POLICY_ALLOW, NULL, NULL, NULL);
  }
  /* Power verbs are not confirmed by default (confirm_power_verbs = false). */
  char cycle[512], fresh[512], history[1024];
  pve_call(cycle, sizeof cycle, "cycle", 1);
  forensics_entry(fresh, sizeof fresh, MINUTE_MS, 0, "");
  snprintf(history, sizeof history, "[%s]", fresh);
  expect_decision(fx, cycle, history, "[]", LUA_POLICY_ALLOW, NULL, NULL, NULL);
}

/* A test runs on the combination fixtures or on the shipped policies. */
#define COMBO_TEST(t) cmocka_unit_test_setup_teardown(t, combo_setup, fixture_teardown)
#define SHIPPED_TEST(t) cmocka_unit_test_setup_teardown(t, shipped_setup, fixture_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      COMBO_TEST(test_policy_combination),
      COMBO_TEST(test_policy_override),
      COMBO_TEST(test_policy_deny_stops),
      COMBO_TEST(test_policy_fail_closed),
      COMBO_TEST(test_policy_state_and_after),
      COMBO_TEST(test_policy_ctx),
      COMBO_TEST(test_policy_views_named),
      COMBO_TEST(test_policy_log),
      cmocka_unit_test(test_policy_load_errors),
      COMBO_TEST(test_policy_mutating_function),
      SHIPPED_TEST(test_shipped_pve_mutating),
      SHIPPED_TEST(test_shipped_forensics_first),
      SHIPPED_TEST(test_shipped_one_at_a_time),
      SHIPPED_TEST(test_shipped_rate_limit),
      SHIPPED_TEST(test_shipped_confirm_destructive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
