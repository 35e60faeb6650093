/* The one redactor: every form of every secret, in one pass, and across
 * the seams of a text that arrives in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "redactor.h"

static const char pem[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                          "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
                          "QyNTUxOQAAACBZb2xvLWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDAwMDAwMAAAAJiYmJiY\n"
                          "-----END OPENSSH PRIVATE KEY-----\n";

static const char *const tokens[] = {"sk-ant-api03-abcdefghijklmnop", "bearer-token-0123456789",
                                     "oauth/token\"with\\quotes"};

static redactor *make(void) {
  redactor *r = redactor_new();
  assert_non_null(r);
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
    assert_int_equal(redactor_add(r, tokens[i], strlen(tokens[i])), 0);
  assert_int_equal(redactor_add_key_file(r, pem, strlen(pem)), 0);
  return r;
}

static char *redact(const redactor *r, const char *text) {
  size_t n;
  char *out = redactor_apply(r, text, strlen(text), &n);
  assert_non_null(out);
  assert_int_equal(n, strlen(out));
  return out;
}

/* rec as the journal writes it (compact JSON), redacted; takes rec. */
static char *redact_json(const redactor *r, json_t *rec) {
  assert_non_null(rec);
  char *text = json_dumps(rec, JSON_COMPACT);
  json_decref(rec);
  char *out = redact(r, text);
  free(text);
  return out;
}

/* redact gives want for text (r NULL: no secrets). */
static void expect_redacted(const redactor *r, const char *text, const char *want) {
  char *out = redact(r, text);
  assert_string_equal(out, want);
  free(out);
}

/* Pushing piece to st lets out want. */
static void expect_pushed(redactor_stream *st, const char *piece, const char *want) {
  size_t n;
  char *out = redactor_stream_push(st, piece, strlen(piece), &n);
  assert_string_equal(out, want);
  free(out);
}

static void append(char *to, size_t cap, const char *from, size_t n) {
  size_t at = strlen(to);
  assert_true(at + n < cap);
  memcpy(to + at, from, n);
  to[at + n] = '\0';
}

/* Pushes len bytes of piece to st and appends what comes out to got. */
static void stream_push_to(redactor_stream *st, const char *piece, size_t len, char *got,
                           size_t cap) {
  size_t n;
  char *out = redactor_stream_push(st, piece, len, &n);
  assert_non_null(out);
  append(got, cap, out, n);
  free(out);
}

/* Ends st and appends the rest it held back to got. */
static void stream_end_to(redactor_stream *st, char *got, size_t cap) {
  size_t n;
  char *rest = redactor_stream_end(st, &n);
  append(got, cap, rest, n);
  free(rest);
}

/* Nothing that could be a piece of a secret longer than this is left. */
static void assert_clean(const char *text) {
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
    if (strstr(text, tokens[i])) fail_msg("token %zu left in: %s", i, text);
  static const char *const lines[] = {"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
                                      "QyNTUxOQAAACBZb2xvLWtleS1mb3ItdGVzdHMt"};
  for (size_t i = 0; i < 2; i++)
    if (strstr(text, lines[i])) fail_msg("key line %zu left in: %.200s", i, text);
}

static void test_every_form_in_one_pass(void **state) {
  (void)state;
  redactor *r = make();
  /* As it is, JSON-escaped, the whole key in JSON, a line of it. */
  char *out = redact_json(r,
                          json_pack("{s:s, s:s, s:s}", "quoted", tokens[2], "key", pem, "both",
                                    "sk-ant-api03-abcdefghijklmnop then bearer-token-0123456789"));
  assert_clean(out);
  assert_non_null(strstr(out, "\"both\":\"[redacted] then [redacted]\""));
  free(out);
  out = redact(r, "raw: oauth/token\"with\\quotes, and the key:\n"
                  "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                  "QyNTUxOQAAACBZb2xvLWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDAwMDAwMAAAAJiYmJiY\n");
  assert_clean(out);
  assert_non_null(strstr(out, "-----BEGIN OPENSSH PRIVATE KEY-----\n[redacted]\n"));
  free(out);
  expect_redacted(r, "no secret here, only text", "no secret here, only text");
  redactor_free(r);
}

/* `base64 key` prints the file wrapped at 76 columns; `base64 -w0` on one
 * line: either way, it does not get out. */
static void test_the_key_in_base64(void **state) {
  (void)state;
  redactor *r = make();
  char b64[1024];
  base64_encode((const unsigned char *)pem, strlen(pem), b64);
  char *out = redact(r, b64);
  /* Its 76-column lines may be caught inside it first: marks only. */
  for (const char *p = out; *p; p += 10)
    if (strncmp(p, "[redacted]", 10) != 0) fail_msg("base64 left: %s", out);
  free(out);
  char wrapped[1200] = "";
  size_t b64_len = strlen(b64);
  for (size_t at = 0; at < b64_len; at += 76) {
    append(wrapped, sizeof wrapped, b64 + at, b64_len - at < 76 ? b64_len - at : 76);
    append(wrapped, sizeof wrapped, "\n", 1);
  }
  out = redact(r, wrapped);
  for (const char *p = out; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = (size_t)(nl - p);
    if (n >= 16 && !(n == 10 && memcmp(p, "[redacted]", 10) == 0))
      fail_msg("a base64 line left: %.*s", (int)n, p);
    p = nl + 1;
  }
  free(out);
  redactor_free(r);
}

/* The texts' and the cuts' random numbers: a fixed seed keeps a failure
 * reproducible. */
static unsigned next_random(uint32_t *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return *seed >> 16;
}

/* Streams text through r in pieces of `piece` bytes, or of 1 to `piece`
 * bytes at random when seed is given: the stream must give what one pass
 * over the whole text gives, and leave no secret. */
static void expect_pieces_like_whole(const redactor *r, const char *text, size_t piece,
                                     uint32_t *seed) {
  size_t len = strlen(text), wn;
  char *whole = redactor_apply(r, text, len, &wn);
  redactor_stream st = {.r = r};
  char got[8192] = "";
  for (size_t at = 0; at < len;) {
    size_t n = seed ? 1 + next_random(seed) % piece : piece;
    if (n > len - at) n = len - at;
    stream_push_to(&st, text + at, n, got, sizeof got);
    at += n;
  }
  stream_end_to(&st, got, sizeof got);
  if (strcmp(got, whole) != 0)
    fail_msg("pieces of %s%zu: %s\n   whole: %s", seed ? "up to " : "", piece, got, whole);
  assert_clean(got);
  free(whole);
}

/* Every split of a text holding each secret, in two pieces and in pieces
 * of every size: the stream gives what the whole text gives. */
static void test_a_secret_across_pieces(void **state) {
  (void)state;
  redactor *r = make();
  char text[512];
  snprintf(text, sizeof text, "before %s middle %s key line %.70s after", tokens[0], tokens[1],
           pem + 36);
  for (size_t piece = 1; piece <= strlen(text); piece++)
    expect_pieces_like_whole(r, text, piece, NULL);
  redactor_free(r);
}

/* A stream holds back only a tail that could start a secret: plain text
 * goes out at once. */
static void test_a_stream_holds_back_little(void **state) {
  (void)state;
  redactor *r = make();
  redactor_stream st = {.r = r};
  size_t n;
  expect_pushed(&st, "load average: 0.12 0.10 0.05\n", "load average: 0.12 0.10 0.05\n");
  expect_pushed(&st, "token sk-ant-api0", "token ");
  expect_pushed(&st, "3-abcdefghijklmnop!", "[redacted]!");
  expect_pushed(&st, "sk-ant", "");
  char *out = redactor_stream_end(&st, &n);
  assert_string_equal(out, "sk-ant"); /* the text ended: not a secret after all */
  free(out);
  redactor_free(r);
}

/* Random texts with the secrets strewn in, cut at random: never a secret
 * in the output, and the same output as one pass over the whole. */
static void test_random_pieces(void **state) {
  (void)state;
  redactor *r = make();
  uint32_t seed = 12345;
  for (int round = 0; round < 300; round++) {
    char text[4096] = "";
    while (strlen(text) < 3000) {
      unsigned pick = next_random(&seed) % 6;
      if (pick < 3)
        strcat(text, tokens[pick]);
      else if (pick == 3)
        append(text, sizeof text, pem + 36, 72);
      else
        strcat(text, pick == 4 ? "sk-ant- tok " : "b3Blb QyNT ");
    }
    expect_pieces_like_whole(r, text, 40, &seed);
  }
  redactor_free(r);
}

static void test_every_occurrence(void **state) {
  (void)state;
  redactor *r = redactor_new();
  assert_int_equal(redactor_add(r, "sk-ant-secret-1", 15), 0);
  assert_int_equal(redactor_add(r, "tok", 3), 0); /* too short: ignored */
  expect_redacted(r, "{\"a\":\"sk-ant-secret-1 and sk-ant-secret-1\",\"tok\":1}",
                  "{\"a\":\"[redacted] and [redacted]\",\"tok\":1}");
  redactor_free(r);
  /* A secret shorter than the mark makes the text longer. */
  r = redactor_new();
  assert_int_equal(redactor_add(r, "test-key", 8), 0);
  expect_redacted(r, "test-keytest-key", "[redacted][redacted]");
  redactor_free(r);
}

/* The whole key, JSON-escaped as a record holds it, and one line printed
 * by itself: no base64 of it is left; the armour lines are public. */
static void test_the_key_whole_and_by_line(void **state) {
  (void)state;
  redactor *r = make();
  char *out = redact_json(r, json_pack("{s:s}", "content", pem));
  assert_clean(out);
  assert_null(strstr(out, "b3Bl"));
  free(out);
  expect_redacted(
      r, "{\"text\":\"QyNTUxOQAAACBZb2xvLWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDAwMDAwMAAAAJiYmJiY\\n\"}",
      "{\"text\":\"[redacted]\\n\"}");
  expect_redacted(r, "-----END OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----");
  expect_redacted(NULL, "{\"a\":1}", "{\"a\":1}");
  redactor_free(r);
}

/* A token base64 encodes inside a longer text (`echo $KEY | base64`, an
 * environment dump piped through base64) starts at any of three offsets
 * of a base64 group: each is caught, and base64 of other text is not. */
static void test_a_token_in_base64_at_any_offset(void **state) {
  (void)state;
  redactor *r = make();
  static const char *const prefixes[] = {"", "K", "KE", "KEY", "ANTHROPIC_API_KEY="};
  for (size_t t = 0; t < 2; t++)
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
      char plain[128], b64[256];
      snprintf(plain, sizeof plain, "%s%s\n", prefixes[i], tokens[t]);
      base64_encode((const unsigned char *)plain, strlen(plain), b64);
      char *out = redact(r, b64);
      if (!strstr(out, "[redacted]")) fail_msg("base64 of '%s' left: %s", plain, out);
      free(out);
    }
  char b64[256];
  static const char other[] = "ANTHROPIC_BASE_URL=https://api.anthropic.com/v1/messages\n";
  base64_encode((const unsigned char *)other, strlen(other), b64);
  expect_redacted(r, b64, b64);
  redactor_free(r);
}

/* An API key is about 110 bytes: `echo "ANTHROPIC_API_KEY=$KEY" | base64`
 * wraps its encoding at 76 columns and `xxd -p` its hex at 60, so the
 * line breaks fall inside the secret's encoded form, anywhere, with "\n" or
 * "\r\n". Each is caught whole, in one pass and in pieces, and no run of
 * the encoded token is left beside the mark. */
static const char long_token[] = "sk-ant-api03-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123-abcdefAA";

/* text with `eol` after every `columns` characters, as base64(1) and xxd
 * print it. */
static void wrap(const char *text, size_t columns, const char *eol, char *out, size_t cap) {
  out[0] = '\0';
  for (size_t at = 0, n = strlen(text); at < n; at += columns) {
    append(out, cap, text + at, n - at < columns ? n - at : columns);
    append(out, cap, eol, strlen(eol));
  }
}

static void hex(const char *text, const char *digits, char *out) {
  for (size_t i = 0; text[i]; i++) {
    out[2 * i] = digits[(unsigned char)text[i] >> 4];
    out[2 * i + 1] = digits[(unsigned char)text[i] & 15];
  }
  out[2 * strlen(text)] = '\0';
}

/* No 12 characters of the token's base64 (at any of its offsets: only
 * those that carry its bits alone) or hex are left in text, line breaks
 * taken out. */
static void assert_no_encoded_token(const char *text) {
  char joined[4096] = "", plain[256], form[512];
  for (const char *p = text; *p; p++)
    if (*p != '\n' && *p != '\r') append(joined, sizeof joined, p, 1);
  size_t len = strlen(long_token);
  for (size_t offset = 0; offset < 3; offset++) {
    memset(plain, 'x', offset);
    memcpy(plain + offset, long_token, len);
    base64_encode((const unsigned char *)plain, offset + len, form);
    size_t first = (offset * 8 + 5) / 6, end = (offset + len) * 8 / 6;
    for (size_t at = first; at + 12 <= end; at++)
      if (memmem(joined, strlen(joined), form + at, 12)) fail_msg("base64 run left: %s", text);
  }
  for (size_t upper = 0; upper < 2; upper++) {
    hex(long_token, upper ? "0123456789ABCDEF" : "0123456789abcdef", form);
    for (size_t at = 0; at + 12 <= strlen(form); at++)
      if (memmem(joined, strlen(joined), form + at, 12)) fail_msg("hex run left: %s", text);
  }
}

static void test_a_long_token_wrapped(void **state) {
  (void)state;
  redactor *r = make();
  assert_int_equal(redactor_add(r, long_token, strlen(long_token)), 0);
  static const char *const prefixes[] = {"", "K", "KE", "ANTHROPIC_API_KEY="};
  static const char *const eols[] = {"\n", "\r\n"};
  uint32_t seed = 7;
  for (size_t e = 0; e < 2; e++) {
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
      char plain[256], b64[512], text[1024];
      snprintf(plain, sizeof plain, "%s%s\n", prefixes[i], long_token);
      base64_encode((const unsigned char *)plain, strlen(plain), b64);
      wrap(b64, 76, eols[e], text, sizeof text);
      char *out = redact(r, text);
      if (!strstr(out, "[redacted]")) fail_msg("wrapped base64 of '%s' left: %s", plain, out);
      assert_no_encoded_token(out);
      free(out);
      expect_pieces_like_whole(r, text, 9, &seed);
    }
    for (size_t upper = 0; upper < 2; upper++) {
      char h[512], text[1024];
      hex(long_token, upper ? "0123456789ABCDEF" : "0123456789abcdef", h);
      wrap(h, 60, eols[e], text, sizeof text);
      char *out = redact(r, text);
      assert_no_encoded_token(out);
      free(out);
      expect_pieces_like_whole(r, text, 9, &seed);
    }
  }
  redactor_free(r);
}

/* Live output: a line whose last characters could begin a secret, or a
 * short run of its encoded form, ends at once with its line break; only
 * a longer run of an encoded form waits for the next line. */
static void test_a_line_ends_at_once(void **state) {
  (void)state;
  redactor *r = make();
  assert_int_equal(redactor_add(r, long_token, strlen(long_token)), 0);
  char form[256], line[64];
  base64_encode((const unsigned char *)long_token, strlen(long_token), form);
  static const char *const ends[] = {"sk-ant", "sk-ant-api03-abcdefgh", NULL, NULL};
  for (size_t i = 0; i < 4; i++) {
    char tail[8] = "";
    if (!ends[i]) memcpy(tail, form, i == 2 ? 1 : 3);
    snprintf(line, sizeof line, "started %s\n", ends[i] ? ends[i] : tail);
    redactor_stream st = {.r = r};
    expect_pushed(&st, line, line);
    free(redactor_stream_end(&st, &(size_t){0}));
  }
  redactor_stream st = {.r = r};
  snprintf(line, sizeof line, "started %.8s\n", form);
  expect_pushed(&st, line, "started ");
  size_t n;
  char *rest = redactor_stream_end(&st, &n);
  assert_string_equal(rest, line + strlen("started "));
  free(rest);
  redactor_free(r);
}

/* A line break inside a match is passed over only once in a row: the
 * start of an encoded secret followed by many newlines holds back no more
 * than itself and one break, and two breaks end the match. */
static void test_line_breaks_hold_back_little(void **state) {
  (void)state;
  redactor *r = make();
  assert_int_equal(redactor_add(r, long_token, strlen(long_token)), 0);
  char form[256], text[2100] = "";
  base64_encode((const unsigned char *)long_token, strlen(long_token), form);
  snprintf(text, sizeof text, "%.40s", form);
  memset(text + strlen(text), '\n', 2000);
  redactor_stream st = {.r = r};
  size_t n;
  char *out = redactor_stream_push(&st, text, strlen(text), &n);
  assert_true(n >= strlen(text) - (40 + 1));
  free(out);
  free(redactor_stream_end(&st, &n));
  snprintf(text, sizeof text, "%.40s\n\n%s", form, form + 40);
  expect_redacted(r, text, text);
  redactor_free(r);
}

/* A line break another secret holds is taken, not passed over: here it
 * ends the first token's match and goes on with the second's. */
static void test_a_line_break_a_secret_holds(void **state) {
  (void)state;
  redactor *r = redactor_new();
  static const char first[] = "abcdefghXYZ12345", second[] = "fgh\nQRSTUVWX";
  assert_int_equal(redactor_add(r, first, strlen(first)), 0);
  assert_int_equal(redactor_add(r, second, strlen(second)), 0);
  expect_redacted(r, "abcdefgh\nQRSTUVWX end", "abcde[redacted] end");
  redactor_free(r);
}

/* Some JSON encoders write '/' as "\/" (PHP's, by default): a key line or
 * a token with a slash, so escaped, is caught too. */
static void test_escaped_slashes(void **state) {
  (void)state;
  redactor *r = make();
  expect_redacted(r, "{\"t\":\"oauth\\/token\\\"with\\\\quotes\"}", "{\"t\":\"[redacted]\"}");
  redactor *k = redactor_new();
  static const char line[] = "AAAA/BBBB+CCCC/DDDD";
  assert_int_equal(redactor_add(k, line, strlen(line)), 0);
  expect_redacted(k, "[\"AAAA\\/BBBB+CCCC\\/DDDD\"]", "[\"[redacted]\"]");
  redactor_free(k);
  redactor_free(r);
}

/* A secret that is not UTF-8 has no JSON form: it is still taken, and
 * caught as it is, in base64 and in hex. */
static void test_a_secret_not_utf8(void **state) {
  (void)state;
  redactor *r = redactor_new();
  static const char token[] = "\xff\xfe-binary-token-0123";
  assert_int_equal(redactor_add(r, token, strlen(token)), 0);
  expect_redacted(r, "before \xff\xfe-binary-token-0123 after", "before [redacted] after");
  char b64[64], text[96];
  base64_encode((const unsigned char *)token, strlen(token), b64);
  snprintf(text, sizeof text, "%s\n", b64);
  char *out = redact(r, text);
  assert_non_null(strstr(out, "[redacted]"));
  free(out);
  redactor_free(r);
}

static void test_no_secrets_and_limits(void **state) {
  (void)state;
  redactor *r = redactor_new();
  expect_redacted(r, "anything at all", "anything at all");
  assert_int_equal(redactor_add(r, "short", 5), 0); /* ignored: too short */
  static char big[REDACT_MAX_PATTERN_BYTES + 10];
  memset(big, 'x', sizeof big - 1);
  assert_int_equal(redactor_add(r, big, strlen(big)), -1); /* past the cap: refused */
  expect_redacted(r, "short", "short");
  redactor_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_occurrence),
      cmocka_unit_test(test_the_key_whole_and_by_line),
      cmocka_unit_test(test_every_form_in_one_pass),
      cmocka_unit_test(test_the_key_in_base64),
      cmocka_unit_test(test_a_token_in_base64_at_any_offset),
      cmocka_unit_test(test_a_long_token_wrapped),
      cmocka_unit_test(test_a_line_ends_at_once),
      cmocka_unit_test(test_line_breaks_hold_back_little),
      cmocka_unit_test(test_a_line_break_a_secret_holds),
      cmocka_unit_test(test_escaped_slashes),
      cmocka_unit_test(test_a_secret_across_pieces),
      cmocka_unit_test(test_a_stream_holds_back_little),
      cmocka_unit_test(test_random_pieces),
      cmocka_unit_test(test_a_secret_not_utf8),
      cmocka_unit_test(test_no_secrets_and_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
