/* The plain text and JSON summaries (incident_plain.c); incident.c picks
 * the writer. */
#ifndef BG_INCIDENT_PLAIN_H
#define BG_INCIDENT_PLAIN_H

#include "buf.h"
#include "incident_parts.h"

void incident_write_txt(const incident *in, buf *b);
void incident_write_json(const incident *in, buf *b);

#endif
