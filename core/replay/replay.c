/* Replay as a simulation of the live gate's clock: every decision round of
 * every call, and every call's end, happened at a recorded moment
 * ([ms, seq]: seq orders moments within one millisecond); replay takes
 * them in that order across all the journals given, so that policies see
 * the history and the actions as they stood at each decision. */
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "gate.h"
#include "journal_file.h"
#include "journal_reader.h"
#include "json_schema.h"
#include "replay_compare.h"

typedef struct replay_moment {
  long long ms;
  long long seq;
} replay_moment;

typedef struct replay_session {
  const char *id;
  json_t *
      by_call; /* call id -> {tool, tool_ms, result, result_ms, policy_ms: [], confirm, confirm_ms} */
  json_t *inserted; /* call id -> tool_call record of a call a policy inserted */
  json_t *history;
  json_t *calls; /* the report's entries, in journal order once sorted */
  long torn_line;
  size_t diverges, inserted_count;
} replay_session;

/* A call decided again: a tool_call record no policy inserted. */
typedef struct replay_call {
  replay_session *s;
  json_t *rec;
  size_t line, order;
  gate_call gc;
  gate_answers answers;
  const json_t *seen; /* its entry in by_call */
  json_t *decisions;  /* the replayed policy events */
  json_t *inserted;   /* ids of the recorded inserted calls fed so far */
  size_t round;       /* the next round to decide */
  int done;
  const char *outcome; /* what the current scripts decide, once done */
} replay_call;

/* One decision round of a call, at its recorded moment. */
typedef struct replay_step {
  replay_moment at;
  replay_call *call;
  size_t round;
} replay_step;

/* A record that ends at its recorded moment. */
typedef struct replay_end {
  replay_moment at;
  replay_session *s;
  json_t *record, *result;
} replay_end;

typedef struct replay {
  lua_host *h;
  json_t *schemas; /* tool name -> input_schema */
  json_t *actions;
  replay_end *ends;
  size_t end_count, end_cap;
} replay;

static long long record_ms(const json_t *rec) {
  unsigned long long ms;
  return journal_parse_utc(json_string_value(json_object_get(rec, "ts")), &ms) == 0 ? (long long)ms
                                                                                    : 0;
}

static long long int_of(const json_t *o, const char *key, long long fallback) {
  const json_t *v = json_object_get(o, key);
  return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

static const char *str_or(const json_t *o, const char *key, const char *fallback) {
  const char *v = json_string_value(json_object_get(o, key));
  return v ? v : fallback;
}

/* [ms, seq] as recorded, or the fallback's ms with seq 0 (journals from
 * before moments were recorded). */
static replay_moment moment_of(const json_t *v, long long fallback_ms) {
  const json_t *ms = json_array_get(v, 0), *seq = json_array_get(v, 1);
  if (json_is_integer(ms) && json_is_integer(seq))
    return (replay_moment){json_integer_value(ms), json_integer_value(seq)};
  return (replay_moment){fallback_ms, 0};
}

static int moment_cmp(replay_moment a, replay_moment b) {
  if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
  return a.seq < b.seq ? -1 : a.seq > b.seq;
}

/* --- reading ---------------------------------------------------------------- */

/* The events replay needs, by call id. */
static int index_event(replay_session *s, const json_t *rec) {
  const json_t *ev = json_object_get(rec, "event");
  const char *type = journal_event_kind(ev);
  const char *id = json_string_value(json_object_get(ev, "call_id"));
  if (!type || !id) return 0;
  int tool = strcmp(type, "tool") == 0, result = strcmp(type, "tool_result") == 0;
  int policy = strcmp(type, "policy") == 0, confirm = strcmp(type, "confirm_result") == 0;
  if (!tool && !result && !policy && !confirm) return 0;
  json_t *seen = json_object_get(s->by_call, id);
  if (!seen) {
    seen = json_pack("{s:[]}", "policy_ms");
    if (!seen || json_object_set_new(s->by_call, id, seen) != 0) return -1;
  }
  json_int_t ms = (json_int_t)record_ms(rec);
  if (tool) {
    json_object_set(seen, "tool", (json_t *)ev);
    json_object_set_new(seen, "tool_ms", json_integer(ms));
  } else if (result) {
    json_object_set(seen, "result", (json_t *)ev);
    json_object_set_new(seen, "result_ms", json_integer(ms));
  } else if (policy) {
    json_array_append_new(json_object_get(seen, "policy_ms"), json_integer(ms));
  } else {
    json_object_set(seen, "confirm", (json_t *)ev);
    json_object_set_new(seen, "confirm_ms", json_integer(ms));
  }
  return 0;
}

typedef struct replay_calls {
  replay_call *v;
  size_t count, cap;
} replay_calls;

static int add_call(replay_calls *calls, replay_session *s, json_t *rec, size_t line) {
  if (ARRAY_GROW(calls->v, calls->cap, calls->count, 64) != 0) return -1;
  calls->v[calls->count] = (replay_call){
      .s = s, .rec = json_incref(rec), .line = line, .order = calls->count};
  calls->count++;
  return 0;
}

/* A tool_call record as the daemon writes it: an input, when there is
 * one, is an object (what the model sent passed the tool's schema). */
static int check_call(const json_t *rec, size_t line, const char *id, char *err, size_t errlen) {
  const json_t *input = json_object_get(rec, "input");
  if (!input || json_is_object(input)) return 0;
  snprintf(err, errlen, "session %s: line %zu is a tool_call whose input is not an object", id,
           line);
  return -1;
}

/* Indexes a journal's events and inserted calls, and gathers its calls. */
static int read_journal(replay_session *s, const char *path, replay_calls *calls, char *err,
                        size_t errlen) {
  static const char *const wanted[] = {"tool_call",    "event tool",           "event tool_result",
                                       "event policy", "event confirm_result", NULL};
  journal_file *f;
  if (journal_file_open(&f, path, 0, err, errlen) != 0) return -1;
  journal_file_want(f, wanted);
  char why[256];
  int rc = 0;
  while (rc == 0) {
    json_t *rec;
    journal_read_result res = journal_file_next(f, &rec, why, sizeof why);
    size_t line = journal_file_line(f);
    if (res == JOURNAL_READ_END) break;
    if (res == JOURNAL_READ_TORN) {
      s->torn_line = (long)line;
      break;
    }
    if (res == JOURNAL_READ_GARBAGE) {
      snprintf(err, errlen, "session %s: the journal cannot be read: %s", s->id, why);
      rc = -1;
      break;
    }
    const char *kind = json_string_value(json_object_get(rec, "kind"));
    const char *call_id = str_or(rec, "call_id", "");
    int is_call = strcmp(kind, "tool_call") == 0;
    if (is_call && check_call(rec, line, s->id, err, errlen) != 0)
      rc = -1;
    else if (strcmp(kind, "event") == 0)
      rc = index_event(s, rec);
    else if (is_call && json_object_get(rec, "inserted_by"))
      rc = json_object_set(s->inserted, call_id, rec);
    else if (is_call)
      rc = add_call(calls, s, rec, line);
    json_decref(rec);
    if (rc != 0 && !err[0]) snprintf(err, errlen, "out of memory reading line %zu", line);
  }
  journal_file_close(f);
  return rc;
}

/* --- ends: records finish at their recorded moment -------------------------------- */

static int end_add(replay *r, replay_session *s, json_t *record, json_t *result, replay_moment at) {
  if (ARRAY_GROW(r->ends, r->end_cap, r->end_count, 16) != 0) return -1;
  r->ends[r->end_count++] = (replay_end){
      .at = at, .s = s, .record = json_incref(record), .result = result};
  return 0;
}

/* Every record that had ended live before the moment `at` ends here too,
 * in the order they ended. */
static void ends_run_until(replay *r, replay_moment at) {
  for (;;) {
    size_t best = r->end_count;
    for (size_t i = 0; i < r->end_count; i++)
      if (moment_cmp(r->ends[i].at, at) < 0 &&
          (best == r->end_count || moment_cmp(r->ends[i].at, r->ends[best].at) < 0))
        best = i;
    if (best == r->end_count) return;
    replay_end e = r->ends[best];
    r->ends[best] = r->ends[--r->end_count];
    const char *content = str_or(e.result, "content", "");
    gate_record_finish(r->h, e.record, e.s->history, r->actions,
                       json_is_true(json_object_get(e.result, "is_error")), content,
                       strlen(content), (unsigned long long)e.at.ms);
    json_decref(e.record);
    json_decref(e.result);
  }
}

/* A record from a tool_call record joins the history (and, when it changed
 * something, the actions) and will end at its recorded end. */
static void replay_join(replay *r, replay_session *s, const json_t *rec, long long started_ms) {
  json_t *h = gate_record_from_journal(rec, s->id);
  if (!h) return;
  /* Journals from before the record kept its start: when it was shown. */
  if (!json_object_get(rec, "started_ms"))
    json_object_set_new(h, "started_ms", json_integer((json_int_t)started_ms));
  gate_list_append(s->history, h, GATE_MAX_HISTORY_COUNT, 0);
  const char *decision = json_string_value(json_object_get(h, "decision"));
  if (json_is_true(json_object_get(h, "mutating")) && strcmp(decision, "deny") != 0)
    gate_list_append(r->actions, h, GATE_MAX_ACTIONS_COUNT, 1);
  const json_t *result = json_object_get(rec, "result");
  json_t *res = json_pack("{s:b, s:s}", "is_error",
                          json_is_true(json_object_get(result, "is_error")), "content",
                          str_or(result, "content", ""));
  replay_moment end = moment_of(json_object_get(rec, "finished"), record_ms(rec));
  if (!res || end_add(r, s, h, res, end) != 0) json_decref(res);
  json_decref(h);
}

/* --- deciding again ------------------------------------------------------------- */

/* The call the runtime inserted live as id, joining the history. Journals
 * from before inserted calls had records of their own are read from the
 * events. */
static void feed_inserted(replay *r, replay_call *c, const char *id) {
  const json_t *rec = json_object_get(c->s->inserted, id);
  const json_t *seen = json_object_get(c->s->by_call, id);
  long long started = int_of(seen, "tool_ms", 0);
  json_t *made = NULL;
  if (!rec) {
    const json_t *ev = json_object_get(seen, "tool");
    const json_t *res = json_object_get(seen, "result");
    made = json_pack("{s:s, s:s, s:O?, s:s, s:s, s:b, s:s, s:s?, s:{s:b, s:s}, s:I}", "ts", "",
                     "call_id", id, "input", json_object_get(ev, "input"), "name",
                     str_or(ev, "name", ""), "identity", c->gc.identity, "mutating", 0, "source",
                     c->gc.source, "inserted_by", str_or(ev, "inserted_by", NULL), "result",
                     "is_error", json_is_true(json_object_get(res, "is_error")), "content",
                     str_or(res, "content", ""), "started_ms", (json_int_t)started);
    if (made)
      json_object_set_new(made, "finished",
                          json_pack("[I, I]", (json_int_t)int_of(seen, "result_ms", started), 0));
    rec = made;
  }
  if (rec) replay_join(r, c->s, rec, started);
  json_decref(made);
  json_array_append_new(c->inserted, json_string(id));
  c->s->inserted_count++;
}

static int was_fed(const replay_call *c, const char *id) {
  size_t i;
  json_t *v;
  json_array_foreach(c->inserted, i, v) if (strcmp(json_string_value(v), id) == 0) return 1;
  return 0;
}

/* One round of the gate at `at`, with the recording answering for the
 * operator and for the calls it ran first. Sets c->done (and c->outcome)
 * when the call needs no further round. */
static void replay_round(replay *r, replay_call *c, replay_moment at) {
  gate_decision d;
  gate_decide(r->h, &c->gc, &c->answers, c->s->history, r->actions, (unsigned long long)at.ms, &d);
  json_array_extend(c->decisions, d.events);
  c->outcome = d.outcome;
  c->done = 1;
  if (d.verdict == GATE_RUN_FIRST) {
    const json_t *ev = json_object_get(json_object_get(c->s->by_call, d.run_call_id), "tool");
    const char *tool = json_string_value(json_object_get(ev, "name"));
    if (!tool || strcmp(tool, d.said.run_tool) != 0 ||
        !json_equal(json_object_get(ev, "input"), d.said.run_input)) {
      c->outcome = "insert";
    } else {
      feed_inserted(r, c, d.run_call_id);
      c->answers.rounds++;
      c->done = 0;
    }
  } else if (d.verdict == GATE_ASK) {
    const json_t *answer = json_object_get(c->seen, "confirm");
    if (!answer) {
      c->outcome = "ask";
    } else if (json_is_true(json_object_get(answer, "approved"))) {
      c->answers.approved_by = str_or(answer, "identity", c->gc.identity);
      c->done = 0;
    }
  }
  gate_decision_free(&d);
}

/* The recorded outcome: the gate's verdict, as the record keeps it. */
static const char *recorded_outcome(const json_t *rec) { return str_or(rec, "decision", "allow"); }

/* When the live gate first decided the call: its first recorded round,
 * else its first policy event, else when it was shown. */
static replay_moment first_moment(const replay_call *c) {
  const json_t *first_policy = json_array_get(json_object_get(c->seen, "policy_ms"), 0);
  long long fallback = json_is_integer(first_policy)
                           ? (long long)json_integer_value(first_policy)
                           : int_of(c->seen, "tool_ms", record_ms(c->rec));
  return moment_of(json_array_get(json_object_get(c->rec, "decided"), 0), fallback);
}

/* The call is decided: what ran live joins the history, and the two
 * decisions are compared. */
static int replay_settle(replay *r, replay_call *c) {
  replay_session *s = c->s;
  const json_t *rec = c->rec;
  /* Whatever the policies would do now, the history holds what ran live. */
  for (int k = 1; k <= GATE_MAX_ROUNDS_COUNT; k++) {
    char id[256];
    snprintf(id, sizeof id, "%s.first%d", c->gc.call_id, k);
    int recorded = json_object_get(s->inserted, id) ||
                   json_object_get(json_object_get(s->by_call, id), "tool");
    if (recorded && !was_fed(c, id)) feed_inserted(r, c, id);
  }
  replay_join(r, s, rec, first_moment(c).ms);
  int mutating = lua_host_tool_mutating(r->h, c->gc.tool, c->gc.input);
  char invalid[512] = "";
  const json_t *schema = json_object_get(r->schemas, c->gc.tool);
  if (schema && json_schema_validate(schema, c->gc.input, "input", invalid, sizeof invalid) == 0)
    invalid[0] = '\0';
  const json_t *result = json_object_get(rec, "result");
  json_t *no_decisions = json_array();
  const json_t *rec_decisions = json_object_get(rec, "decisions");
  if (!json_is_array(rec_decisions)) rec_decisions = no_decisions;
  const char *was = recorded_outcome(rec);
  int rec_mutating = json_is_true(json_object_get(rec, "mutating"));
  replay_call_facts f = {
      .tool = c->gc.tool,
      .exists = mutating >= 0,
      .invalid = invalid[0] ? invalid : NULL,
      .recorded_content = json_string_value(json_object_get(result, "content")),
      .recorded_is_error = json_is_true(json_object_get(result, "is_error")),
      .recorded = {.outcome = was, .decisions = rec_decisions, .mutating = rec_mutating},
      .now = {.outcome = c->outcome, .decisions = c->decisions, .mutating = c->gc.mutating},
  };
  json_t *diffs = json_array();
  int n = diffs ? replay_compare(&f, diffs) : -1;
  json_t *entry = n < 0 ? NULL
                        : json_pack("{s:I, s:I, s:s, s:s, s:s, s:O, s:O, s:s, s:O, s:{s:s, s:O, "
                                    "s:b}, s:{s:s, s:O, s:b, s:b, s:s?}}",
                                    "index", (json_int_t)c->order, "line", (json_int_t)c->line,
                                    "call_id", c->gc.call_id, "tool", c->gc.tool, "source",
                                    c->gc.source, "input", c->gc.input, "inserted", c->inserted,
                                    "status", n > 0 ? "diverges" : "same", "differences", diffs,
                                    "recorded", "outcome", was, "decisions", rec_decisions,
                                    "mutating", rec_mutating, "now", "outcome", c->outcome,
                                    "decisions", c->decisions, "mutating", c->gc.mutating, "exists",
                                    mutating >= 0, "invalid", invalid[0] ? invalid : NULL);
  json_decref(diffs);
  json_decref(no_decisions);
  if (!entry || json_array_append_new(s->calls, entry) != 0) return -1;
  if (n > 0) s->diverges++;
  return 0;
}

static int replay_call_begin(replay *r, replay_call *c, json_t *empty_input) {
  const json_t *rec = c->rec;
  const json_t *input = json_object_get(rec, "input");
  c->gc = (gate_call){.session_id = c->s->id,
                      .call_id = str_or(rec, "call_id", ""),
                      .tool = str_or(rec, "name", ""),
                      .source = str_or(rec, "source", "model"),
                      .identity = str_or(rec, "identity", ""),
                      .input = input ? input : empty_input};
  c->gc.mutating = lua_host_tool_mutating(r->h, c->gc.tool, c->gc.input) == 1;
  c->seen = json_object_get(c->s->by_call, c->gc.call_id);
  const json_t *override = json_array_get(json_object_get(rec, "override"), 0);
  c->answers.override_by = json_string_value(json_object_get(override, "identity"));
  c->decisions = json_array();
  c->inserted = json_array();
  return c->decisions && c->inserted ? 0 : -1;
}

/* --- the whole run ---------------------------------------------------------------- */

static int load_schemas(replay *r) {
  json_t *tools = lua_host_tools_json(r->h);
  size_t i;
  json_t *t;
  if (!tools) return -1;
  json_array_foreach(tools, i, t) {
    const char *name = json_string_value(json_object_get(t, "name"));
    if (name) json_object_set(r->schemas, name, json_object_get(t, "input_schema"));
  }
  json_decref(tools);
  return 0;
}

/* Each call's recorded rounds, as steps. A call recorded before rounds
 * were has one step; its further rounds follow at once. */
static replay_step *make_steps(replay_calls *calls, size_t *count) {
  size_t n = 0;
  for (size_t i = 0; i < calls->count; i++) {
    size_t rounds = json_array_size(json_object_get(calls->v[i].rec, "decided"));
    n += rounds ? rounds : 1;
  }
  replay_step *steps = malloc((n ? n : 1) * sizeof *steps);
  if (!steps) return NULL;
  n = 0;
  for (size_t i = 0; i < calls->count; i++) {
    replay_call *c = &calls->v[i];
    const json_t *decided = json_object_get(c->rec, "decided");
    size_t rounds = json_array_size(decided);
    steps[n++] = (replay_step){first_moment(c), c, 0};
    for (size_t k = 1; k < rounds; k++)
      steps[n++] = (replay_step){moment_of(json_array_get(decided, k), 0), c, k};
  }
  *count = n;
  return steps;
}

static int by_moment(const void *x, const void *y) {
  const replay_step *a = x, *b = y;
  int cmp = moment_cmp(a->at, b->at);
  if (cmp) return cmp;
  if (a->call->order != b->call->order) return a->call->order < b->call->order ? -1 : 1;
  return a->round < b->round ? -1 : a->round > b->round;
}

/* Runs the steps in order; a call's last recorded round also decides the
 * rounds the current scripts add after it (they have no moment of their
 * own), and a call that needs no more rounds is settled at once. */
static int run_steps(replay *r, replay_step *steps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    replay_call *c = steps[i].call;
    if (c->done || steps[i].round != c->round) continue;
    ends_run_until(r, steps[i].at);
    size_t recorded = json_array_size(json_object_get(c->rec, "decided"));
    do {
      replay_round(r, c, steps[i].at);
      c->round++;
    } while (!c->done && c->round >= recorded && c->round < GATE_MAX_ROUNDS_COUNT + 2);
    if (!c->done && c->round >= GATE_MAX_ROUNDS_COUNT + 2) c->done = 1, c->outcome = "deny";
    if (c->done && replay_settle(r, c) != 0) return -1;
  }
  return 0;
}

static int by_line(const void *x, const void *y) {
  json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "line"));
  json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "line"));
  return a < b ? -1 : a > b;
}

static json_t *session_report(replay_session *s) {
  size_t calls = json_array_size(s->calls);
  json_t **all = malloc((calls ? calls : 1) * sizeof *all);
  json_t *sorted = json_array();
  if (!all || !sorted) {
    free(all);
    json_decref(sorted);
    return NULL;
  }
  for (size_t i = 0; i < calls; i++) all[i] = json_array_get(s->calls, i);
  qsort(all, calls, sizeof *all, by_line);
  for (size_t i = 0; i < calls; i++) {
    json_object_set_new(all[i], "index", json_integer((json_int_t)i + 1));
    json_array_append(sorted, all[i]);
  }
  free(all);
  char dropped[160];
  snprintf(dropped, sizeof dropped,
           "line %ld was being written when the process died: its record was dropped",
           s->torn_line);
  return json_pack("{s:s, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}}", "session_id", s->id, "torn_line",
                   s->torn_line ? json_integer(s->torn_line) : json_null(), "dropped",
                   s->torn_line ? json_string(dropped) : json_null(), "calls", sorted, "summary",
                   "calls", (json_int_t)calls, "inserted_calls", (json_int_t)s->inserted_count,
                   "same", (json_int_t)(calls - s->diverges), "diverges", (json_int_t)s->diverges);
}

static json_t *whole_report(replay_session *ss, size_t count) {
  json_t *sessions = json_array();
  size_t calls = 0, inserted = 0, diverges = 0, diverging = 0, dropped = 0;
  for (size_t i = 0; i < count; i++) {
    dropped += ss[i].torn_line != 0;
    json_array_append_new(sessions, session_report(&ss[i]));
    calls += json_array_size(ss[i].calls);
    inserted += ss[i].inserted_count;
    diverges += ss[i].diverges;
    diverging += ss[i].diverges > 0;
  }
  return json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "sessions", sessions, "summary",
                   "sessions", (json_int_t)count, "calls", (json_int_t)calls, "inserted_calls",
                   (json_int_t)inserted, "same", (json_int_t)(calls - diverges), "diverges",
                   (json_int_t)diverges, "diverging_sessions", (json_int_t)diverging,
                   "dropped_records", (json_int_t)dropped);
}

int replay_journals(lua_host *h, const replay_journal *journals, size_t count, json_t **report,
                    char *err, size_t errlen) {
  *report = NULL;
  replay r = {.h = h, .schemas = json_object(), .actions = json_array()};
  replay_session *ss = calloc(count ? count : 1, sizeof *ss);
  replay_calls calls = {0};
  replay_step *steps = NULL;
  json_t *empty_input = json_object();
  size_t n = 0;
  int rc = -1;
  if (!ss || !r.schemas || !r.actions || !empty_input || load_schemas(&r) != 0) {
    snprintf(err, errlen, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < count; i++) {
    ss[i] = (replay_session){.id = journals[i].session_id,
                             .by_call = json_object(),
                             .inserted = json_object(),
                             .history = json_array(),
                             .calls = json_array()};
    if (!ss[i].by_call || !ss[i].inserted || !ss[i].history || !ss[i].calls) {
      snprintf(err, errlen, "out of memory");
      goto done;
    }
    err[0] = '\0';
    if (read_journal(&ss[i], journals[i].path, &calls, err, errlen) != 0) goto done;
  }
  for (size_t i = 0; i < calls.count; i++) {
    if (replay_call_begin(&r, &calls.v[i], empty_input) != 0) {
      snprintf(err, errlen, "out of memory");
      goto done;
    }
  }
  steps = make_steps(&calls, &n);
  if (!steps) {
    snprintf(err, errlen, "out of memory");
    goto done;
  }
  qsort(steps, n, sizeof *steps, by_moment);
  if (run_steps(&r, steps, n) != 0) {
    snprintf(err, errlen, "out of memory replaying");
    goto done;
  }
  ends_run_until(&r, (replay_moment){(long long)(~0ULL >> 1), 0});
  *report = whole_report(ss, count);
  if (!*report)
    snprintf(err, errlen, "out of memory");
  else
    rc = 0;
done:
  for (size_t i = 0; i < calls.count; i++) {
    json_decref(calls.v[i].rec);
    json_decref(calls.v[i].decisions);
    json_decref(calls.v[i].inserted);
  }
  free(calls.v);
  free(steps);
  for (size_t i = 0; i < r.end_count; i++) {
    json_decref(r.ends[i].record);
    json_decref(r.ends[i].result);
  }
  free(r.ends);
  for (size_t i = 0; ss && i < count; i++) {
    json_decref(ss[i].by_call);
    json_decref(ss[i].inserted);
    json_decref(ss[i].history);
    json_decref(ss[i].calls);
  }
  free(ss);
  json_decref(empty_input);
  json_decref(r.schemas);
  json_decref(r.actions);
  return rc;
}
