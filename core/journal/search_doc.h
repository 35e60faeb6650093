/* What search finds in a session (docs/journal.md, "Search"): its
 * documents, built from the journal's records in order. No I/O.
 *
 * A document is one of:
 * - a prompt (a `user` event): its text;
 * - a call (an agent's tool call or a button press, every event of one
 *   call_id together): its tool name, the strings of its input, each
 *   policy decision (policy, verdict, reason), its result's content; with
 *   its tool, verb and outcome (`ok`, `error`, `denied`: from its
 *   `tool_call` record, else its `tool_result`; `unknown` without either);
 * - a turn's result (a `result` event): its text.
 * Each text is searched in its first SEARCH_MAX_PIECE_BYTES bytes, as
 * words: runs of ASCII letters, digits, `_` and bytes of UTF-8 characters
 * beyond ASCII, ASCII-lowercased, each cut at SEARCH_MAX_WORD_BYTES.
 * A document is found by words when it holds every word of the query.
 */
#ifndef BG_SEARCH_DOC_H
#define BG_SEARCH_DOC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "limits_table.h"

typedef enum { SEARCH_DOC_PROMPT, SEARCH_DOC_CALL, SEARCH_DOC_RESULT } search_doc_kind;

typedef struct search_doc {
  search_doc_kind kind;
  unsigned long long event_id; /* the event the page scrolls to */
  double ts_ms;                /* its time; NaN when unknown */
  char *call_id, *tool, *verb; /* calls only; NULL when unknown */
  char outcome[8];             /* calls: ok, error, denied, unknown */
  int outcome_final;           /* from the tool_call record */
  char *argument;              /* calls: the command or verb, cut */
  char *snippet;               /* the head of its text, cut */
  uint64_t *words;             /* word hashes, sorted, unique */
  size_t word_count, word_cap;
  json_t *event_ids; /* every event of a call, in order */
} search_doc;

/* The documents of one session, built record by record. */
typedef struct search_session_docs {
  search_doc *docs;
  size_t count, cap;
  json_t *calls; /* call_id -> index in docs */
  unsigned long long last_event_id;
  char *title; /* the first prompt, shortened; or "Power buttons" */
  int operator_session;
  double created_ms, last_ms; /* the first and last record's time */
  size_t words;               /* word hashes held, over every document */
} search_session_docs;

void search_session_docs_init(search_session_docs *s);
void search_session_docs_free(search_session_docs *s);
/* One journal record. 0, or -1 when memory ran out. */
int search_session_docs_add(search_session_docs *s, const json_t *record);

/* The word hashes of text (at most len bytes read), appended to *out
 * (malloc'd, grown), unsorted. */
int search_words(const char *text, size_t len, uint64_t **out, size_t *n, size_t *cap);
/* Sorts and removes repeats. */
size_t search_words_unique(uint64_t *words, size_t n);
/* Whether the document holds the word (binary search). */
int search_doc_has(const search_doc *d, uint64_t word);

const char *search_doc_kind_name(search_doc_kind k);

/* A document as one line of the index file, and back: the words go as
 * their hashes in hex. */
json_t *search_doc_to_json(const search_doc *d);
int search_doc_from_json(search_doc *d, const json_t *j);
void search_doc_free(search_doc *d);

#endif
