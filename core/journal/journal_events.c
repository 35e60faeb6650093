#include "journal_events.h"

#include <string.h>

#include "journal_reader.h"

json_t *journal_event_with_kind(json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  if (json_object_get(ev, "kind") || !type) return ev;
  json_t *renamed = json_pack("{s:s}", "kind", type);
  if (!renamed) return ev;
  json_object_del(ev, "type");
  json_object_update(renamed, ev);
  json_decref(ev);
  return renamed;
}

json_t *journal_events_load(const char *data, size_t len, journal_verifier *v) {
  json_t *events = json_array();
  if (!events) return NULL;
  journal_reader r;
  journal_reader_init(&r, data, len);
  journal_read_result res;
  json_t *rec;
  char why[256];
  size_t at = 0;
  json_int_t last_id = 0;
  while ((res = journal_reader_next(&r, &rec, why, sizeof why)) != JOURNAL_READ_END &&
         res != JOURNAL_READ_TORN) {
    int broken = journal_verifier_line(v, data + at, r.pos - at - 1) != 0;
    at = r.pos;
    json_t *ev = json_object_get(rec, "event");
    const char *kind = json_string_value(json_object_get(rec, "kind"));
    json_int_t id = json_integer_value(json_object_get(ev, "id"));
    if (!broken && kind && strcmp(kind, "event") == 0 && json_is_object(ev) && id > last_id) {
      last_id = id;
      json_array_append_new(events, journal_event_with_kind(json_incref(ev)));
    }
    json_decref(rec);
    if (broken) break;
  }
  return events;
}
