/* The message assembler, fed by the SSE parser from recorded streams in
 * tests/fixtures/sse/: exact results per fixture, the same result at every
 * chunk split and line-ending style, and each failure it must report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "model_stream.h"
#include "source_path.h"
#include "sse_parser.h"

#define TEST_MAX_EVENT_BYTES (1024 * 1024)
#define TEST_MAX_CONTENT_BYTES (8u * 1024 * 1024)
#define TEST_MAX_SUMMARY_BYTES (64 * 1024)

typedef struct run {
  sse_parser sse;
  model_stream ms;
  buf text; /* every on_text piece, in order */
  int rc;   /* the first non-zero assembler result */
} run;

static void run_on_text(void *ud, const char *text, size_t len) {
  run *r = ud;
  assert_int_equal(buf_append(&r->text, text, len), 0);
}

static int run_on_event(void *ud, const char *event, size_t event_len, const char *data,
                        size_t data_len) {
  run *r = ud;
  int rc = model_stream_event(&r->ms, event, event_len, data, data_len);
  if (rc != MODEL_STREAM_MORE && r->rc == 0) r->rc = rc;
  /* A positive value stops the parser, as in the client. */
  return rc == MODEL_STREAM_MORE ? 0 : 1;
}

static void run_init(run *r) {
  memset(r, 0, sizeof *r);
  sse_parser_init(&r->sse, TEST_MAX_EVENT_BYTES, run_on_event, r);
  model_stream_init(&r->ms, TEST_MAX_CONTENT_BYTES, run_on_text, r);
  buf_init(&r->text, TEST_MAX_CONTENT_BYTES);
}

static void run_feed(run *r, const char *p, size_t n) {
  if (r->rc == 0) sse_parser_feed(&r->sse, p, n);
}

/* Everything the assembler decided, as one comparable string. */
static char *run_finish(run *r) {
  buf out;
  buf_init(&out, TEST_MAX_SUMMARY_BYTES);
  if (r->rc == MODEL_STREAM_DONE) {
    model_response resp;
    assert_int_equal(model_stream_result(&r->ms, &resp), 0);
    char *msg = json_dumps(resp.message, JSON_COMPACT);
    char *details = resp.stop_details ? json_dumps(resp.stop_details, JSON_COMPACT) : NULL;
    buf_appendf(&out, "id=%s stop=%s details=%s usage=%lld/%lld/%lld/%lld incomplete=%d\n",
                resp.message_id ? resp.message_id : "-", resp.stop_reason ? resp.stop_reason : "-",
                details ? details : "-", resp.usage.input_tokens, resp.usage.output_tokens,
                resp.usage.cache_creation_input_tokens, resp.usage.cache_read_input_tokens,
                resp.incomplete_tool_use);
    buf_appendf(&out, "message=%s\n", msg);
    free(msg);
    free(details);
  } else {
    buf_appendf(&out, "rc=%d error=%s: %s\n", r->rc, r->ms.error_type ? r->ms.error_type : "-",
                r->ms.error_message ? r->ms.error_message : "-");
  }
  buf_appendf(&out, "text=%s", buf_cstr(&r->text));
  sse_parser_free(&r->sse);
  model_stream_free(&r->ms);
  buf_free(&r->text);
  return buf_steal(&out, NULL);
}

static char *fixture_read(const char *name, size_t *len) {
  char path[4096];
  source_path(path, sizeof path, "tests/fixtures/sse/%s", name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s (set BREAKGLASS_SOURCE_DIR)", path);
  buf b;
  buf_init(&b, TEST_MAX_CONTENT_BYTES);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) assert_int_equal(buf_append(&b, chunk, n), 0);
  fclose(f);
  return buf_steal(&b, len);
}

static char *assemble(const char *p, size_t n, size_t split) {
  run r;
  run_init(&r);
  run_feed(&r, p, split);
  run_feed(&r, p + split, n - split);
  return run_finish(&r);
}

static char *assemble_bytewise(const char *p, size_t n) {
  run r;
  run_init(&r);
  for (size_t i = 0; i < n; i++) run_feed(&r, p + i, 1);
  return run_finish(&r);
}

/* The same stream with every LF line end turned into eol. */
static char *relined(const char *p, size_t n, const char *eol, size_t *out_len) {
  buf b;
  buf_init(&b, 2 * n + 1);
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\n')
      buf_append_str(&b, eol);
    else if (p[i] != '\r')
      buf_append(&b, p + i, 1);
  }
  return buf_steal(&b, out_len);
}

static void check_every_split(const char *p, size_t n, const char *expect) {
  for (size_t split = 0; split <= n; split++) {
    char *got = assemble(p, n, split);
    if (strcmp(got, expect) != 0)
      fail_msg("split at %zu differs:\n%s\nvs whole:\n%s", split, got, expect);
    free(got);
  }
  char *got = assemble_bytewise(p, n);
  assert_string_equal(got, expect);
  free(got);
}

static const char *const fixtures[] = {
    "plain_text.txt",        "text_tool_use.txt",
    "two_tool_use.txt",      "thinking.txt",
    "redacted_thinking.txt", "error_midstream.txt",
    "max_tokens_tool.txt",   "unknown_things.txt",
    "pings_comments.txt",    "crlf.txt",
};

static void test_every_split_matches_whole(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
    size_t n;
    char *p = fixture_read(fixtures[i], &n);
    char *whole = assemble(p, n, n);
    check_every_split(p, n, whole);
    static const char *const eols[] = {"\r", "\r\n", "\n"};
    for (size_t e = 0; e < 3; e++) {
      size_t m;
      char *q = relined(p, n, eols[e], &m);
      check_every_split(q, m, whole);
      free(q);
    }
    free(whole);
    free(p);
  }
}

static void expect_fixture(const char *name, const char *expect) {
  size_t n;
  char *p = fixture_read(name, &n);
  char *got = assemble(p, n, n);
  assert_string_equal(got, expect);
  free(got);
  free(p);
}

static void test_plain_text(void **state) {
  (void)state;
  expect_fixture("plain_text.txt",
                 "id=msg_01XyZ stop=end_turn details=- usage=21/9/0/0 incomplete=0\n"
                 "message={\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
                 "\"The disk looks healthy. \xc3\xa9\xe2\x9c\x93 \xf0\x9f\x98\x80\"}]}\n"
                 "text=The disk looks healthy. \xc3\xa9\xe2\x9c\x93 \xf0\x9f\x98\x80");
}

static void test_crlf(void **state) {
  (void)state;
  expect_fixture("crlf.txt",
                 "id=msg_01XyZ stop=end_turn details=- usage=21/9/0/0 incomplete=0\n"
                 "message={\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
                 "\"CRLF disk looks healthy. \xc3\xa9\xe2\x9c\x93 \xf0\x9f\x98\x80\"}]}\n"
                 "text=CRLF disk looks healthy. \xc3\xa9\xe2\x9c\x93 \xf0\x9f\x98\x80");
}

static void test_text_then_tool_use(void **state) {
  (void)state;
  expect_fixture("text_tool_use.txt",
                 "id=msg_01AbC stop=tool_use details=- usage=377/65/0/0 incomplete=0\n"
                 "message={\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
                 "\"Checking load first.\"},{\"type\":\"tool_use\",\"id\":\"toolu_01QrS\","
                 "\"name\":\"ssh_exec\",\"input\":{\"cmd\":\"uptime | wc\",\"timeout_s\":10}}]}\n"
                 "text=Checking load first.");
}

/* An empty text block is left out; extra fields (caller) are kept; a
 * whitespace-only input is {}; blocks stop out of order. */
static void test_two_tool_uses(void **state) {
  (void)state;
  expect_fixture("two_tool_use.txt",
                 "id=msg_02TwO stop=tool_use details=- usage=900/80/120/3900 incomplete=0\n"
                 "message={\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                 "\"toolu_01One\",\"name\":\"ssh_exec\",\"input\":{\"cmd\":\"df -h\"},\"caller\":"
                 "{\"type\":\"direct\"}},{\"type\":\"tool_use\",\"id\":\"toolu_02Two\",\"name\":"
                 "\"pve_status\",\"input\":{}}]}\n"
                 "text=");
}

/* The last signature wins; null usage keeps the value; later deltas win. */
static void test_thinking(void **state) {
  (void)state;
  expect_fixture("thinking.txt",
                 "id=msg_03ThK stop=end_turn details=- usage=55/40/11/7 incomplete=0\n"
                 "message={\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":"
                 "\"The user wants the load.\\nLet me check uptime.\",\"signature\":"
                 "\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxFINAL\"},{\"type\":\"text\",\"text\":"
                 "\"Load is fine.\"}]}\n"
                 "text=Load is fine.");
}

static void test_redacted_thinking(void **state) {
  (void)state;
  expect_fixture("redacted_thinking.txt",
                 "id=msg_04ReD stop=tool_use details=- usage=70/30/0/0 incomplete=0\n"
                 "message={\"role\":\"assistant\",\"content\":[{\"type\":\"redacted_thinking\","
                 "\"data\":\"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP\"},"
                 "{\"type\":\"tool_use\",\"id\":\"toolu_05Red\",\"name\":\"pve_verb\",\"input\":"
                 "{\"verb\":\"forensics\"}}]}\n"
                 "text=");
}

static void test_error_event(void **state) {
  (void)state;
  expect_fixture("error_midstream.txt", "rc=-10 error=overloaded_error: Overloaded\ntext=Let me");
}

static void test_max_tokens_truncated_tool(void **state) {
  (void)state;
  expect_fixture("max_tokens_tool.txt",
                 "id=msg_06MaX stop=max_tokens details=- usage=400/100/0/0 incomplete=1\n"
                 "message={\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
                 "\"Writing the file.\"},{\"type\":\"tool_use\",\"id\":\"toolu_06Cut\",\"name\":"
                 "\"ssh_exec\",\"input\":{}}]}\n"
                 "text=Writing the file.");
}

static void test_unknown_things(void **state) {
  (void)state;
  expect_fixture(
      "unknown_things.txt",
      "id=msg_07UnK stop=brand_new_reason details={\"type\":\"refusal\",\"category\":null,"
      "\"explanation\":null} usage=10/5/0/0 incomplete=0\n"
      "message={\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\"},"
      "{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_01\",\"content\":"
      "[{\"type\":\"web_search_result\",\"url\":\"https://example.invalid/\",\"title\":"
      "\"t\"}]}]}\n"
      "text=Hello");
}

static void test_pings_and_comments(void **state) {
  (void)state;
  expect_fixture("pings_comments.txt",
                 "id=msg_08PiNg stop=end_turn details=- usage=3/2/0/0 incomplete=0\n"
                 "message={\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
                 "\"pong\"}]}\n"
                 "text=pong");
}

/* Events given directly, one string per event: "name|data". */
static char *assemble_events(const char *const *events, size_t count) {
  run r;
  run_init(&r);
  for (size_t i = 0; i < count && r.rc == 0; i++) {
    const char *bar = strchr(events[i], '|');
    run_on_event(&r, events[i], (size_t)(bar - events[i]), bar + 1, strlen(bar + 1));
  }
  return run_finish(&r);
}

#define START "message_start|{\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}"
#define STOP "message_stop|{}"

static void expect_events(const char *const *events, size_t count, const char *expect) {
  char *got = assemble_events(events, count);
  assert_string_equal(got, expect);
  free(got);
}

#define EXPECT_EVENTS(expect, ...)                                                                 \
  do {                                                                                             \
    const char *const evs_[] = {__VA_ARGS__};                                                      \
    expect_events(evs_, sizeof evs_ / sizeof evs_[0], expect);                                     \
  } while (0)

static void test_message_start_comes_first(void **state) {
  (void)state;
  EXPECT_EVENTS("rc=-11 error=protocol_error: an event came before message_start\ntext=", "ping|{}",
                "content_block_start|{\"index\":0,\"content_block\":{\"type\":\"text\"}}");
  EXPECT_EVENTS("rc=-11 error=protocol_error: a second message_start\ntext=", START, START);
  EXPECT_EVENTS("rc=-11 error=protocol_error: message_start without a message\ntext=",
                "message_start|{\"message\":3}");
  /* An error before message_start is the API's error, not a protocol one. */
  EXPECT_EVENTS("rc=-10 error=rate_limit_error: slow down\ntext=",
                "error|{\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}");
  EXPECT_EVENTS("rc=-10 error=api_error: the API sent an error event\ntext=", "error|{}");
}

static void test_block_bookkeeping(void **state) {
  (void)state;
  EXPECT_EVENTS(
      "rc=-11 error=protocol_error: content_block_delta for index 2 outside its block\ntext=",
      START,
      "content_block_delta|{\"index\":2,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  EXPECT_EVENTS(
      "rc=-11 error=protocol_error: content_block_stop for index 0 outside its block\ntext=", START,
      "content_block_stop|{\"index\":0}");
  EXPECT_EVENTS(
      "rc=-11 error=protocol_error: a second content_block_start for index 0\ntext=", START,
      "content_block_start|{\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
      "content_block_start|{\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
  EXPECT_EVENTS(
      "rc=-11 error=protocol_error: content_block_delta for index 0 outside its block\ntext=a",
      START,
      "content_block_start|{\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
      "content_block_delta|{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}",
      "content_block_stop|{\"index\":0}",
      "content_block_delta|{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"b\"}}");
  EXPECT_EVENTS("rc=-11 error=protocol_error: content_block_start without a valid index\ntext=",
                START, "content_block_start|{\"index\":-1,\"content_block\":{\"type\":\"text\"}}");
  EXPECT_EVENTS("rc=-12 error=response_too_large: more than 256 content blocks\ntext=", START,
                "content_block_start|{\"index\":256,\"content_block\":{\"type\":\"text\"}}");
  EXPECT_EVENTS(
      "rc=-11 error=protocol_error: delta for index 0 without text\ntext=", START,
      "content_block_start|{\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
      "content_block_delta|{\"index\":0,\"delta\":{\"type\":\"text_delta\"}}");
  EXPECT_EVENTS(
      "rc=-11 error=protocol_error: content_block_delta event data is not a JSON object\ntext=",
      START, "content_block_delta|{\"index\":");
}

/* Index order decides the position, not arrival; gaps are skipped. */
static void test_sparse_indices_in_order(void **state) {
  (void)state;
  EXPECT_EVENTS(
      "id=m stop=- details=- usage=1/0/0/0 incomplete=0\n"
      "message={\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"one\"},"
      "{\"type\":\"text\",\"text\":\"three\"}]}\ntext=threeone",
      START,
      "content_block_start|{\"index\":3,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
      "content_block_start|{\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
      "content_block_delta|{\"index\":3,\"delta\":{\"type\":\"text_delta\",\"text\":\"three\"}}",
      "content_block_delta|{\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"one\"}}",
      STOP);
}

static void test_tool_input_must_be_an_object(void **state) {
  (void)state;
  const char *expect = "id=m stop=- details=- usage=1/0/0/0 incomplete=1\n"
                       "message={\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                       "\"t\",\"name\":\"n\",\"input\":{}}]}\ntext=";
  EXPECT_EVENTS(
      expect, START,
      "content_block_start|{\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\","
      "\"name\":\"n\",\"input\":{}}}",
      "content_block_delta|{\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"[1,2]\"}}",
      "content_block_stop|{\"index\":0}", STOP);
  EXPECT_EVENTS(
      expect, START,
      "content_block_start|{\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\","
      "\"name\":\"n\",\"input\":{}}}",
      "content_block_delta|{\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"{\\\"a\\\":1} trailing\"}}",
      "content_block_stop|{\"index\":0}", STOP);
  /* No delta at all: a parameterless tool. */
  EXPECT_EVENTS(
      "id=m stop=- details=- usage=1/0/0/0 incomplete=0\n"
      "message={\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
      "\"t\",\"name\":\"n\",\"input\":{}}]}\ntext=",
      START,
      "content_block_start|{\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\","
      "\"name\":\"n\",\"input\":{}}}",
      "content_block_stop|{\"index\":0}", STOP);
}

static void test_citations_delta_appends(void **state) {
  (void)state;
  EXPECT_EVENTS(
      "id=m stop=- details=- usage=1/0/0/0 incomplete=0\n"
      "message={\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"x\","
      "\"citations\":[{\"n\":1},{\"n\":2}]}]}\ntext=x",
      START,
      "content_block_start|{\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\","
      "\"citations\":null}}",
      "content_block_delta|{\"index\":0,\"delta\":{\"type\":\"citations_delta\",\"citation\":{"
      "\"n\":1}}}",
      "content_block_delta|{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}",
      "content_block_delta|{\"index\":0,\"delta\":{\"type\":\"citations_delta\",\"citation\":{"
      "\"n\":2}}}",
      STOP);
}

/* An unnamed event is dispatched by data.type; unparsable ones are dropped. */
static void test_unnamed_events(void **state) {
  (void)state;
  EXPECT_EVENTS(
      "id=m stop=- details=- usage=1/0/0/0 incomplete=0\n"
      "message={\"role\":\"assistant\",\"content\":[]}\ntext=",
      "|{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}",
      "|not json", "|{\"type\":\"novel\"}", "|{\"type\":\"message_stop\"}");
}

static void test_after_stop_and_after_failure(void **state) {
  (void)state;
  model_stream ms;
  model_stream_init(&ms, TEST_MAX_CONTENT_BYTES, NULL, NULL);
  assert_int_equal(model_stream_event(&ms, "message_start", 13, "{\"message\":{}}", 14),
                   MODEL_STREAM_MORE);
  assert_int_equal(model_stream_event(&ms, "message_stop", 12, "{}", 2), MODEL_STREAM_DONE);
  assert_int_equal(model_stream_event(&ms, "error", 5, "{}", 2), MODEL_STREAM_DONE);
  model_stream_free(&ms);

  model_stream_init(&ms, TEST_MAX_CONTENT_BYTES, NULL, NULL);
  assert_int_equal(model_stream_event(&ms, "message_stop", 12, "{}", 2), MODEL_STREAM_EPROTO);
  assert_int_equal(model_stream_event(&ms, "message_start", 13, "{\"message\":{}}", 14),
                   MODEL_STREAM_EPROTO);
  model_stream_free(&ms);
}

static void test_content_budget(void **state) {
  (void)state;
  model_stream ms;
  model_stream_init(&ms, 10, NULL, NULL);
  const char *block = "{\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}";
  const char *delta = "{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"123456\"}}";
  assert_int_equal(model_stream_event(&ms, "message_start", 13, "{\"message\":{}}", 14),
                   MODEL_STREAM_MORE);
  assert_int_equal(model_stream_event(&ms, "content_block_start", 19, block, strlen(block)),
                   MODEL_STREAM_MORE);
  assert_int_equal(model_stream_event(&ms, "content_block_delta", 19, delta, strlen(delta)),
                   MODEL_STREAM_MORE);
  assert_int_equal(model_stream_event(&ms, "content_block_delta", 19, delta, strlen(delta)),
                   MODEL_STREAM_ETOOBIG);
  assert_string_equal(ms.error_type, "response_too_large");
  model_stream_free(&ms);
}

static void test_tool_input_cap(void **state) {
  (void)state;
  model_stream ms;
  model_stream_init(&ms, 4 * MODEL_STREAM_MAX_TOOL_INPUT_BYTES, NULL, NULL);
  const char *block =
      "{\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\"}}";
  assert_int_equal(model_stream_event(&ms, "message_start", 13, "{\"message\":{}}", 14),
                   MODEL_STREAM_MORE);
  assert_int_equal(model_stream_event(&ms, "content_block_start", 19, block, strlen(block)),
                   MODEL_STREAM_MORE);
  size_t piece = MODEL_STREAM_MAX_TOOL_INPUT_BYTES / 2;
  buf ev;
  buf_init(&ev, piece + 256);
  buf_append_str(&ev, "{\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"");
  for (size_t i = 0; i < piece; i++) buf_append(&ev, "x", 1);
  buf_append_str(&ev, "\"}}");
  assert_int_equal(model_stream_event(&ms, "content_block_delta", 19, ev.data, ev.len),
                   MODEL_STREAM_MORE);
  assert_int_equal(model_stream_event(&ms, "content_block_delta", 19, ev.data, ev.len),
                   MODEL_STREAM_MORE);
  assert_int_equal(model_stream_event(&ms, "content_block_delta", 19, ev.data, ev.len),
                   MODEL_STREAM_ETOOBIG);
  assert_string_equal(ms.error_message, "tool input passed 4194304 bytes");
  buf_free(&ev);
  model_stream_free(&ms);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_text),
      cmocka_unit_test(test_crlf),
      cmocka_unit_test(test_text_then_tool_use),
      cmocka_unit_test(test_two_tool_uses),
      cmocka_unit_test(test_thinking),
      cmocka_unit_test(test_redacted_thinking),
      cmocka_unit_test(test_error_event),
      cmocka_unit_test(test_max_tokens_truncated_tool),
      cmocka_unit_test(test_unknown_things),
      cmocka_unit_test(test_pings_and_comments),
      cmocka_unit_test(test_every_split_matches_whole),
      cmocka_unit_test(test_message_start_comes_first),
      cmocka_unit_test(test_block_bookkeeping),
      cmocka_unit_test(test_sparse_indices_in_order),
      cmocka_unit_test(test_tool_input_must_be_an_object),
      cmocka_unit_test(test_citations_delta_appends),
      cmocka_unit_test(test_unnamed_events),
      cmocka_unit_test(test_after_stop_and_after_failure),
      cmocka_unit_test(test_content_budget),
      cmocka_unit_test(test_tool_input_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
