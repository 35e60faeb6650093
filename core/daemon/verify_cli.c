#include "verify_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_args.h"
#include "config.h"
#include "journal_files.h"
#include "journal_key.h"
#include "journal_reader.h"
#include "journal_store.h"
#include "journal_verify.h"
#include "limits_table.h"

typedef struct verify_run {
  journal_chain_key key;
  json_t *index;   /* session id -> {first, seq, link, deleted}, or NULL without one */
  json_t *reports; /* what --json prints */
  int broken, unreadable;
} verify_run;

static void hex_of(const unsigned char *hash, char out[JOURNAL_CHAIN_HEX_CHARS + 1]) {
  journal_chain_hex(hash, JOURNAL_CHAIN_HASH_BYTES, out);
  out[JOURNAL_CHAIN_HEX_CHARS] = '\0';
}

static json_t *report_new(const char *session, const char *path, const char *status) {
  return json_pack("{s:s, s:s, s:s}", "session_id", session, "path", path, "status", status);
}

static void report_break(verify_run *run, json_t *r, journal_damage d, unsigned long long record,
                         size_t line, const char *why) {
  json_object_set_new(r, "status", json_string("broken"));
  json_object_set_new(r, "damage", json_string(journal_damage_name(d)));
  json_object_set_new(r, "record", json_integer((json_int_t)record));
  if (line) json_object_set_new(r, "line", json_integer((json_int_t)line));
  json_object_set_new(r, "why", json_string(why));
  run->broken = 1;
}

/* --- the sessions index ---------------------------------------------------- */

static void index_note(json_t *index, const json_t *rec) {
  const char *kind = json_string_value(json_object_get(rec, "kind"));
  const char *id = json_string_value(json_object_get(rec, "session_id"));
  const char *link = json_string_value(json_object_get(rec, "link"));
  if (!kind || !id || !link || strlen(link) != JOURNAL_CHAIN_HEX_CHARS) return;
  json_t *entry = json_object_get(index, id);
  if (!entry) {
    entry = json_object();
    json_object_set_new(index, id, entry);
  }
  if (strcmp(kind, "created") == 0) {
    json_object_set_new(entry, "first", json_string(link));
    json_object_del(entry, "record");
    json_object_del(entry, "link");
  } else if (strcmp(kind, "checkpoint") == 0 || strcmp(kind, "deleted") == 0) {
    json_object_set(entry, "record", json_object_get(rec, "record"));
    json_object_set_new(entry, "link", json_string(link));
    if (strcmp(kind, "deleted") == 0) json_object_set_new(entry, "deleted", json_true());
  }
}

/* Reads dir/index/sessions.jsonl when there is one: checked like any
 * journal, its records up to a break taken as what it vouches for. */
static void index_load(verify_run *run, const char *dir) {
  char *path = NULL, *data = NULL, err[1024];
  size_t len;
  struct stat st;
  if (asprintf(&path, "%s/%s", dir, JOURNAL_INDEX_FILE) < 0) return;
  if (stat(path, &st) != 0) {
    free(path);
    return;
  }
  json_t *r = report_new("(sessions index)", path, "intact");
  if (journal_files_read(path, VERIFY_MAX_INDEX_BYTES, &data, &len, err, sizeof err) != 0) {
    json_object_set_new(r, "status", json_string("unreadable"));
    json_object_set_new(r, "why", json_string(err));
    run->unreadable = 1;
    json_array_append_new(run->reports, r);
    free(path);
    return;
  }
  journal_verifier v;
  journal_verifier_init(&v, &run->key);
  journal_verify_bytes(&v, data, len);
  if (v.broken) report_break(run, r, v.damage, v.break_record, v.break_line, v.why);
  json_object_set_new(r, "records", json_integer((json_int_t)v.seq));
  run->index = json_object();
  journal_reader reader;
  journal_reader_init(&reader, data, len);
  json_t *rec;
  journal_read_result res;
  while ((res = journal_reader_next(&reader, &rec, err, sizeof err)) == JOURNAL_READ_RECORD ||
         res == JOURNAL_READ_GARBAGE) {
    if (v.broken && reader.line >= v.break_line) {
      json_decref(rec);
      break;
    }
    if (rec) index_note(run->index, rec);
    json_decref(rec);
  }
  json_array_append_new(run->reports, r);
  free(data);
  free(path);
}

/* What the index vouches for, against what the journal holds. */
static void index_check(verify_run *run, json_t *r, const char *id, const journal_verifier *v) {
  json_t *entry = json_object_get(run->index, id);
  char why[512], hex[JOURNAL_CHAIN_HEX_CHARS + 1];
  if (!entry || !json_object_get(entry, "first")) {
    report_break(run, r, JOURNAL_DAMAGE_INSERTED, 0, 0,
                 "the sessions index does not name this journal: it was made outside the daemon, "
                 "or the index was cut back");
    return;
  }
  json_object_set_new(entry, "seen", json_true());
  hex_of(v->first, hex);
  if (strcmp(json_string_value(json_object_get(entry, "first")), hex) != 0) {
    report_break(run, r, JOURNAL_DAMAGE_CHANGED, 0, 0,
                 "its header is not the one the sessions index recorded: the journal was "
                 "replaced");
    return;
  }
  json_t *seq = json_object_get(entry, "record");
  if (!seq) return;
  unsigned long long want = (unsigned long long)json_integer_value(seq);
  if (v->seq < want) {
    snprintf(why, sizeof why,
             "the sessions index recorded record %llu, and the journal ends at record %llu: it "
             "was cut back",
             want, v->seq);
    report_break(run, r, JOURNAL_DAMAGE_TRUNCATED, v->seq + 1, 0, why);
    return;
  }
  hex_of(v->want_hash, hex);
  if (!v->want_found || strcmp(json_string_value(json_object_get(entry, "link")), hex) != 0) {
    snprintf(why, sizeof why,
             "record %llu is not the one the sessions index recorded: the journal was rewritten",
             want);
    report_break(run, r, JOURNAL_DAMAGE_CHANGED, want, 0, why);
  }
}

/* Sessions the index names whose journals are gone, other than those
 * retention deleted. */
static void index_missing(verify_run *run) {
  const char *id;
  json_t *entry;
  json_object_foreach(run->index, id, entry) {
    if (json_is_true(json_object_get(entry, "seen")) ||
        json_is_true(json_object_get(entry, "deleted")))
      continue;
    json_t *r = report_new(id, "", "broken");
    char why[256];
    json_t *seq = json_object_get(entry, "record");
    snprintf(why, sizeof why,
             "the sessions index names this session (its last checkpoint: record %lld), and its "
             "journal is gone: it was deleted outside the daemon",
             seq ? (long long)json_integer_value(seq) : 0LL);
    report_break(run, r, JOURNAL_DAMAGE_REMOVED, 0, 0, why);
    json_array_append_new(run->reports, r);
  }
}

/* --- one journal -------------------------------------------------------------- */

static void session_of(const char *path, char *id, size_t idlen) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(id, idlen, "%.*s", (int)strcspn(base, "."), base);
}

static void verify_journal(verify_run *run, const char *path) {
  char id[128], err[1024], *data = NULL;
  session_of(path, id, sizeof id);
  const char *base = strrchr(path, '/');
  int named = journal_files_is_session(base ? base + 1 : path);
  json_t *r = report_new(id, path, "intact");
  json_array_append_new(run->reports, r);
  size_t len;
  if (journal_files_read(path, VERIFY_MAX_JOURNAL_BYTES, &data, &len, err, sizeof err) != 0) {
    json_object_set_new(r, "status", json_string("unreadable"));
    json_object_set_new(r, "why", json_string(err));
    run->unreadable = 1;
    return;
  }
  journal_verifier v;
  journal_verifier_init(&v, &run->key);
  json_t *entry = run->index ? json_object_get(run->index, id) : NULL;
  json_t *checkpoint = json_object_get(entry, "record");
  if (checkpoint) v.want_seq = (unsigned long long)json_integer_value(checkpoint);
  journal_verify_bytes(&v, data, len);
  free(data);
  json_object_set_new(r, "records", json_integer((json_int_t)(v.chained ? v.seq : 0)));
  json_object_set_new(r, "unchained_lines", json_integer((json_int_t)v.unchained_lines));
  if (v.broken) {
    report_break(run, r, v.damage, v.break_record, v.break_line, v.why);
    return;
  }
  if (!v.chained) {
    json_object_set_new(r, "status", json_string("unchained"));
    return;
  }
  char hex[JOURNAL_CHAIN_HEX_CHARS + 1];
  hex_of(v.head, hex);
  json_object_set_new(r, "link", json_string(hex));
  json_object_set_new(r, "hmac",
                      json_string(v.macs_checked      ? "checked"
                                  : v.unauthenticated ? "absent"
                                                      : "not checked"));
  if (named && strcmp(v.name, id) != 0) {
    char why[256];
    snprintf(why, sizeof why,
             "its header names the journal \"%s\": it was copied from another session", v.name);
    report_break(run, r, JOURNAL_DAMAGE_CHANGED, 0, 0, why);
    return;
  }
  if (run->index && named) index_check(run, r, id, &v);
}

/* --- output --------------------------------------------------------------- */

static void print_report(const json_t *r) {
  const char *status = json_string_value(json_object_get(r, "status"));
  const char *id = json_string_value(json_object_get(r, "session_id"));
  const char *label = strcmp(id, "(sessions index)") == 0 ? "sessions index" : "session";
  if (strcmp(label, "session") == 0)
    printf("session %s: ", id);
  else
    printf("sessions index: ");
  long long records = json_integer_value(json_object_get(r, "records"));
  long long unchained = json_integer_value(json_object_get(r, "unchained_lines"));
  if (strcmp(status, "broken") == 0) {
    json_t *line = json_object_get(r, "line");
    printf("BROKEN at record %lld", json_integer_value(json_object_get(r, "record")));
    if (line) printf(" (line %lld)", json_integer_value(line));
    printf(": %s: %s\n", json_string_value(json_object_get(r, "damage")),
           json_string_value(json_object_get(r, "why")));
  } else if (strcmp(status, "unreadable") == 0) {
    printf("UNREADABLE: %s\n", json_string_value(json_object_get(r, "why")));
  } else if (strcmp(status, "unchained") == 0) {
    printf("unchained: %lld lines written before journals were chained\n", unchained);
  } else {
    const char *hmac = json_string_value(json_object_get(r, "hmac"));
    printf("intact: %lld records", records);
    if (unchained) printf(" after %lld unchained lines", unchained);
    if (hmac && strcmp(hmac, "checked") == 0)
      printf(", HMAC checked");
    else if (hmac && strcmp(hmac, "absent") == 0)
      printf(", written without an HMAC");
    else if (hmac)
      printf(", HMAC not checked (no key given)");
    const char *link = json_string_value(json_object_get(r, "link"));
    if (link) printf(", head %s", link);
    printf("\n");
  }
}

static int usage(void) {
  fprintf(stderr, "usage: breakglass verify JOURNAL|DIR [--key FILE] [--json]\n");
  return 2;
}

static int run_key(verify_run *run, const char *path, unsigned char **bytes) {
  char err[768], *raw = NULL;
  size_t raw_len;
  if (!path) return 0;
  if (journal_key_read(path, bytes, &run->key.len, &raw, &raw_len, err, sizeof err) != 0) {
    fprintf(stderr, "breakglass verify: %s\n", err);
    return -1;
  }
  free(raw);
  run->key.bytes = *bytes;
  return 0;
}

int verify_main(int argc, char **argv) {
  const char *target = NULL, *key_path = NULL;
  int as_json = 0;
  if (cli_args_parse(argc, argv, &target, "--key", &key_path, &as_json) != 0) return usage();
  bg_config c;
  char err[1024];
  if (config_load(&c, 0, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "breakglass: %s\n", err);
    return 2;
  }
  verify_run run = {.reports = json_array()};
  unsigned char *key = NULL;
  if (run_key(&run, key_path ? key_path : c.journal_hmac_key_path, &key) != 0) {
    config_free(&c);
    json_decref(run.reports);
    return 2;
  }
  struct stat st;
  int folder = stat(target, &st) == 0 && S_ISDIR(st.st_mode);
  if (folder) {
    char **names = NULL;
    size_t count = 0;
    index_load(&run, target);
    if (journal_files_list(target, &names, &count, err, sizeof err) != 0) {
      fprintf(stderr, "breakglass verify: %s\n", err);
      run.unreadable = 1;
    }
    for (size_t i = 0; i < count; i++) {
      char *path = NULL;
      if (asprintf(&path, "%s/%s", target, names[i]) < 0) continue;
      verify_journal(&run, path);
      free(path);
    }
    journal_files_free(names, count);
    if (run.index) index_missing(&run);
  } else {
    char *dir = strdup(target), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) *slash = '\0';
    if (dir) index_load(&run, slash ? dir : ".");
    free(dir);
    verify_journal(&run, target);
  }
  if (as_json) {
    json_dumpf(run.reports, stdout, JSON_INDENT(2));
    putchar('\n');
  } else {
    size_t i;
    json_t *r;
    json_array_foreach(run.reports, i, r) print_report(r);
  }
  int rc = run.broken ? 1 : run.unreadable ? 2 : 0;
  json_decref(run.reports);
  json_decref(run.index);
  free(key);
  config_free(&c);
  return rc;
}
