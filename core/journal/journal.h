/* One journal file: append-only JSON Lines, written on the loop thread and
 * flushed to disk through libuv's thread pool.
 *
 * Each record is one line: {"ts": UTC time with ms, "kind": ..., fields},
 * redacted (redactor.h) as it is serialised and written to a file
 * opened O_APPEND, in one write() up to 64 KiB and in pieces of that size
 * past it (a long record is never held whole). A write goes to the page
 * cache and costs microseconds;
 * only the flush waits on the disk, and it runs off the loop
 * (ADR 0002), so streams, buttons and cancel go on meanwhile. A record
 * that fails part way is cut back off the file, so a later record never
 * follows half a line. The record format is in docs/journal.md.
 *
 * Records are chained (journal_chain.h): each line ends with its number
 * and a SHA-256 link over its own bytes and every record before it, and
 * with an HMAC of that link when a key is given. A new file, or one whose
 * last line has no link, gets a header record first; the chain moves on
 * only when a record is whole in the file.
 */
#ifndef BG_JOURNAL_H
#define BG_JOURNAL_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "journal_chain.h"
#include "metrics.h"
#include "redactor.h"

typedef struct journal journal;
typedef struct journal_sync journal_sync;

/* status: 0 once the file is on disk, else a negative uv error. */
typedef void (*journal_sync_cb)(void *ud, int status);

/* Where a journal counts (metrics.h); either may be NULL. */
typedef struct journal_metrics {
  metric_series *bytes_written; /* counter */
  metric_series *flush_seconds; /* histogram: each fdatasync */
} journal_metrics;

/* Opens (creating, mode 0600) path for appending. r may be NULL and must
 * outlive the journal. 0, or -1 with err set. */
int journal_open(journal **out, uv_loop_t *loop, const char *path, const redactor *r, char *err,
                 size_t errlen);
/* From now on, counts in m (copied; NULL: no longer). */
void journal_set_metrics(journal *j, const journal_metrics *m);
/* The HMAC key for the links from the next record on (NULL: none). The
 * bytes must outlive the journal. */
void journal_use_key(journal *j, const journal_chain_key *key);
/* Writes the header now if the next record would need one: 1 when that
 * started a new chain (record 0), 0 when nothing or a linked header was
 * written, -1 with err set. */
int journal_begin(journal *j, char *err, size_t errlen);
/* Appends {"ts", "kind", ...fields}; fields (stolen, may be NULL) must not
 * hold "ts" or "kind", nor the chain's "seq", "hash" or "mac" (refused). 0, or -1 with err set: nothing was added. */
int journal_append(journal *j, const char *kind, json_t *fields, char *err, size_t errlen);
/* Appends {"ts", "kind", "<key>": value} where value is JSON text already
 * serialised (and redacted) by the caller: the event frames are. */
int journal_append_raw(journal *j, const char *kind, const char *key, const char *value, size_t len,
                       char *err, size_t errlen);
/* Flushes what was written so far (fdatasync) in the thread pool. cb runs
 * later, once, unless the request is abandoned; *out (may be NULL) names the
 * request for journal_sync_abandon. 0, or a negative uv error: cb will not
 * run. Flushes are group-committed: those asked while one runs share the
 * next fdatasync, so a burst of intents costs two disk waits, not one each. */
int journal_flush(journal *j, journal_sync_cb cb, void *ud, journal_sync **out);
/* The flush goes on, but its callback will not run. */
void journal_sync_abandon(journal_sync *s);
/* Bytes in the file. */
size_t journal_bytes(const journal *j);
/* The number and link of the last record: 0, or -1 before any record
 * with a link. */
int journal_head(const journal *j, unsigned long long *seq,
                 unsigned char hash[JOURNAL_CHAIN_HASH_BYTES]);
/* The head, when it moved since the last time it was taken (or since the
 * journal was opened): 0, else -1. For checkpoints of what was written. */
int journal_take_checkpoint(journal *j, unsigned long long *seq,
                            unsigned char hash[JOURNAL_CHAIN_HASH_BYTES]);
/* Recovery found the chain broken: the journal takes records still (the
 * daemon's own notes), but no new turn starts in it. NULL clears it. */
void journal_set_damaged(journal *j, const char *why);
const char *journal_damaged(const journal *j);
/* fdatasync calls started so far. */
unsigned long long journal_syncs(const journal *j);
const char *journal_path(const journal *j);
/* Closes the file once flushes in flight are done. NULL is fine. */
void journal_close(journal *j);

#endif
