/* Retention: past BREAKGLASS_MAX_SESSIONS sessions, or past
 * BREAKGLASS_MAX_JOURNAL_BYTES in all their journals together, the
 * sessions least recently active are deleted (journal file and memory)
 * until both hold. A session with a running turn or action is never
 * deleted, nor the one given as keep (the one just created); when only
 * those are left the limits stay exceeded until they finish. */
#ifndef BG_SESSION_PRUNE_H
#define BG_SESSION_PRUNE_H

#include "session.h"

/* The number of sessions deleted. */
int session_prune(app *a, const session *keep);

#endif
