#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_reader.h"
#include "json_schema.h"
#include "replay_compare.h"

/* As policy_gate.c: run_first rounds for one call, and what policies can
 * read back (old entries go first). */
#define REPLAY_GATE_MAX_ROUNDS 2
#define REPLAY_MAX_HISTORY 4096
#define REPLAY_MAX_ACTIONS 256
#define REPLAY_MAX_RESULT_BYTES (64u * 1024)
/* Decisions for one call: rounds, plus one more after an operator's yes. */
#define REPLAY_MAX_GATE_STEPS 8

typedef struct replay {
  lua_host *h;
  const char *session_id;
  json_t *by_call; /* call id -> {tool, tool_ms, result, result_ms, policy_ms: [], confirm} */
  json_t *schemas; /* tool name -> input_schema */
  json_t *history, *actions;
} replay;

/* One call being replayed. */
typedef struct replay_call {
  const char *call_id, *tool, *identity;
  const json_t *input, *seen; /* seen: its entry in by_call */
  int mutating;               /* as the current scripts say */
  long long started_ms;
  json_t *decisions;          /* the replayed non-allow answers */
  json_t *inserted;           /* ids of the recorded inserted calls fed so far */
  const char *approved_by;
} replay_call;

static long long record_ms(const json_t *rec) {
  unsigned long long ms;
  return journal_parse_utc(json_string_value(json_object_get(rec, "ts")), &ms) == 0 ? (long long)ms
                                                                                    : 0;
}

static long long int_of(const json_t *o, const char *key, long long fallback) {
  const json_t *v = json_object_get(o, key);
  return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

static void append_bounded(json_t *list, json_t *item, size_t max) {
  json_array_append(list, item);
  while (json_array_size(list) > max) json_array_remove(list, 0);
}

/* The events replay needs, by call id. */
static int index_event(replay *r, const json_t *rec) {
  const json_t *ev = json_object_get(rec, "event");
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char *id = json_string_value(json_object_get(ev, "call_id"));
  if (!type || !id) return 0;
  int tool = strcmp(type, "tool") == 0, result = strcmp(type, "tool_result") == 0;
  int policy = strcmp(type, "policy") == 0, confirm = strcmp(type, "confirm_result") == 0;
  if (!tool && !result && !policy && !confirm) return 0;
  json_t *seen = json_object_get(r->by_call, id);
  if (!seen) {
    seen = json_pack("{s:[]}", "policy_ms");
    if (!seen || json_object_set_new(r->by_call, id, seen) != 0) return -1;
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

/* A call as policy_gate.c's history keeps it. New reference. */
static json_t *history_record(const replay *r, const replay_call *c, const char *call_id,
                              const char *tool, const json_t *input, int mutating,
                              long long started_ms, const char *decision) {
  json_t *rec = json_pack("{s:s, s:O, s:b, s:s, s:s, s:s, s:s, s:I, s:s}", "tool", tool, "input",
                          input, "mutating", mutating, "source", "model", "identity",
                          c->identity, "session_id", r->session_id, "call_id", call_id,
                          "started_ms", (json_int_t)started_ms, "decision", decision);
  json_t *verb = json_object_get(input, "verb");
  if (rec && strcmp(tool, "pve") == 0 && json_is_string(verb)) json_object_set(rec, "verb", verb);
  return rec;
}

/* A call has ended: it joins the history with its recorded outcome, and the
 * after hooks see its recorded result at its recorded end. */
static void finish_record(replay *r, json_t *rec, const json_t *result_ev, long long finished_ms,
                          int ran) {
  int is_error = json_is_true(json_object_get(result_ev, "is_error"));
  json_object_set_new(rec, "finished_ms", json_integer((json_int_t)finished_ms));
  json_object_set_new(rec, "is_error", json_boolean(is_error));
  append_bounded(r->history, rec, REPLAY_MAX_HISTORY);
  if (!ran) return;
  if (json_is_true(json_object_get(rec, "mutating"))) append_bounded(r->actions, rec, REPLAY_MAX_ACTIONS);
  const char *content = json_string_value(json_object_get(result_ev, "content"));
  size_t len = content ? strlen(content) : 0;
  if (len > REPLAY_MAX_RESULT_BYTES) {
    len = REPLAY_MAX_RESULT_BYTES;
    while (len > 0 && ((unsigned char)content[len] & 0xC0) == 0x80) len--;
  }
  json_t *call = json_copy(rec);
  json_t *result = json_pack("{s:b, s:s%}", "is_error", is_error, "content", content ? content : "", len);
  if (call && result) {
    json_object_set_new(call, "now_ms", json_integer((json_int_t)finished_ms));
    lua_policy_view v = {.call = call, .history = r->history, .actions = r->actions};
    lua_host_policy_after(r->h, &v, result);
  }
  json_decref(call);
  json_decref(result);
}

/* The call the runtime inserted live as id, fed to the history. */
static void feed_inserted(replay *r, replay_call *c, const char *id) {
  const json_t *seen = json_object_get(r->by_call, id);
  const json_t *ev = json_object_get(seen, "tool");
  const char *tool = json_string_value(json_object_get(ev, "name"));
  const json_t *input = json_object_get(ev, "input");
  long long started = int_of(seen, "tool_ms", c->started_ms);
  json_t *rec = history_record(r, c, id, tool ? tool : "", input ? input : json_object(), 0, started,
                               "allow");
  if (!rec) return;
  json_t *by = json_object_get(ev, "inserted_by");
  if (json_is_string(by)) json_object_set(rec, "inserted_by", by);
  finish_record(r, rec, json_object_get(seen, "result"), int_of(seen, "result_ms", started), 1);
  json_decref(rec);
  json_array_append_new(c->inserted, json_string(id));
}

static int was_fed(const replay_call *c, const char *id) {
  size_t i;
  json_t *v;
  json_array_foreach(c->inserted, i, v) if (strcmp(json_string_value(v), id) == 0) return 1;
  return 0;
}

static void inserted_id(const replay_call *c, int round, char *out, size_t outlen) {
  snprintf(out, outlen, "%s.first%d", c->call_id, round);
}

static void note(replay_call *c, const char *verdict, const lua_policy_decision *d) {
  json_t *ev = json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "call_id", c->call_id, "tool", c->tool,
                         "policy", d->policy, "verdict", verdict, "reason", d->reason);
  if (ev && d->run_tool)
    json_object_set_new(ev, "run_first", json_pack("{s:s, s:O?}", "tool", d->run_tool, "input",
                                                   d->run_input));
  json_array_append_new(c->decisions, ev);
}

/* When the k-th decision was taken live: its policy event, else (an allow,
 * which leaves no event) when the call was shown. */
static long long decision_ms(const replay_call *c) {
  if (c->approved_by) return int_of(c->seen, "confirm_ms", c->started_ms);
  const json_t *at = json_array_get(json_object_get(c->seen, "policy_ms"),
                                    json_array_size(c->decisions));
  return json_is_integer(at) ? (long long)json_integer_value(at) : c->started_ms;
}

static const char *decide_once(replay *r, replay_call *c, int *rounds, int *again) {
  *again = 0;
  json_t *call = history_record(r, c, c->call_id, c->tool, c->input, c->mutating, 0, "allow");
  if (!call) return "deny";
  json_object_del(call, "started_ms");
  json_object_del(call, "decision");
  json_object_set_new(call, "now_ms", json_integer((json_int_t)decision_ms(c)));
  lua_policy_view v = {.call = call, .history = r->history, .actions = r->actions};
  lua_policy_decision d;
  lua_host_policy_before(r->h, &v, &d);
  json_decref(call);
  const char *outcome = "deny";
  char id[256];
  switch (d.verdict) {
  case LUA_POLICY_ALLOW:
    outcome = c->approved_by ? "confirm" : "allow";
    break;
  case LUA_POLICY_DENY:
    note(c, "deny", &d);
    break;
  case LUA_POLICY_RUN_FIRST: {
    note(c, "run_first", &d);
    if (*rounds >= REPLAY_GATE_MAX_ROUNDS || lua_host_tool_mutating(r->h, d.run_tool, d.run_input) != 0)
      break;
    inserted_id(c, *rounds + 1, id, sizeof id);
    const json_t *ev = json_object_get(json_object_get(r->by_call, id), "tool");
    const char *tool = json_string_value(json_object_get(ev, "name"));
    if (!tool || strcmp(tool, d.run_tool) != 0 ||
        !json_equal(json_object_get(ev, "input"), d.run_input)) {
      outcome = "insert";
      break;
    }
    feed_inserted(r, c, id);
    (*rounds)++;
    *again = 1;
    break;
  }
  case LUA_POLICY_CONFIRM: {
    if (c->approved_by) {
      outcome = "confirm";
      break;
    }
    note(c, "confirm", &d);
    const json_t *answer = json_object_get(c->seen, "confirm");
    if (!answer) {
      outcome = "ask";
    } else if (json_is_true(json_object_get(answer, "approved"))) {
      const char *who = json_string_value(json_object_get(answer, "identity"));
      c->approved_by = who ? who : c->identity;
      *again = 1;
    }
    break;
  }
  }
  lua_policy_decision_free(&d);
  return outcome;
}

/* policy_gate.c's algorithm, with the recording answering for the
 * operator and for the calls it ran first. */
static const char *replay_gate(replay *r, replay_call *c) {
  int rounds = 0, again = 0;
  const char *outcome = "deny";
  for (int step = 0; step < REPLAY_MAX_GATE_STEPS; step++) {
    outcome = decide_once(r, c, &rounds, &again);
    if (!again) break;
  }
  return outcome;
}

static size_t count_verdict(const json_t *decisions, const char *verdict) {
  size_t n = 0, i;
  json_t *d;
  json_array_foreach(decisions, i, d) {
    const char *v = json_string_value(json_object_get(d, "verdict"));
    if (v && strcmp(v, verdict) == 0) n++;
  }
  return n;
}

/* What the gate did live, from its decisions and the events around them. */
static const char *recorded_outcome(const replay *r, const json_t *rec, const char *call_id,
                                    const json_t *seen, const json_t *decisions) {
  /* Journals since the gate's own verdict was recorded say it plainly; it
   * also covers refusals no policy made (a cancel while deciding). */
  const char *decision = json_string_value(json_object_get(rec, "decision"));
  if (decision) return decision;
  size_t n = json_array_size(decisions);
  const json_t *answer = json_object_get(seen, "confirm");
  int approved = json_is_true(json_object_get(answer, "approved"));
  if (n == 0) return "allow";
  const char *last = json_string_value(json_object_get(json_array_get(decisions, n - 1), "verdict"));
  if (!last || strcmp(last, "deny") == 0) return "deny";
  if (strcmp(last, "confirm") == 0) return approved ? "confirm" : answer ? "deny" : "ask";
  size_t inserted = 0;
  for (int k = 1; k <= REPLAY_GATE_MAX_ROUNDS; k++) {
    char id[256];
    snprintf(id, sizeof id, "%s.first%d", call_id, k);
    if (json_object_get(json_object_get(r->by_call, id), "tool")) inserted++;
  }
  if (inserted < count_verdict(decisions, "run_first")) return "deny";
  return approved ? "confirm" : "allow";
}

static int replay_one(replay *r, const json_t *rec, size_t line, size_t index, json_t *calls) {
  replay_call c = {0};
  c.call_id = json_string_value(json_object_get(rec, "call_id"));
  c.tool = json_string_value(json_object_get(rec, "name"));
  c.identity = json_string_value(json_object_get(rec, "identity"));
  if (!c.call_id) c.call_id = "";
  if (!c.tool) c.tool = "";
  if (!c.identity) c.identity = "";
  json_t *empty = json_object();
  c.input = json_object_get(rec, "input");
  if (!c.input) c.input = empty;
  c.seen = json_object_get(r->by_call, c.call_id);
  const json_t *result = json_object_get(rec, "result");
  long long ended = record_ms(rec);
  c.started_ms = int_of(c.seen, "tool_ms", ended - int_of(rec, "duration_ms", 0));
  int mutating = lua_host_tool_mutating(r->h, c.tool, c.input);
  c.mutating = mutating == 1;
  char invalid[512] = "";
  const json_t *schema = json_object_get(r->schemas, c.tool);
  if (schema && json_schema_validate(schema, c.input, "input", invalid, sizeof invalid) == 0)
    invalid[0] = '\0';
  c.decisions = json_array();
  c.inserted = json_array();
  const json_t *rec_decisions = json_object_get(rec, "decisions");
  if (!json_is_array(rec_decisions)) rec_decisions = c.decisions;
  const char *was = recorded_outcome(r, rec, c.call_id, c.seen, rec_decisions);
  const char *now = replay_gate(r, &c);
  /* Whatever the policies would do now, the history holds what ran live. */
  char id[256];
  for (int k = 1; k <= REPLAY_GATE_MAX_ROUNDS; k++) {
    inserted_id(&c, k, id, sizeof id);
    if (json_object_get(json_object_get(r->by_call, id), "tool") && !was_fed(&c, id))
      feed_inserted(r, &c, id);
  }
  int rec_mutating = json_is_true(json_object_get(rec, "mutating"));
  int ran = strcmp(was, "deny") != 0;
  json_t *h = history_record(r, &c, c.call_id, c.tool, c.input, rec_mutating, c.started_ms,
                             strcmp(was, "confirm") == 0 ? "confirm" : ran ? "allow" : "deny");
  if (h) {
    json_object_set(h, "decisions", (json_t *)rec_decisions);
    const char *by = json_string_value(json_object_get(json_object_get(c.seen, "confirm"), "identity"));
    if (strcmp(was, "confirm") == 0 && by) json_object_set_new(h, "approved_by", json_string(by));
    finish_record(r, h, result, int_of(c.seen, "result_ms", ended), ran);
    json_decref(h);
  }
  replay_call_facts f = {
      .tool = c.tool, .exists = mutating >= 0, .invalid = invalid[0] ? invalid : NULL,
      .recorded_content = json_string_value(json_object_get(result, "content")),
      .recorded_is_error = json_is_true(json_object_get(result, "is_error")),
      .recorded = {.outcome = was, .decisions = rec_decisions, .mutating = rec_mutating},
      .now = {.outcome = now, .decisions = c.decisions, .mutating = c.mutating},
  };
  json_t *diffs = json_array();
  int n = diffs ? replay_compare(&f, diffs) : -1;
  json_t *entry = json_pack(
      "{s:I, s:I, s:s, s:s, s:O, s:O, s:s, s:O, s:{s:s, s:O, s:b}, s:{s:s, s:O, s:b, s:b, s:s?}}",
      "index", (json_int_t)index, "line", (json_int_t)line, "call_id", c.call_id, "tool", c.tool,
      "input", c.input, "inserted", c.inserted, "status", n > 0 ? "diverges" : "same",
      "differences", diffs ? diffs : json_null(), "recorded", "outcome", was, "decisions",
      rec_decisions, "mutating", rec_mutating, "now", "outcome", now, "decisions", c.decisions,
      "mutating", c.mutating, "exists", mutating >= 0, "invalid", invalid[0] ? invalid : NULL);
  json_decref(diffs);
  json_decref(c.decisions);
  json_decref(c.inserted);
  json_decref(empty);
  if (n < 0 || !entry || json_array_append_new(calls, entry) != 0) return -1;
  return n > 0;
}

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

/* Indexes the events and gathers the tool_call records with their lines. */
static int read_journal(replay *r, const char *data, size_t len, json_t *calls, long *torn,
                        char *err, size_t errlen) {
  journal_reader jr;
  journal_reader_init(&jr, data, len);
  char why[256];
  for (;;) {
    json_t *rec;
    journal_read_result res = journal_reader_next(&jr, &rec, why, sizeof why);
    if (res == JOURNAL_READ_END) return 0;
    if (res == JOURNAL_READ_TORN) {
      *torn = (long)jr.line;
      return 0;
    }
    if (res == JOURNAL_READ_GARBAGE) {
      snprintf(err, errlen, "the journal cannot be read: %s", why);
      return -1;
    }
    const char *kind = json_string_value(json_object_get(rec, "kind"));
    int rc = 0;
    if (strcmp(kind, "event") == 0)
      rc = index_event(r, rec);
    else if (strcmp(kind, "tool_call") == 0)
      rc = json_array_append_new(calls, json_pack("{s:I, s:O}", "line", (json_int_t)jr.line, "record", rec));
    json_decref(rec);
    if (rc != 0) {
      snprintf(err, errlen, "out of memory reading line %zu", jr.line);
      return -1;
    }
  }
}

int replay_journal(lua_host *h, const char *data, size_t len, const char *session_id,
                   json_t **report, char *err, size_t errlen) {
  *report = NULL;
  replay r = {.h = h, .session_id = session_id ? session_id : "", .by_call = json_object(),
              .schemas = json_object(), .history = json_array(), .actions = json_array()};
  json_t *records = json_array(), *calls = json_array();
  long torn = 0;
  int rc = -1;
  if (!r.by_call || !r.schemas || !r.history || !r.actions || !records || !calls ||
      load_schemas(&r) != 0) {
    snprintf(err, errlen, "out of memory");
    goto done;
  }
  if (read_journal(&r, data, len, records, &torn, err, errlen) != 0) goto done;
  size_t i, diverging = 0;
  json_t *item;
  json_array_foreach(records, i, item) {
    int d = replay_one(&r, json_object_get(item, "record"),
                       (size_t)json_integer_value(json_object_get(item, "line")), i + 1, calls);
    if (d < 0) {
      snprintf(err, errlen, "out of memory replaying call %zu", i + 1);
      goto done;
    }
    diverging += (size_t)d;
  }
  size_t inserted = 0;
  json_array_foreach(calls, i, item) inserted += json_array_size(json_object_get(item, "inserted"));
  *report = json_pack("{s:s, s:o, s:O, s:{s:I, s:I, s:I, s:I}}", "session_id", r.session_id,
                      "torn_line", torn ? json_integer(torn) : json_null(), "calls", calls,
                      "summary", "calls", (json_int_t)json_array_size(calls), "inserted_calls",
                      (json_int_t)inserted, "same", (json_int_t)(json_array_size(calls) - diverging),
                      "diverges", (json_int_t)diverging);
  if (!*report) snprintf(err, errlen, "out of memory");
  else rc = 0;
done:
  json_decref(r.by_call);
  json_decref(r.schemas);
  json_decref(r.history);
  json_decref(r.actions);
  json_decref(records);
  json_decref(calls);
  return rc;
}
