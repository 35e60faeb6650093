#include "search_index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array_grow.h"
#include "journal_chain.h"
#include "journal_files.h"
#include "journal_reader.h"
#include "journal_store.h"
#include "limits_table.h"
#include "log.h"

#define SEARCH_INDEX_VERSION 1
#define SEARCH_DIR_MODE 0700

typedef struct search_entry {
  char id[64];
  search_session_docs docs;
  size_t covered; /* journal bytes read: whole lines */
  /* The last line read (of at most the record cap): the journal is the
   * one the index was built from while it still holds it here. */
  size_t tail_at, tail_len;
  unsigned char tail_hash[JOURNAL_CHAIN_HASH_BYTES];
  int fd;         /* during a refresh, when it had to be read */
  size_t size;    /* the journal's, at this refresh */
  double mtime;   /* the journal's, to order by */
  double checked; /* its mtime when the index last matched it */
  int searched;   /* within the memory bound */
  int seen;       /* in the folder at the last refresh */
  int saved;      /* its index file is written or was read */
} search_entry;

struct search_index {
  char *dir;
  char *index_dir; /* NULL: index files are not kept */
  search_entry **entries;
  size_t count, cap;
  size_t unsearched;
};

search_index *search_index_new(const char *sessions_dir, int persist) {
  search_index *ix = calloc(1, sizeof *ix);
  if (!ix || !(ix->dir = strdup(sessions_dir))) {
    free(ix);
    return NULL;
  }
  if (persist && asprintf(&ix->index_dir, "%s/%s/search", sessions_dir, JOURNAL_INDEX_DIR) < 0)
    ix->index_dir = NULL;
  return ix;
}

static void entry_free(search_entry *e) {
  if (!e) return;
  search_session_docs_free(&e->docs);
  free(e);
}

void search_index_free(search_index *ix) {
  if (!ix) return;
  for (size_t i = 0; i < ix->count; i++) entry_free(ix->entries[i]);
  free(ix->entries);
  free(ix->dir);
  free(ix->index_dir);
  free(ix);
}

static void sha256(const void *data, size_t len, unsigned char out[JOURNAL_CHAIN_HASH_BYTES]) {
  unsigned int n = 0;
  if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
    memset(out, 0, JOURNAL_CHAIN_HASH_BYTES);
}

static void entry_reset(search_entry *e) {
  search_session_docs_free(&e->docs);
  search_session_docs_init(&e->docs);
  e->covered = e->tail_at = e->tail_len = 0;
  memset(e->tail_hash, 0, sizeof e->tail_hash);
}

/* --- reading a journal from where the index stopped ---------------------------- */

/* Whether the journal still holds, at tail_at, the line the index read last. */
static int tail_still_there(const search_entry *e) {
  if (e->tail_len == 0) return 1;
  char *line = malloc(e->tail_len);
  int ok = line && pread(e->fd, line, e->tail_len, (off_t)e->tail_at) == (ssize_t)e->tail_len;
  unsigned char hash[JOURNAL_CHAIN_HASH_BYTES];
  if (ok) sha256(line, e->tail_len, hash);
  free(line);
  return ok && memcmp(hash, e->tail_hash, sizeof hash) == 0;
}

static void entry_line(search_entry *e, const char *line, size_t n, size_t at) {
  e->tail_at = at;
  e->tail_len = n + 1;
  e->covered = at + n + 1;
  sha256(line, n + 1, e->tail_hash);
  json_t *rec = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
  if (json_is_object(rec)) search_session_docs_add(&e->docs, rec);
  json_decref(rec);
}

/* Past a line longer than the record cap (garbage, as recovery says):
 * the bytes up to its newline, or 0 when the journal ends first. */
static size_t skip_line(const search_entry *e, char *buf, size_t cap, size_t from) {
  for (size_t at = from; at < e->size;) {
    ssize_t r = pread(e->fd, buf, cap, (off_t)at);
    if (r <= 0) return 0;
    char *nl = memchr(buf, '\n', (size_t)r);
    if (nl) return at + (size_t)(nl - buf) + 1 - from;
    at += (size_t)r;
  }
  return 0;
}

/* Reads the whole lines from covered to the journal's size, a piece at a
 * time: a line is held whole only while it is read (at most the record
 * cap). */
static void entry_read(search_entry *e) {
  size_t cap = SEARCH_READ_BYTES, have = 0, at = e->covered;
  char *buf = malloc(cap);
  while (buf && at + have < e->size) {
    if (have == cap) {
      char *more = cap <= JOURNAL_MAX_RECORD_BYTES ? realloc(buf, cap * 2) : NULL;
      if (more) {
        buf = more;
        cap *= 2;
      } else {
        size_t skipped = skip_line(e, buf, cap, at);
        if (!skipped) break;
        at += skipped;
        e->covered = at;
        have = 0;
        continue;
      }
    }
    size_t left = e->size - at - have, want = cap - have < left ? cap - have : left;
    ssize_t r = pread(e->fd, buf + have, want, (off_t)(at + have));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    have += (size_t)r;
    size_t start = 0;
    for (char *nl; (nl = memchr(buf + start, '\n', have - start));) {
      size_t n = (size_t)(nl - (buf + start));
      entry_line(e, buf + start, n, at + start);
      start += n + 1;
    }
    memmove(buf, buf + start, have - start);
    have -= start;
    at += start;
  }
  free(buf);
}

/* --- the index file ------------------------------------------------------------ */

static char *index_path(const search_index *ix, const char *id, const char *suffix) {
  char *path = NULL;
  if (!ix->index_dir || asprintf(&path, "%s/%s.idx%s", ix->index_dir, id, suffix) < 0) return NULL;
  return path;
}

static json_t *entry_header(const search_entry *e) {
  char hex[JOURNAL_CHAIN_HEX_CHARS + 1];
  journal_chain_hex(e->tail_hash, sizeof e->tail_hash, hex);
  hex[JOURNAL_CHAIN_HEX_CHARS] = '\0';
  const search_session_docs *d = &e->docs;
  json_t *h = json_pack("{s:i, s:I, s:I, s:I, s:s, s:I, s:s?, s:b}", "version",
                        SEARCH_INDEX_VERSION, "journal_bytes", (json_int_t)e->covered, "tail_at",
                        (json_int_t)e->tail_at, "tail_len", (json_int_t)e->tail_len, "tail_sha256",
                        hex, "last_event_id", (json_int_t)d->last_event_id, "title", d->title,
                        "operator", d->operator_session);
  if (h && isfinite(d->created_ms))
    json_object_set_new(h, "created", json_integer((json_int_t)d->created_ms));
  if (h && isfinite(d->last_ms))
    json_object_set_new(h, "last", json_integer((json_int_t)d->last_ms));
  return h;
}

/* Written aside and renamed over: a crash leaves the old file or the new. */
static void entry_save(const search_index *ix, search_entry *e) {
  char suffix[32];
  snprintf(suffix, sizeof suffix, ".%ld.tmp", (long)getpid());
  char *path = index_path(ix, e->id, ""), *tmp = index_path(ix, e->id, suffix);
  FILE *f = tmp ? fopen(tmp, "we") : NULL;
  int ok = f != NULL;
  json_t *h = ok ? entry_header(e) : NULL;
  ok = h && json_dumpf(h, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF;
  json_decref(h);
  for (size_t i = 0; ok && i < e->docs.count; i++) {
    json_t *d = search_doc_to_json(&e->docs.docs[i]);
    ok = d && json_dumpf(d, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF;
    json_decref(d);
  }
  if (f && fclose(f) != 0) ok = 0;
  if (ok && rename(tmp, path) != 0) ok = 0;
  if (!ok && tmp) unlink(tmp);
  e->saved = ok;
  free(path);
  free(tmp);
}

/* The index file, when it parses whole: 0, else -1 (and e is reset). */
static int entry_load(const search_index *ix, search_entry *e) {
  char *path = index_path(ix, e->id, ""), *data = NULL, err[512];
  size_t len = 0;
  int rc = path && journal_files_read(path, SEARCH_MAX_INDEX_FILE_BYTES, &data, &len, err,
                                      sizeof err) == 0
               ? 0
               : -1;
  free(path);
  journal_reader r;
  journal_reader_init(&r, data ? data : "", len);
  for (size_t line = 0; rc == 0 && r.pos < len; line++) {
    const char *start = data + r.pos, *nl = memchr(start, '\n', len - r.pos);
    if (!nl) {
      rc = -1;
      break;
    }
    json_t *j = json_loadb(start, (size_t)(nl - start), 0, NULL);
    r.pos += (size_t)(nl - start) + 1;
    if (line == 0) {
      const char *hex = json_string_value(json_object_get(j, "tail_sha256"));
      const char *title = json_string_value(json_object_get(j, "title"));
      json_t *created = json_object_get(j, "created"), *last = json_object_get(j, "last");
      if (json_integer_value(json_object_get(j, "version")) != SEARCH_INDEX_VERSION || !hex ||
          strlen(hex) != JOURNAL_CHAIN_HEX_CHARS ||
          journal_chain_unhex(hex, JOURNAL_CHAIN_HASH_BYTES, e->tail_hash) != 0) {
        rc = -1;
      } else {
        e->covered = (size_t)json_integer_value(json_object_get(j, "journal_bytes"));
        e->tail_at = (size_t)json_integer_value(json_object_get(j, "tail_at"));
        e->tail_len = (size_t)json_integer_value(json_object_get(j, "tail_len"));
        e->docs.last_event_id = (unsigned long long)json_integer_value(
            json_object_get(j, "last_event_id"));
        e->docs.title = title ? strdup(title) : NULL;
        e->docs.operator_session = json_is_true(json_object_get(j, "operator"));
        e->docs.created_ms = json_is_integer(created) ? (double)json_integer_value(created) : NAN;
        e->docs.last_ms = json_is_integer(last) ? (double)json_integer_value(last) : NAN;
        if (e->tail_at + e->tail_len > e->covered || e->tail_len > JOURNAL_MAX_RECORD_BYTES + 1)
          rc = -1;
      }
    } else {
      search_session_docs *s = &e->docs;
      if (ARRAY_GROW(s->docs, s->cap, s->count, 16) != 0) rc = -1;
      search_doc *d = rc == 0 ? &s->docs[s->count] : NULL;
      if (d && search_doc_from_json(d, j) != 0) {
        search_doc_free(d);
        rc = -1;
      } else if (d) {
        s->count++;
        s->words += d->word_count;
        if (d->call_id)
          json_object_set_new(s->calls, d->call_id, json_integer((json_int_t)(s->count - 1)));
      }
    }
    json_decref(j);
  }
  free(data);
  if (rc != 0) entry_reset(e);
  e->saved = rc == 0;
  return rc;
}

/* --- refresh ------------------------------------------------------------------- */

static search_entry *entry_find(const search_index *ix, const char *id) {
  size_t lo = 0, hi = ix->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(ix->entries[mid]->id, id);
    if (c == 0) return ix->entries[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* The entry for a journal: kept, or new (from its index file when there
 * is one). Entries stay sorted by id. */
static search_entry *entry_get(search_index *ix, const char *id) {
  search_entry *e = entry_find(ix, id);
  if (e) return e;
  if (ARRAY_GROW(ix->entries, ix->cap, ix->count, 64) != 0) return NULL;
  e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->fd = -1;
  snprintf(e->id, sizeof e->id, "%s", id);
  search_session_docs_init(&e->docs);
  if (ix->index_dir) entry_load(ix, e);
  size_t at = ix->count;
  while (at > 0 && strcmp(ix->entries[at - 1]->id, id) > 0) at--;
  memmove(&ix->entries[at + 1], &ix->entries[at], (ix->count - at) * sizeof *ix->entries);
  ix->entries[at] = e;
  ix->count++;
  return e;
}

/* Brings one entry up to date with its journal: unchanged since it was
 * checked (length and mtime), it is not even opened. */
static void entry_refresh(search_index *ix, search_entry *e) {
  if (e->covered == e->size && e->checked == e->mtime && e->saved) return;
  char *path = NULL;
  if (asprintf(&path, "%s/%s.jsonl", ix->dir, e->id) < 0) return;
  e->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  free(path);
  struct stat st;
  if (e->fd < 0 || fstat(e->fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  e->size = (size_t)st.st_size;
  size_t before = e->covered;
  unsigned long long events = e->docs.last_event_id;
  if (e->covered > e->size || !tail_still_there(e)) entry_reset(e);
  if (e->covered < e->size) entry_read(e);
  e->checked = e->mtime;
  if (ix->index_dir && (e->covered != before || e->docs.last_event_id != events || !e->saved))
    entry_save(ix, e);
}

static int by_mtime_desc(const void *x, const void *y) {
  const search_entry *a = *(search_entry *const *)x, *b = *(search_entry *const *)y;
  return a->mtime < b->mtime ? 1 : a->mtime > b->mtime ? -1 : strcmp(a->id, b->id);
}

/* Index files of journals that are gone go too. */
static void index_forget(search_index *ix) {
  size_t k = 0;
  for (size_t i = 0; i < ix->count; i++) {
    search_entry *e = ix->entries[i];
    if (e->seen) {
      ix->entries[k++] = e;
      continue;
    }
    char *path = index_path(ix, e->id, "");
    if (path) unlink(path);
    free(path);
    entry_free(e);
  }
  ix->count = k;
}

/* Whether an index folder's file is to keep: the index of a journal
 * still there, or a file being written (another process's, younger than
 * SEARCH_STALE_TMP_SECONDS). */
static int keep_file(const search_index *ix, char **names, size_t count, const char *idx_name) {
  size_t n = strlen(idx_name);
  if (n > 4 && strcmp(idx_name + n - 4, ".tmp") == 0) {
    char *path = NULL;
    struct stat st;
    int young = asprintf(&path, "%s/%s", ix->index_dir, idx_name) >= 0 && stat(path, &st) == 0 &&
                st.st_mtime + SEARCH_STALE_TMP_SECONDS > time(NULL);
    free(path);
    return young;
  }
  if (n < 5 || strcmp(idx_name + n - 4, ".idx") != 0) return 1; /* not an index file */
  for (size_t i = 0; i < count; i++)
    if (strncmp(names[i], idx_name, n - 4) == 0 && strcmp(names[i] + n - 4, ".jsonl") == 0)
      return 1;
  return 0;
}

/* Index files whose journal is gone, from this process's life or before. */
static void index_sweep(const search_index *ix, char **names, size_t count) {
  DIR *d = opendir(ix->index_dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (keep_file(ix, names, count, e->d_name)) continue;
    char *path = NULL;
    if (asprintf(&path, "%s/%s", ix->index_dir, e->d_name) >= 0) unlink(path);
    free(path);
  }
  if (d) closedir(d);
}

/* Each journal opened and measured; the index folder made and swept. */
static void index_survey(search_index *ix, char **names, size_t count) {
  if (ix->index_dir) {
    char *parent = NULL;
    if (asprintf(&parent, "%s/%s", ix->dir, JOURNAL_INDEX_DIR) >= 0) mkdir(parent, SEARCH_DIR_MODE);
    free(parent);
    mkdir(ix->index_dir, SEARCH_DIR_MODE);
    index_sweep(ix, names, count);
  }
  for (size_t i = 0; i < ix->count; i++) ix->entries[i]->seen = 0;
  int dir = open(ix->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (size_t i = 0; dir >= 0 && i < count; i++) {
    char id[64];
    snprintf(id, sizeof id, "%.*s", (int)strcspn(names[i], "."), names[i]);
    search_entry *e = entry_get(ix, id);
    struct stat st;
    if (!e || fstatat(dir, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    e->seen = 1;
    e->size = (size_t)st.st_size;
    e->mtime = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
  }
  if (dir >= 0) close(dir);
}

int search_index_refresh(search_index *ix, char *err, size_t errlen) {
  char **names = NULL;
  size_t count = 0;
  if (journal_files_list(ix->dir, &names, &count, err, errlen) != 0) return -1;
  index_survey(ix, names, count);
  journal_files_free(names, count);
  index_forget(ix);
  /* Newest first, within the memory bound: the sessions active longest
   * ago are not read at all once it is reached. */
  search_entry **order = ix->count ? malloc(ix->count * sizeof *order) : NULL;
  if (ix->count && !order) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (order) memcpy(order, ix->entries, ix->count * sizeof *order);
  if (order) qsort(order, ix->count, sizeof *order, by_mtime_desc);
  size_t words = 0;
  ix->unsearched = 0;
  for (size_t i = 0; i < ix->count; i++) {
    search_entry *e = order[i];
    if (words < SEARCH_MAX_INDEX_WORDS) entry_refresh(ix, e);
    words += e->docs.words;
    e->searched = words <= SEARCH_MAX_INDEX_WORDS;
    if (!e->searched) {
      ix->unsearched++;
      entry_reset(e); /* its memory goes; its file stays */
      e->checked = 0;
    }
    if (e->fd >= 0) close(e->fd);
    e->fd = -1;
  }
  free(order);
  return 0;
}

/* --- query ---------------------------------------------------------------------- */

static json_t *utc_json(double ms) {
  if (!isfinite(ms) || ms < 0) return json_null();
  char stamp[32];
  log_format_utc(stamp, (unsigned long long)ms);
  return json_string(stamp);
}

static json_t *hit_json(const search_doc *d) {
  json_t *h = json_pack("{s:I, s:s, s:o}", "event_id", (json_int_t)d->event_id, "kind",
                        search_doc_kind_name(d->kind), "ts", utc_json(d->ts_ms));
  if (!h) return NULL;
  if (d->kind == SEARCH_DOC_CALL) {
    json_object_set_new(h, "outcome", json_string(d->outcome));
    if (d->tool) json_object_set_new(h, "tool", json_string(d->tool));
    if (d->verb) json_object_set_new(h, "verb", json_string(d->verb));
    if (d->argument) json_object_set_new(h, "argument", json_string(d->argument));
    if (d->event_ids) json_object_set(h, "event_ids", d->event_ids);
  }
  json_object_set_new(h, "snippet", json_string(d->snippet ? d->snippet : ""));
  return h;
}

typedef struct session_hits {
  const search_entry *e;
  json_t *hits;
  size_t count;
  double newest; /* the newest hit's time */
} session_hits;

static int by_newest_hit(const void *x, const void *y) {
  const session_hits *a = x, *b = y;
  double ta = isfinite(a->newest) ? a->newest : -1, tb = isfinite(b->newest) ? b->newest : -1;
  if (ta != tb) return ta < tb ? 1 : -1;
  return strcmp(a->e->id, b->e->id);
}

json_t *search_index_query(const search_index *ix, const search_query *q) {
  session_hits *found = ix->count ? calloc(ix->count, sizeof *found) : NULL;
  size_t n = 0, searched = 0;
  for (size_t i = 0; i < ix->count; i++) {
    const search_entry *e = ix->entries[i];
    if (!e->seen || !e->searched) continue;
    searched++;
    session_hits sh = {.e = e, .newest = NAN};
    for (size_t k = 0; k < e->docs.count; k++) {
      const search_doc *d = &e->docs.docs[k];
      if (!search_query_matches(q, d)) continue;
      if (!sh.hits) sh.hits = json_array();
      if (sh.count++ < SEARCH_MAX_HITS_PER_SESSION_COUNT)
        json_array_append_new(sh.hits, hit_json(d));
      if (isfinite(d->ts_ms) && !(d->ts_ms <= sh.newest)) sh.newest = d->ts_ms;
    }
    if (sh.count && found)
      found[n++] = sh;
    else
      json_decref(sh.hits);
  }
  if (n) qsort(found, n, sizeof *found, by_newest_hit);
  json_t *sessions = json_array();
  for (size_t i = 0; i < n; i++) {
    const search_entry *e = found[i].e;
    if (i < q->limit)
      json_array_append_new(
          sessions, json_pack("{s:s, s:s?, s:s, s:o, s:o, s:I, s:o}", "session_id", e->id, "title",
                              e->docs.title, "kind", e->docs.operator_session ? "operator" : "chat",
                              "created", utc_json(e->docs.created_ms), "last_activity",
                              utc_json(e->docs.last_ms), "hit_count", (json_int_t)found[i].count,
                              "hits", found[i].hits));
    else
      json_decref(found[i].hits);
  }
  free(found);
  return json_pack("{s:O, s:o, s:I, s:I, s:I}", "query", q->given, "sessions", sessions,
                   "session_count", (json_int_t)n, "searched", (json_int_t)searched, "unsearched",
                   (json_int_t)ix->unsearched);
}
