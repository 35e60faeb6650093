#include "search_doc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "journal_events.h"
#include "journal_reader.h"
#include "limits_table.h"
#include "utf8_text.h"

#define SEARCH_OPERATOR_TITLE "Power buttons"
#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static int is_word_byte(unsigned char c) {
  return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

int search_words(const char *text, size_t len, uint64_t **out, size_t *n, size_t *cap) {
  if (len > SEARCH_MAX_PIECE_BYTES) len = SEARCH_MAX_PIECE_BYTES;
  for (size_t i = 0; i < len;) {
    if (!is_word_byte((unsigned char)text[i])) {
      i++;
      continue;
    }
    uint64_t h = FNV_OFFSET;
    size_t k = 0;
    for (; i < len && is_word_byte((unsigned char)text[i]); i++, k++) {
      if (k >= SEARCH_MAX_WORD_BYTES) continue;
      unsigned char c = (unsigned char)text[i];
      if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
      h = (h ^ c) * FNV_PRIME;
    }
    if (ARRAY_GROW(*out, *cap, *n, 32) != 0) return -1;
    (*out)[(*n)++] = h;
  }
  return 0;
}

static int by_value(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

size_t search_words_unique(uint64_t *words, size_t n) {
  if (n < 2) return n;
  qsort(words, n, sizeof *words, by_value);
  size_t k = 1;
  for (size_t i = 1; i < n; i++)
    if (words[i] != words[k - 1]) words[k++] = words[i];
  return k;
}

int search_doc_has(const search_doc *d, uint64_t word) {
  size_t lo = 0, hi = d->word_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (d->words[mid] == word) return 1;
    if (d->words[mid] < word)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

const char *search_doc_kind_name(search_doc_kind k) {
  return k == SEARCH_DOC_PROMPT ? "prompt" : k == SEARCH_DOC_CALL ? "call" : "result";
}

void search_doc_free(search_doc *d) {
  free(d->call_id);
  free(d->tool);
  free(d->verb);
  free(d->argument);
  free(d->snippet);
  free(d->words);
  json_decref(d->event_ids);
  memset(d, 0, sizeof *d);
}

void search_session_docs_init(search_session_docs *s) {
  memset(s, 0, sizeof *s);
  s->calls = json_object();
  s->created_ms = s->last_ms = NAN;
}

void search_session_docs_free(search_session_docs *s) {
  for (size_t i = 0; i < s->count; i++) search_doc_free(&s->docs[i]);
  free(s->docs);
  json_decref(s->calls);
  free(s->title);
  memset(s, 0, sizeof *s);
}

/* text cut to at most max bytes on a character boundary, valid UTF-8. */
static char *cut_text(const char *text, size_t len, size_t max) {
  size_t n;
  return utf8_text_sanitize(text, utf8_text_cut(text, len, max), &n);
}

/* Adds text's words to the document. */
static int doc_add_text(search_session_docs *s, search_doc *d, const char *text, size_t len) {
  size_t before = d->word_count;
  if (search_words(text, len, &d->words, &d->word_count, &d->word_cap) != 0) return -1;
  if (d->word_count == before) return 0;
  d->word_count = search_words_unique(d->words, d->word_count);
  s->words += d->word_count - before; /* before was the unique count */
  return 0;
}

static int doc_add_json_text(search_session_docs *s, search_doc *d, const json_t *v) {
  if (!json_is_string(v)) return 0;
  return doc_add_text(s, d, json_string_value(v), json_string_length(v));
}

/* The strings of a call's input, each a piece of its own. */
static int doc_add_input(search_session_docs *s, search_doc *d, const json_t *v) {
  if (json_is_string(v)) return doc_add_json_text(s, d, v);
  size_t i;
  const char *key;
  json_t *item;
  if (json_is_array(v)) {
    json_array_foreach(v, i, item) if (doc_add_input(s, d, item) != 0) return -1;
  } else if (json_is_object(v)) {
    json_object_foreach((json_t *)v, key, item) if (doc_add_input(s, d, item) != 0) return -1;
  }
  return 0;
}

static double record_time(const json_t *ts) {
  unsigned long long ms;
  if (json_is_string(ts) && journal_parse_utc(json_string_value(ts), &ms) == 0) return (double)ms;
  return NAN;
}

static search_doc *doc_new(search_session_docs *s, search_doc_kind kind, const json_t *ev) {
  if (ARRAY_GROW(s->docs, s->cap, s->count, 16) != 0) return NULL;
  search_doc *d = &s->docs[s->count++];
  memset(d, 0, sizeof *d);
  d->kind = kind;
  d->event_id = (unsigned long long)json_integer_value(json_object_get(ev, "id"));
  d->ts_ms = record_time(json_object_get(ev, "ts"));
  snprintf(d->outcome, sizeof d->outcome, "unknown");
  return d;
}

static void doc_set_snippet(search_doc *d, const json_t *text) {
  if (d->snippet || !json_is_string(text)) return;
  d->snippet = cut_text(json_string_value(text), json_string_length(text), SEARCH_SNIPPET_BYTES);
}

/* The call's document, made at its first event. */
static search_doc *call_doc(search_session_docs *s, const char *call_id, const json_t *ev) {
  json_t *at = json_object_get(s->calls, call_id);
  if (at) return &s->docs[json_integer_value(at)];
  search_doc *d = doc_new(s, SEARCH_DOC_CALL, ev);
  if (!d) return NULL;
  d->call_id = strdup(call_id);
  d->event_ids = json_array();
  json_object_set_new(s->calls, call_id, json_integer((json_int_t)(s->count - 1)));
  return d->call_id && d->event_ids ? d : NULL;
}

static void set_string(char **slot, const json_t *v, size_t max) {
  if (*slot || !json_is_string(v)) return;
  *slot = cut_text(json_string_value(v), json_string_length(v), max);
}

static void set_outcome(search_doc *d, const char *outcome, int final) {
  if (d->outcome_final && !final) return;
  snprintf(d->outcome, sizeof d->outcome, "%s", outcome);
  d->outcome_final = final;
}

/* The one string that says what a call does, as the page picks it: the
 * command or verb, else the first string of its input. */
static const json_t *call_argument(const json_t *input) {
  static const char *const named[] = {"command", "verb", "cmd", "path", "query"};
  for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
    if (json_is_string(json_object_get(input, named[i]))) return json_object_get(input, named[i]);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)input, key, v) if (json_is_string(v)) return v;
  return NULL;
}

/* An event of a call: tool, button, policy, tool_result. */
static int on_call_event(search_session_docs *s, const char *kind, const json_t *ev) {
  const char *call_id = json_string_value(json_object_get(ev, "call_id"));
  if (!call_id) return 0;
  search_doc *d = call_doc(s, call_id, ev);
  if (!d) return -1;
  json_array_append(d->event_ids, json_object_get(ev, "id"));
  if (strcmp(kind, "tool") == 0) {
    /* The page scrolls to the call's card. */
    d->event_id = (unsigned long long)json_integer_value(json_object_get(ev, "id"));
    d->ts_ms = record_time(json_object_get(ev, "ts"));
    json_t *name = json_object_get(ev, "name"), *input = json_object_get(ev, "input");
    set_string(&d->tool, name, SEARCH_ARGUMENT_BYTES);
    set_string(&d->verb, json_object_get(input, "verb"), SEARCH_ARGUMENT_BYTES);
    set_string(&d->argument, call_argument(input), SEARCH_ARGUMENT_BYTES);
    if (doc_add_json_text(s, d, name) != 0 || doc_add_input(s, d, input) != 0) return -1;
  } else if (strcmp(kind, "button") == 0) {
    set_string(&d->verb, json_object_get(ev, "verb"), SEARCH_ARGUMENT_BYTES);
    if (doc_add_json_text(s, d, json_object_get(ev, "verb")) != 0) return -1;
  } else if (strcmp(kind, "policy") == 0) {
    static const char *const fields[] = {"policy", "verdict", "reason"};
    for (int i = 0; i < 3; i++)
      if (doc_add_json_text(s, d, json_object_get(ev, fields[i])) != 0) return -1;
  } else {
    json_t *content = json_object_get(ev, "content");
    doc_set_snippet(d, content);
    set_outcome(d, json_is_true(json_object_get(ev, "is_error")) ? "error" : "ok", 0);
    if (doc_add_json_text(s, d, content) != 0) return -1;
  }
  return 0;
}

/* A tool_call record: the call's outcome as the gate and the run ended it. */
static int on_tool_call(search_session_docs *s, const json_t *rec) {
  const char *call_id = json_string_value(json_object_get(rec, "call_id"));
  if (!call_id) return 0;
  search_doc *d = call_doc(s, call_id, rec);
  if (!d) return -1;
  const char *decision = json_string_value(json_object_get(rec, "decision"));
  const json_t *result = json_object_get(rec, "result");
  set_outcome(d,
              decision && strcmp(decision, "deny") == 0           ? "denied"
              : json_is_true(json_object_get(result, "is_error")) ? "error"
                                                                  : "ok",
              1);
  if (!d->tool) {
    json_t *name = json_object_get(rec, "name"), *input = json_object_get(rec, "input");
    set_string(&d->tool, name, SEARCH_ARGUMENT_BYTES);
    set_string(&d->verb, json_object_get(input, "verb"), SEARCH_ARGUMENT_BYTES);
    if (doc_add_json_text(s, d, name) != 0 || doc_add_input(s, d, input) != 0) return -1;
  }
  return 0;
}

static void set_title(search_session_docs *s, const char *text) {
  if (s->title) return;
  s->title = utf8_text_title(text, SEARCH_TITLE_MAX_BYTES);
}

static int on_event(search_session_docs *s, const json_t *raw) {
  json_int_t id = json_integer_value(json_object_get(raw, "id"));
  if (id <= 0 || (unsigned long long)id <= s->last_event_id) return 0; /* as recovery skips it */
  s->last_event_id = (unsigned long long)id;
  json_t *ev = journal_event_with_kind(json_incref((json_t *)raw));
  const char *kind = json_string_value(json_object_get(ev, "kind"));
  int rc = 0;
  if (!kind) {
    rc = 0;
  } else if (strcmp(kind, "session") == 0) {
    const char *k = json_string_value(json_object_get(ev, "session_kind"));
    if (k && strcmp(k, "operator") == 0) {
      s->operator_session = 1;
      if (!s->title) s->title = strdup(SEARCH_OPERATOR_TITLE);
    }
  } else if (strcmp(kind, "user") == 0 || strcmp(kind, "result") == 0) {
    int user = kind[0] == 'u';
    json_t *text = json_object_get(ev, user ? "text" : "result");
    if (user && json_is_string(text)) set_title(s, json_string_value(text));
    search_doc *d = doc_new(s, user ? SEARCH_DOC_PROMPT : SEARCH_DOC_RESULT, ev);
    if (!d) rc = -1;
    if (d) doc_set_snippet(d, text);
    if (d && doc_add_json_text(s, d, text) != 0) rc = -1;
  } else if (strcmp(kind, "tool") == 0 || strcmp(kind, "button") == 0 ||
             strcmp(kind, "policy") == 0 || strcmp(kind, "tool_result") == 0) {
    rc = on_call_event(s, kind, ev);
  }
  json_decref(ev);
  return rc;
}

int search_session_docs_add(search_session_docs *s, const json_t *record) {
  const char *kind = json_string_value(json_object_get(record, "kind"));
  double t = record_time(json_object_get(record, "ts"));
  if (isfinite(t)) {
    if (!(t >= s->created_ms)) s->created_ms = t;
    if (!(t <= s->last_ms)) s->last_ms = t;
  }
  if (!kind) return 0;
  if (strcmp(kind, "event") == 0 && json_is_object(json_object_get(record, "event")))
    return on_event(s, json_object_get(record, "event"));
  if (strcmp(kind, "tool_call") == 0) return on_tool_call(s, record);
  return 0;
}

/* --- the index file's lines -------------------------------------------------- */

json_t *search_doc_to_json(const search_doc *d) {
  char *hex = malloc(d->word_count * 16 + 1);
  if (!hex && d->word_count) return NULL;
  for (size_t i = 0; i < d->word_count; i++)
    snprintf(hex + 16 * i, 17, "%016llx", (unsigned long long)d->words[i]);
  json_t *j = json_pack("{s:s, s:I, s:s, s:s%}", "k", search_doc_kind_name(d->kind), "e",
                        (json_int_t)d->event_id, "o", d->outcome, "w", hex ? hex : "",
                        d->word_count * 16);
  free(hex);
  if (!j) return NULL;
  if (isfinite(d->ts_ms)) json_object_set_new(j, "t", json_integer((json_int_t)d->ts_ms));
  if (d->outcome_final) json_object_set_new(j, "f", json_true());
  const char *const strings[][2] = {{"c", d->call_id},
                                    {"tool", d->tool},
                                    {"verb", d->verb},
                                    {"a", d->argument},
                                    {"s", d->snippet}};
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    if (strings[i][1]) json_object_set_new(j, strings[i][0], json_string(strings[i][1]));
  if (d->event_ids) json_object_set(j, "ids", d->event_ids);
  return j;
}

static char *dup_field(const json_t *j, const char *key) {
  const char *v = json_string_value(json_object_get(j, key));
  return v ? strdup(v) : NULL;
}

int search_doc_from_json(search_doc *d, const json_t *j) {
  memset(d, 0, sizeof *d);
  const char *kind = json_string_value(json_object_get(j, "k"));
  const char *hex = json_string_value(json_object_get(j, "w"));
  const char *outcome = json_string_value(json_object_get(j, "o"));
  if (!kind || !hex || !outcome || strlen(hex) % 16 != 0) return -1;
  d->kind = strcmp(kind, "prompt") == 0 ? SEARCH_DOC_PROMPT
            : strcmp(kind, "call") == 0 ? SEARCH_DOC_CALL
                                        : SEARCH_DOC_RESULT;
  d->event_id = (unsigned long long)json_integer_value(json_object_get(j, "e"));
  json_t *t = json_object_get(j, "t");
  d->ts_ms = json_is_integer(t) ? (double)json_integer_value(t) : NAN;
  snprintf(d->outcome, sizeof d->outcome, "%s", outcome);
  d->outcome_final = json_is_true(json_object_get(j, "f"));
  d->call_id = dup_field(j, "c");
  d->tool = dup_field(j, "tool");
  d->verb = dup_field(j, "verb");
  d->argument = dup_field(j, "a");
  d->snippet = dup_field(j, "s");
  json_t *ids = json_object_get(j, "ids");
  if (json_is_array(ids)) d->event_ids = json_incref(ids);
  d->word_count = d->word_cap = strlen(hex) / 16;
  d->words = d->word_count ? malloc(d->word_count * sizeof *d->words) : NULL;
  if (d->word_count && !d->words) return -1;
  for (size_t i = 0; i < d->word_count; i++) {
    char part[17];
    memcpy(part, hex + 16 * i, 16);
    part[16] = '\0';
    d->words[i] = strtoull(part, NULL, 16);
  }
  if (d->kind == SEARCH_DOC_CALL && (!d->call_id || !d->event_ids)) return -1;
  return 0;
}
