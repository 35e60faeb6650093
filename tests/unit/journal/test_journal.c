/* One journal file: whole lines, and flushes that are group-committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "scratch.h"

typedef struct flush_seen {
  int order[8];
  int status[8];
  int count;
} flush_seen;

typedef struct waiter {
  flush_seen *seen;
  int id;
} waiter;

static void on_flushed(void *ud, int status) {
  waiter *w = ud;
  w->seen->order[w->seen->count] = w->id;
  w->seen->status[w->seen->count] = status;
  w->seen->count++;
}

/* Each test's loop and a journal open on a scratch file; the test closes
 * the journal, the teardown the loop and the file. */
typedef struct journal_fixture {
  uv_loop_t loop;
  char path[64];
  journal *j;
} journal_fixture;

static int fixture_setup(void **state) {
  journal_fixture *fx = calloc(1, sizeof *fx);
  assert_non_null(fx);
  uv_loop_init(&fx->loop);
  scratch_file_make(fx->path, sizeof fx->path, "test-journal");
  char err[256];
  assert_int_equal(journal_open(&fx->j, &fx->loop, fx->path, NULL, err, sizeof err), 0);
  *state = fx;
  return 0;
}

static int fixture_teardown(void **state) {
  journal_fixture *fx = *state;
  uv_loop_close(&fx->loop);
  unlink(fx->path);
  free(fx);
  return 0;
}

/* Five flushes asked while the first runs cost two fdatasyncs, not five:
 * the first, and one for all who asked meanwhile. Each waiter hears once,
 * in the order it asked; an abandoned one does not hear at all. */
static void test_flushes_are_grouped(void **state) {
  journal_fixture *fx = *state;
  journal *j = fx->j;
  char err[256];
  flush_seen seen = {0};
  waiter w[6];
  journal_sync *sync[6];
  for (int i = 0; i < 6; i++) {
    w[i] = (waiter){&seen, i};
    assert_int_equal(journal_append(j, "intent", json_pack("{s:i}", "n", i), err, sizeof err), 0);
    assert_int_equal(journal_flush(j, on_flushed, &w[i], &sync[i]), 0);
  }
  journal_sync_abandon(sync[3]);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(journal_syncs(j), 2);
  assert_int_equal(seen.count, 5);
  const int want[] = {0, 1, 2, 4, 5};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(seen.order[i], want[i]);
    assert_int_equal(seen.status[i], 0);
  }
  journal_close(j);
}

/* A flush asked from inside a flush's callback gets one of its own. */
typedef struct chained {
  journal *j;
  flush_seen seen;
  waiter second;
} chained;

static void on_flushed_then_ask(void *ud, int status) {
  chained *c = ud;
  c->seen.order[c->seen.count] = 0;
  c->seen.status[c->seen.count++] = status;
  c->second = (waiter){&c->seen, 1};
  assert_int_equal(journal_flush(c->j, on_flushed, &c->second, NULL), 0);
}

static void test_flush_from_a_callback(void **state) {
  journal_fixture *fx = *state;
  chained c = {.j = fx->j};
  assert_int_equal(journal_flush(c.j, on_flushed_then_ask, &c, NULL), 0);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(c.seen.count, 2);
  assert_int_equal(c.seen.order[1], 1);
  assert_int_equal(c.seen.status[1], 0);
  assert_int_equal(journal_syncs(c.j), 2);
  journal_close(c.j);
}

/* Closing while a flush runs waits for it: its waiter still hears, the
 * ones queued behind it hear that they were cancelled, nothing leaks. */
static void test_close_during_a_flush(void **state) {
  journal_fixture *fx = *state;
  journal *j = fx->j;
  flush_seen seen = {0};
  waiter first = {&seen, 0}, queued = {&seen, 1};
  assert_int_equal(journal_flush(j, on_flushed, &first, NULL), 0);
  assert_int_equal(journal_flush(j, on_flushed, &queued, NULL), 0);
  journal_close(j);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(seen.count, 2);
  assert_int_equal(seen.order[0], 0);
  assert_int_equal(seen.status[0], 0);
  assert_int_equal(seen.order[1], 1);
  assert_int_equal(seen.status[1], UV_ECANCELED);
}

/* A record many times the write chunk goes whole, byte for byte, through
 * the writer's two buffers (what is yet to be redacted, what is yet to be
 * written), each filled and drained again and again. */
static void test_record_larger_than_the_chunks(void **state) {
  journal_fixture *fx = *state;
  journal *j = fx->j;
  char err[256];
  size_t len = 5 * 64 * 1024 + 123;
  char *text = malloc(len + 1);
  assert_non_null(text);
  for (size_t i = 0; i < len; i++) text[i] = (char)('a' + (i * 7 + i / 4099) % 26);
  text[len] = '\0';
  assert_int_equal(journal_append(j, "note", json_pack("{s:s}", "text", text), err, sizeof err), 0);
  journal_close(j);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  FILE *f = fopen(fx->path, "r");
  assert_non_null(f);
  json_error_t jerr;
  json_t *rec; /* the note, after the chain's own first record */
  while ((rec = json_loadf(f, JSON_DISABLE_EOF_CHECK, &jerr)) &&
         strcmp(json_string_value(json_object_get(rec, "kind")), "note") != 0)
    json_decref(rec);
  fclose(f);
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "text")), text);
  json_decref(rec);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_flushes_are_grouped, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(test_flush_from_a_callback, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(test_close_during_a_flush, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(test_record_larger_than_the_chunks, fixture_setup,
                                      fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
