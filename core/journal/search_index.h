/* The search index over a sessions folder (docs/journal.md, "Search"): the
 * documents of every session journal (search_doc.h) in memory, kept beside
 * the journals as SESSIONS_DIR/index/search/<id>.idx so that a restart or
 * `breakglass search` need not read every journal again. The journals stay
 * the source of truth: an index file is used only while its journal still
 * holds the bytes it was built from (its length, and the SHA-256 of the
 * last line it read), is brought up to date by reading only what was
 * appended since, and is built again from the journal when it is missing,
 * unreadable or stale.
 *
 * Every call here blocks on the file system: the daemon runs them in
 * libuv's thread pool, one at a time (api_search.c). Bounded: at most
 * JOURNAL_FILES_MAX_COUNT journals, SEARCH_MAX_INDEX_WORDS word hashes in
 * memory (the sessions active longest ago past it are not searched, and
 * the answer says how many), lines of at most JOURNAL_MAX_RECORD_BYTES.
 */
#ifndef BG_SEARCH_INDEX_H
#define BG_SEARCH_INDEX_H

#include <jansson.h>
#include <stddef.h>

#include "limits_table.h"
#include "search_query.h"

typedef struct search_index search_index;

/* An index of the journals in sessions_dir; persist: keep index files in
 * sessions_dir/index/search (the daemon; the command when it may write
 * there). NULL when out of memory. */
search_index *search_index_new(const char *sessions_dir, int persist);
void search_index_free(search_index *ix);
/* Brings the index up to date with the folder. 0, or -1 with err when the
 * folder cannot be listed. */
int search_index_refresh(search_index *ix, char *err, size_t errlen);
/* The answer to q: {"query", "sessions": [{session_id, title, kind,
 * created, last_activity, hit_count, hits: [...]}], "session_count",
 * "searched", "unsearched"}. New reference; NULL when out of memory. */
json_t *search_index_query(const search_index *ix, const search_query *q);

#endif
