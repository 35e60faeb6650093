/* Reading a journal: bytes in, records out. No I/O, so it can be fuzzed.
 *
 * A journal is JSON Lines: one object with a string "kind" per line, each
 * written with a single append. A crash can cut the last append short, so a
 * last line without its newline is "torn": it is ignored and the caller can
 * cut the file back to the end of the line before it. Any other line that
 * is not a record is "garbage": it is reported with its line number and
 * reading goes on with the next line.
 */
#ifndef BG_JOURNAL_READER_H
#define BG_JOURNAL_READER_H

#include <jansson.h>
#include <stddef.h>

#include "limits_table.h"

typedef enum {
  JOURNAL_READ_RECORD,  /* *record is set (new reference) */
  JOURNAL_READ_GARBAGE, /* why says what is wrong with the line */
  JOURNAL_READ_TORN,    /* the last line has no newline; reading is over */
  JOURNAL_READ_END,
} journal_read_result;

typedef struct journal_reader {
  const char *data;
  size_t len;
  size_t pos;                /* start of the next line */
  size_t line;               /* number of the line last returned, from 1 */
  size_t good_bytes;         /* length of the journal up to the end of the last whole line */
  const char *const *wanted; /* see journal_reader_want; NULL: every record */
} journal_reader;

void journal_reader_init(journal_reader *r, const char *data, size_t len);
/* A reader that needs only some records skips the others without parsing
 * them: wanted lists record kinds ("tool_call") and event kinds ("event
 * tool"), NULL-terminated. A line is skipped only when it begins as the
 * daemon writes every record, {"ts":"<24 characters>","kind":"<kind>" (and
 * for an event ,"event":{"kind":"<kind>"), naming a kind not wanted; such a
 * line is not checked any further. Any other line is read as usual. Parsing
 * is most of what reading a journal costs, and replay needs a third of the
 * lines. */
void journal_reader_want(journal_reader *r, const char *const *wanted);
/* Whether the line (n bytes) is one of those a reader wanting `wanted`
 * skips; never for a NULL wanted. */
int journal_line_unwanted(const char *const *wanted, const char *s, size_t n);
/* The next line. r->line is its number for every result but END. */
journal_read_result journal_reader_next(journal_reader *r, json_t **record, char *why,
                                        size_t whylen);

/* One line (n bytes, without its newline; its number is line) as a
 * record, or garbage. */
journal_read_result journal_parse_line(const char *start, size_t n, size_t line, json_t **record,
                                       char *why, size_t whylen);

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (as log_format_utc writes it) to ms since the
 * epoch; -1 when it is not that. */
int journal_parse_utc(const char *text, unsigned long long *epoch_ms);

/* An event's kind: its "kind", or its "type" in journals written before
 * events named themselves by "kind". NULL when it has neither. */
const char *journal_event_kind(const json_t *ev);

#endif
