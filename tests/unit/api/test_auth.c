/* Who may call /api: the secret comparison, bearer tokens (RFC 6750: the
 * scheme is case-insensitive), the proxy's identity header only when
 * configured, and the same-origin check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

#define TOKEN "s3cret-token"
#define MAX_HEADERS 4

/* A request carrying up to MAX_HEADERS headers (NULL-terminated pairs). */
typedef struct fake_request {
  http_header headers[MAX_HEADERS];
  http_request req;
} fake_request;

static const http_request *request_with(fake_request *f, const char *const *pairs) {
  memset(f, 0, sizeof *f);
  size_t n = 0;
  for (; pairs && pairs[2 * n] && n < MAX_HEADERS; n++)
    f->headers[n] = (http_header){.name = pairs[2 * n], .value = pairs[2 * n + 1]};
  f->req = (http_request){.method = "POST",
                          .target = "/api/session",
                          .path = "/api/session",
                          .query = "",
                          .headers = f->headers,
                          .header_count = n,
                          .body = "",
                          .peer = "127.0.0.1"};
  return &f->req;
}

/* auth_identify for one header; returns its result and fills identity. */
static int identify(const api_options *o, const char *name, const char *value,
                    char identity[AUTH_IDENTITY_MAX_BYTES]) {
  const char *pairs[] = {name, value, NULL};
  fake_request f;
  memset(identity, 0, AUTH_IDENTITY_MAX_BYTES);
  return auth_identify(o, request_with(&f, name ? pairs : NULL), identity);
}

static void test_secret_equal(void **state) {
  (void)state;
  assert_true(auth_secret_equal(TOKEN, TOKEN));
  assert_false(auth_secret_equal("s3cret-tokeN", TOKEN));
  assert_false(auth_secret_equal("s3cret", TOKEN));
  assert_false(auth_secret_equal(TOKEN "x", TOKEN));
  assert_false(auth_secret_equal("", TOKEN));
  assert_false(auth_secret_equal(TOKEN, ""));
  assert_false(auth_secret_equal("x", "y"));
}

static void test_bearer(void **state) {
  (void)state;
  api_options o = {.bearer_token = TOKEN};
  char id[AUTH_IDENTITY_MAX_BYTES];
  static const char *const accepted[] = {"Bearer " TOKEN, "bearer " TOKEN, "BEARER " TOKEN,
                                         "Bearer   " TOKEN};
  for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
    if (identify(&o, "Authorization", accepted[i], id) != 0) fail_msg("refused '%s'", accepted[i]);
    assert_string_equal(id, "bearer");
  }
  assert_int_equal(identify(&o, "authorization", "Bearer " TOKEN, id), 0);
  static const char *const refused[] = {
      "Bearer s3cret-tokeN", "Bearer s3cret", "Bearer " TOKEN "x",      "Bearer ",      "Bearer",
      "Bearer" TOKEN,        TOKEN,           "Basic czNjcmV0LXRva2Vu", "Token " TOKEN, "",
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    if (identify(&o, "Authorization", refused[i], id) == 0) fail_msg("accepted '%s'", refused[i]);
  assert_int_equal(identify(&o, NULL, NULL, id), -1);
}

/* With no token and no trusted header nothing is let in. */
static void test_fail_closed(void **state) {
  (void)state;
  api_options o = {0};
  char id[AUTH_IDENTITY_MAX_BYTES];
  assert_int_equal(identify(&o, "Authorization", "Bearer ", id), -1);
  assert_int_equal(identify(&o, "Authorization", "Bearer (null)", id), -1);
  assert_int_equal(identify(&o, "X-authentik-username", "alice", id), -1);
  assert_int_equal(identify(&o, NULL, NULL, id), -1);
}

static void test_trusted_header_only_when_configured(void **state) {
  (void)state;
  api_options plain = {.bearer_token = TOKEN};
  api_options proxied = {.bearer_token = TOKEN, .trusted_user_header = "X-authentik-username"};
  char id[AUTH_IDENTITY_MAX_BYTES];
  assert_int_equal(identify(&plain, "X-authentik-username", "alice", id), -1);
  assert_int_equal(identify(&proxied, "X-authentik-username", "alice", id), 0);
  assert_string_equal(id, "user:alice");
  assert_int_equal(identify(&proxied, "x-AUTHENTIK-username", "bob", id), 0);
  assert_string_equal(id, "user:bob");
  /* Another header, or an empty value, is not an identity. */
  assert_int_equal(identify(&proxied, "X-Forwarded-User", "alice", id), -1);
  assert_int_equal(identify(&proxied, "X-authentik-username", "", id), -1);
  /* The bearer token still works beside the proxy. */
  assert_int_equal(identify(&proxied, "Authorization", "Bearer " TOKEN, id), 0);
  assert_string_equal(id, "bearer");
}

/* The name lands in logs and events: no control bytes, bounded length. */
static void test_header_identity_is_sanitised(void **state) {
  (void)state;
  api_options o = {.trusted_user_header = "X-authentik-username"};
  char id[AUTH_IDENTITY_MAX_BYTES];
  assert_int_equal(identify(&o, "X-authentik-username", "al\x01ic\x1b[2Je\x7f\xc3\xa9", id), 0);
  assert_string_equal(id, "user:al?ic?[2Je???");
  char longname[600];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_int_equal(identify(&o, "X-authentik-username", longname, id), 0);
  assert_int_equal(strlen(id), AUTH_IDENTITY_MAX_BYTES - 1);
  assert_memory_equal(id, "user:aaa", 8);
}

static int same_origin(const char *n1, const char *v1, const char *n2, const char *v2,
                       const char *n3, const char *v3) {
  const char *pairs[] = {n1, v1, n2, v2, n3, v3, NULL};
  fake_request f;
  return auth_check_same_origin(request_with(&f, pairs));
}

static void test_same_origin(void **state) {
  (void)state;
  /* curl and scripts send neither header. */
  assert_int_equal(same_origin("Host", "h:8080", NULL, NULL, NULL, NULL), 0);
  assert_int_equal(same_origin("Host", "h:8080", "Origin", "http://h:8080", NULL, NULL), 0);
  assert_int_equal(same_origin("Host", "H:8080", "Origin", "https://h:8080", NULL, NULL), 0);
  assert_int_equal(same_origin("Host", "h:8080", "Origin", "https://evil.example", NULL, NULL), -1);
  assert_int_equal(same_origin("Host", "h:8080", "Origin", "http://h:80800", NULL, NULL), -1);
  assert_int_equal(same_origin("Host", "h:8080", "Origin", "http://h:80", NULL, NULL), -1);
  assert_int_equal(same_origin("Host", "h", "Origin", "http://h.evil.example", NULL, NULL), -1);
  assert_int_equal(same_origin("Host", "h:8080", "Origin", "h:8080", NULL, NULL), -1);
  /* "null": a sandboxed frame or a file: page. */
  assert_int_equal(same_origin("Host", "h:8080", "Origin", "null", NULL, NULL), -1);
  assert_int_equal(same_origin("Origin", "http://h:8080", NULL, NULL, NULL, NULL), -1);
}

static void test_sec_fetch_site(void **state) {
  (void)state;
  assert_int_equal(same_origin("Host", "h", "Sec-Fetch-Site", "same-origin", NULL, NULL), 0);
  assert_int_equal(same_origin("Host", "h", "Sec-Fetch-Site", "none", NULL, NULL), 0);
  assert_int_equal(same_origin("Host", "h", "Sec-Fetch-Site", "same-site", NULL, NULL), -1);
  assert_int_equal(same_origin("Host", "h", "Sec-Fetch-Site", "cross-site", NULL, NULL), -1);
  assert_int_equal(same_origin("Host", "h", "sec-fetch-site", "Cross-Site", NULL, NULL), -1);
  /* Both are checked: a same-origin claim does not excuse a foreign Origin. */
  assert_int_equal(
      same_origin("Host", "h", "Sec-Fetch-Site", "same-origin", "Origin", "https://evil.example"),
      -1);
  assert_int_equal(same_origin("Host", "h", "Sec-Fetch-Site", "same-origin", "Origin", "http://h"),
                   0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_secret_equal),
      cmocka_unit_test(test_bearer),
      cmocka_unit_test(test_fail_closed),
      cmocka_unit_test(test_trusted_header_only_when_configured),
      cmocka_unit_test(test_header_identity_is_sanitised),
      cmocka_unit_test(test_same_origin),
      cmocka_unit_test(test_sec_fetch_site),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
