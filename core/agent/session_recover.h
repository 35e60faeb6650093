/* Restart recovery: at start, every session is read back from its journal
 * in the sessions folder (docs/journal.md).
 *
 * A torn last line is cut off the file and reported; garbage lines are
 * reported with their numbers and skipped. Events keep their ids, so a
 * client's Last-Event-ID resumes exactly. A turn that was running when the
 * process died gets an "interrupted" event, and its tool calls that never
 * finished get error results, so the next turn sends the model a valid and
 * whole conversation.
 */
#ifndef BG_SESSION_RECOVER_H
#define BG_SESSION_RECOVER_H

#include "app.h"

/* Rebuilds the sessions from the journal store (open it first:
 * journal_store.h), then applies retention. Returns the number of
 * sessions read back. */
int session_recover(app *a);

#endif
