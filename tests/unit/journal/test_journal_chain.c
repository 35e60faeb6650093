/* The journal's hash chain: what the writer links, what the verifier
 * reads back, and each kind of damage named at the record it hit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "journal.h"
#include "journal_verify.h"
#include "scratch.h"

#define RECORDS 8

static const journal_chain_key KEY = {(const unsigned char *)"0123456789abcdef0123456789abcdef",
                                      32};
static const journal_chain_key OTHER_KEY = {
    (const unsigned char *)"fedcba9876543210fedcba9876543210", 32};

typedef struct text {
  char *data;
  size_t len;
} text;

/* A loop and a scratch journal file for each test, removed after. */
typedef struct chain_fixture {
  uv_loop_t loop;
  char path[64];
} chain_fixture;

static int fixture_setup(void **state) {
  chain_fixture *fx = calloc(1, sizeof *fx);
  assert_non_null(fx);
  uv_loop_init(&fx->loop);
  scratch_file_make(fx->path, sizeof fx->path, "test-chain");
  *state = fx;
  return 0;
}

static int fixture_teardown(void **state) {
  chain_fixture *fx = *state;
  unlink(fx->path);
  uv_loop_close(&fx->loop);
  free(fx);
  return 0;
}

static text read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  text t = {malloc(1 << 20), 0};
  t.len = fread(t.data, 1, 1 << 20, f);
  fclose(f);
  return t;
}

static void write_all(const char *path, const text *t) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(t->data, 1, t->len, f), t->len);
  fclose(f);
}

/* Appends n records, events and objects alike, with the key (or none). */
static void append_records(uv_loop_t *loop, const char *path, const journal_chain_key *key, int n) {
  journal *j = NULL;
  char err[256];
  assert_int_equal(journal_open(&j, loop, path, NULL, err, sizeof err), 0);
  journal_use_key(j, key);
  for (int i = 0; i < n; i++) {
    if (i % 2) {
      char ev[64];
      int len = snprintf(ev, sizeof ev, "{\"kind\":\"text\",\"id\":%d,\"text\":\"t\"}", i);
      assert_int_equal(journal_append_raw(j, "event", "event", ev, (size_t)len, err, sizeof err),
                       0);
    } else {
      assert_int_equal(
          journal_append(j, "message", json_pack("{s:i}", "index", i), err, sizeof err), 0);
    }
  }
  journal_close(j);
}

static journal_verifier verify(const text *t, const journal_chain_key *key) {
  journal_verifier v;
  journal_verifier_init(&v, key);
  journal_verify_bytes(&v, t->data, t->len);
  return v;
}

/* Start and length of line i (from 0). */
static void line_at(const text *t, int i, size_t *start, size_t *len) {
  size_t at = 0;
  for (int k = 0; k < i; k++)
    at = (size_t)((char *)memchr(t->data + at, '\n', t->len - at) - t->data) + 1;
  *start = at;
  *len = (size_t)((char *)memchr(t->data + at, '\n', t->len - at) - t->data) - at + 1;
}

/* The fixture's file with RECORDS records, read back. */
static text fresh_journal(chain_fixture *fx, const journal_chain_key *key) {
  append_records(&fx->loop, fx->path, key, RECORDS);
  return read_all(fx->path);
}

/* Line 0 is the header, record 0; line i is record i. */
static void test_intact_and_each_damage(void **state) {
  chain_fixture *fx = *state;
  text t = fresh_journal(fx, NULL);
  journal_verifier v = verify(&t, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_NONE);
  assert_int_equal(v.seq, RECORDS);
  assert_int_equal(v.unchained_lines, 0);
  assert_true(strncmp(v.name, "bg-test-chain-", 14) == 0);

  size_t s3, n3, s4, n4;
  line_at(&t, 3, &s3, &n3);
  line_at(&t, 4, &s4, &n4);

  text changed = {malloc(t.len), t.len};
  memcpy(changed.data, t.data, t.len);
  changed.data[s3 + 10] ^= 1;
  v = verify(&changed, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_CHANGED);
  assert_int_equal(v.break_record, 3);

  text removed = {malloc(t.len), 0};
  memcpy(removed.data, t.data, s3);
  memcpy(removed.data + s3, t.data + s3 + n3, t.len - s3 - n3);
  removed.len = t.len - n3;
  v = verify(&removed, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_REMOVED);
  assert_int_equal(v.break_record, 3);
  assert_non_null(strstr(v.why, "record 3 is missing"));

  static const char junk[] =
      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":\"event\",\"event\":{}}\n";
  text inserted = {malloc(t.len + sizeof junk), 0};
  memcpy(inserted.data, t.data, s3);
  memcpy(inserted.data + s3, junk, sizeof junk - 1);
  memcpy(inserted.data + s3 + sizeof junk - 1, t.data + s3, t.len - s3);
  inserted.len = t.len + sizeof junk - 1;
  v = verify(&inserted, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_INSERTED);
  assert_int_equal(v.break_line, 4);

  text copied = {malloc(t.len + n3), 0};
  memcpy(copied.data, t.data, s4);
  memcpy(copied.data + s4, t.data + s3, n3);
  memcpy(copied.data + s4 + n3, t.data + s4, t.len - s4);
  copied.len = t.len + n3;
  v = verify(&copied, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_INSERTED);
  assert_non_null(strstr(v.why, "second copy of record 3"));

  text swapped = {malloc(t.len), t.len};
  memcpy(swapped.data, t.data, t.len);
  memcpy(swapped.data + s3, t.data + s4, n4);
  memcpy(swapped.data + s3 + n4, t.data + s3, n3);
  v = verify(&swapped, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_REORDERED);
  assert_int_equal(v.break_record, 3);

  text truncated = {t.data, t.len - 20};
  v = verify(&truncated, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_TRUNCATED);
  assert_int_equal(v.break_record, RECORDS);

  free(changed.data);
  free(removed.data);
  free(inserted.data);
  free(copied.data);
  free(swapped.data);
  free(t.data);
}

/* Links again from line `from` on, as someone with the file but without
 * the key would: every SHA-256 link checks, the macs cannot. */
static text relink_without_key(const text *t, int from, char edit) {
  text out = {malloc(t->len), t->len};
  memcpy(out.data, t->data, t->len);
  size_t start, len;
  line_at(&out, from, &start, &len);
  out.data[start + 10] = edit;
  unsigned char prev[JOURNAL_CHAIN_HASH_BYTES];
  journal_chain_line p;
  size_t ps, pn;
  line_at(&out, from - 1, &ps, &pn);
  assert_int_equal(journal_chain_parse(out.data + ps, pn, &p), 0);
  memcpy(prev, p.hash, sizeof prev);
  for (size_t at = start; at < out.len;) {
    size_t n = (size_t)((char *)memchr(out.data + at, '\n', out.len - at) - out.data) - at + 1;
    assert_int_equal(journal_chain_parse(out.data + at, n, &p), 0);
    journal_chain_link *l = journal_chain_link_start(prev);
    journal_chain_link_update(l, out.data + at,
                              p.hashed_len - strlen(",\"seq\":,\"hash\":\"") -
                                  (size_t)snprintf(NULL, 0, "%llu", p.seq));
    char fed[JOURNAL_CHAIN_SUFFIX_MAX_BYTES], tail[JOURNAL_CHAIN_SUFFIX_MAX_BYTES];
    size_t fed_len;
    journal_chain_link_finish(l, p.seq, NULL, prev, fed, &fed_len, tail);
    journal_chain_hex(prev, sizeof prev, out.data + at + p.hashed_len);
    at += n;
  }
  return out;
}

static void test_hmac(void **state) {
  chain_fixture *fx = *state;
  text t = fresh_journal(fx, &KEY);
  journal_verifier v = verify(&t, &KEY);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_NONE);
  assert_int_equal(v.macs_checked, RECORDS + 1);

  /* Without the key the links still check; the macs are not read. */
  v = verify(&t, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_NONE);
  assert_int_equal(v.macs_checked, 0);

  v = verify(&t, &OTHER_KEY);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_CHANGED);
  assert_int_equal(v.break_record, 0);

  /* Rewritten from record 5 on with every link consistent: only the key
   * tells, and it names the first record rewritten. */
  text rewritten = relink_without_key(&t, 5, 'X');
  v = verify(&rewritten, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_NONE);
  v = verify(&rewritten, &KEY);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_CHANGED);
  assert_int_equal(v.break_record, 5);
  assert_non_null(strstr(v.why, "without the key"));

  /* The key taken away: the records after it are not authenticated. */
  append_records(&fx->loop, fx->path, NULL, 2);
  free(t.data);
  t = read_all(fx->path);
  v = verify(&t, &KEY);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_INSERTED);
  assert_int_equal(v.break_record, RECORDS + 1);
  v = verify(&t, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_NONE);

  free(rewritten.data);
  free(t.data);
}

/* A journal from before chains: unchained; the daemon appending to it
 * starts a chain after what is there. */
static void test_unchained_then_chained(void **state) {
  chain_fixture *fx = *state;
  static const char legacy[] =
      "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":\"event\",\"event\":{\"id\":1}}\n"
      "{\"ts\":\"2026-06-11T08:30:06.123Z\",\"kind\":\"event\",\"event\":{\"id\":2}}\n";
  text t = {(char *)legacy, sizeof legacy - 1};
  write_all(fx->path, &t);
  journal_verifier v = verify(&t, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_NONE);
  assert_false(v.chained);
  assert_int_equal(v.unchained_lines, 2);

  append_records(&fx->loop, fx->path, NULL, 3);
  t = read_all(fx->path);
  v = verify(&t, NULL);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_NONE);
  assert_true(v.chained);
  assert_int_equal(v.unchained_lines, 2);
  assert_int_equal(v.seq, 3);
  free(t.data);
}

/* A record that fails part way is cut back off the file, and the chain
 * stays where it was: the next record links to the last whole one. */
static void test_failed_record_does_not_advance(void **state) {
  chain_fixture *fx = *state;
  append_records(&fx->loop, fx->path, &KEY, 2);
  journal *j = NULL;
  char err[256];
  assert_int_equal(journal_open(&j, &fx->loop, fx->path, NULL, err, sizeof err), 0);
  journal_use_key(j, &KEY);
  size_t before = journal_bytes(j);
  struct rlimit old, cap = {before + 100 * 1024, before + 100 * 1024};
  getrlimit(RLIMIT_FSIZE, &old);
  cap.rlim_max = old.rlim_max;
  signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &cap), 0);
  char *big = malloc(300 * 1024);
  memset(big, 'a', 300 * 1024 - 1);
  big[300 * 1024 - 1] = '\0';
  assert_int_equal(journal_append(j, "message", json_pack("{s:s}", "text", big), err, sizeof err),
                   -1);
  assert_int_equal(journal_bytes(j), before);
  assert_int_equal(journal_append(j, "message", json_pack("{s:i}", "index", 9), err, sizeof err),
                   0);
  setrlimit(RLIMIT_FSIZE, &old);
  journal_close(j);
  free(big);
  text t = read_all(fx->path);
  journal_verifier v = verify(&t, &KEY);
  assert_int_equal(v.damage, JOURNAL_DAMAGE_NONE);
  assert_int_equal(v.seq, 3);
  free(t.data);
}

/* The parser takes only the exact ending the writer makes. */
static void test_parse(void **state) {
  (void)state;
  journal_chain_line p;
  static const char ok[] = "{\"kind\":\"x\",\"seq\":12,\"hash\":\""
                           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}\n";
  assert_int_equal(journal_chain_parse(ok, sizeof ok - 1, &p), 0);
  assert_int_equal(p.seq, 12);
  assert_false(p.has_mac);
  assert_int_equal(p.hashed_len, strlen("{\"kind\":\"x\",\"seq\":12,\"hash\":\""));
  static const char *bad[] = {
      "{\"kind\":\"x\"}",
      "{\"kind\":\"x\",\"seq\":012,\"hash\":"
      "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
      "{\"kind\":\"x\",\"seq\":-1,\"hash\":"
      "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
      "{\"kind\":\"x\",\"seq\":1,\"hash\":"
      "\"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\"}",
      "{\"kind\":\"x\",\"seq\":99999999999999999999,\"hash\":"
      "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
      "\"seq\":1,\"hash\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
      "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(journal_chain_parse(bad[i], strlen(bad[i]), &p), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_intact_and_each_damage, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(test_hmac, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(test_unchained_then_chained, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(test_failed_record_does_not_advance, fixture_setup,
                                      fixture_teardown),
      cmocka_unit_test(test_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
