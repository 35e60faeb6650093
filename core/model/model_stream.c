#include "model_stream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits_table.h"

enum { STREAM_BEFORE_START, STREAM_OPEN, STREAM_STOPPED, STREAM_FAILED };
enum { BLOCK_TEXT, BLOCK_TOOL, BLOCK_THINKING, BLOCK_OTHER };
enum {
  EV_UNKNOWN,
  EV_MESSAGE_START,
  EV_BLOCK_START,
  EV_BLOCK_DELTA,
  EV_BLOCK_STOP,
  EV_MESSAGE_DELTA,
  EV_MESSAGE_STOP,
  EV_PING,
  EV_ERROR
};

struct model_stream_block {
  json_t *json; /* the content_block of content_block_start, updated */
  int kind;
  buf acc; /* text, thinking, or tool input JSON text */
  int stopped;
  int bad_input;
};

static const struct {
  const char *name;
  int ev;
} stream_events[] = {
    {"message_start", EV_MESSAGE_START},
    {"content_block_start", EV_BLOCK_START},
    {"content_block_delta", EV_BLOCK_DELTA},
    {"content_block_stop", EV_BLOCK_STOP},
    {"message_delta", EV_MESSAGE_DELTA},
    {"message_stop", EV_MESSAGE_STOP},
    {"ping", EV_PING},
    {"error", EV_ERROR},
};

static int stream_event_lookup(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof stream_events / sizeof stream_events[0]; i++)
    if (strlen(stream_events[i].name) == len && memcmp(stream_events[i].name, name, len) == 0)
      return stream_events[i].ev;
  return EV_UNKNOWN;
}

void model_stream_init(model_stream *s, size_t max_content_bytes,
                       void (*on_text)(void *ud, const char *text, size_t len), void *ud) {
  memset(s, 0, sizeof *s);
  s->on_text = on_text;
  s->ud = ud;
  s->max_content_bytes = max_content_bytes;
  s->state = STREAM_BEFORE_START;
}

void model_stream_free(model_stream *s) {
  for (int i = 0; i < MODEL_STREAM_MAX_BLOCKS_COUNT; i++) {
    model_stream_block *b = s->blocks[i];
    if (!b) continue;
    json_decref(b->json);
    buf_free(&b->acc);
    free(b);
  }
  free(s->message_id);
  free(s->stop_reason);
  json_decref(s->stop_details);
  json_decref(s->message);
  free(s->error_message);
  free(s->error_type_owned);
  memset(s, 0, sizeof *s);
}

static int stream_fail(model_stream *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first failure; type is ours, from the code. */
static int stream_fail(model_stream *s, int code, const char *fmt, ...) {
  char msg[MODEL_STREAM_MAX_MESSAGE_BYTES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  s->state = STREAM_FAILED;
  s->error_code = code;
  s->error_type = code == MODEL_STREAM_ETOOBIG  ? "response_too_large"
                  : code == MODEL_STREAM_ENOMEM ? "out_of_memory"
                                                : "protocol_error";
  free(s->error_message);
  s->error_message = strdup(msg);
  return code;
}

/* Content bytes are counted against one budget for the whole message. */
static int stream_take_bytes(model_stream *s, size_t n) {
  if (n > s->max_content_bytes - s->content_bytes)
    return stream_fail(s, MODEL_STREAM_ETOOBIG, "message content passed %zu bytes",
                       s->max_content_bytes);
  s->content_bytes += n;
  return 0;
}

static int stream_append(model_stream *s, model_stream_block *b, const json_t *str) {
  size_t n = json_string_length(str);
  int rc = stream_take_bytes(s, n);
  if (rc) return rc;
  if (buf_append(&b->acc, json_string_value(str), n) != 0)
    return b->kind == BLOCK_TOOL && b->acc.len + n > b->acc.max_bytes
               ? stream_fail(s, MODEL_STREAM_ETOOBIG, "tool input passed %u bytes",
                             MODEL_STREAM_MAX_TOOL_INPUT_BYTES)
               : stream_fail(s, MODEL_STREAM_ENOMEM, "out of memory");
  return 0;
}

static char *stream_strdup_json(const json_t *str) {
  return json_is_string(str) ? strndup(json_string_value(str), json_string_length(str)) : NULL;
}

/* The index field of a block event, or a failure. */
static int stream_index(model_stream *s, const json_t *ev, const char *what) {
  json_t *idx = json_object_get(ev, "index");
  if (!json_is_integer(idx) || json_integer_value(idx) < 0)
    return stream_fail(s, MODEL_STREAM_EPROTO, "%s without a valid index", what);
  if (json_integer_value(idx) >= MODEL_STREAM_MAX_BLOCKS_COUNT)
    return stream_fail(s, MODEL_STREAM_ETOOBIG, "more than %d content blocks",
                       MODEL_STREAM_MAX_BLOCKS_COUNT);
  return (int)json_integer_value(idx);
}

/* Overwrites each count the object carries as a number (null keeps it). */
static void stream_read_usage(model_stream *s, const json_t *usage) {
  static const struct {
    const char *key;
    size_t offset;
  } fields[] = {
      {"input_tokens", offsetof(model_usage, input_tokens)},
      {"output_tokens", offsetof(model_usage, output_tokens)},
      {"cache_creation_input_tokens", offsetof(model_usage, cache_creation_input_tokens)},
      {"cache_read_input_tokens", offsetof(model_usage, cache_read_input_tokens)},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    json_t *v = json_object_get(usage, fields[i].key);
    if (json_is_integer(v))
      *(long long *)((char *)&s->usage + fields[i].offset) = json_integer_value(v);
  }
}

static int stream_set_stop_reason(model_stream *s, const json_t *v) {
  if (!json_is_string(v)) return 0;
  char *copy = stream_strdup_json(v);
  if (!copy) return stream_fail(s, MODEL_STREAM_ENOMEM, "out of memory");
  free(s->stop_reason);
  s->stop_reason = copy;
  return 0;
}

static int stream_message_start(model_stream *s, const json_t *ev) {
  if (s->state != STREAM_BEFORE_START)
    return stream_fail(s, MODEL_STREAM_EPROTO, "a second message_start");
  json_t *msg = json_object_get(ev, "message");
  if (!json_is_object(msg))
    return stream_fail(s, MODEL_STREAM_EPROTO, "message_start without a message");
  json_t *id = json_object_get(msg, "id");
  if (json_is_string(id) && !(s->message_id = stream_strdup_json(id)))
    return stream_fail(s, MODEL_STREAM_ENOMEM, "out of memory");
  stream_read_usage(s, json_object_get(msg, "usage"));
  s->state = STREAM_OPEN;
  return stream_set_stop_reason(s, json_object_get(msg, "stop_reason"));
}

static int stream_block_kind(const char *type) {
  if (strcmp(type, "text") == 0) return BLOCK_TEXT;
  if (strcmp(type, "tool_use") == 0 || strcmp(type, "server_tool_use") == 0) return BLOCK_TOOL;
  if (strcmp(type, "thinking") == 0) return BLOCK_THINKING;
  return BLOCK_OTHER;
}

static int stream_block_start(model_stream *s, const json_t *ev) {
  int idx = stream_index(s, ev, "content_block_start");
  if (idx < 0) return idx;
  if (s->blocks[idx])
    return stream_fail(s, MODEL_STREAM_EPROTO, "a second content_block_start for index %d", idx);
  json_t *cb = json_object_get(ev, "content_block");
  const char *type = json_string_value(json_object_get(cb, "type"));
  if (!json_is_object(cb) || !type)
    return stream_fail(s, MODEL_STREAM_EPROTO, "content_block_start %d without a typed block", idx);
  model_stream_block *b = calloc(1, sizeof *b);
  if (!b) return stream_fail(s, MODEL_STREAM_ENOMEM, "out of memory");
  b->json = json_incref(cb);
  b->kind = stream_block_kind(type);
  buf_init(&b->acc,
           b->kind == BLOCK_TOOL ? MODEL_STREAM_MAX_TOOL_INPUT_BYTES : s->max_content_bytes);
  s->blocks[idx] = b;
  /* Text and thinking may in principle start non-empty; deltas extend it. */
  const char *field = b->kind == BLOCK_TEXT       ? "text"
                      : b->kind == BLOCK_THINKING ? "thinking"
                                                  : NULL;
  json_t *initial = field ? json_object_get(cb, field) : NULL;
  return json_is_string(initial) ? stream_append(s, b, initial) : 0;
}

/* The delta's string field named key; a failure when it is missing. */
static json_t *stream_delta_string(model_stream *s, const json_t *delta, const char *key, int idx) {
  json_t *v = json_object_get(delta, key);
  if (!json_is_string(v))
    stream_fail(s, MODEL_STREAM_EPROTO, "delta for index %d without %s", idx, key);
  return json_is_string(v) ? v : NULL;
}

static int stream_block_delta(model_stream *s, const json_t *ev, size_t data_len) {
  int idx = stream_index(s, ev, "content_block_delta");
  if (idx < 0) return idx;
  model_stream_block *b = s->blocks[idx];
  if (!b || b->stopped)
    return stream_fail(s, MODEL_STREAM_EPROTO, "content_block_delta for index %d outside its block",
                       idx);
  json_t *delta = json_object_get(ev, "delta");
  const char *type = json_string_value(json_object_get(delta, "type"));
  if (!type)
    return stream_fail(s, MODEL_STREAM_EPROTO, "content_block_delta %d without a type", idx);
  json_t *v;
  if (b->kind == BLOCK_TEXT && strcmp(type, "text_delta") == 0) {
    if (!(v = stream_delta_string(s, delta, "text", idx))) return MODEL_STREAM_EPROTO;
    int rc = stream_append(s, b, v);
    if (rc == 0 && s->on_text) s->on_text(s->ud, json_string_value(v), json_string_length(v));
    return rc;
  }
  if (b->kind == BLOCK_TOOL && strcmp(type, "input_json_delta") == 0) {
    if (!(v = stream_delta_string(s, delta, "partial_json", idx))) return MODEL_STREAM_EPROTO;
    return stream_append(s, b, v);
  }
  if (b->kind == BLOCK_THINKING && strcmp(type, "thinking_delta") == 0) {
    if (!(v = stream_delta_string(s, delta, "thinking", idx))) return MODEL_STREAM_EPROTO;
    return stream_append(s, b, v);
  }
  if (b->kind == BLOCK_THINKING && strcmp(type, "signature_delta") == 0) {
    if (!(v = stream_delta_string(s, delta, "signature", idx))) return MODEL_STREAM_EPROTO;
    int rc = stream_take_bytes(s, json_string_length(v));
    if (rc == 0 && json_object_set(b->json, "signature", v) != 0)
      rc = stream_fail(s, MODEL_STREAM_ENOMEM, "out of memory");
    return rc;
  }
  if (b->kind == BLOCK_TEXT && strcmp(type, "citations_delta") == 0) {
    json_t *citation = json_object_get(delta, "citation");
    json_t *list = json_object_get(b->json, "citations");
    int rc = stream_take_bytes(s, data_len);
    if (rc) return rc;
    if (!json_is_array(list)) {
      list = json_array();
      if (json_object_set_new(b->json, "citations", list) != 0) list = NULL;
    }
    if (!citation || !list || json_array_append(list, citation) != 0)
      return stream_fail(s, MODEL_STREAM_EPROTO, "citations_delta %d without a citation", idx);
    return 0;
  }
  /* A delta type added after this was written: the block keeps what it has. */
  return 0;
}

static int stream_is_blank(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') return 0;
  return 1;
}

/* Parses the tool input; a failure only marks the block (it must not run). */
static int stream_finish_tool(model_stream *s, model_stream_block *b) {
  json_t *input;
  if (stream_is_blank(b->acc.data, b->acc.len)) {
    input = json_object();
  } else {
    json_error_t jerr;
    input = json_loadb(b->acc.data, b->acc.len, JSON_ALLOW_NUL, &jerr);
    if (!json_is_object(input)) {
      json_decref(input);
      b->bad_input = 1;
      return 0;
    }
  }
  if (!input || json_object_set_new(b->json, "input", input) != 0)
    return stream_fail(s, MODEL_STREAM_ENOMEM, "out of memory");
  return 0;
}

static int stream_block_stop(model_stream *s, const json_t *ev) {
  int idx = stream_index(s, ev, "content_block_stop");
  if (idx < 0) return idx;
  model_stream_block *b = s->blocks[idx];
  if (!b || b->stopped)
    return stream_fail(s, MODEL_STREAM_EPROTO, "content_block_stop for index %d outside its block",
                       idx);
  b->stopped = 1;
  return b->kind == BLOCK_TOOL ? stream_finish_tool(s, b) : 0;
}

static int stream_message_delta(model_stream *s, const json_t *ev) {
  json_t *delta = json_object_get(ev, "delta");
  json_t *details = json_object_get(delta, "stop_details");
  int rc = stream_set_stop_reason(s, json_object_get(delta, "stop_reason"));
  if (rc) return rc;
  if (details && !json_is_null(details)) {
    json_decref(s->stop_details);
    s->stop_details = json_incref(details);
  }
  stream_read_usage(s, json_object_get(ev, "usage"));
  return 0;
}

static int stream_error_event(model_stream *s, const json_t *ev) {
  json_t *err = json_object_get(ev, "error");
  const json_t *type = json_object_get(err, "type");
  const json_t *message = json_object_get(err, "message");
  stream_fail(s, MODEL_STREAM_EAPI, "the API sent an error event");
  if (json_is_string(type)) {
    free(s->error_type_owned);
    s->error_type_owned = stream_strdup_json(type);
    s->error_type = s->error_type_owned ? s->error_type_owned : "api_error";
  } else {
    s->error_type = "api_error";
  }
  if (json_is_string(message)) {
    free(s->error_message);
    s->error_message = stream_strdup_json(message);
  }
  return MODEL_STREAM_EAPI;
}

int model_stream_event(model_stream *s, const char *event, size_t event_len, const char *data,
                       size_t data_len) {
  if (s->state == STREAM_STOPPED) return MODEL_STREAM_DONE;
  if (s->state == STREAM_FAILED) return s->error_code;
  /* The event name decides; an unnamed event falls back to data.type. */
  int ev = event_len ? stream_event_lookup(event, event_len) : EV_UNKNOWN;
  if (event_len && ev == EV_UNKNOWN) return MODEL_STREAM_MORE;
  json_error_t jerr;
  json_t *root = json_loadb(data, data_len, JSON_ALLOW_NUL, &jerr);
  if (!json_is_object(root)) {
    json_decref(root);
    return event_len ? stream_fail(s, MODEL_STREAM_EPROTO, "%.*s event data is not a JSON object",
                                   (int)event_len, event)
                     : MODEL_STREAM_MORE;
  }
  if (!event_len) {
    const char *type = json_string_value(json_object_get(root, "type"));
    ev = type ? stream_event_lookup(type, strlen(type)) : EV_UNKNOWN;
  }
  int rc = MODEL_STREAM_MORE;
  if (s->state == STREAM_BEFORE_START && ev != EV_MESSAGE_START && ev != EV_PING &&
      ev != EV_ERROR && ev != EV_UNKNOWN) {
    rc = stream_fail(s, MODEL_STREAM_EPROTO, "an event came before message_start");
  } else {
    switch (ev) {
    case EV_MESSAGE_START:
      rc = stream_message_start(s, root);
      break;
    case EV_BLOCK_START:
      rc = stream_block_start(s, root);
      break;
    case EV_BLOCK_DELTA:
      rc = stream_block_delta(s, root, data_len);
      break;
    case EV_BLOCK_STOP:
      rc = stream_block_stop(s, root);
      break;
    case EV_MESSAGE_DELTA:
      rc = stream_message_delta(s, root);
      break;
    case EV_MESSAGE_STOP:
      s->state = STREAM_STOPPED;
      rc = MODEL_STREAM_DONE;
      break;
    case EV_ERROR:
      rc = stream_error_event(s, root);
      break;
    default:
      break; /* ping and unknown events */
    }
  }
  json_decref(root);
  return rc;
}

/* Puts the gathered text into the block; *out is NULL when it is left out. */
static int stream_block_final(model_stream_block *b, json_t **out, int *incomplete) {
  const char *field = b->kind == BLOCK_TEXT       ? "text"
                      : b->kind == BLOCK_THINKING ? "thinking"
                                                  : NULL;
  *out = b->json;
  if (b->kind == BLOCK_TEXT && b->acc.len == 0) *out = NULL; /* the API refuses empty text */
  if (b->kind == BLOCK_TOOL && (!b->stopped || b->bad_input)) *incomplete = 1;
  if (*out && field &&
      json_object_set_new(b->json, field, json_stringn(buf_cstr(&b->acc), b->acc.len)) != 0)
    return MODEL_STREAM_ENOMEM;
  /* The text now lives in the block: a long reply is not held twice. */
  if (field) buf_free(&b->acc);
  return 0;
}

int model_stream_result(model_stream *s, model_response *resp) {
  memset(resp, 0, sizeof *resp);
  json_t *content = json_array();
  int incomplete = 0;
  for (int i = 0; content && i < MODEL_STREAM_MAX_BLOCKS_COUNT; i++) {
    json_t *block = NULL;
    if (s->blocks[i] && (stream_block_final(s->blocks[i], &block, &incomplete) != 0 ||
                         (block && json_array_append(content, block) != 0))) {
      json_decref(content);
      content = NULL;
    }
  }
  json_decref(s->message);
  s->message = content ? json_pack("{s:s, s:o}", "role", "assistant", "content", content) : NULL;
  if (!s->message) return MODEL_STREAM_ENOMEM;
  resp->message = s->message;
  resp->stop_reason = s->stop_reason;
  resp->stop_details = s->stop_details;
  resp->message_id = s->message_id;
  resp->usage = s->usage;
  resp->incomplete_tool_use = incomplete;
  return 0;
}
