/* The pure request parser: results must not depend on how bytes are split,
 * limits give their statuses, malformed input gives 400. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "http_request_parser.h"

enum { TEST_MAX_HEADER_BYTES = 1024, TEST_MAX_BODY_BYTES = 64, TEST_RANDOM_ROUNDS = 50 };

static http_request_parser *parser_make(void) {
  http_request_parser *p = NULL;
  assert_int_equal(http_request_parser_new(&p, TEST_MAX_HEADER_BYTES, TEST_MAX_BODY_BYTES), 0);
  return p;
}

/* One line per field, so two parses compare with one string equality. */
static void request_describe(const http_request_parser *p, buf *out) {
  const http_request *r = http_request_parser_request(p);
  assert_non_null(r);
  buf_appendf(out, "%s|%s|%s|%s|ka=%d\n", r->method, r->target, r->path ? r->path : "(null)",
              r->query, http_request_parser_keep_alive(p));
  for (size_t i = 0; i < r->header_count; i++)
    buf_appendf(out, "%s=[%s]\n", r->headers[i].name, r->headers[i].value);
  buf_appendf(out, "body(%zu)=", r->body_len);
  buf_append(out, r->body, r->body_len);
  buf_append_str(out, "\n");
}

/* Feeds text in pieces whose sizes come from next_size(), handling every
 * complete head and request, and describes each request or the final
 * error. */
static void parse_in_pieces(const char *text, size_t (*next_size)(size_t left), buf *out) {
  http_request_parser *p = parser_make();
  size_t len = strlen(text), off = 0;
  /* After HEAD_DONE the parser is fed again even with nothing left: a
   * request without a body completes then. */
  while (off < len || http_request_parser_state(p) == HTTP_PARSE_HEAD_DONE) {
    size_t piece = off < len ? next_size(len - off) : 0, used = 0;
    http_parse_state st = http_request_parser_feed(p, text + off, piece, &used);
    off += used;
    if (st == HTTP_PARSE_DONE) {
      request_describe(p, out);
      http_request_parser_next(p);
    } else if (st == HTTP_PARSE_ERROR) {
      buf_appendf(out, "error %d\n", http_request_parser_error_status(p));
      break;
    } else if (st == HTTP_PARSE_HEAD_DONE) {
      /* The head stands alone, body empty, before any body byte is read. */
      const http_request *head = http_request_parser_head(p);
      assert_non_null(head);
      assert_string_equal(head->body, "");
      assert_int_equal(head->body_len, 0);
    } else {
      assert_int_equal(used, piece);
    }
  }
  http_request_parser_free(p);
}

static size_t size_all(size_t left) { return left; }
static size_t size_one(size_t left) {
  (void)left;
  return 1;
}
static uint32_t rng_state;
static size_t size_random(size_t left) {
  rng_state = rng_state * 1103515245u + 12345u;
  size_t n = 1 + (rng_state >> 16) % 17;
  return n < left ? n : left;
}

/* Parses text whole, byte by byte and in random pieces; all must agree. */
static void parse_all_ways(const char *text, buf *whole) {
  buf_init(whole, 1 << 20);
  parse_in_pieces(text, size_all, whole);
  buf other;
  buf_init(&other, 1 << 20);
  parse_in_pieces(text, size_one, &other);
  assert_string_equal(buf_cstr(&other), buf_cstr(whole));
  for (uint32_t seed = 1; seed <= TEST_RANDOM_ROUNDS; seed++) {
    rng_state = seed;
    buf_reset(&other);
    parse_in_pieces(text, size_random, &other);
    assert_string_equal(buf_cstr(&other), buf_cstr(whole));
  }
  buf_free(&other);
}

static void expect_parse(const char *text, const char *expected) {
  buf got;
  parse_all_ways(text, &got);
  assert_string_equal(buf_cstr(&got), expected);
  buf_free(&got);
}

static void test_simple_get(void **state) {
  (void)state;
  expect_parse("GET /a%20b/c?x=1&y=%41 HTTP/1.1\r\nHost: example\r\nX-Pad:  v  \r\nEmpty:\r\n\r\n",
               "GET|/a%20b/c?x=1&y=%41|/a b/c|x=1&y=%41|ka=1\n"
               "Host=[example]\nX-Pad=[v]\nEmpty=[]\nbody(0)=\n");
}

static void test_fields_and_lookup(void **state) {
  (void)state;
  http_request_parser *p = parser_make();
  const char *text = "POST /p HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\nX-A: 1\r\n\r\nhello";
  size_t used = 0, rest = 0;
  assert_int_equal(http_request_parser_feed(p, text, strlen(text), &used), HTTP_PARSE_HEAD_DONE);
  assert_int_equal(used, strlen(text) - 5);
  assert_int_equal(http_request_parser_feed(p, text + used, 5, &rest), HTTP_PARSE_DONE);
  assert_int_equal(rest, 5);
  const http_request *r = http_request_parser_request(p);
  assert_null(r->peer);
  assert_string_equal(http_request_header(r, "Content-Length"), "5");
  assert_string_equal(http_request_header(r, "x-a"), "1");
  assert_null(http_request_header(r, "X-B"));
  assert_int_equal(r->body_len, 5);
  assert_string_equal(r->body, "hello");
  assert_string_equal(r->query, "");
  http_request_parser_free(p);
}

static void test_undecodable_path_is_null(void **state) {
  (void)state;
  expect_parse("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n",
               "GET|/a%zz|(null)||ka=1\nHost=[h]\nbody(0)=\n");
  expect_parse("GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n",
               "GET|/a%00b|(null)||ka=1\nHost=[h]\nbody(0)=\n");
  expect_parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
               "OPTIONS|*|(null)||ka=1\nHost=[h]\nbody(0)=\n");
}

static void test_chunked_body(void **state) {
  (void)state;
  expect_parse("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n",
               "POST|/c|/c||ka=1\nHost=[h]\nTransfer-Encoding=[chunked]\nbody(12)=hello, world\n");
}

/* Trailers arrive after the head was handed out: they must neither move
 * the head's strings (the handler holds pointers into them) nor show up as
 * headers, and they count against the head limit. */
static void test_trailers_leave_the_head_alone(void **state) {
  (void)state;
  buf text;
  buf_init(&text, 1 << 16);
  buf_append_str(&text, "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "2\r\nok\r\n0\r\n");
  for (int i = 0; i < 3; i++) buf_appendf(&text, "X-Trailer-%d: %0200d\r\n", i, i);
  buf_append_str(&text, "\r\n");
  buf got;
  parse_all_ways(buf_cstr(&text), &got);
  assert_string_equal(buf_cstr(&got),
                      "POST|/t|/t||ka=1\nHost=[h]\nTransfer-Encoding=[chunked]\nbody(2)=ok\n");
  buf_free(&got);

  /* Trailers adding up past the head limit are refused like headers. */
  buf_reset(&text);
  buf_append_str(&text, "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "0\r\n");
  for (int i = 0; i < 40; i++) buf_appendf(&text, "X-Trailer-%d: %0300d\r\n", i, i);
  buf_append_str(&text, "\r\n");
  expect_parse(buf_cstr(&text), "error 431\n");
  buf_free(&text);
}

/* Chunk extensions are read and dropped; their bytes count against the
 * body limit all the same, or a client could stream them for ever inside a
 * small body. */
static void test_chunk_extensions_are_bounded(void **state) {
  (void)state;
  buf text;
  buf_init(&text, 1 << 16);
  buf_append_str(&text, "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < TEST_MAX_BODY_BYTES; i++) buf_appendf(&text, "1;ext=%0100d\r\nx\r\n", i);
  buf_append_str(&text, "0\r\n\r\n");
  expect_parse(buf_cstr(&text), "error 413\n");
  buf_free(&text);
}

static void test_pipelining_yields_one_at_a_time(void **state) {
  (void)state;
  const char *two = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: "
                    "h\r\nContent-Length: 2\r\n\r\nok";
  http_request_parser *p = parser_make();
  size_t used = 0, first_len = strlen("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"), none = 99;
  assert_int_equal(http_request_parser_feed(p, two, strlen(two), &used), HTTP_PARSE_HEAD_DONE);
  assert_int_equal(used, first_len);
  /* A request without a body completes from the head alone. */
  assert_int_equal(http_request_parser_feed(p, two + used, 0, &none), HTTP_PARSE_DONE);
  assert_int_equal(none, 0);
  assert_string_equal(http_request_parser_request(p)->target, "/1");
  /* Nothing more is taken until the first request is answered. */
  size_t again = 99;
  assert_int_equal(http_request_parser_feed(p, two + used, strlen(two) - used, &again),
                   HTTP_PARSE_DONE);
  assert_int_equal(again, 0);
  http_request_parser_next(p);
  assert_int_equal(http_request_parser_state(p), HTTP_PARSE_IDLE);
  assert_int_equal(http_request_parser_feed(p, two + used, strlen(two) - used, &again),
                   HTTP_PARSE_HEAD_DONE);
  size_t body = 0;
  assert_int_equal(http_request_parser_feed(p, two + used + again, 2, &body), HTTP_PARSE_DONE);
  assert_int_equal(used + again + body, strlen(two));
  assert_string_equal(http_request_parser_request(p)->target, "/2");
  assert_string_equal(http_request_parser_request(p)->body, "ok");
  http_request_parser_free(p);

  expect_parse(
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      "GET|/1|/1||ka=1\nHost=[h]\nbody(0)=\n"
      "GET|/2|/2||ka=0\nHost=[h]\nConnection=[close]\nbody(0)=\n");
}

static void test_states_while_incomplete(void **state) {
  (void)state;
  http_request_parser *p = parser_make();
  size_t used = 0;
  assert_int_equal(http_request_parser_state(p), HTTP_PARSE_IDLE);
  assert_int_equal(http_request_parser_feed(p, "GE", 2, &used), HTTP_PARSE_HEAD);
  assert_null(http_request_parser_head(p));
  const char *rest = "T / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nab";
  assert_int_equal(http_request_parser_feed(p, rest, strlen(rest), &used), HTTP_PARSE_HEAD_DONE);
  assert_int_equal(used, strlen(rest) - 2);
  assert_null(http_request_parser_request(p));
  const http_request *head = http_request_parser_head(p);
  assert_string_equal(head->method, "GET");
  assert_string_equal(http_request_header(head, "Content-Length"), "3");
  assert_int_equal(http_request_parser_feed(p, rest + used, 2, &used), HTTP_PARSE_BODY);
  assert_ptr_equal(http_request_parser_head(p), head);
  assert_null(http_request_parser_request(p));
  assert_int_equal(http_request_parser_feed(p, "c", 1, &used), HTTP_PARSE_DONE);
  http_request_parser_free(p);
}

static void test_keep_alive_rules(void **state) {
  (void)state;
  expect_parse("GET / HTTP/1.0\r\n\r\n", "GET|/|/||ka=0\nbody(0)=\n");
  expect_parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
               "GET|/|/||ka=1\nConnection=[keep-alive]\nbody(0)=\n");
  expect_parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
               "GET|/|/||ka=0\nHost=[h]\nConnection=[close]\nbody(0)=\n");
  /* RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 is answered, and
   * the connection closed after, keep-alive or not. */
  expect_parse(
      "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nok\r\n0\r\n\r\n",
      "POST|/|/||ka=0\nConnection=[keep-alive]\nTransfer-Encoding=[chunked]\nbody(2)=ok\n");
}

static void test_upgrade_is_ignored(void **state) {
  (void)state;
  expect_parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
               "GET|/|/||ka=1\nHost=[h]\nConnection=[Upgrade]\nUpgrade=[websocket]\nbody(0)=\n");
}

/* A head of exactly max_header_bytes passes; one byte more is 431. */
static void test_header_limit_is_431(void **state) {
  (void)state;
  char text[TEST_MAX_HEADER_BYTES + 64];
  const char *prefix = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  size_t pad = TEST_MAX_HEADER_BYTES - strlen(prefix) - 4;
  snprintf(text, sizeof(text), "%s%0*d\r\n\r\n", prefix, (int)pad, 0);
  assert_int_equal(strlen(text), TEST_MAX_HEADER_BYTES);
  buf got;
  parse_all_ways(text, &got);
  assert_string_not_equal(buf_cstr(&got), "error 431\n");
  buf_free(&got);
  snprintf(text, sizeof(text), "%s%0*d\r\n\r\n", prefix, (int)pad + 1, 0);
  expect_parse(text, "error 431\n");

  /* A head that never ends is cut off at the limit, not buffered on. */
  char endless[TEST_MAX_HEADER_BYTES * 2];
  memset(endless, 'a', sizeof(endless) - 1);
  endless[sizeof(endless) - 1] = '\0';
  memcpy(endless, "GET /", 5);
  expect_parse(endless, "error 431\n");
}

static void test_too_many_headers_is_431(void **state) {
  (void)state;
  buf text;
  buf_init(&text, 1 << 16);
  buf_append_str(&text, "GET / HTTP/1.1\r\nHost: h\r\n");
  for (int i = 0; i <= HTTP_REQUEST_MAX_HEADER_COUNT; i++) buf_appendf(&text, "H%d: v\r\n", i);
  buf_append_str(&text, "\r\n");
  http_request_parser *p = NULL;
  assert_int_equal(http_request_parser_new(&p, 1 << 16, TEST_MAX_BODY_BYTES), 0);
  size_t used = 0;
  assert_int_equal(http_request_parser_feed(p, text.data, text.len, &used), HTTP_PARSE_ERROR);
  assert_int_equal(http_request_parser_error_status(p), 431);
  http_request_parser_free(p);
  buf_free(&text);
}

static void test_body_limits_are_413(void **state) {
  (void)state;
  char text[256];
  /* Content-Length over the limit is refused before any body byte. */
  snprintf(text, sizeof(text), "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n",
           TEST_MAX_BODY_BYTES + 1);
  expect_parse(text, "error 413\n");
  /* Exactly the limit is fine. */
  char body[TEST_MAX_BODY_BYTES + 2];
  memset(body, 'b', sizeof(body));
  snprintf(text, sizeof(text), "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%.*s",
           TEST_MAX_BODY_BYTES, TEST_MAX_BODY_BYTES, body);
  buf got;
  parse_all_ways(text, &got);
  assert_non_null(strstr(buf_cstr(&got), "body(64)="));
  buf_free(&got);
  /* Chunked: the running total is what counts. */
  snprintf(text, sizeof(text),
           "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
           "chunked\r\n\r\n20\r\n%.32s\r\n21\r\n%.33s\r\n0\r\n\r\n",
           body, body);
  expect_parse(text, "error 413\n");
}

static void test_malformed_is_400(void **state) {
  (void)state;
  static const char *const bad[] = {
      "GET / HTTP/1.1\nHost: a\n\n", /* bare LF */
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: "
      "chunked\r\n\r\n", /* CL+TE */
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: "
      "1\r\n\r\nx", /* dup CL */
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
      "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      /* Accepted by llhttp, refused by the layer above it: */
      "GET / HTTP/1.1\nHost: a\r\n\r\n",                  /* bare LF ending the request line */
      "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",              /* bare LF before the request */
      "GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", /* space in a name */
      "GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n",         /* empty name */
      "GET /\r\n\r\n",                                    /* HTTP/0.9 */
      "POST /ee\xe9gth\n:TP/1.0\r\n\r\n",                 /* found by the fuzzer */
      "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",     /* raw non-ASCII target */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    buf got;
    parse_all_ways(bad[i], &got);
    if (strcmp(buf_cstr(&got), "error 400\n") != 0) fail_msg("case %zu: %s", i, buf_cstr(&got));
    buf_free(&got);
  }
}

/* RFC 9112 section 3.2: an HTTP/1.1 request has exactly one Host, whose
 * value is an authority; HTTP/1.0 may leave it out. */
static void test_host_rules(void **state) {
  (void)state;
  static const struct {
    const char *text, *reason;
  } bad[] = {
      {"GET / HTTP/1.1\r\n\r\n", "no Host header"},
      {"GET / HTTP/1.1\r\nX: y\r\n\r\n", "no Host header"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", "more than one Host header"},
      {"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "more than one Host header"},
      {"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host header"},
      {"GET / HTTP/1.1\r\nHost: evil@a\r\n\r\n", "invalid Host header"},
      {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "invalid Host header"},
      {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "invalid Host header"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    buf got;
    parse_all_ways(bad[i].text, &got);
    if (strcmp(buf_cstr(&got), "error 400\n") != 0) fail_msg("case %zu: %s", i, buf_cstr(&got));
    buf_free(&got);
    http_request_parser *p = parser_make();
    size_t used = 0;
    assert_int_equal(http_request_parser_feed(p, bad[i].text, strlen(bad[i].text), &used),
                     HTTP_PARSE_ERROR);
    assert_string_equal(http_request_parser_error_reason(p), bad[i].reason);
    http_request_parser_free(p);
  }
  expect_parse("GET / HTTP/1.0\r\n\r\n", "GET|/|/||ka=0\nbody(0)=\n");
  expect_parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET|/|/||ka=1\nHost=[]\nbody(0)=\n");
  expect_parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
               "GET|/|/||ka=1\nHost=[[::1]:8080]\nbody(0)=\n");
}

static void test_unsupported_features(void **state) {
  (void)state;
  expect_parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n",
               "error 417\n");
  expect_parse("CONNECT example:443 HTTP/1.1\r\nHost: h\r\n\r\n", "error 501\n");
  expect_parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
               "error 501\n");
}

static void test_error_is_sticky(void **state) {
  (void)state;
  http_request_parser *p = parser_make();
  size_t used = 0;
  assert_int_equal(http_request_parser_feed(p, "BAD\x01", 4, &used), HTTP_PARSE_ERROR);
  assert_true(strlen(http_request_parser_error_reason(p)) > 0);
  assert_int_equal(http_request_parser_feed(p, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, &used),
                   HTTP_PARSE_ERROR);
  assert_int_equal(used, 0);
  http_request_parser_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simple_get),
      cmocka_unit_test(test_fields_and_lookup),
      cmocka_unit_test(test_undecodable_path_is_null),
      cmocka_unit_test(test_chunked_body),
      cmocka_unit_test(test_trailers_leave_the_head_alone),
      cmocka_unit_test(test_chunk_extensions_are_bounded),
      cmocka_unit_test(test_pipelining_yields_one_at_a_time),
      cmocka_unit_test(test_states_while_incomplete),
      cmocka_unit_test(test_keep_alive_rules),
      cmocka_unit_test(test_upgrade_is_ignored),
      cmocka_unit_test(test_header_limit_is_431),
      cmocka_unit_test(test_too_many_headers_is_431),
      cmocka_unit_test(test_body_limits_are_413),
      cmocka_unit_test(test_malformed_is_400),
      cmocka_unit_test(test_host_rules),
      cmocka_unit_test(test_unsupported_features),
      cmocka_unit_test(test_error_is_sticky),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
