/* A search over the sessions (docs/journal.md, "Search"): what
 * GET /api/sessions/search and `breakglass search` take, and which
 * documents it matches. No I/O.
 *
 *   q        words every matching document holds (search_doc.h)
 *   tool     the call's tool, exactly
 *   verb     the call's verb (pve's, a button's), exactly
 *   outcome  the call's outcome: ok, error, denied or unknown
 *   since    the document's time is at or after: ISO 8601 UTC
 *            (2026-06-11T08:30:05.123Z, 2026-06-11T08:30:05Z), a day
 *            (2026-06-11: from its start) or epoch milliseconds
 *   until    at or before (a day: to its end)
 *   limit    sessions in the answer, 1 to SEARCH_MAX_LIMIT_COUNT (default 50)
 * tool, verb and outcome match calls only.
 */
#ifndef BG_SEARCH_QUERY_H
#define BG_SEARCH_QUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "limits_table.h"
#include "search_doc.h"

typedef struct search_query {
  uint64_t *words; /* of q, unique */
  size_t word_count, word_cap;
  json_t *given; /* the parameters as given, for the answer */
  char *tool, *verb, *outcome;
  double since_ms, until_ms; /* NaN: unset */
  size_t limit;
} search_query;

void search_query_init(search_query *q);
void search_query_free(search_query *q);
/* One parameter. 0, or -1 with err naming it and what it takes. */
int search_query_set(search_query *q, const char *name, const char *value, char *err,
                     size_t errlen);
/* A URL's query string: name=value pairs, percent-escapes and '+' decoded. */
int search_query_parse(search_query *q, const char *query, char *err, size_t errlen);

int search_query_matches(const search_query *q, const search_doc *d);

#endif
