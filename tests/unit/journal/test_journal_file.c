/* A journal file read a line at a time: records across read chunks, a line
 * past the record cap skipped without holding it, a torn line cut off by
 * the descriptor, the files the daemon's folder must refuse (a symlink, a
 * FIFO) refused at once, and the lines a reader does not want skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "journal_file.h"
#include "limits_table.h"
#include "scratch.h"

#define RECORD "{\"kind\":\"event\",\"n\":1}\n"

static char dir[64];

static const char *path_in(const char *name) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

static void write_text(const char *path, const char *text, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
}

/* Counts of each kind of line, the last reason given. */
typedef struct seen {
  int records, garbage, torn;
  size_t last_line;
  char why[256];
} seen;

static seen read_all(journal_file *f) {
  seen s = {0};
  json_t *rec;
  journal_read_result r;
  while ((r = journal_file_next(f, &rec, s.why, sizeof s.why)) != JOURNAL_READ_END) {
    s.last_line = journal_file_line(f);
    if (r == JOURNAL_READ_RECORD) s.records++, json_decref(rec);
    if (r == JOURNAL_READ_GARBAGE) s.garbage++;
    if (r == JOURNAL_READ_TORN) s.torn++;
  }
  return s;
}

static void test_records_across_chunks_and_an_overlong_line_skipped(void **state) {
  (void)state;
  size_t long_len = JOURNAL_MAX_RECORD_BYTES + 100 * 1024;
  /* and the NUL the last stpcpy writes */
  size_t total = 2 * strlen(RECORD) + long_len + 1 + 3000 * strlen(RECORD) + 1;
  char *text = malloc(total), *p = text;
  assert_non_null(text);
  p = stpcpy(p, RECORD);
  memset(p, 'x', long_len);
  p += long_len;
  *p++ = '\n';
  for (int i = 0; i < 3001; i++) p = stpcpy(p, RECORD);
  write_text(path_in("long.jsonl"), text, (size_t)(p - text));
  free(text);

  journal_file *f;
  char err[256];
  assert_int_equal(journal_file_open(&f, path_in("long.jsonl"), 0, err, sizeof err), 0);
  seen s = read_all(f);
  assert_int_equal(s.records, 3002);
  assert_int_equal(s.garbage, 1);
  assert_int_equal(s.torn, 0);
  assert_int_equal(s.last_line, 3003);
  journal_file_close(f);
}

static void test_torn_line_cut_off_by_descriptor(void **state) {
  (void)state;
  const char *text = RECORD RECORD "{\"kind\":\"ev";
  write_text(path_in("torn.jsonl"), text, strlen(text));
  journal_file *f;
  char err[256];
  assert_int_equal(journal_file_open(&f, path_in("torn.jsonl"),
                                     JOURNAL_FILE_WRITABLE | JOURNAL_FILE_DAEMON_OWNED, err,
                                     sizeof err),
                   0);
  seen s = read_all(f);
  assert_int_equal(s.records, 2);
  assert_int_equal(s.torn, 1);
  assert_int_equal(s.last_line, 3);
  assert_non_null(strstr(s.why, "line 3 is torn"));
  assert_int_equal(journal_file_cut_torn(f, err, sizeof err), 0);
  journal_file_close(f);
  struct stat st;
  assert_int_equal(stat(path_in("torn.jsonl"), &st), 0);
  assert_int_equal(st.st_size, 2 * strlen(RECORD));
}

static void test_symlink_refused_in_the_daemon_folder_followed_for_replay(void **state) {
  (void)state;
  write_text(path_in("target.jsonl"), RECORD, strlen(RECORD));
  char target[256];
  snprintf(target, sizeof target, "%s", path_in("target.jsonl"));
  assert_int_equal(symlink(target, path_in("link.jsonl")), 0);
  journal_file *f;
  char err[256];
  assert_int_equal(journal_file_open(&f, path_in("link.jsonl"),
                                     JOURNAL_FILE_WRITABLE | JOURNAL_FILE_DAEMON_OWNED, err,
                                     sizeof err),
                   -1);
  assert_non_null(strstr(err, "a symbolic link"));
  assert_int_equal(journal_file_open(&f, path_in("link.jsonl"), 0, err, sizeof err), 0);
  assert_int_equal(read_all(f).records, 1);
  journal_file_close(f);
}

static void test_fifo_refused_without_waiting(void **state) {
  (void)state;
  assert_int_equal(mkfifo(path_in("fifo.jsonl"), 0600), 0);
  journal_file *f;
  char err[256];
  assert_int_equal(journal_file_open(&f, path_in("fifo.jsonl"), 0, err, sizeof err), -1);
  assert_non_null(strstr(err, "not a regular file"));
  assert_int_equal(
      journal_file_open(&f, path_in("fifo.jsonl"), JOURNAL_FILE_DAEMON_OWNED, err, sizeof err), -1);
  assert_int_equal(journal_file_open(&f, path_in("missing.jsonl"), 0, err, sizeof err), -1);
  assert_non_null(strstr(err, "cannot open"));
}

/* Lines a reader does not want are skipped unparsed wherever the read
 * chunks cut them, a broken one too, and still count in the line numbers
 * and leave the wanted lines' bytes whole for the hash chain. */
static void test_unwanted_lines_skipped_across_chunks(void **state) {
  (void)state;
  enum { LINES = 2000, EVERY = 7, PAD = 97 };
  static const char *const wanted[] = {"tool_call", NULL};
  static const char head[] = "{\"ts\":\"2026-06-11T08:30:05.123Z\",\"kind\":";
  char pad[PAD + 1];
  memset(pad, 'o', PAD);
  pad[PAD] = '\0';
  buf text;
  buf_init(&text, SIZE_MAX);
  for (int i = 1; i <= LINES; i++) {
    if (i % EVERY == 0)
      buf_appendf(&text, "%s\"tool_call\",\"call_id\":\"c%d\"}\n", head, i);
    else if (i == LINES / 2)
      buf_appendf(&text, "%s\"event\",\"event\":{\"kind\":\"tool_output\",broken\n", head);
    else
      buf_appendf(&text, "%s\"event\",\"event\":{\"kind\":\"tool_output\",\"text\":\"%.*s\"}}\n",
                  head, i % PAD, pad);
  }
  assert_true(text.len > 3 * JOURNAL_FILE_READ_BYTES);
  write_text(path_in("wanted.jsonl"), buf_cstr(&text), text.len);

  journal_file *f;
  char err[256], why[256];
  assert_int_equal(journal_file_open(&f, path_in("wanted.jsonl"), 0, err, sizeof err), 0);
  journal_file_want(f, wanted);
  json_t *rec;
  int n = 0;
  while (journal_file_next(f, &rec, why, sizeof why) == JOURNAL_READ_RECORD) {
    n++;
    size_t line = journal_file_line(f), len;
    assert_int_equal(line, (size_t)n * EVERY);
    char id[16];
    snprintf(id, sizeof id, "c%zu", line);
    assert_string_equal(json_string_value(json_object_get(rec, "call_id")), id);
    const char *raw = journal_file_raw(f, &len);
    assert_non_null(raw);
    assert_int_equal(len, strlen(head) + strlen("\"tool_call\",\"call_id\":\"\"}") + strlen(id));
    assert_memory_equal(raw, head, strlen(head));
    json_decref(rec);
  }
  assert_int_equal(n, LINES / EVERY);
  journal_file_close(f);
  buf_free(&text);
}

static int make_dir(void **state) {
  (void)state;
  scratch_dir_make(dir, sizeof dir, "journal-file");
  return 0;
}

static int remove_dir(void **state) {
  (void)state;
  scratch_remove(dir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_records_across_chunks_and_an_overlong_line_skipped),
      cmocka_unit_test(test_torn_line_cut_off_by_descriptor),
      cmocka_unit_test(test_symlink_refused_in_the_daemon_folder_followed_for_replay),
      cmocka_unit_test(test_fifo_refused_without_waiting),
      cmocka_unit_test(test_unwanted_lines_skipped_across_chunks),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
