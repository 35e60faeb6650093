/* The bounds of the journal, its store, its check, the export and search.
 * Each is a macro of its own for the code; JOURNAL_LIMITS lists them all,
 * X(NAME, unit, what it bounds), for `breakglass --help --limits`. A name
 * ends in its unit. The journals' sizes are settings (core/base/config.c). */
#ifndef BG_JOURNAL_LIMITS_H
#define BG_JOURNAL_LIMITS_H

/* A line longer than this is garbage, whatever it holds. */
#define JOURNAL_MAX_RECORD_BYTES (32u * 1024 * 1024)
/* The pieces a record is written in (journal_write_record). */
#define JOURNAL_WRITE_CHUNK_BYTES (64u * 1024)
#define JOURNAL_FILE_READ_BYTES (64u * 1024)
#define JOURNAL_FILES_MAX_COUNT 4096
/* The sessions index grows by a line (about 250 bytes) a turn: 64 MiB is
 * some 250,000 turns. Past it, it takes no more records, and says so. */
#define JOURNAL_INDEX_MAX_BYTES (64u * 1024 * 1024)
/* Shorter keys would be guessable. */
#define JOURNAL_KEY_MIN_BYTES 16
/* A key is a file of random bytes. */
#define JOURNAL_CHAIN_MAX_KEY_BYTES 4096
/* From `,"seq":` to the newline. */
#define JOURNAL_CHAIN_SUFFIX_MAX_BYTES 200
/* Lines read after a break to tell a reorder from a removal. */
#define JOURNAL_VERIFY_LOOKAHEAD_LINES 64
/* A header names its kind near the start: {"ts":"<24>","kind":"chain". */
#define VERIFY_HEADER_PREFIX_BYTES 64
/* As session.c: the title is the first prompt on one line, shortened. */
#define INCIDENT_TITLE_MAX_BYTES 120
#define JS_TEXT_MAX_BYTES (1024u * 1024 * 1024)
/* As session.c titles a session. */
#define SEARCH_TITLE_MAX_BYTES 120
#define SEARCH_MAX_PIECE_BYTES (16u * 1024)
#define SEARCH_MAX_WORD_BYTES 64
#define SEARCH_ARGUMENT_BYTES 160
#define SEARCH_SNIPPET_BYTES 240
#define SEARCH_READ_BYTES (1024u * 1024)
/* It was left by a process that died. */
#define SEARCH_STALE_TMP_SECONDS 600
/* An index is far smaller than its journal. */
#define SEARCH_MAX_INDEX_FILE_BYTES (512u * 1024 * 1024)
/* 4 Mi word hashes: 32 MiB. */
#define SEARCH_MAX_INDEX_WORDS (4u * 1024 * 1024)
/* The rest are counted. */
#define SEARCH_MAX_HITS_PER_SESSION_COUNT 20
#define SEARCH_DEFAULT_LIMIT_COUNT 50
#define SEARCH_MAX_LIMIT_COUNT 1000
#define SEARCH_MAX_VALUE_BYTES 1024

#define JOURNAL_LIMITS(X)                                                                          \
  X(JOURNAL_MAX_RECORD_BYTES, "bytes", "one journal line")                                         \
  X(JOURNAL_WRITE_CHUNK_BYTES, "bytes", "the pieces a record is written in")                       \
  X(JOURNAL_FILE_READ_BYTES, "bytes", "one read of a journal")                                     \
  X(JOURNAL_FILES_MAX_COUNT, "count", "session journals one command reads from a folder")          \
  X(JOURNAL_INDEX_MAX_BYTES, "bytes", "the sessions index (past it, no more records)")             \
  X(JOURNAL_KEY_MIN_BYTES, "bytes", "the shortest HMAC key accepted")                              \
  X(JOURNAL_CHAIN_MAX_KEY_BYTES, "bytes", "the longest HMAC key accepted")                         \
  X(JOURNAL_CHAIN_SUFFIX_MAX_BYTES, "bytes", "a line's chain fields")                              \
  X(JOURNAL_VERIFY_LOOKAHEAD_LINES, "lines",                                                       \
    "read after a break to tell a reorder from a removal")                                         \
  X(VERIFY_HEADER_PREFIX_BYTES, "bytes", "where a chain header names its kind")                    \
  X(INCIDENT_TITLE_MAX_BYTES, "bytes", "an incident's title")                                      \
  X(JS_TEXT_MAX_BYTES, "bytes", "one piece of text of the export")                                 \
  X(SEARCH_TITLE_MAX_BYTES, "bytes", "a search hit's session title")                               \
  X(SEARCH_MAX_PIECE_BYTES, "bytes", "one piece of text indexed")                                  \
  X(SEARCH_MAX_WORD_BYTES, "bytes", "one word indexed")                                            \
  X(SEARCH_ARGUMENT_BYTES, "bytes", "a hit's call argument shown")                                 \
  X(SEARCH_SNIPPET_BYTES, "bytes", "a hit's text shown")                                           \
  X(SEARCH_READ_BYTES, "bytes", "journal bytes read at a time")                                    \
  X(SEARCH_STALE_TMP_SECONDS, "seconds", "age of a temporary index file left by a dead process")   \
  X(SEARCH_MAX_INDEX_FILE_BYTES, "bytes", "one index file")                                        \
  X(SEARCH_MAX_INDEX_WORDS, "words", "word hashes of one index")                                   \
  X(SEARCH_MAX_HITS_PER_SESSION_COUNT, "count", "hits listed per session")                         \
  X(SEARCH_DEFAULT_LIMIT_COUNT, "count", "sessions a search lists without --limit")                \
  X(SEARCH_MAX_LIMIT_COUNT, "count", "the largest --limit")                                        \
  X(SEARCH_MAX_VALUE_BYTES, "bytes", "a query's text, and each other value")

#endif
