#include "journal_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "limits_table.h"

struct journal_file {
  int fd;
  char *path;
  char chunk[JOURNAL_FILE_READ_BYTES];
  size_t chunk_len, chunk_pos;
  buf line;     /* the line being gathered (at most the record cap) */
  int overlong; /* the line passed the cap: skipping to its end */
  int raw_kept; /* line holds the whole line last returned */
  size_t overlong_bytes;
  int eof;
  size_t line_no;
  size_t good_bytes;         /* offset just past the last whole line */
  size_t offset;             /* bytes consumed from the file */
  const char *const *wanted; /* journal_file_want; NULL: every record */
};

int journal_file_open(journal_file **out, const char *path, int flags, char *err, size_t errlen) {
  *out = NULL;
  int own = flags & JOURNAL_FILE_DAEMON_OWNED;
  int fd = open(path, (flags & JOURNAL_FILE_WRITABLE ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC |
                          (own ? O_NOFOLLOW : 0));
  struct stat st;
  if (fd < 0) {
    if (errno == ELOOP && own)
      snprintf(err, errlen, "%s: a symbolic link (refused: a journal is a file of its own)", path);
    else
      snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  const char *why = fstat(fd, &st) != 0             ? strerror(errno)
                    : !S_ISREG(st.st_mode)          ? "not a regular file (refused)"
                    : own && st.st_uid != geteuid() ? "owned by another user (refused)"
                                                    : NULL;
  journal_file *f = why ? NULL : calloc(1, sizeof *f);
  if (f) f->path = strdup(path);
  if (why || !f || !f->path) {
    snprintf(err, errlen, "%s: %s", path, why ? why : "out of memory");
    if (f) free(f);
    close(fd);
    return -1;
  }
  /* Reads block like a file's: O_NONBLOCK was only for the open. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  f->fd = fd;
  buf_init(&f->line, JOURNAL_MAX_RECORD_BYTES);
  *out = f;
  return 0;
}

void journal_file_close(journal_file *f) {
  if (!f) return;
  close(f->fd);
  buf_free(&f->line);
  free(f->path);
  free(f);
}

size_t journal_file_line(const journal_file *f) { return f->line_no; }

/* More bytes into chunk; 0 at the end of the file, -1 on an error. */
static int journal_file_fill(journal_file *f) {
  ssize_t n;
  do n = read(f->fd, f->chunk, sizeof f->chunk);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  f->chunk_len = (size_t)n;
  f->chunk_pos = 0;
  if (n == 0) f->eof = 1;
  return n > 0 ? 1 : 0;
}

const char *journal_file_raw(const journal_file *f, size_t *len) {
  *len = f->raw_kept ? f->line.len : 0;
  return f->raw_kept ? buf_cstr(&f->line) : NULL;
}

void journal_file_want(journal_file *f, const char *const *wanted) { f->wanted = wanted; }

journal_read_result journal_file_next(journal_file *f, json_t **record, char *why, size_t whylen) {
  *record = NULL;
  buf_reset(&f->line);
  f->raw_kept = 0;
  for (;;) {
    if (f->chunk_pos == f->chunk_len) {
      int rc = f->eof ? 0 : journal_file_fill(f);
      if (rc < 0) {
        f->line_no++;
        snprintf(why, whylen, "line %zu cannot be read: %s", f->line_no, strerror(errno));
        f->eof = 1;
        f->chunk_len = f->chunk_pos = 0;
        return JOURNAL_READ_TORN;
      }
      if (rc == 0) {
        if (f->line.len == 0 && !f->overlong) return JOURNAL_READ_END;
        f->line_no++;
        snprintf(why, whylen, "line %zu is torn: %zu bytes without a newline", f->line_no,
                 f->overlong ? f->overlong_bytes : f->line.len);
        buf_reset(&f->line);
        f->overlong = 0;
        return JOURNAL_READ_TORN;
      }
    }
    const char *start = f->chunk + f->chunk_pos;
    size_t rest = f->chunk_len - f->chunk_pos;
    const char *nl = memchr(start, '\n', rest);
    size_t take = nl ? (size_t)(nl - start) : rest;
    f->chunk_pos += take + (nl ? 1 : 0);
    f->offset += take + (nl ? 1 : 0);
    if (!f->overlong && buf_append(&f->line, start, take) != 0) {
      f->overlong = 1;
      f->overlong_bytes = f->line.len;
      buf_reset(&f->line);
    }
    if (f->overlong) f->overlong_bytes += take;
    if (!nl) continue;
    f->line_no++;
    f->good_bytes = f->offset;
    if (f->overlong) {
      f->overlong = 0;
      snprintf(why, whylen, "line %zu is longer than %u MiB (%zu bytes): skipped", f->line_no,
               JOURNAL_MAX_RECORD_BYTES >> 20, f->overlong_bytes);
      return JOURNAL_READ_GARBAGE;
    }
    if (journal_line_unwanted(f->wanted, buf_cstr(&f->line), f->line.len)) {
      buf_reset(&f->line);
      continue;
    }
    f->raw_kept = 1;
    return journal_parse_line(buf_cstr(&f->line), f->line.len, f->line_no, record, why, whylen);
  }
}

int journal_file_cut_torn(journal_file *f, char *err, size_t errlen) {
  if (ftruncate(f->fd, (off_t)f->good_bytes) == 0) return 0;
  snprintf(err, errlen, "cannot cut the torn line off %s: %s", f->path, strerror(errno));
  return -1;
}
