#include "session_recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gate.h"
#include "journal_file.h"
#include "journal_reader.h"
#include "journal_session.h"
#include "journal_store.h"
#include "journal_verify.h"
#include "limits_table.h"
#include "log.h"
#include "session.h"
#include "session_prune.h"

#define RECOVER_INTERRUPTED_AFTER_INTENT                                                           \
  "interrupted by a restart after its intent was recorded: it may have run; check its effect "     \
  "before running it again"

/* What reading one journal found, besides the session itself. */
typedef struct recover_state {
  session *s;
  int turn_open;   /* a "user" event with no "turn_end" after it */
  int cancelled;   /* a "cancelled" event in the last turn */
  int interrupted; /* an "interrupted" event ended the last turn */
  int last_failed; /* the last "result" was an error */
  json_t *intents; /* call_id -> intent record: intents with no tool_call yet */
  size_t torn_line;
  json_t *garbage; /* line numbers */
  size_t garbage_count;
  size_t skipped_events;  /* with a missing or repeated id */
  journal_verifier chain; /* the records load up to its first break */
} recover_state;

static int is_session_file(const char *name) {
  size_t n = strlen(name);
  if (n != SESSION_ID_LEN + 6 || strcmp(name + SESSION_ID_LEN, ".jsonl") != 0) return 0;
  for (size_t i = 0; i < SESSION_ID_LEN; i++)
    if (!strchr("0123456789abcdef", name[i])) return 0;
  return 1;
}

static void recover_event(recover_state *st, json_t *ev) {
  const char *type = journal_event_kind(ev);
  if (type && strcmp(type, "user") == 0) {
    st->turn_open = 1;
    st->cancelled = st->interrupted = 0;
  } else if (type && strcmp(type, "turn_end") == 0) {
    st->turn_open = 0;
  } else if (type && strcmp(type, "interrupted") == 0) {
    /* A session stays "interrupted" across later restarts, as it was
     * after the first. */
    st->turn_open = 0;
    st->interrupted = 1;
  } else if (type && strcmp(type, "cancelled") == 0) {
    st->cancelled = 1;
  } else if (type && strcmp(type, "result") == 0) {
    st->last_failed = json_is_true(json_object_get(ev, "is_error"));
  }
  if (session_restore_event(st->s, json_incref(ev)) != 0) st->skipped_events++;
}

static void recover_message(recover_state *st, const json_t *rec) {
  json_t *messages = st->s->messages;
  json_t *msg = json_object_get(rec, "message");
  json_int_t index = json_integer_value(json_object_get(rec, "index"));
  if (!json_is_object(msg) || index < 0) return;
  if ((size_t)index < json_array_size(messages))
    json_array_set(messages, (size_t)index, msg);
  else
    json_array_append(messages, msg);
}

static void recover_truncate(recover_state *st, const json_t *rec) {
  json_int_t count = json_integer_value(json_object_get(rec, "count"));
  while (count >= 0 && json_array_size(st->s->messages) > (size_t)count)
    json_array_remove(st->s->messages, json_array_size(st->s->messages) - 1);
}

/* What policies read comes back too (docs/journal.md, "Reading back"):
 * the call joins its session's history and, when it changed something,
 * the daemon-wide actions, as it stood when it ended. */
static void recover_history(recover_state *st, const json_t *rec, unsigned long long ended_ms,
                            int is_error) {
  json_t *r = gate_record_from_journal(rec, st->s->id);
  if (!r) return;
  json_object_set_new(r, "finished_ms", json_integer((json_int_t)ended_ms));
  json_object_set_new(r, "is_error", json_boolean(is_error));
  json_array_append(st->s->history, r);
  const char *decision = json_string_value(json_object_get(r, "decision"));
  app *a = st->s->app;
  if (json_is_true(json_object_get(r, "mutating")) && strcmp(decision, "deny") != 0) {
    if (!a->actions) a->actions = json_array();
    json_array_append(a->actions, r);
  }
  json_decref(r);
}

static void recover_call(recover_state *st, const json_t *rec, const char *call_id) {
  json_object_del(st->intents, call_id);
  unsigned long long ended = 0;
  journal_parse_utc(json_string_value(json_object_get(rec, "ts")), &ended);
  recover_history(st, rec, ended,
                  json_is_true(json_object_get(json_object_get(rec, "result"), "is_error")));
}

static void recover_record(recover_state *st, json_t *rec) {
  const char *kind = json_string_value(json_object_get(rec, "kind"));
  const char *call_id = json_string_value(json_object_get(rec, "call_id"));
  if (strcmp(kind, "event") == 0 && json_is_object(json_object_get(rec, "event")))
    recover_event(st, json_object_get(rec, "event"));
  else if (strcmp(kind, "message") == 0)
    recover_message(st, rec);
  else if (strcmp(kind, "truncate") == 0)
    recover_truncate(st, rec);
  else if (strcmp(kind, "intent") == 0 && call_id)
    json_object_set(st->intents, call_id, rec);
  else if (strcmp(kind, "tool_call") == 0 && call_id)
    recover_call(st, rec, call_id);
}

/* The tool calls of the last assistant message that have no result get
 * one, so the conversation is one the API accepts. */
static void recover_close_tool_round(recover_state *st) {
  json_t *messages = st->s->messages;
  size_t n = json_array_size(messages);
  json_t *last = n ? json_array_get(messages, n - 1) : NULL;
  const char *role = json_string_value(json_object_get(last, "role"));
  if (!role || strcmp(role, "assistant") != 0) return;
  json_t *results = json_array();
  size_t i;
  json_t *block;
  json_array_foreach(json_object_get(last, "content"), i, block) {
    const char *type = json_string_value(json_object_get(block, "type"));
    const char *id = json_string_value(json_object_get(block, "id"));
    if (!type || strcmp(type, "tool_use") != 0 || !id) continue;
    const char *text = json_object_get(st->intents, id) ? RECOVER_INTERRUPTED_AFTER_INTENT
                                                        : "interrupted by a restart: it did not "
                                                          "finish, or did not start";
    json_array_append_new(results, json_pack("{s:s, s:s, s:s, s:b}", "type", "tool_result",
                                             "tool_use_id", id, "content", text, "is_error", 1));
  }
  if (json_array_size(results) > 0)
    session_add_user_content(st->s, results);
  else
    json_decref(results);
}

/* The chain's first break: what precedes it is served, nothing after. */
static json_t *recover_break_json(const recover_state *st, char *msg, size_t msglen) {
  const journal_verifier *v = &st->chain;
  if (!v->broken) return NULL;
  snprintf(msg, msglen,
           "the journal's chain is broken at record %llu (line %zu): %s; the session is shown up "
           "to it and takes no new turn",
           v->break_record, v->break_line, v->why);
  return json_pack("{s:I, s:I, s:s, s:s}", "record", (json_int_t)v->break_record, "line",
                   (json_int_t)v->break_line, "damage", journal_damage_name(v->damage), "why",
                   v->why);
}

static void recover_report_damage(recover_state *st, const char *path) {
  char broken[512];
  json_t *link = recover_break_json(st, broken, sizeof broken);
  if (!st->torn_line && !st->garbage_count && !link) return;
  char msg[1024];
  if (link)
    snprintf(msg, sizeof msg, "%s", broken);
  else
    snprintf(msg, sizeof msg, "the journal was damaged: %s%zu garbage line(s) skipped",
             st->torn_line ? "a torn last line was cut off; " : "", st->garbage_count);
  log_warn("session %s: %s (%s)", st->s->id, msg, path);
  json_t *fields = json_pack("{s:s, s:O}", "message", msg, "garbage_lines", st->garbage);
  if (st->torn_line)
    json_object_set_new(fields, "torn_line", json_integer((json_int_t)st->torn_line));
  if (link) {
    json_object_set_new(fields, "broken_link", link);
    journal_set_damaged(st->s->journal, broken);
  }
  session_emit_kind(st->s, "journal_damage", fields);
}

/* An action whose intent is on record but whose end is not was cut by the
 * restart: the page is told it ended, and the policies see it as ended now
 * with an error (it may have run). */
static void recover_cut_actions(recover_state *st) {
  const char *id;
  json_t *intent;
  unsigned long long now = log_now_ms();
  json_object_foreach(st->intents, id, intent) {
    session_emit_kind(st->s, "tool_result",
                      json_pack("{s:s, s:b, s:s, s:I}", "call_id", id, "is_error", 1, "content",
                                RECOVER_INTERRUPTED_AFTER_INTENT, "duration_ms", (json_int_t)0));
    recover_history(st, intent, now, 1);
  }
}

static void recover_finish(recover_state *st, const char *path) {
  session *s = st->s;
  s->status = st->interrupted   ? SESSION_INTERRUPTED
              : st->cancelled   ? SESSION_CANCELLED
              : st->last_failed ? SESSION_FAILED
                                : SESSION_IDLE;
  journal_session_open(s);
  /* Counted, not logged one by one: a journal of repeats would be a log
   * line for each of its events. */
  if (st->skipped_events)
    log_warn("session %s: %zu event(s) with a missing or repeated id skipped (%s)", s->id,
             st->skipped_events, path);
  recover_report_damage(st, path);
  recover_cut_actions(st);
  if (st->turn_open) {
    recover_close_tool_round(st);
    session_emit_kind(
        s, "interrupted",
        json_pack("{s:s}", "message", "the turn was cut off when the service restarted"));
    s->status = SESSION_INTERRUPTED;
  }
  journal_session_flush(s);
}

/* A file recovery will not read is left where it is (never deleted: it
 * may be evidence) and named where the operator looks. */
static void recover_refuse(app *a, const char *name, const char *why) {
  log_error("recovery: %s not restored: %s", name, why);
  if (!a->journal_damage) a->journal_damage = json_array();
  if (json_array_size(a->journal_damage) < RECOVER_MAX_REFUSED_FILES_COUNT)
    json_array_append_new(a->journal_damage, json_pack("{s:s, s:s}", "file", name, "message", why));
}

/* The line just read against the chain; a line past the record cap, which
 * no daemon writes, is fed as empty and so breaks it. */
static int recover_check_link(recover_state *st, journal_file *f) {
  size_t n;
  const char *raw = journal_file_raw(f, &n);
  return journal_verifier_line(&st->chain, raw ? raw : "", n);
}

/* The lines after a break are read (never loaded) until they tell what
 * happened at it. */
static void recover_tell_break(recover_state *st, journal_file *f) {
  char why[256];
  json_t *rec;
  while (st->chain.deciding) {
    journal_read_result r = journal_file_next(f, &rec, why, sizeof why);
    json_decref(rec);
    if (r == JOURNAL_READ_END || r == JOURNAL_READ_TORN) break;
    recover_check_link(st, f);
  }
  journal_verifier_end(&st->chain);
}

/* The session, made at its first record (created when that was). */
static session *recover_session(recover_state *st, app *a, const char *id, const json_t *rec) {
  if (st->s) return st->s;
  unsigned long long created = log_now_ms();
  journal_parse_utc(json_string_value(json_object_get(rec, "ts")), &created);
  st->s = session_restore(a, id, created);
  return st->s;
}

/* One record read back: the session is made by the first. 0, or -1 when
 * the session cannot be made (no more are read). */
static int recover_take(recover_state *st, app *a, const char *id, json_t *rec) {
  if (!recover_session(st, a, id, rec)) return -1;
  recover_record(st, rec);
  unsigned long long ts;
  if (journal_parse_utc(json_string_value(json_object_get(rec, "ts")), &ts) == 0)
    st->s->last_activity_ms = ts;
  return 0;
}

static void recover_one(app *a, const char *dir, const char *name) {
  char id[SESSION_ID_LEN + 1], err[1024];
  snprintf(id, sizeof id, "%.*s", SESSION_ID_LEN, name);
  char *path = NULL;
  if (asprintf(&path, "%s/%s", dir, name) < 0) return;
  journal_file *f;
  int flags = JOURNAL_FILE_WRITABLE | JOURNAL_FILE_DAEMON_OWNED;
  if (journal_file_open(&f, path, flags, err, sizeof err) != 0) {
    recover_refuse(a, name, err);
    free(path);
    return;
  }
  recover_state st = {.intents = json_object(), .garbage = json_array()};
  journal_verifier_init(&st.chain, journal_store_key(a->journals));
  journal_read_result res;
  json_t *rec;
  while ((res = journal_file_next(f, &rec, err, sizeof err)) != JOURNAL_READ_END) {
    if (res == JOURNAL_READ_TORN) {
      log_warn("session %s: %s; ignored", id, err);
      st.torn_line = journal_file_line(f);
      if (journal_file_cut_torn(f, err, sizeof err) != 0) log_error("recovery: %s", err);
      break;
    }
    if (recover_check_link(&st, f) != 0) {
      json_decref(rec);
      recover_tell_break(&st, f);
      break;
    }
    if (res == JOURNAL_READ_GARBAGE) {
      log_warn("session %s: journal %s, skipped", id, err);
      if (st.garbage_count++ < RECOVER_MAX_REPORTED_LINES)
        json_array_append_new(st.garbage, json_integer((json_int_t)journal_file_line(f)));
      continue;
    }
    int rc = recover_take(&st, a, id, rec);
    json_decref(rec);
    if (rc != 0) break;
  }
  /* A break before any record still shows: the session, empty, says so. */
  if (st.chain.broken && !st.s) recover_session(&st, a, id, NULL);
  journal_file_close(f);
  if (st.s)
    recover_finish(&st, path);
  else
    log_warn("recovery: %s holds no journal record; not restored", path);
  json_decref(st.intents);
  json_decref(st.garbage);
  free(path);
}

/* Newest first, as session_create keeps them. */
static int by_created_desc(const void *x, const void *y) {
  const session *a = *(session *const *)x, *b = *(session *const *)y;
  return a->created_ms < b->created_ms ? 1 : a->created_ms > b->created_ms ? -1 : 0;
}

static void sort_sessions(app *a) {
  size_t n = 0;
  for (session *s = a->sessions; s; s = s->next) n++;
  session **all = n ? malloc(n * sizeof *all) : NULL;
  if (!all) return;
  n = 0;
  for (session *s = a->sessions; s; s = s->next) all[n++] = s;
  qsort(all, n, sizeof *all, by_created_desc);
  for (size_t i = 0; i < n; i++) all[i]->next = i + 1 < n ? all[i + 1] : NULL;
  a->sessions = all[0];
  free(all);
}

typedef struct recover_record {
  json_t *record;
  size_t order;
} recover_record_at;

static int by_started_ms(const void *x, const void *y) {
  const recover_record_at *a = x, *b = y;
  json_int_t ta = json_integer_value(json_object_get(a->record, "started_ms"));
  json_int_t tb = json_integer_value(json_object_get(b->record, "started_ms"));
  if (ta != tb) return ta < tb ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

/* Oldest first by start (journal order on a tie), at most max of the
 * newest kept. */
static void sort_records(json_t *list, size_t max) {
  size_t n = json_array_size(list);
  recover_record_at *all = n ? malloc(n * sizeof *all) : NULL;
  if (!all) return;
  for (size_t i = 0; i < n; i++)
    all[i] = (recover_record_at){json_incref(json_array_get(list, i)), i};
  qsort(all, n, sizeof *all, by_started_ms);
  json_array_clear(list);
  for (size_t i = n > max ? n - max : 0; i < n; i++) json_array_append(list, all[i].record);
  for (size_t i = 0; i < n; i++) json_decref(all[i].record);
  free(all);
}

int session_recover(app *a) {
  const char *dir = a->options.store.sessions_dir;
  DIR *d = opendir(dir);
  if (!d) {
    log_error("recovery: cannot read %s: %s", dir, strerror(errno));
    return 0;
  }
  struct dirent *e;
  while ((e = readdir(d)))
    if (is_session_file(e->d_name)) recover_one(a, dir, e->d_name);
  closedir(d);
  sort_sessions(a);
  for (session *s = a->sessions; s; s = s->next) sort_records(s->history, GATE_MAX_HISTORY_COUNT);
  sort_records(a->actions, GATE_MAX_ACTIONS_COUNT);
  int count = 0;
  for (session *s = a->sessions; s; s = s->next) count++;
  if (count) log_info("recovery: %d session(s) read back from %s", count, dir);
  session_prune(a, NULL);
  return count;
}
