/* The Markdown summary and the parts the plain one shares with it
 * (incident_write.c); incident.c picks the writer. */
#ifndef BG_INCIDENT_WRITE_H
#define BG_INCIDENT_WRITE_H

#include "buf.h"
#include "incident_parts.h"

/* What tells the Markdown summary from the plain one where the two share
 * a shape: the head, the sections' names, the prompts, the policy
 * decisions and the timings (incident_write.c writes these for both). */
typedef struct incident_dialect {
  const char *title;                          /* before the first line: "# " or "" */
  const char *heading;                        /* before a section's name: "## " or "" */
  const char *gap;                            /* after a heading: "\n" (a blank line) or "" */
  const char *field;                          /* before a line of the head: "- " or "" */
  const char *item;                           /* before an entry of a list: "- " or "  " */
  const char *numbered;                       /* before a numbered entry: "" or "  " */
  const char *zone;                           /* after a prompt's time: " UTC" or "" */
  void (*put_text)(buf *b, const char *text); /* what someone typed, on one line */
  void (*put_word)(buf *b, const char *text); /* a name or verdict in a policy decision */
  void (*put_id)(buf *b, const char *text);   /* the session's id */
} incident_dialect;

/* The summary's parts in dialect d. */
void incident_put_head(const incident *in, const incident_dialect *d, buf *b);
void incident_put_section(const incident_dialect *d, buf *b, const char *name);
void incident_put_prompts(const incident *in, const incident_dialect *d, buf *b);
void incident_put_policies(const incident *in, const incident_dialect *d, buf *b);
void incident_put_timings(const incident *in, const incident_dialect *d, buf *b);

/* The Markdown summary. */
void incident_write_md(const incident *in, buf *b);

#endif
