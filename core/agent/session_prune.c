#include "session_prune.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "journal_store.h"
#include "log.h"

static int over_limits(const app *a) {
  size_t count = 0, bytes = 0;
  for (const session *s = a->sessions; s; s = s->next) {
    count++;
    bytes += journal_bytes(s->journal);
  }
  return count > (size_t)a->options.store.max_sessions ||
         bytes > (size_t)a->options.store.max_journal_bytes;
}

/* The finished session least recently active, or NULL. The list runs
 * newest first, so on a tie (two sessions active in the same millisecond)
 * the one further down, the older, is taken. */
static session *oldest_deletable(const app *a, const session *keep) {
  session *oldest = NULL;
  for (session *s = a->sessions; s; s = s->next) {
    if (s == keep || session_busy(s)) continue;
    if (!oldest || s->last_activity_ms <= oldest->last_activity_ms) oldest = s;
  }
  return oldest;
}

int session_prune(app *a, const session *keep) {
  int deleted = 0;
  while (over_limits(a)) {
    session *s = oldest_deletable(a, keep);
    if (!s) break;
    if (s->journal && unlink(journal_path(s->journal)) != 0 && errno != ENOENT) {
      log_error("retention: cannot delete %s: %s; keeping the session", journal_path(s->journal),
                strerror(errno));
      break;
    }
    log_info("retention: deleted session %s (last active %llu ms ago)", s->id,
             log_now_ms() - s->last_activity_ms);
    /* The index says it went, and with which head: a journal gone without
     * that is one someone removed (docs/journal.md, "Integrity"). */
    journal_store_deleted(s->app->journals, s->id, s->journal, "retention");
    journal_close(s->journal);
    s->journal = NULL;
    session_destroy(s);
    deleted++;
  }
  return deleted;
}
