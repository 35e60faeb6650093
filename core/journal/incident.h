/* An incident read from a session's events, and its summary as Markdown,
 * plain text and JSON: the same fold and the same Markdown as the page's
 * export (www/incident.mjs: buildIncident, incidentMarkdown), byte for
 * byte, so that `breakglass export` and the page's "Export summary" file
 * the same report. No I/O.
 *
 * The session's entry (what GET /api/sessions says of it: id, title,
 * status, usage) is read from the events too, as the daemon reads it back
 * at start (session_recover.c).
 */
#ifndef BG_INCIDENT_H
#define BG_INCIDENT_H

#include <jansson.h>

#include "buf.h"

typedef enum { INCIDENT_MD, INCIDENT_TXT, INCIDENT_JSON } incident_format;

typedef struct incident incident;

/* Folds events (a JSON array of the session's events in order, each named
 * by "kind"; borrowed for the incident's life) with the session's id.
 * NULL when out of memory. */
incident *incident_build(const json_t *events, const char *session_id);
void incident_free(incident *in);

/* The summary in the format, appended to out. */
void incident_write(const incident *in, incident_format f, buf *out);

#endif
