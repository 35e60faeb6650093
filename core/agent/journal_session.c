#include "journal_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_store.h"
#include "log.h"

void journal_session_open(session *s) {
  char err[768];
  if (journal_store_open_session(s->app->journals, &s->journal, s->id, err, sizeof err) == 0)
    return;
  log_error("session %s: no journal: %s; mutating calls will be refused", s->id, err);
  free(s->journal_error);
  s->journal_error = strdup(err);
}

void journal_session_close(session *s) {
  journal_store_checkpoint(s->app->journals, s->id, s->journal);
  journal_close(s->journal);
  s->journal = NULL;
  free(s->journal_error);
  s->journal_error = NULL;
}

static void journal_session_write(session *s, const char *kind, json_t *fields) {
  char err[768];
  if (!s->journal) {
    json_decref(fields);
    return;
  }
  if (journal_append(s->journal, kind, fields, err, sizeof err) != 0)
    log_error("session %s: %s", s->id, err);
}

int journal_session_event(session *s, const char *json, size_t len) {
  char err[768];
  if (!s->journal) return -1;
  if (journal_append_raw(s->journal, "event", "event", json, len, err, sizeof err) == 0) return 0;
  log_error("session %s: %s", s->id, err);
  return -1;
}

void journal_session_message(session *s, size_t index) {
  journal_session_write(s, "message",
                        json_pack("{s:I, s:O}", "index", (json_int_t)index, "message",
                                  json_array_get(s->messages, index)));
}

void journal_session_truncate(session *s, size_t count) {
  journal_session_write(s, "truncate", json_pack("{s:I}", "count", (json_int_t)count));
}

void journal_action_record(session *s, json_t *fields) {
  journal_session_write(s, "tool_call", fields);
}

int journal_action_intent(session *s, json_t *fields, journal_sync_cb cb, void *ud,
                          journal_sync **out, char *err, size_t errlen) {
  if (out) *out = NULL;
  if (!s->journal) {
    json_decref(fields);
    snprintf(err, errlen, "the session has no journal: %s",
             s->journal_error ? s->journal_error : "not open");
    return -1;
  }
  if (journal_append(s->journal, "intent", fields, err, errlen) != 0) return -1;
  int rc = journal_flush(s->journal, cb, ud, out);
  if (rc != 0) {
    snprintf(err, errlen, "cannot flush the journal: %s", uv_strerror(rc));
    return -1;
  }
  return 0;
}

void journal_session_flush(session *s) {
  if (!s->journal) return;
  journal_store_checkpoint(s->app->journals, s->id, s->journal);
  int rc = journal_flush(s->journal, NULL, NULL, NULL);
  if (rc != 0) log_error("session %s: cannot flush the journal: %s", s->id, uv_strerror(rc));
}

int journal_session_full(const session *s, char *err, size_t errlen) {
  const char *damaged = journal_damaged(s->journal);
  if (damaged) {
    snprintf(err, errlen, "%s; start a new session (this one is kept as it is, as evidence)",
             damaged);
    return -1;
  }
  long cap = s->app->options.session.max_session_journal_bytes;
  if (!s->journal || journal_bytes(s->journal) <= (size_t)cap) return 0;
  snprintf(err, errlen,
           "this session's journal has passed its limit of %ld bytes "
           "(BREAKGLASS_MAX_SESSION_JOURNAL_BYTES); start a new session",
           cap);
  return -1;
}
