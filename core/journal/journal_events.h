/* A journal's events as the daemon serves them after a restart: in order,
 * each named by "kind" (journals from before used "type"), ids only
 * growing (an event with a missing or repeated id is skipped, as recovery
 * skips it), garbage lines skipped, up to the chain's first break. No I/O:
 * for the offline commands, which must show what the page shows. */
#ifndef BG_JOURNAL_EVENTS_H
#define BG_JOURNAL_EVENTS_H

#include <jansson.h>
#include <stddef.h>

#include "journal_verify.h"

/* The events of data (a whole journal): a new JSON array, NULL when out of
 * memory. v (initialised by the caller, with the key to check macs with)
 * is left at the end or the break. */
json_t *journal_events_load(const char *data, size_t len, journal_verifier *v);

/* ev named by "kind", kind first: a journal written before events named
 * themselves by "kind" used "type". Steals ev. */
json_t *journal_event_with_kind(json_t *ev);

#endif
