/* Journal files read whole, bounded, and the session journals of a
 * folder: for the offline commands (verify, export, search) and the search
 * index, which read journals as files. */
#ifndef BG_JOURNAL_FILES_H
#define BG_JOURNAL_FILES_H

#include <stddef.h>

#include "limits_table.h"

/* Reads path whole if it holds at most cap bytes: 0 with *out (malloc'd,
 * NUL-terminated) and *len, or -1 with err naming the file and why. */
int journal_files_read(const char *path, size_t cap, char **out, size_t *len, char *err,
                       size_t errlen);

/* Whether name is a session journal's: <32 hex>.jsonl. */
int journal_files_is_session(const char *name);

/* The session journals in dir, sorted by name: *names (malloc'd array of
 * malloc'd names, free with journal_files_free). 0, or -1 with err. */
int journal_files_list(const char *dir, char ***names, size_t *count, char *err, size_t errlen);
void journal_files_free(char **names, size_t count);

#endif
