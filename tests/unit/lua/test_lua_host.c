/* The Lua host: loading a script set, the prompt, and tool calls on a real
 * libuv loop (limits, yields on ctx.sleep and services, cancel, timeouts). */
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

#include "lua_host.h"
#include "lua_sandbox.h"
#include "source_path.h"
#include "stderr_capture.h"

#define TEST_RESULT_MAX_BYTES 4096

static const lua_host_limits test_limits = {
    .memory_bytes = 8u << 20, /* filling it takes ~0.5 s under ASan (page faults) */
    .instructions = 1000000,
    .call_timeout_ms = 1500,
    .tool_timeout_ms = 5000,
    .max_json_bytes = 1 << 20,
    .max_result_bytes = TEST_RESULT_MAX_BYTES,
};

/* --- a fake service: ctx.fake(how, ...) ----------------------------------- */

typedef struct fake_service {
  uv_loop_t *loop;
  uv_timer_t timer;
  lua_async *op;
  json_t *args;
  char session[64];
  int starts;
  int cancels;
} fake_service;

static void fake_cancel(void *ud) {
  fake_service *f = ud;
  f->cancels++;
  f->op = NULL;
  uv_timer_stop(&f->timer);
}

static void fake_later(uv_timer_t *t) {
  fake_service *f = t->data;
  lua_async *op = f->op;
  f->op = NULL;
  lua_async_output(op, "[streamed]", 10);
  json_t *r = json_pack("{s:s, s:O}", "how", "later", "args", f->args);
  lua_async_finish(op, r);
  json_decref(r);
}

static int fake_start(void *ud, lua_async *op, const json_t *args, const lua_tool_call_info *info) {
  fake_service *f = ud;
  const char *how = json_string_value(json_array_get(args, 0));
  f->starts++;
  snprintf(f->session, sizeof f->session, "%s", info->session_id);
  assert_ptr_equal(lua_async_info(op), info);
  if (strcmp(how, "fail") == 0) {
    lua_async_fail(op, "nope");
    return -1;
  }
  if (strcmp(how, "sync") == 0) {
    json_t *r = json_string("right away");
    lua_async_finish(op, r);
    json_decref(r);
    return 0;
  }
  json_decref(f->args);
  f->args = json_deep_copy(args);
  f->op = op;
  lua_async_on_cancel(op, fake_cancel, f);
  if (strcmp(how, "later") == 0) uv_timer_start(&f->timer, fake_later, 20, 0);
  return 0; /* "hang": only a cancel ends it */
}

/* --- fixture ------------------------------------------------------------ */

typedef struct host_fixture {
  uv_loop_t loop;
  fake_service fake;
  lua_host_service service;
  lua_host *host;
} host_fixture;

/* The folder of one of the script sets in tests/fixtures/lua. */
static void set_dir(char *dir, size_t size, const char *set) {
  source_path(dir, size, "tests/fixtures/lua/%s", set);
}

static int load_set(host_fixture *fx, const char *set, const lua_host_limits *limits, char *err,
                    size_t errlen) {
  char dir[1200];
  set_dir(dir, sizeof dir, set);
  lua_host_options o = {
      .scripts_dir = dir,
      .limits = *limits,
      .services = &fx->service,
      .service_count = 1,
  };
  return lua_host_load(&fx->host, &fx->loop, &o, err, errlen);
}

static host_fixture *fixture_new(void) {
  host_fixture *fx = calloc(1, sizeof *fx);
  uv_loop_init(&fx->loop);
  fx->fake.loop = &fx->loop;
  uv_timer_init(&fx->loop, &fx->fake.timer);
  fx->fake.timer.data = &fx->fake;
  fx->service = (lua_host_service){.name = "fake", .start = fake_start, .ud = &fx->fake};
  return fx;
}

static int good_setup(void **state) {
  host_fixture *fx = fixture_new();
  char err[4096];
  if (load_set(fx, "good", &test_limits, err, sizeof err) < 0) fail_msg("load: %s", err);
  *state = fx;
  return 0;
}

static void fixture_free(host_fixture *fx) {
  lua_host_release(fx->host);
  uv_close((uv_handle_t *)&fx->fake.timer, NULL);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  json_decref(fx->fake.args);
  free(fx);
}

static int good_teardown(void **state) {
  fixture_free(*state);
  return 0;
}

/* --- calls --------------------------------------------------------------- */

typedef struct call_result {
  lua_tool_call *call;
  int in_call_tool; /* set while lua_host_call_tool runs */
  int done;
  int is_error;
  char content[TEST_RESULT_MAX_BYTES + 1];
  size_t len;
  char details[256]; /* compact JSON, "" when none */
  char output[256];
  uint64_t started_ns;
  uint64_t done_ms;     /* after the call started */
  int cancel_on_output; /* cancel when this output chunk arrives */
  const char *cancel_chunk;
} call_result;

static void on_output(void *ud, const char *chunk, size_t len) {
  call_result *r = ud;
  strncat(r->output, chunk,
          len < sizeof r->output - strlen(r->output) - 1
              ? len
              : sizeof r->output - strlen(r->output) - 1);
  if (r->cancel_chunk != NULL && len == strlen(r->cancel_chunk) &&
      memcmp(chunk, r->cancel_chunk, len) == 0)
    lua_tool_call_cancel(r->call);
}

static void on_done(void *ud, int is_error, const char *content, size_t len,
                    const json_t *details) {
  call_result *r = ud;
  assert_false(r->in_call_tool);
  assert_false(r->done);
  r->done = 1;
  r->is_error = is_error;
  assert_true(len <= TEST_RESULT_MAX_BYTES);
  memcpy(r->content, content, len);
  r->content[len] = '\0';
  r->len = len;
  char *text = details ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  snprintf(r->details, sizeof r->details, "%s", text ? text : "");
  free(text);
  r->done_ms = (uv_hrtime() - r->started_ns) / 1000000;
}

static const lua_tool_cbs test_cbs = {.on_output = on_output, .on_done = on_done};

static void start_call(host_fixture *fx, const char *tool, const char *input, call_result *r) {
  json_error_t je;
  json_t *in = json_loads(input, 0, &je);
  assert_non_null(in);
  lua_tool_call_info info = {.session_id = "s-1", .call_id = "toolu_1", .identity = "op@example"};
  memset(r, 0, sizeof *r);
  r->started_ns = uv_hrtime();
  r->in_call_tool = 1;
  r->call = lua_host_call_tool(fx->host, tool, in, &info, &test_cbs, r);
  r->in_call_tool = 0;
  assert_non_null(r->call);
  json_decref(in);
}

/* Runs one call to its end; returns the result for checks. */
static call_result *call(host_fixture *fx, const char *tool, const char *input) {
  static call_result r;
  start_call(fx, tool, input, &r);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_true(r.done);
  return &r;
}

static void expect_call(host_fixture *fx, const char *tool, const char *input, int is_error,
                        const char *content) {
  call_result *r = call(fx, tool, input);
  if (r->is_error != is_error || strcmp(r->content, content) != 0)
    fail_msg("%s %s:\n  want %s: %s\n  got  %s: %s", tool, input, is_error ? "error" : "ok",
             content, r->is_error ? "error" : "ok", r->content);
}

/* --- loading --------------------------------------------------------------- */

static void test_host_tools_json(void **state) {
  host_fixture *fx = *state;
  json_t *tools = lua_host_tools_json(fx->host);
  char *text = json_dumps(tools, JSON_COMPACT | JSON_SORT_KEYS);
  static const char *const order[] = {"echo", "nap",  "spin", "bomb", "regex",      "big", "fail",
                                      "svc",  "talk", "keep", "peek", "gsub_sleep", "misc"};
  assert_int_equal(json_array_size(tools), sizeof order / sizeof order[0]);
  for (size_t i = 0; i < json_array_size(tools); i++) {
    json_t *t = json_array_get(tools, i);
    assert_string_equal(json_string_value(json_object_get(t, "name")), order[i]);
    assert_non_null(json_object_get(t, "description"));
    assert_true(json_is_object(json_object_get(t, "input_schema")));
  }
  assert_non_null(strstr(text, "\"input_schema\":{\"additionalProperties\":false,"
                               "\"properties\":{\"text\":{\"maxLength\":100,"));
  free(text);
  json_decref(tools);
  assert_int_equal(lua_host_tool_mutating(fx->host, "peek", NULL), 1);
  assert_int_equal(lua_host_tool_mutating(fx->host, "echo", NULL), 0);
  assert_int_equal(lua_host_tool_mutating(fx->host, "nope", NULL), -1);
}

static void test_host_prompt_function(void **state) {
  host_fixture *fx = *state;
  json_t *ctx = json_pack("{s:s, s:[s,s]}", "session", "s-9", "tools", "a", "b");
  char *prompt = NULL;
  char err[512];
  assert_int_equal(lua_host_system_prompt(fx->host, ctx, &prompt, err, sizeof err), 0);
  assert_string_equal(prompt, "You are breakglass. Session s-9, tools: 2.");
  free(prompt);
  /* A context the function cannot use: the error names the line. */
  json_decref(ctx);
  ctx = json_object();
  assert_int_equal(lua_host_system_prompt(fx->host, ctx, &prompt, err, sizeof err), -1);
  assert_string_equal(err, "prompt.lua:3: attempt to get length of a nil value (field 'tools')");
  json_decref(ctx);
}

static void test_host_prompt_string(void **state) {
  (void)state;
  host_fixture *fx = fixture_new();
  char err[1024];
  assert_int_equal(load_set(fx, "string_prompt", &test_limits, err, sizeof err), 0);
  char *prompt = NULL;
  assert_int_equal(lua_host_system_prompt(fx->host, NULL, &prompt, err, sizeof err), 0);
  assert_string_equal(prompt, "You are breakglass.");
  free(prompt);
  json_t *tools = lua_host_tools_json(fx->host);
  assert_int_equal(json_array_size(tools), 0); /* no tools/ folder: no tools */
  json_decref(tools);
  fixture_free(fx);
}

static void test_host_load_errors(void **state) {
  (void)state;
  host_fixture *fx = fixture_new();
  char err[8192];
  uint64_t t0 = uv_hrtime();
  assert_int_equal(load_set(fx, "broken", &test_limits, err, sizeof err), -1);
  assert_null(fx->host);
  /* The endless loop at load stopped by the budget, not the wall clock. */
  assert_true((uv_hrtime() - t0) / 1000000 < 5000);
  static const char *const lines[] = {
      "tools/a_syntax.lua:3: '}' expected (to close '{' at line 1) near 'description'",
      "tools/b_runtime.lua:2: attempt to index a nil value (local 't')",
      "tools/c_noschema.lua: input_schema: must be a table",
      "tools/e_dup.lua: tool name \"dup\" is already used by tools/d_dup.lua",
      "tools/f_spin.lua:3: instruction limit (1000000) exceeded",
      "tools/g_bomb.lua:5: memory limit (8 MiB) exceeded",
      "tools/h_badschema.lua: input_schema.properties.n.type: unknown type \"int\"",
      "tools/i_number.lua: must return a table describing the tool (got number)",
      "tools/j_field.lua: unknown field 'mutates' (fields: name, description, input_schema, "
      "mutating, handler)",
      "tools/k_name.lua: name: must be a string of 1-64 letters, digits, '_' or '-'",
      "tools/l_required.lua: input_schema.required: must be an array of property names (an "
      "empty Lua table encodes as {}: leave the field out)",
      "policy/bad.lua: must return a table (got string)",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    if (strstr(err, lines[i]) == NULL) fail_msg("missing line:\n  %s\nin:\n%s", lines[i], err);
  }
  /* One line per problem, nothing else. */
  size_t n = 1;
  for (const char *p = err; *p != '\0'; p++) n += *p == '\n';
  assert_int_equal(n, sizeof lines / sizeof lines[0]);
  fixture_free(fx);
}

static void test_host_missing_prompt(void **state) {
  (void)state;
  host_fixture *fx = fixture_new();
  char err[1024];
  assert_int_equal(load_set(fx, "no_prompt", &test_limits, err, sizeof err), -1);
  assert_string_equal(err, "prompt.lua: cannot open: No such file or directory");
  fixture_free(fx);
}

static void test_host_bad_service_name(void **state) {
  (void)state;
  host_fixture *fx = fixture_new();
  fx->service.name = "sleep";
  char err[1024];
  assert_int_equal(load_set(fx, "good", &test_limits, err, sizeof err), -1);
  assert_string_equal(err, "service \"sleep\": not a usable ctx field name");
  fixture_free(fx);
}

/* --- calls ------------------------------------------------------------------ */

static void test_host_call_echo(void **state) {
  host_fixture *fx = *state;
  call_result *r = call(fx, "echo", "{\"text\": \"hi\", \"timeout_s\": 5}");
  assert_false(r->is_error);
  assert_string_equal(r->content, "{\"big\":9007199254740993,\"call\":\"toolu_1\",\"echo\":\"hi\","
                                  "\"now_is_integer\":true,\"session\":\"s-1\","
                                  "\"who\":\"op@example\"}");
  assert_string_equal(r->output, "ran");
}

static void test_host_invalid_input(void **state) {
  host_fixture *fx = *state;
  call_result *r = call(fx, "echo", "{\"timeout_s\": 601}");
  assert_true(r->is_error);
  assert_string_equal(r->content, "invalid input: input.text: is required");
  assert_string_equal(r->output, ""); /* the handler did not run */
  expect_call(fx, "echo", "{\"text\": \"hi\", \"timeout_s\": 601}", 1,
              "invalid input: input.timeout_s: must be <= 600");
  expect_call(fx, "echo", "{\"text\": \"hi\", \"extra\": 1}", 1,
              "invalid input: input.extra: is not an allowed property (allowed: text, "
              "timeout_s)");
}

static void test_host_unknown_tool(void **state) {
  host_fixture *fx = *state;
  expect_call(fx, "rm_rf", "{}", 1,
              "unknown tool \"rm_rf\" (tools: echo nap spin bomb regex big fail svc talk keep "
              "peek gsub_sleep misc)");
}

static void test_host_handler_endings(void **state) {
  host_fixture *fx = *state;
  expect_call(fx, "fail", "{\"mode\": \"error\"}", 1, "tools/g_fail.lua:15: boom");
  expect_call(fx, "fail", "{\"mode\": \"table\"}", 1, "tools/g_fail.lua:17: {\"code\":7}");
  expect_call(fx, "fail", "{\"mode\": \"nil\"}", 1, "host not found");
  expect_call(fx, "fail", "{\"mode\": \"none\"}", 1,
              "tools/g_fail.lua: the handler returned no result (return a string or a table, "
              "or nil and an error message)");
  expect_call(fx, "fail", "{\"mode\": \"number\"}", 0, "42");
  expect_call(fx, "fail", "{\"mode\": \"invalid_utf8\"}", 0,
              "a\xEF\xBF\xBD"
              "b");
  expect_call(fx, "fail", "{\"mode\": \"function\"}", 1,
              "tools/g_fail.lua: the handler's result cannot be sent: cannot encode a function "
              "(at .f)");
}

/* What a handler gives the page besides the model's text: the table after
 * the text or the error, or a table result itself; none when it cannot be
 * sent (the text still goes). */
static void test_host_handler_details(void **state) {
  host_fixture *fx = *state;
  static const struct {
    const char *mode;
    int is_error;
    const char *content, *details;
  } cases[] = {
      {"text_details", 0, "exit status 0", "{\"exit_status\":0}"},
      {"error_details", 1, "unreachable", "{\"layer\":\"no_banner\"}"},
      {"result_table", 0, "{\"layer\":\"kex\",\"ok\":false}", "{\"layer\":\"kex\",\"ok\":false}"},
      {"bad_details", 0, "fine", ""},
      {"number", 0, "42", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char input[64];
    snprintf(input, sizeof input, "{\"mode\": \"%s\"}", cases[i].mode);
    call_result *r = call(fx, "fail", input);
    if (r->is_error != cases[i].is_error || strcmp(r->content, cases[i].content) != 0 ||
        strcmp(r->details, cases[i].details) != 0)
      fail_msg("%s: got %d %s / %s", cases[i].mode, r->is_error, r->content, r->details);
  }
}

static void test_host_result_cut(void **state) {
  host_fixture *fx = *state;
  call_result *r = call(fx, "fail", "{\"mode\": \"big\"}");
  assert_false(r->is_error);
  assert_true(r->len <= TEST_RESULT_MAX_BYTES && r->len > TEST_RESULT_MAX_BYTES - 100);
  const char *marker = strstr(r->content, "\n[... ");
  assert_non_null(marker);
  size_t kept = (size_t)(marker - r->content);
  assert_int_equal(kept % 2, 0); /* "é" is two bytes: cut between characters */
  char want[64];
  snprintf(want, sizeof want, "\n[... %zu bytes cut]", 10000 - kept);
  assert_string_equal(marker, want);
}

static void test_host_limits_in_handlers(void **state) {
  host_fixture *fx = *state;
  expect_call(fx, "spin", "{}", 1, "tools/c_spin.lua:7: instruction limit (1000000) exceeded");
  expect_call(fx, "bomb", "{}", 1, "tools/d_bomb.lua:8: memory limit (8 MiB) exceeded");
  call_result *r = call(fx, "regex", "{}");
  assert_string_equal(r->content, "tools/e_regex.lua:7: time limit (1500 ms) exceeded in "
                                  "string.find");
  assert_true(r->done_ms >= 1450 && r->done_ms < 5000);
  expect_call(fx, "big", "{}", 1, "tools/f_big.lua:8: json.encode: output exceeds 1048576 bytes");
  /* The states are usable afterwards. */
  expect_call(fx, "echo", "{\"text\": \"still here\"}", 0,
              "{\"big\":9007199254740993,\"call\":\"toolu_1\",\"echo\":\"still here\","
              "\"now_is_integer\":true,\"session\":\"s-1\",\"who\":\"op@example\"}");
}

static void test_host_isolation(void **state) {
  host_fixture *fx = *state;
  expect_call(fx, "peek", "{}", 0, "nil false");
}

static void ticker_cb(uv_timer_t *t) { (*(int *)t->data)++; }

/* ctx.sleep yields to the loop: other timers run meanwhile, and two calls
 * sleeping at once take the time of one. */
static void test_host_sleep_yields(void **state) {
  host_fixture *fx = *state;
  int ticks = 0;
  uv_timer_t ticker;
  uv_timer_init(&fx->loop, &ticker);
  ticker.data = &ticks;
  uv_timer_start(&ticker, ticker_cb, 10, 10);
  call_result a, b;
  uint64_t t0 = uv_hrtime();
  start_call(fx, "nap", "{\"ms\": 200}", &a);
  start_call(fx, "nap", "{\"ms\": 200}", &b);
  while (!(a.done && b.done)) uv_run(&fx->loop, UV_RUN_ONCE);
  uint64_t ms = (uv_hrtime() - t0) / 1000000;
  uv_close((uv_handle_t *)&ticker, NULL);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_string_equal(a.content, "slept 200");
  assert_string_equal(b.content, "slept 200");
  assert_false(a.is_error || b.is_error);
  assert_true(ms >= 190 && ms < 390);
  assert_true(ticks >= 8);
}

static void test_host_cancel_during_sleep(void **state) {
  host_fixture *fx = *state;
  call_result r;
  start_call(fx, "nap", "{\"ms\": 30000}", &r);
  uv_run(&fx->loop, UV_RUN_NOWAIT); /* the handler starts and yields */
  assert_false(r.done);
  lua_tool_call_cancel(r.call);
  uint64_t t0 = uv_hrtime();
  uv_run(&fx->loop, UV_RUN_DEFAULT); /* returns once nothing is left */
  assert_true(r.done);
  assert_true(r.is_error);
  assert_string_equal(r.content, "cancelled");
  assert_true((uv_hrtime() - t0) / 1000000 < 1000);
}

static void test_host_cancel_before_start(void **state) {
  host_fixture *fx = *state;
  call_result r;
  start_call(fx, "echo", "{\"text\": \"x\"}", &r);
  lua_tool_call_cancel(r.call);
  assert_false(r.done); /* deferred to the loop */
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_string_equal(r.content, "cancelled");
  assert_string_equal(r.output, "");
}

/* Cancel from inside the handler's own output callback stops the handler at
 * its next instruction, not at the end of its budget. */
static void test_host_cancel_inside_output(void **state) {
  (void)state;
  host_fixture *fx = fixture_new();
  lua_host_limits limits = test_limits;
  limits.instructions = UINT64_MAX;
  limits.call_timeout_ms = 4000;
  char err[1024];
  assert_int_equal(load_set(fx, "good", &limits, err, sizeof err), 0);
  call_result r;
  start_call(fx, "talk", "{\"spin\": true}", &r);
  r.cancel_chunk = "b";
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_true(r.done);
  assert_string_equal(r.content, "cancelled");
  assert_string_equal(r.output, "ab");
  assert_true(r.done_ms < 2000);
  fixture_free(fx);
}

static void test_host_tool_timeout(void **state) {
  (void)state;
  host_fixture *fx = fixture_new();
  lua_host_limits limits = test_limits;
  limits.tool_timeout_ms = 300;
  char err[1024];
  assert_int_equal(load_set(fx, "good", &limits, err, sizeof err), 0);
  call_result *r = call(fx, "nap", "{\"ms\": 30000}");
  assert_true(r->is_error);
  assert_string_equal(r->content, "tool call exceeded 300 ms");
  assert_true(r->done_ms >= 290 && r->done_ms < 2000);
  /* A service's pending operation is cancelled too. */
  r = call(fx, "svc", "{\"how\": \"hang\"}");
  assert_string_equal(r->content, "tool call exceeded 300 ms");
  assert_int_equal(fx->fake.cancels, 1);
  fixture_free(fx);
}

static void test_host_service_calls(void **state) {
  host_fixture *fx = *state;
  call_result *r = call(fx, "svc", "{\"how\": \"later\"}");
  assert_false(r->is_error);
  assert_string_equal(r->content, "{\"caught\":\"tools/h_svc.lua:7: ctx.fake: nope\","
                                  "\"first\":{\"args\":[\"later\",{\"n\":1}],\"how\":\"later\"}}");
  assert_string_equal(r->output, "[streamed]");
  assert_string_equal(fx->fake.session, "s-1");
  r = call(fx, "svc", "{\"how\": \"sync\"}");
  assert_string_equal(r->content, "{\"caught\":\"tools/h_svc.lua:7: ctx.fake: nope\","
                                  "\"first\":\"right away\"}");
  call_result c;
  start_call(fx, "svc", "{\"how\": \"hang\"}", &c);
  uv_run(&fx->loop, UV_RUN_NOWAIT);
  assert_non_null(fx->fake.op);
  lua_tool_call_cancel(c.call);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_string_equal(c.content, "cancelled");
  assert_int_equal(fx->fake.cancels, 1);
  assert_null(fx->fake.op);
}

static void test_host_ctx_misuse(void **state) {
  host_fixture *fx = *state;
  expect_call(fx, "keep", "{}", 0, "kept");
  expect_call(fx, "keep", "{}", 1,
              "tools/j_keep.lua:13: ctx.output: this ctx belongs to a tool call that has ended");
  expect_call(fx, "gsub_sleep", "{}", 1,
              "tools/l_gsub_sleep.lua:6: ctx.sleep: cannot wait inside a function called from C "
              "(such as a string.gsub replacement or a table.sort comparator)");
}

/* A service whose output makes the consumer cancel the call may still
 * finish the operation in the same callback: that finish is ignored. */
static void test_host_cancel_from_service_output(void **state) {
  host_fixture *fx = *state;
  call_result r;
  start_call(fx, "svc", "{\"how\": \"later\"}", &r);
  r.cancel_chunk = "[streamed]";
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_string_equal(r.content, "cancelled");
  assert_int_equal(fx->fake.cancels, 1);
}

/* ctx.log writes one quoted line to the daemon log, naming file and call. */
static void test_host_ctx_log(void **state) {
  host_fixture *fx = *state;
  stderr_capture capture;
  stderr_capture_start(&capture);
  call_result *r = call(fx, "misc", "{\"mode\": \"log\"}");
  char line[1024];
  stderr_capture_stop(&capture, line, sizeof line);
  assert_string_equal(r->content, "logged");
  assert_non_null(strstr(line, "lua tools/m_misc.lua (session s-1, call toolu_1): "
                               "\"line one\\x0aline \\\"two\\\"\"\n"));
  expect_call(fx, "misc", "{\"mode\": \"bad_sleep\"}", 1,
              "tools/m_misc.lua:10: ctx.sleep: ms must be between 0 and 600000");
}

/* A call in flight keeps the set alive after its owner releases it. */
static void test_host_call_outlives_release(void **state) {
  (void)state;
  host_fixture *fx = fixture_new();
  char err[1024];
  assert_int_equal(load_set(fx, "good", &test_limits, err, sizeof err), 0);
  call_result r;
  start_call(fx, "nap", "{\"ms\": 20}", &r);
  lua_host_release(fx->host);
  fx->host = NULL;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_string_equal(r.content, "slept 20");
  fixture_free(fx);
}

/* --- the memory budget ------------------------------------------------------ */

/* The budget fixture: prompt.lua, tools/hold.lua and policy/selftested.lua
 * (with a self_test); the last two hold 3 MiB each while their state lives. */
static void test_host_state_count(void **state) {
  (void)state;
  char dir[1200];
  set_dir(dir, sizeof dir, "budget");
  assert_int_equal(lua_host_state_count(dir), 3);
  set_dir(dir, sizeof dir, "good");
  assert_int_equal(lua_host_state_count(dir), 15); /* prompt, 13 tools, 1 policy */
  set_dir(dir, sizeof dir, "no_prompt");
  assert_int_equal(lua_host_state_count(dir), 2);
  set_dir(dir, sizeof dir, "no_such_set");
  assert_int_equal(lua_host_state_count(dir), 1);
}

/* The budget (8 MiB) holds one set (6 MiB and change): the self_test's
 * state is gone before the policy's own is made, or the set would need
 * 9 MiB. A second set beside the first does not fit: its load fails with
 * the budget's error and the first keeps serving. Once the first goes, the
 * second loads. */
static void test_host_sets_share_the_budget(void **state) {
  (void)state;
  lua_sandbox_budget budget = {.limit_bytes = 8u << 20, .setting = "TEST_TOTAL_MB"};
  lua_host_limits limits = test_limits;
  limits.budget = &budget;
  char err[4096];
  host_fixture *first = fixture_new();
  if (load_set(first, "budget", &limits, err, sizeof err) < 0) fail_msg("first set: %s", err);
  assert_true(budget.used_bytes > (6u << 20) && budget.used_bytes < (7u << 20));
  size_t one_set = budget.used_bytes;

  host_fixture *second = fixture_new();
  assert_int_equal(load_set(second, "budget", &limits, err, sizeof err), -1);
  assert_string_equal(err, "tools/hold.lua:3: memory limit of all Lua scripts together "
                           "(8 MiB, TEST_TOTAL_MB) exceeded\n"
                           "policy/selftested.lua:3: memory limit of all Lua scripts together "
                           "(8 MiB, TEST_TOTAL_MB) exceeded");
  assert_null(second->host);
  assert_int_equal(budget.used_bytes, one_set);
  expect_call(first, "hold", "{}", 0, "48 pieces");

  fixture_free(first);
  assert_int_equal(budget.used_bytes, 0);
  if (load_set(second, "budget", &limits, err, sizeof err) < 0) fail_msg("second set: %s", err);
  expect_call(second, "hold", "{}", 0, "48 pieces");
  fixture_free(second);
  assert_int_equal(budget.used_bytes, 0);
}

/* Most tests run on the "good" script set, loaded afresh (good_setup). */
#define GOOD_TEST(t) cmocka_unit_test_setup_teardown(t, good_setup, good_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      GOOD_TEST(test_host_tools_json),
      GOOD_TEST(test_host_prompt_function),
      cmocka_unit_test(test_host_prompt_string),
      cmocka_unit_test(test_host_load_errors),
      cmocka_unit_test(test_host_missing_prompt),
      cmocka_unit_test(test_host_bad_service_name),
      GOOD_TEST(test_host_call_echo),
      GOOD_TEST(test_host_invalid_input),
      GOOD_TEST(test_host_unknown_tool),
      GOOD_TEST(test_host_handler_details),
      GOOD_TEST(test_host_handler_endings),
      GOOD_TEST(test_host_result_cut),
      GOOD_TEST(test_host_limits_in_handlers),
      GOOD_TEST(test_host_isolation),
      GOOD_TEST(test_host_sleep_yields),
      GOOD_TEST(test_host_cancel_during_sleep),
      GOOD_TEST(test_host_cancel_before_start),
      cmocka_unit_test(test_host_cancel_inside_output),
      cmocka_unit_test(test_host_tool_timeout),
      GOOD_TEST(test_host_service_calls),
      GOOD_TEST(test_host_ctx_misuse),
      GOOD_TEST(test_host_cancel_from_service_output),
      GOOD_TEST(test_host_ctx_log),
      cmocka_unit_test(test_host_call_outlives_release),
      cmocka_unit_test(test_host_state_count),
      cmocka_unit_test(test_host_sets_share_the_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
