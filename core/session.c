#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "session_stream.h"

#define SESSION_TITLE_MAX_BYTES 120

static void session_random_id(char out[SESSION_ID_LEN + 1]) {
  unsigned char raw[SESSION_ID_LEN / 2];
  if (uv_random(NULL, NULL, raw, sizeof raw, 0, NULL) != 0) {
    /* uv_random reads the kernel's getrandom; failing here means the
     * system is unusable, and guessable ids would be worse. */
    log_error("no randomness available for session ids");
    abort();
  }
  for (size_t i = 0; i < sizeof raw; i++) snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

session *session_create(app *a) {
  session *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->messages = json_array();
  if (!s->messages) {
    free(s);
    return NULL;
  }
  s->app = a;
  session_random_id(s->id);
  s->created_ms = s->last_activity_ms = log_now_ms();
  s->status = SESSION_IDLE;
  s->next = a->sessions;
  a->sessions = s;
  session_emit_type(s, "session", json_pack("{s:s}", "session_id", s->id));
  return s;
}

session *session_find(app *a, const char *id) {
  for (session *s = a->sessions; s; s = s->next)
    if (strcmp(s->id, id) == 0) return s;
  return NULL;
}

const char *session_status_name(session_status st) {
  switch (st) {
  case SESSION_RUNNING: return "running";
  case SESSION_FAILED: return "error";
  case SESSION_CANCELLED: return "cancelled";
  case SESSION_IDLE: break;
  }
  return "idle";
}

static json_t *utc_json(unsigned long long ms) {
  char stamp[32];
  log_format_utc(stamp, ms);
  return json_string(stamp);
}

json_t *session_list_json(const app *a) {
  json_t *list = json_array();
  for (const session *s = a->sessions; s; s = s->next)
    json_array_append_new(list, json_pack("{s:s, s:s?, s:o, s:o, s:s}", "id", s->id, "title",
                                          s->title, "created", utc_json(s->created_ms),
                                          "last_activity", utc_json(s->last_activity_ms),
                                          "status", session_status_name(s->status)));
  return list;
}

static int session_keep_event(session *s, unsigned long long id, char *frame, size_t len) {
  if (s->event_count == s->event_cap) {
    size_t cap = s->event_cap ? s->event_cap * 2 : 64;
    session_event *grown = realloc(s->events, cap * sizeof *grown);
    if (!grown) return -1;
    s->events = grown;
    s->event_cap = cap;
  }
  s->events[s->event_count++] = (session_event){.id = id, .frame = frame, .frame_len = len};
  s->event_bytes += len;
  return 0;
}

unsigned long long session_emit(session *s, json_t *ev) {
  unsigned long long id = s->last_event_id + 1;
  unsigned long long now = log_now_ms();
  json_object_set_new(ev, "id", json_integer((json_int_t)id));
  json_object_set_new(ev, "ts", utc_json(now));
  char *data = json_dumps(ev, JSON_COMPACT);
  json_decref(ev);
  char *frame = NULL;
  int len = data ? asprintf(&frame, "id: %llu\ndata: %s\n\n", id, data) : -1;
  free(data);
  if (len < 0 || session_keep_event(s, id, frame, (size_t)len) != 0) {
    if (len >= 0) free(frame);
    log_error("session %s: out of memory keeping an event", s->id);
    return 0;
  }
  s->last_event_id = id;
  s->last_activity_ms = now;
  session_stream_broadcast(s, frame, (size_t)len);
  return id;
}

unsigned long long session_emit_type(session *s, const char *type, json_t *fields) {
  json_t *ev = json_pack("{s:s}", "type", type);
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
  if (role && strcmp(role, "user") == 0) {
    int rc = json_array_extend(json_object_get(last, "content"), blocks);
    json_decref(blocks);
    return rc;
  }
  return json_array_append_new(s->messages,
                               json_pack("{s:s, s:o}", "role", "user", "content", blocks));
}

void session_title_from_prompt(session *s, const char *prompt) {
  if (s->title) return;
  size_t n = strlen(prompt);
  if (n > SESSION_TITLE_MAX_BYTES) {
    n = SESSION_TITLE_MAX_BYTES;
    /* Cut on a character boundary: never leave half a UTF-8 sequence. */
    while (n > 0 && ((unsigned char)prompt[n] & 0xC0) == 0x80) n--;
  }
  s->title = strndup(prompt, n);
  for (char *p = s->title; p && *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
}

static void session_free(session *s) {
  session_stream_detach_all(s);
  for (size_t i = 0; i < s->event_count; i++) free(s->events[i].frame);
  free(s->events);
  json_decref(s->messages);
  free(s->title);
  free(s);
}

void session_free_all(app *a) {
  while (a->sessions) {
    session *s = a->sessions;
    a->sessions = s->next;
    session_free(s);
  }
}
