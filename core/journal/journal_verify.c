#include "journal_verify.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "limits_table.h"

static const unsigned char ZEROS[JOURNAL_CHAIN_HASH_BYTES];

void journal_verifier_init(journal_verifier *v, const journal_chain_key *key) {
  memset(v, 0, sizeof *v);
  if (key) v->key = *key;
}

const char *journal_damage_name(journal_damage d) {
  switch (d) {
  case JOURNAL_DAMAGE_CHANGED:
    return "changed";
  case JOURNAL_DAMAGE_REMOVED:
    return "removed";
  case JOURNAL_DAMAGE_INSERTED:
    return "inserted";
  case JOURNAL_DAMAGE_REORDERED:
    return "reordered";
  case JOURNAL_DAMAGE_TRUNCATED:
    return "truncated";
  case JOURNAL_DAMAGE_NONE:
    break;
  }
  return "none";
}

__attribute__((format(printf, 4, 0))) static int verify_vname(journal_verifier *v, journal_damage d,
                                                              unsigned long long record,
                                                              const char *fmt, va_list ap) {
  v->broken = 1;
  v->deciding = 0;
  v->damage = d;
  v->break_record = record;
  vsnprintf(v->why, sizeof v->why, fmt, ap);
  return -1;
}

/* Names the break (once told). */
__attribute__((format(printf, 4, 5))) static int verify_name(journal_verifier *v, journal_damage d,
                                                             unsigned long long record,
                                                             const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verify_vname(v, d, record, fmt, ap);
  va_end(ap);
  return -1;
}

/* A break on this line, named at once. */
__attribute__((format(printf, 4, 5))) static int verify_break(journal_verifier *v, journal_damage d,
                                                              unsigned long long record,
                                                              const char *fmt, ...) {
  v->break_line = v->lines;
  va_list ap;
  va_start(ap, fmt);
  verify_vname(v, d, record, fmt, ap);
  va_end(ap);
  return -1;
}

/* A header's fields, when the line is one: {"kind": "chain", "version",
 * "journal", "hmac"}. 1 when it is, 0 when not. */
static int read_header(journal_verifier *v, const char *line, size_t len, int *hmac) {
  size_t head = len < VERIFY_HEADER_PREFIX_BYTES ? len : VERIFY_HEADER_PREFIX_BYTES;
  if (!memmem(line, head, "\"kind\":\"chain\"", 14)) return 0;
  json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
  const char *kind = json_string_value(json_object_get(rec, "kind"));
  int is = kind && strcmp(kind, "chain") == 0 &&
           json_integer_value(json_object_get(rec, "version")) == JOURNAL_CHAIN_VERSION &&
           json_is_boolean(json_object_get(rec, "hmac"));
  if (is) {
    *hmac = json_is_true(json_object_get(rec, "hmac"));
    const char *name = json_string_value(json_object_get(rec, "journal"));
    snprintf(v->name, sizeof v->name, "%s", name ? name : "");
  }
  json_decref(rec);
  return is;
}

/* A break on this line whose kind the lines after it tell: whether the
 * record that should have come here (the head's successor) follows at
 * once (then this line was put in) or later (then records were moved). */
static int verify_defer(journal_verifier *v, int linked, unsigned long long seq) {
  v->broken = 1;
  v->break_line = v->lines;
  v->break_record = v->seq + 1;
  v->linked = linked;
  v->break_seq = seq;
  v->deciding = linked && seq > v->seq + 1 ? JOURNAL_VERIFY_LOOKAHEAD_LINES : 1;
  return -1;
}

/* The line does not follow the chain: named now, or deferred. */
static int verify_classify(journal_verifier *v, const char *line, size_t len) {
  unsigned long long want = v->seq + 1;
  journal_chain_line p;
  if (journal_chain_parse(line, len, &p) != 0) return verify_defer(v, 0, 0);
  if (p.seq >= want) return verify_defer(v, 1, p.seq);
  if (p.seq == v->seq && memcmp(p.hash, v->head, sizeof p.hash) == 0)
    return verify_break(v, JOURNAL_DAMAGE_INSERTED, want,
                        "line %zu is a second copy of record %llu: it was put in", v->lines,
                        v->seq);
  return verify_break(v, JOURNAL_DAMAGE_REORDERED, want,
                      "record %llu (line %zu) comes after record %llu: the records were reordered",
                      p.seq, v->lines, v->seq);
}

/* What the break line was, now that the missing record turned up (found)
 * or did not. */
static void verify_tell(journal_verifier *v, int found) {
  unsigned long long want = v->seq + 1;
  size_t at = v->break_line;
  if (!v->linked) {
    if (found)
      verify_name(v, JOURNAL_DAMAGE_INSERTED, want,
                  "line %zu is not part of the chain: it was put in before record %llu", at, want);
    else
      verify_name(v, JOURNAL_DAMAGE_CHANGED, want,
                  "record %llu (line %zu) has lost its link: it was changed", want, at);
  } else if (v->break_seq == want) {
    if (found)
      verify_name(v, JOURNAL_DAMAGE_INSERTED, want,
                  "line %zu claims to be record %llu but does not link to record %llu; the real "
                  "record %llu follows it: it was put in",
                  at, want, v->seq, want);
    else
      verify_name(v, JOURNAL_DAMAGE_CHANGED, want,
                  "record %llu (line %zu) does not match its link: its bytes were changed", want,
                  at);
  } else if (found) {
    verify_name(v, JOURNAL_DAMAGE_REORDERED, want,
                "record %llu comes after record %llu (line %zu): the records were reordered", want,
                v->break_seq, at);
  } else if (v->break_seq == want + 1) {
    verify_name(v, JOURNAL_DAMAGE_REMOVED, want,
                "record %llu is missing: line %zu holds record %llu", want, at, v->break_seq);
  } else {
    verify_name(v, JOURNAL_DAMAGE_REMOVED, want,
                "records %llu to %llu are missing: line %zu holds record %llu", want,
                v->break_seq - 1, at, v->break_seq);
  }
}

/* A line after a deferred break: is it the missing record? */
static void verify_after_break(journal_verifier *v, const char *line, size_t len) {
  journal_chain_line p;
  if (journal_chain_parse(line, len, &p) == 0 && p.seq == v->seq + 1 &&
      journal_chain_follows(line, &p, v->head)) {
    verify_tell(v, 1);
    return;
  }
  if (--v->deciding == 0) verify_tell(v, 0);
}

static void verify_advance(journal_verifier *v, const journal_chain_line *p) {
  memcpy(v->head, p->hash, sizeof v->head);
  v->seq = p->seq;
  if (v->want_seq == p->seq) {
    v->want_found = 1;
    memcpy(v->want_hash, p->hash, sizeof v->want_hash);
  }
}

/* The link checks: the mac the header promised. */
static int verify_mac(journal_verifier *v, const journal_chain_line *p) {
  if (!v->hmac) {
    if (p->has_mac)
      return verify_break(v, JOURNAL_DAMAGE_CHANGED, p->seq,
                          "record %llu (line %zu) has a mac its header did not announce", p->seq,
                          v->lines);
    if (v->key.len) v->unauthenticated++;
    return 0;
  }
  if (!p->has_mac)
    return verify_break(v, JOURNAL_DAMAGE_CHANGED, p->seq,
                        "record %llu (line %zu) has lost its mac: it was rewritten", p->seq,
                        v->lines);
  if (!v->key.len) return 0;
  if (!journal_chain_mac_ok(p, &v->key))
    return verify_break(v, JOURNAL_DAMAGE_CHANGED, p->seq,
                        "record %llu (line %zu) does not match its HMAC: it was written by "
                        "someone without the key",
                        p->seq, v->lines);
  v->macs_checked++;
  return 0;
}

int journal_verifier_line(journal_verifier *v, const char *line, size_t len) {
  if (v->broken) {
    v->lines++;
    if (v->deciding) verify_after_break(v, line, len);
    return -1;
  }
  v->lines++;
  int hmac = 0;
  journal_chain_line p;
  int linked = journal_chain_parse(line, len, &p) == 0;
  int header = linked && read_header(v, line, len, &hmac);
  if (!v->chained) {
    if (!linked) {
      v->unchained_lines++;
      return 0;
    }
    if (header && p.seq == 0 && !journal_chain_follows(line, &p, ZEROS))
      return verify_break(v, JOURNAL_DAMAGE_CHANGED, 0,
                          "the chain's header (record 0, line %zu) does not match its link: it was "
                          "changed",
                          v->lines);
    if (!header || p.seq != 0)
      return verify_break(v, JOURNAL_DAMAGE_REMOVED, 0,
                          "the chain's header (record 0) is missing before line %zu", v->lines);
    v->chained = 1;
    v->hmac = hmac;
    memcpy(v->first, p.hash, sizeof v->first);
    verify_advance(v, &p);
    return verify_mac(v, &p);
  }
  if (!linked || p.seq != v->seq + 1 || !journal_chain_follows(line, &p, v->head))
    return verify_classify(v, line, len);
  /* A header within the chain says whether macs follow from it on (the
   * key was set or taken away); it is linked like any record. Links that
   * had macs and stop having them were added by someone without the key,
   * when the key is there to tell. */
  if (header) {
    if (v->hmac && !hmac && v->key.len)
      return verify_break(v, JOURNAL_DAMAGE_INSERTED, p.seq,
                          "from record %llu (line %zu) on, the records carry no HMAC although "
                          "those before did: they were added by someone without the key",
                          p.seq, v->lines);
    v->hmac = hmac;
  }
  if (verify_mac(v, &p) != 0) return -1;
  verify_advance(v, &p);
  return 0;
}

void journal_verifier_torn(journal_verifier *v, size_t len) {
  if (v->broken || !v->chained) {
    journal_verifier_end(v);
    return;
  }
  v->lines++;
  verify_break(v, JOURNAL_DAMAGE_TRUNCATED, v->seq + 1,
               "the file ends inside record %llu (line %zu, %zu bytes without a newline): it was "
               "truncated",
               v->seq + 1, v->lines, len);
}

void journal_verifier_end(journal_verifier *v) {
  if (v->deciding) verify_tell(v, 0);
}

int journal_verify_bytes(journal_verifier *v, const char *data, size_t len) {
  size_t at = 0;
  while (at < len && (!v->broken || v->deciding)) {
    const char *nl = memchr(data + at, '\n', len - at);
    if (!nl) {
      journal_verifier_torn(v, len - at);
      break;
    }
    journal_verifier_line(v, data + at, (size_t)(nl - data) - at);
    at = (size_t)(nl - data) + 1;
  }
  journal_verifier_end(v);
  return v->broken ? -1 : 0;
}
