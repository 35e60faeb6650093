/* A journal file read a line at a time, whatever its size: a bounded
 * buffer holds one line (a line past JOURNAL_MAX_RECORD_BYTES is skipped
 * as garbage, not read into memory), so a 1 GB journal costs what its
 * longest record costs.
 *
 * The file is opened as it must be in a folder someone else could write
 * to: never blocking on a FIFO (O_NONBLOCK), read only when fstat says it
 * is a regular file and, in the daemon's own folder, never through a
 * symlink (O_NOFOLLOW) and only when it is the daemon's user's. Everything
 * afterwards (a torn line cut off) goes through the descriptor, never the
 * path again.
 */
#ifndef BG_JOURNAL_FILE_H
#define BG_JOURNAL_FILE_H

#include <jansson.h>
#include <stddef.h>

#include "journal_reader.h"

typedef struct journal_file journal_file;

enum {
  JOURNAL_FILE_WRITABLE = 1, /* recovery: a torn last line is cut off */
  /* The daemon's own folder: a symlink is refused, not followed, and the
   * file must belong to this process's user. Replay of files an operator
   * names follows symlinks. */
  JOURNAL_FILE_DAEMON_OWNED = 2,
};

/* 0, or -1 with err naming the path and what is wrong with it (not
 * there, a symlink, not a regular file, someone else's, unreadable). */
int journal_file_open(journal_file **out, const char *path, int flags, char *err, size_t errlen);
void journal_file_close(journal_file *f);

/* Lines to skip unparsed, as journal_reader_want says. */
void journal_file_want(journal_file *f, const char *const *wanted);
/* The next line, as journal_reader_next gives it. */
journal_read_result journal_file_next(journal_file *f, json_t **record, char *why, size_t whylen);
/* The bytes of the line last returned as a record or garbage (without its
 * newline; valid until the next call), for what checks lines as written
 * (the hash chain); NULL for a line past the record cap, which is not
 * kept. */
const char *journal_file_raw(const journal_file *f, size_t *len);
/* The number of the line last returned, from 1. */
size_t journal_file_line(const journal_file *f);
/* After TORN: cuts the file back to the end of the last whole line. 0, or
 * -1 with err. */
int journal_file_cut_torn(journal_file *f, char *err, size_t errlen);

#endif
