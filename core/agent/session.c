#include "session.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "journal_events.h"
#include "journal_reader.h"
#include "journal_session.h"
#include "journal_store.h"
#include "limits_table.h"
#include "log.h"
#include "session_stream.h"
#include "utf8_text.h"

#define SESSION_OPERATOR_TITLE "Power buttons"

void session_random_hex(char *out, size_t hex_chars) {
  unsigned char raw[SESSION_ID_LEN / 2];
  size_t n = hex_chars / 2 < sizeof raw ? hex_chars / 2 : sizeof raw;
  if (uv_random(NULL, NULL, raw, n, 0, NULL) != 0) {
    /* uv_random reads the kernel's getrandom; failing here means the
     * system is unusable, and guessable ids would be worse. */
    log_error("no randomness available for ids");
    abort();
  }
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", raw[i]);
  out[2 * n] = '\0';
}

static session *session_new(app *a, const char *id, unsigned long long created_ms) {
  session *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->messages = json_array();
  s->history = json_array();
  if (!s->messages || !s->history) {
    json_decref(s->messages);
    json_decref(s->history);
    free(s);
    return NULL;
  }
  s->app = a;
  snprintf(s->id, sizeof s->id, "%s", id);
  s->created_ms = s->last_activity_ms = created_ms;
  s->status = SESSION_IDLE;
  s->next = a->sessions;
  a->sessions = s;
  return s;
}

session *session_create(app *a, session_kind kind) {
  char id[SESSION_ID_LEN + 1];
  session_random_hex(id, SESSION_ID_LEN);
  session *s = session_new(a, id, log_now_ms());
  if (!s) return NULL;
  journal_session_open(s);
  session_emit_kind(s, "session",
                    json_pack("{s:s, s:s}", "session_id", s->id, "session_kind",
                              kind == SESSION_KIND_OPERATOR ? "operator" : "chat"));
  return s;
}

session *session_operator(app *a) {
  char err[256];
  for (session *s = a->sessions; s; s = s->next)
    if (s->kind == SESSION_KIND_OPERATOR && journal_session_full(s, err, sizeof err) == 0) return s;
  session *s = session_create(a, SESSION_KIND_OPERATOR);
  if (s) log_info("session %s records the power buttons", s->id);
  return s;
}

int session_busy(const session *s) { return s->turn || s->actions_running > 0 || s->confirming; }

session *session_restore(app *a, const char *id, unsigned long long created_ms) {
  return session_new(a, id, created_ms);
}

session *session_find(app *a, const char *id) {
  for (session *s = a->sessions; s; s = s->next)
    if (strcmp(s->id, id) == 0) return s;
  return NULL;
}

const char *session_status_name(session_status st) {
  switch (st) {
  case SESSION_RUNNING:
    return "running";
  case SESSION_FAILED:
    return "error";
  case SESSION_CANCELLED:
    return "cancelled";
  case SESSION_INTERRUPTED:
    return "interrupted";
  case SESSION_IDLE:
    break;
  }
  return "idle";
}

static json_t *utc_json(unsigned long long ms) {
  char stamp[32];
  log_format_utc(stamp, ms);
  return json_string(stamp);
}

static json_t *usage_json(const model_usage *u) {
  return json_pack("{s:I, s:I, s:I, s:I}", "input_tokens", (json_int_t)u->input_tokens,
                   "output_tokens", (json_int_t)u->output_tokens, "cache_read_input_tokens",
                   (json_int_t)u->cache_read_input_tokens, "cache_creation_input_tokens",
                   (json_int_t)u->cache_creation_input_tokens);
}

json_t *session_list_json(const app *a) {
  json_t *list = json_array();
  for (const session *s = a->sessions; s; s = s->next) {
    json_t *item = json_pack(
        "{s:s, s:s, s:s?, s:o, s:o, s:s, s:I, s:I, s:o, s:I}", "id", s->id, "kind",
        s->kind == SESSION_KIND_OPERATOR ? "operator" : "chat", "title", s->title, "created",
        utc_json(s->created_ms), "last_activity", utc_json(s->last_activity_ms), "status",
        session_status_name(s->status), "tool_calls", (json_int_t)s->tool_calls, "mutating_calls",
        (json_int_t)s->mutating_calls, "usage", usage_json(&s->usage), "journal_bytes",
        (json_int_t)journal_bytes(s->journal));
    if (s->journal_error) json_object_set_new(item, "journal_error", json_string(s->journal_error));
    json_array_append_new(list, item);
  }
  return list;
}

static long long usage_field(const json_t *u, const char *name) {
  return json_integer_value(json_object_get(u, name));
}

/* The counts the session list shows, kept as events go by, so a session
 * read back from its journal counts the same. */
static void session_account(session *s, const json_t *ev) {
  const char *type = journal_event_kind(ev);
  if (!type) return;
  if (strcmp(type, "session") == 0) {
    const char *kind = json_string_value(json_object_get(ev, "session_kind"));
    if (kind && strcmp(kind, "operator") == 0) {
      s->kind = SESSION_KIND_OPERATOR;
      if (!s->title) s->title = strdup(SESSION_OPERATOR_TITLE);
    }
  } else if (strcmp(type, "user") == 0) {
    const char *text = json_string_value(json_object_get(ev, "text"));
    if (text) session_title_from_prompt(s, text);
  } else if (strcmp(type, "tool") == 0) {
    s->tool_calls++;
    if (json_is_true(json_object_get(ev, "mutating"))) s->mutating_calls++;
  } else if (strcmp(type, "usage") == 0) {
    const json_t *u = json_object_get(ev, "call");
    s->usage.input_tokens += usage_field(u, "input_tokens");
    s->usage.output_tokens += usage_field(u, "output_tokens");
    s->usage.cache_read_input_tokens += usage_field(u, "cache_read_input_tokens");
    s->usage.cache_creation_input_tokens += usage_field(u, "cache_creation_input_tokens");
  }
}

static int session_keep_event(session *s, unsigned long long id, char *frame, size_t len) {
  if (ARRAY_GROW(s->events, s->event_cap, s->event_count, 64) != 0) return -1;
  s->events[s->event_count++] = (session_event){.id = id, .frame = frame, .frame_len = len};
  s->event_bytes += len;
  return 0;
}

/* Makes the SSE frame of an event (JSON text data) and keeps it. */
static int session_keep_json(session *s, unsigned long long id, const char *data, size_t n) {
  char *frame = NULL;
  int len = n <= INT_MAX ? asprintf(&frame, "id: %llu\ndata: %.*s\n\n", id, (int)n, data) : -1;
  if (len < 0 || session_keep_event(s, id, frame, (size_t)len) != 0) {
    if (len >= 0) free(frame);
    log_error("session %s: out of memory keeping an event", s->id);
    return -1;
  }
  return 0;
}

/* An event the journal could not take (a full disk, no journal) is still
 * sent, since the operator needs to see the turn, but says so: the docs
 * promise that what a client sees is in the journal unless it is marked.
 * data is compact JSON of an object with an id, so it ends in "}". */
static char *event_unrecorded(const char *data, size_t n, size_t *out_len) {
  static const char mark[] = ",\"unrecorded\":true}";
  char *marked = malloc(n - 1 + sizeof mark);
  if (!marked) return NULL;
  memcpy(marked, data, n - 1);
  memcpy(marked + n - 1, mark, sizeof mark);
  *out_len = n - 1 + sizeof mark - 1;
  return marked;
}

/* The event is redacted once, here: what the page sees and what the
 * journal keeps are the same text, and it is in the journal before any
 * client sees it. */
unsigned long long session_emit(session *s, json_t *ev) {
  unsigned long long id = s->last_event_id + 1;
  unsigned long long now = log_now_ms();
  json_object_set_new(ev, "id", json_integer((json_int_t)id));
  json_object_set_new(ev, "ts", utc_json(now));
  session_account(s, ev);
  char *raw = json_dumps(ev, JSON_COMPACT);
  json_decref(ev);
  size_t n = 0;
  char *data = raw ? redactor_apply(journal_store_redactor(s->app->journals), raw, strlen(raw), &n)
                   : NULL;
  free(raw);
  if (!data) {
    log_error("session %s: out of memory keeping an event", s->id);
    return 0;
  }
  if (journal_session_event(s, data, n) != 0) {
    char *marked = event_unrecorded(data, n, &n);
    free(data);
    data = marked;
    if (!data) {
      log_error("session %s: out of memory keeping an event", s->id);
      return 0;
    }
  }
  int rc = session_keep_json(s, id, data, n);
  free(data);
  if (rc != 0) return 0;
  s->last_event_id = id;
  s->last_activity_ms = now;
  session_stream_broadcast(s);
  return id;
}

int session_restore_event(session *s, json_t *ev) {
  json_int_t id = json_integer_value(json_object_get(ev, "id"));
  if (id <= 0 || (unsigned long long)id <= s->last_event_id) {
    json_decref(ev);
    return -1;
  }
  ev = journal_event_with_kind(ev);
  session_account(s, ev);
  char *data = json_dumps(ev, JSON_COMPACT);
  json_decref(ev);
  if (!data || session_keep_json(s, (unsigned long long)id, data, strlen(data)) != 0) {
    free(data);
    return -1;
  }
  free(data);
  s->last_event_id = (unsigned long long)id;
  return 0;
}

unsigned long long session_emit_kind(session *s, const char *kind, json_t *fields) {
  json_t *ev = json_pack("{s:s}", "kind", kind);
  if (fields) {
    json_object_update(ev, fields);
    json_decref(fields);
  }
  return session_emit(s, ev);
}

int session_add_user_content(session *s, json_t *blocks) {
  size_t n = json_array_size(s->messages);
  json_t *last = n ? json_array_get(s->messages, n - 1) : NULL;
  const char *role = last ? json_string_value(json_object_get(last, "role")) : NULL;
  int rc;
  if (role && strcmp(role, "user") == 0) {
    rc = json_array_extend(json_object_get(last, "content"), blocks);
    json_decref(blocks);
  } else {
    rc = json_array_append_new(s->messages,
                               json_pack("{s:s, s:o}", "role", "user", "content", blocks));
  }
  if (rc == 0) journal_session_message(s, json_array_size(s->messages) - 1);
  return rc;
}

int session_add_assistant(session *s, json_t *content) {
  if (json_array_size(content) == 0) {
    json_decref(content);
    return 0;
  }
  int rc = json_array_append_new(s->messages,
                                 json_pack("{s:s, s:o}", "role", "assistant", "content", content));
  if (rc == 0) journal_session_message(s, json_array_size(s->messages) - 1);
  return rc;
}

void session_truncate_messages(session *s, size_t count) {
  while (json_array_size(s->messages) > count)
    json_array_remove(s->messages, json_array_size(s->messages) - 1);
  journal_session_truncate(s, count);
}

/* The kind at the start of an event's frame ("id: N\ndata: {\"kind\":\"..."),
 * where session_emit and restored events put it. */
static int frame_is_kind(const session_event *e, const char *kind) {
  static const char prefix[] = "\ndata: {\"kind\":\"";
  const char *data = e->frame ? strstr(e->frame, prefix) : NULL;
  size_t at = sizeof prefix - 1, n = strlen(kind);
  return data && strncmp(data + at, kind, n) == 0 && data[at + n] == '"';
}

void session_forget_deltas(session *s) {
  for (size_t i = s->event_count; i > 0; i--) {
    session_event *e = &s->events[i - 1];
    if (!e->frame) break; /* forgotten before: so is all of this run */
    if (frame_is_kind(e, "text_delta")) {
      s->event_bytes -= e->frame_len;
      free(e->frame);
      e->frame = NULL;
      e->frame_len = 0;
    } else if (!frame_is_kind(e, "text") && !frame_is_kind(e, "usage")) {
      break;
    }
  }
}

/* The title is in the sessions list, which no event carries: the prompt
 * passes the redactor here as it does in its user event, whole, before it
 * is cut (half a secret would escape). */
void session_title_from_prompt(session *s, const char *prompt) {
  if (s->title) return;
  size_t n = 0;
  char *safe = redactor_apply(journal_store_redactor(s->app->journals), prompt, strlen(prompt), &n);
  if (safe) s->title = utf8_text_title(safe, SESSION_TITLE_MAX_BYTES);
  free(safe);
}

static void session_free(session *s) {
  session_stream_detach_all(s);
  journal_session_close(s);
  for (size_t i = 0; i < s->event_count; i++) free(s->events[i].frame);
  free(s->events);
  json_decref(s->messages);
  json_decref(s->history);
  free(s->title);
  free(s);
}

void session_destroy(session *s) {
  for (session **p = &s->app->sessions; *p; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  session_free(s);
}

void session_free_all(app *a) {
  while (a->sessions) {
    session *s = a->sessions;
    a->sessions = s->next;
    session_free(s);
  }
}
