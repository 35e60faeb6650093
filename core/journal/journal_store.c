#include "journal_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal_key.h"
#include "limits_table.h"
#include "log.h"

#define JOURNAL_DIR_MODE 0700

struct journal_store {
  uv_loop_t *loop;
  redactor *redactor;
  journal_metrics metrics;
  char *sessions_dir; /* NULL when it could not be made */
  char dir_error[512];
  unsigned char *key_bytes; /* the HMAC key, or NULL */
  journal_chain_key key;
  journal *index; /* the sessions index, or NULL */
  int index_full; /* past JOURNAL_INDEX_MAX_BYTES: said once */
};

static int mkdir_p(const char *path, char *err, size_t errlen) {
  char *copy = strdup(path);
  if (!copy) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (char *p = copy + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char was = *p;
    *p = '\0';
    if (mkdir(copy, JOURNAL_DIR_MODE) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "cannot create the folder %s: %s", copy, strerror(errno));
      free(copy);
      return -1;
    }
    if (was == '\0') break;
    *p = was;
  }
  free(copy);
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s is not a folder", path);
    return -1;
  }
  return 0;
}

static int store_read_key(journal_store *st, const char *path);
static void store_open_index(journal_store *st);

static void store_add_secret(journal_store *st, const char *value) {
  if (value && redactor_add(st->redactor, value, strlen(value)) != 0)
    log_error("journal: out of memory noting a secret");
}

journal_store *journal_store_open(uv_loop_t *loop, const journal_store_options *o) {
  journal_store *st = calloc(1, sizeof *st);
  if (st) st->redactor = redactor_new();
  if (!st || !st->redactor) {
    log_error("journal: out of memory");
    free(st);
    return NULL;
  }
  st->loop = loop;
  if (o->metrics) st->metrics = *o->metrics;
  for (size_t i = 0; i < o->secret_count; i++) store_add_secret(st, o->secrets[i]);
  if (o->key_pem && redactor_add_key_file(st->redactor, o->key_pem, o->key_len) != 0)
    log_error("journal: out of memory noting the SSH key as a secret");
  if (store_read_key(st, o->hmac_key_path) != 0) return st;

  if (mkdir_p(o->sessions_dir, st->dir_error, sizeof st->dir_error) != 0 ||
      !(st->sessions_dir = strdup(o->sessions_dir))) {
    log_error("journal: %s; sessions run without a journal and every action is refused",
              st->dir_error[0] ? st->dir_error : "out of memory");
    return st;
  }
  store_open_index(st);
  return st;
}

void journal_store_close(journal_store *st) {
  if (!st) return;
  journal_close(st->index);
  redactor_free(st->redactor);
  free(st->sessions_dir);
  free(st->key_bytes);
  free(st);
}

const journal_chain_key *journal_store_key(const journal_store *st) {
  static const journal_chain_key none;
  return st ? &st->key : &none;
}

/* The HMAC key is a secret like the others: its bytes never leave. A key
 * that is set but cannot be read leaves the sessions without a journal
 * (and so without actions) rather than silently unauthenticated. */
static int store_read_key(journal_store *st, const char *path) {
  if (!path) return 0;
  char *raw = NULL;
  size_t raw_len = 0;
  if (journal_key_read(path, &st->key_bytes, &st->key.len, &raw, &raw_len, st->dir_error,
                       sizeof st->dir_error) != 0) {
    log_error("journal: %s; sessions run without a journal and every action is refused",
              st->dir_error);
    return -1;
  }
  st->key.bytes = st->key_bytes;
  if (redactor_add_key_file(st->redactor, raw, raw_len) != 0 ||
      redactor_add(st->redactor, (const char *)st->key_bytes, st->key.len) != 0)
    log_error("journal: out of memory noting the journal HMAC key as a secret");
  free(raw);
  return 0;
}

/* The sessions index (docs/journal.md, "Integrity"): an append-only,
 * chained journal of its own that names every session journal begun, the
 * head of each at the end of every turn, and each one retention deleted.
 * Without it the index records nothing, and sessions go on. */
static void store_open_index(journal_store *st) {
  char err[768], *path = NULL;
  if (asprintf(&path, "%s/%s", st->sessions_dir, JOURNAL_INDEX_DIR) < 0) return;
  int made = mkdir(path, JOURNAL_DIR_MODE) == 0 || errno == EEXIST;
  free(path);
  path = NULL;
  if (!made) {
    log_error("journal: no sessions index: cannot create %s/%s: %s", st->sessions_dir,
              JOURNAL_INDEX_DIR, strerror(errno));
    return;
  }
  if (asprintf(&path, "%s/%s", st->sessions_dir, JOURNAL_INDEX_FILE) < 0) return;
  if (journal_open(&st->index, st->loop, path, NULL, err, sizeof err) != 0) {
    log_error("journal: no sessions index: %s", err);
  } else {
    journal_use_key(st->index, &st->key);
  }
  free(path);
}

static void store_index_record(journal_store *st, const char *what, const char *id,
                               unsigned long long seq,
                               const unsigned char hash[JOURNAL_CHAIN_HASH_BYTES],
                               const char *reason) {
  char hex[JOURNAL_CHAIN_HEX_CHARS + 1], err[768];
  if (!st->index) return;
  if (journal_bytes(st->index) > JOURNAL_INDEX_MAX_BYTES) {
    if (!st->index_full)
      log_error("journal: the sessions index %s/%s has passed %u MiB and takes no more records; "
                "move it aside (verify then checks each journal alone) and restart",
                st->sessions_dir, JOURNAL_INDEX_FILE, JOURNAL_INDEX_MAX_BYTES >> 20);
    st->index_full = 1;
    return;
  }
  journal_chain_hex(hash, JOURNAL_CHAIN_HASH_BYTES, hex);
  hex[JOURNAL_CHAIN_HEX_CHARS] = '\0';
  json_t *fields = json_pack("{s:s, s:I, s:s}", "session_id", id, "record", (json_int_t)seq, "link",
                             hex);
  if (fields && reason) json_object_set_new(fields, "reason", json_string(reason));
  if (journal_append(st->index, what, fields, err, sizeof err) != 0)
    log_error("journal: sessions index: %s", err);
}

static void store_index(journal_store *st, const char *what, const char *id, journal *j,
                        const char *reason) {
  unsigned long long seq;
  unsigned char hash[JOURNAL_CHAIN_HASH_BYTES];
  if (j && journal_head(j, &seq, hash) == 0) store_index_record(st, what, id, seq, hash, reason);
}

void journal_store_checkpoint(journal_store *st, const char *id, journal *j) {
  unsigned long long seq;
  unsigned char hash[JOURNAL_CHAIN_HASH_BYTES];
  char hex[JOURNAL_CHAIN_HEX_CHARS + 1];
  if (!st || !j || journal_take_checkpoint(j, &seq, hash) != 0) return;
  journal_chain_hex(hash, sizeof hash, hex);
  hex[JOURNAL_CHAIN_HEX_CHARS] = '\0';
  /* The log leaves the pod: a witness of the head that no one with the
   * volume alone can take back. */
  log_info("session %s: journal at record %llu, link %s", id, seq, hex);
  store_index_record(st, "checkpoint", id, seq, hash, NULL);
}

void journal_store_deleted(journal_store *st, const char *id, journal *j, const char *reason) {
  if (st) store_index(st, "deleted", id, j, reason);
}

const redactor *journal_store_redactor(const journal_store *st) { return st ? st->redactor : NULL; }

int journal_store_open_session(journal_store *st, journal **out, const char *id, char *err,
                               size_t errlen) {
  *out = NULL;
  if (!st || !st->sessions_dir) {
    snprintf(err, errlen, "%s",
             st && st->dir_error[0] ? st->dir_error : "the journal store is not open");
    return -1;
  }
  char *path = NULL;
  if (asprintf(&path, "%s/%s.jsonl", st->sessions_dir, id) < 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int rc = journal_open(out, st->loop, path, st->redactor, err, errlen);
  free(path);
  if (rc != 0) return rc;
  journal_set_metrics(*out, &st->metrics);
  journal_use_key(*out, &st->key);
  int fresh = journal_begin(*out, err, errlen);
  if (fresh < 0) {
    journal_close(*out);
    *out = NULL;
    return -1;
  }
  if (fresh) store_index(st, "created", id, *out, NULL);
  return 0;
}
