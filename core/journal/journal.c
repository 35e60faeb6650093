#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal_chain.h"
#include "limits_table.h"
#include "log.h"

/* The header's random nonce. */
#define JOURNAL_NONCE_BYTES 32

struct journal {
  uv_loop_t *loop;
  int fd;
  char *path;
  size_t bytes;
  const redactor *redactor;
  journal_metrics metrics;
  uint64_t sync_started_ns; /* of the fdatasync running */
  /* Group commit: one fdatasync at a time. Waiters that ask while one runs
   * share the next, which covers everything written before they asked. */
  uv_fs_t sync_req;
  int syncing;
  journal_sync *in_sync;    /* waiters the running fdatasync answers */
  journal_sync *queued;     /* waiters for the next one */
  unsigned long long syncs; /* fdatasync calls started */
  int closing;              /* close once no fdatasync runs */
  /* The chain (journal_chain.h): the link of the last record and its
   * number. Until a record with a link is in the file (a new file, or one
   * written before journals were chained), the next record is preceded by
   * a header. */
  journal_chain_key key;
  unsigned char head[JOURNAL_CHAIN_HASH_BYTES];
  unsigned long long seq;
  int chained;
  int head_has_mac;
  unsigned long long checkpoint_seq; /* the head last checkpointed (or found at open) */
  char *damaged;                     /* why no new turn may start in it, or NULL */
};

struct journal_sync {
  journal_sync *next;
  journal_sync_cb cb; /* NULL once abandoned */
  void *ud;
};

/* Where the chain stands at the end of an existing file: the link of its
 * last line, when that line has one. */
static void journal_resume(journal *j, size_t size) {
  char tail[JOURNAL_CHAIN_SUFFIX_MAX_BYTES];
  size_t n = size < sizeof tail ? size : sizeof tail;
  int fd = n ? open(j->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
  ssize_t got = fd >= 0 ? pread(fd, tail, n, (off_t)(size - n)) : -1;
  if (fd >= 0) close(fd);
  if (got != (ssize_t)n) return;
  journal_chain_line last;
  if (journal_chain_parse(tail, n, &last) != 0 || tail[n - 1] != '\n') return;
  memcpy(j->head, last.hash, sizeof j->head);
  j->seq = j->checkpoint_seq = last.seq;
  j->chained = 1;
  j->head_has_mac = last.has_mac;
}

int journal_open(journal **out, uv_loop_t *loop, const char *path, const redactor *r, char *err,
                 size_t errlen) {
  *out = NULL;
  journal *j = calloc(1, sizeof *j);
  if (!j || !(j->path = strdup(path))) {
    free(j);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  /* Never through a symlink, never blocking on a FIFO, and only a regular
   * file of our own: the folder may hold what someone else put there. */
  j->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  struct stat st;
  const char *why = j->fd < 0 || fstat(j->fd, &st) != 0 ? strerror(errno)
                    : !S_ISREG(st.st_mode)              ? "not a regular file"
                    : st.st_uid != geteuid()            ? "owned by another user"
                                                        : NULL;
  if (why) {
    snprintf(err, errlen, "cannot open the journal %s: %s", path, why);
    if (j->fd >= 0) close(j->fd);
    free(j->path);
    free(j);
    return -1;
  }
  fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) & ~O_NONBLOCK);
  j->loop = loop;
  j->bytes = (size_t)st.st_size;
  j->redactor = r;
  journal_resume(j, j->bytes);
  *out = j;
  return 0;
}

void journal_use_key(journal *j, const journal_chain_key *key) {
  j->key = key ? *key : (journal_chain_key){0};
}

/* One write() of the whole line; on a short or failed write the file is
 * cut back, so what is there stays whole lines. */
static int journal_write_line(journal *j, const char *line, size_t len, char *err, size_t errlen) {
  ssize_t n;
  do n = write(j->fd, line, len);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)len) {
    j->bytes += len;
    metric_add(j->metrics.bytes_written, (double)len);
    return 0;
  }
  int saved = n < 0 ? errno : ENOSPC;
  if (n > 0 && ftruncate(j->fd, (off_t)j->bytes) != 0)
    log_error("journal %s: a record was cut short and could not be removed: %s", j->path,
              strerror(errno));
  snprintf(err, errlen, "cannot write the journal %s: %s", j->path, strerror(saved));
  return -1;
}

/* The chain moves on only once a record is whole in the file. */
static void journal_chain_commit(journal *j, unsigned long long seq,
                                 const unsigned char hash[JOURNAL_CHAIN_HASH_BYTES]) {
  memcpy(j->head, hash, sizeof j->head);
  j->seq = seq;
  j->chained = 1;
  j->head_has_mac = j->key.len > 0;
}

/* text (a record without its closing brace) linked after the head, as one
 * line in one write. */
static int journal_write_linked(journal *j, const char *text, size_t len, int fresh, char *err,
                                size_t errlen) {
  static const unsigned char zeros[JOURNAL_CHAIN_HASH_BYTES];
  unsigned long long seq = fresh ? 0 : j->seq + 1;
  journal_chain_link *link = journal_chain_link_start(fresh ? zeros : j->head);
  char *line = link ? malloc(len + 2 * JOURNAL_CHAIN_SUFFIX_MAX_BYTES) : NULL;
  if (!line) {
    journal_chain_link_free(link);
    snprintf(err, errlen, "out of memory writing the journal");
    return -1;
  }
  journal_chain_link_update(link, text, len);
  memcpy(line, text, len);
  unsigned char hash[JOURNAL_CHAIN_HASH_BYTES];
  size_t fed_len;
  char tail[JOURNAL_CHAIN_SUFFIX_MAX_BYTES];
  size_t tail_len = journal_chain_link_finish(link, seq, &j->key, hash, line + len, &fed_len, tail);
  memcpy(line + len + fed_len, tail, tail_len);
  int rc = journal_write_line(j, line, len + fed_len + tail_len, err, errlen);
  free(line);
  if (rc == 0) journal_chain_commit(j, seq, hash);
  return rc;
}

/* Before the first record of a chain, and whenever the HMAC setting
 * changed since the last one, a header: a random nonce, the journal's
 * name, and whether links carry a mac. After a record with a link it is
 * linked like any record; otherwise it starts a chain. */
static int journal_chain_ready(journal *j, char *err, size_t errlen) {
  if (j->chained && j->head_has_mac == (j->key.len > 0)) return 0;
  unsigned char raw[JOURNAL_NONCE_BYTES];
  char nonce[2 * JOURNAL_NONCE_BYTES + 1];
  if (uv_random(NULL, NULL, raw, sizeof raw, 0, NULL) != 0) {
    snprintf(err, errlen, "no randomness for the journal's nonce");
    return -1;
  }
  journal_chain_hex(raw, sizeof raw, nonce);
  nonce[2 * JOURNAL_NONCE_BYTES] = '\0';
  const char *base = strrchr(j->path, '/');
  base = base ? base + 1 : j->path;
  size_t name_len = strcspn(base, ".");
  char stamp[32];
  log_format_utc(stamp, log_now_ms());
  json_t *name = json_stringn(base, name_len);
  char *quoted = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
  json_decref(name);
  char *text = NULL;
  int n = quoted ? asprintf(&text,
                            "{\"ts\":\"%s\",\"kind\":\"chain\",\"version\":%d,\"journal\":%s,"
                            "\"nonce\":\"%s\",\"hmac\":%s",
                            stamp, JOURNAL_CHAIN_VERSION, quoted, nonce,
                            j->key.len > 0 ? "true" : "false")
                 : -1;
  free(quoted);
  if (n < 0) {
    snprintf(err, errlen, "out of memory writing the journal");
    return -1;
  }
  int rc = journal_write_linked(j, text, (size_t)n, !j->chained, err, errlen);
  free(text);
  return rc;
}

int journal_begin(journal *j, char *err, size_t errlen) {
  int fresh = !j->chained;
  if (journal_chain_ready(j, err, errlen) != 0) return -1;
  return fresh;
}

/* A record written as it is serialised: the JSON text gathers in raw,
 * goes through the redactor a piece at a time (a secret across pieces is
 * still caught) and out to the file in writes of at most out's size,
 * hashed into its link on the way. A long record (a whole long answer) is
 * never held whole, nor twice. If a write fails, what was written of the
 * record is cut back off the file and the chain stays where it was. */
typedef struct record_writer {
  journal *j;
  redactor_stream redact;
  journal_chain_link *link;
  size_t written;
  int error; /* errno of the first failure, or 0 */
  int held;  /* the last byte dumped is held back: the record's closing
                brace, which goes after the chain fields */
  char held_byte;
  size_t raw_len, out_len;
  char raw[JOURNAL_WRITE_CHUNK_BYTES];
  char out[JOURNAL_WRITE_CHUNK_BYTES];
} record_writer;

static void writer_flush(record_writer *w) {
  for (size_t off = 0; off < w->out_len && !w->error;) {
    ssize_t n = write(w->j->fd, w->out + off, w->out_len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      w->error = n < 0 ? errno : ENOSPC;
      break;
    }
    off += (size_t)n;
    w->written += (size_t)n;
  }
  w->out_len = 0;
}

/* p into a buffer of the writer (cap bytes, *len of them used), drained
 * each time it fills. */
static void writer_fill(record_writer *w, char *buf, size_t cap, size_t *len, const char *p,
                        size_t n, void (*drain)(record_writer *w)) {
  while (n > 0 && !w->error) {
    size_t k = cap - *len < n ? cap - *len : n;
    memcpy(buf + *len, p, k);
    *len += k;
    p += k;
    n -= k;
    if (*len == cap) drain(w);
  }
}

static void writer_out(record_writer *w, const char *p, size_t n) {
  writer_fill(w, w->out, sizeof w->out, &w->out_len, p, n, writer_flush);
}

static void writer_out_linked(record_writer *w, const char *p, size_t n) {
  journal_chain_link_update(w->link, p, n);
  writer_out(w, p, n);
}

/* What raw holds, redacted, to the file; at the end (last) the tail the
 * redactor held back goes too. */
static void writer_redact(record_writer *w, int last) {
  size_t n;
  char *safe = redactor_stream_push(&w->redact, w->raw, w->raw_len, &n);
  w->raw_len = 0;
  if (!safe) {
    w->error = ENOMEM;
    return;
  }
  writer_out_linked(w, safe, n);
  free(safe);
  if (!last) return;
  char *rest = redactor_stream_end(&w->redact, &n);
  if (!rest) {
    w->error = ENOMEM;
    return;
  }
  writer_out_linked(w, rest, n);
  free(rest);
}

static void writer_redact_more(record_writer *w) { writer_redact(w, 0); }

static void writer_raw(record_writer *w, const char *p, size_t n) {
  writer_fill(w, w->raw, sizeof w->raw, &w->raw_len, p, n, writer_redact_more);
}

static int writer_on_dump(const char *p, size_t n, void *data) {
  record_writer *w = data;
  if (n == 0) return 0;
  if (w->held) writer_raw(w, &w->held_byte, 1);
  writer_raw(w, p, n - 1);
  w->held = 1;
  w->held_byte = p[n - 1];
  return w->error ? -1 : 0;
}

/* The chain fields and the closing brace, after the record's bytes. */
static void writer_link(record_writer *w, unsigned long long seq,
                        unsigned char hash[JOURNAL_CHAIN_HASH_BYTES]) {
  char fed[JOURNAL_CHAIN_SUFFIX_MAX_BYTES], tail[JOURNAL_CHAIN_SUFFIX_MAX_BYTES];
  size_t fed_len;
  size_t tail_len = journal_chain_link_finish(w->link, seq, &w->j->key, hash, fed, &fed_len, tail);
  w->link = NULL;
  writer_out(w, fed, fed_len);
  writer_out(w, tail, tail_len);
}

/* rec as one line: 0, or -1 with err set and nothing of it left in the file. */
static int journal_write_record(journal *j, const json_t *rec, char *err, size_t errlen) {
  if (journal_chain_ready(j, err, errlen) != 0) return -1;
  record_writer *w = malloc(sizeof *w);
  journal_chain_link *link = w ? journal_chain_link_start(j->head) : NULL;
  if (!link) {
    free(w);
    snprintf(err, errlen, "out of memory writing the journal");
    return -1;
  }
  w->j = j;
  w->redact = (redactor_stream){.r = j->redactor};
  w->link = link;
  w->written = w->raw_len = w->out_len = 0;
  w->error = w->held = 0;
  unsigned long long seq = j->seq + 1;
  unsigned char hash[JOURNAL_CHAIN_HASH_BYTES];
  if (json_dump_callback(rec, writer_on_dump, w, JSON_COMPACT) != 0 && !w->error) w->error = ENOMEM;
  if (!w->error && (!w->held || w->held_byte != '}')) w->error = EINVAL;
  if (!w->error) {
    writer_redact(w, 1);
    writer_link(w, seq, hash);
    writer_flush(w);
  }
  free(w->redact.held);
  journal_chain_link_free(w->link);
  int error = w->error;
  size_t written = w->written;
  free(w);
  if (!error) {
    j->bytes += written;
    journal_chain_commit(j, seq, hash);
    return 0;
  }
  if (written > 0 && ftruncate(j->fd, (off_t)j->bytes) != 0)
    log_error("journal %s: a record was cut short and could not be removed: %s", j->path,
              strerror(errno));
  snprintf(err, errlen, "cannot write the journal %s: %s", j->path, strerror(error));
  return -1;
}

int journal_append(journal *j, const char *kind, json_t *fields, char *err, size_t errlen) {
  if (json_object_get(fields, "seq") || json_object_get(fields, "hash") ||
      json_object_get(fields, "mac")) {
    json_decref(fields);
    snprintf(err, errlen, "a journal record's own fields may not be named seq, hash or mac");
    return -1;
  }
  char stamp[32];
  log_format_utc(stamp, log_now_ms());
  json_t *rec = json_pack("{s:s, s:s}", "ts", stamp, "kind", kind);
  if (rec && fields) json_object_update(rec, fields);
  json_decref(fields);
  if (!rec) {
    snprintf(err, errlen, "out of memory writing the journal");
    return -1;
  }
  int rc = journal_write_record(j, rec, err, errlen);
  json_decref(rec);
  return rc;
}

int journal_append_raw(journal *j, const char *kind, const char *key, const char *value, size_t len,
                       char *err, size_t errlen) {
  if (journal_chain_ready(j, err, errlen) != 0) return -1;
  char stamp[32];
  log_format_utc(stamp, log_now_ms());
  /* kind and key are the caller's constants: plain words, no escaping.
   * Redacted by the caller already (every event is, once, as it is made):
   * a second pass over each event would double that cost. */
  char *text = NULL;
  int n = len <= (size_t)INT_MAX ? asprintf(&text, "{\"ts\":\"%s\",\"kind\":\"%s\",\"%s\":%.*s",
                                            stamp, kind, key, (int)len, value)
                                 : -1;
  if (n < 0) {
    snprintf(err, errlen, "out of memory writing the journal");
    return -1;
  }
  int rc = journal_write_linked(j, text, (size_t)n, 0, err, errlen);
  free(text);
  return rc;
}

void journal_set_damaged(journal *j, const char *why) {
  free(j->damaged);
  j->damaged = why ? strdup(why) : NULL;
}

const char *journal_damaged(const journal *j) { return j ? j->damaged : NULL; }

static void journal_release(journal *j) {
  if (j->fd >= 0) close(j->fd);
  free(j->damaged);
  free(j->path);
  free(j);
}

static void journal_on_synced(uv_fs_t *req);

static int journal_sync_start(journal *j) {
  j->sync_req.data = j;
  int rc = uv_fs_fdatasync(j->loop, &j->sync_req, j->fd, journal_on_synced);
  if (rc == 0) {
    j->syncing = 1;
    j->syncs++;
    j->sync_started_ns = uv_hrtime();
  }
  return rc;
}

static void journal_answer(journal_sync *list, int status) {
  while (list) {
    journal_sync *next = list->next;
    if (list->cb) list->cb(list->ud, status);
    free(list);
    list = next;
  }
}

static void journal_on_synced(uv_fs_t *req) {
  journal *j = req->data;
  int status = (int)req->result < 0 ? (int)req->result : 0;
  uv_fs_req_cleanup(req);
  j->syncing = 0;
  metric_observe(j->metrics.flush_seconds, (double)(uv_hrtime() - j->sync_started_ns) / 1e9);
  if (status < 0) log_error("journal %s: flush failed: %s", j->path, uv_strerror(status));
  journal_sync *done = j->in_sync;
  j->in_sync = NULL;
  /* Those who asked meanwhile get one fdatasync of their own, started
   * before the answers run: a waiter's callback may ask again. */
  if (j->queued && !j->closing) {
    j->in_sync = j->queued;
    j->queued = NULL;
    int rc = journal_sync_start(j);
    if (rc != 0) {
      journal_sync *failed = j->in_sync;
      j->in_sync = NULL;
      journal_answer(failed, rc);
    }
  }
  journal_answer(done, status);
  if (j->closing && !j->syncing) {
    journal_answer(j->queued, UV_ECANCELED);
    journal_release(j);
  }
}

int journal_flush(journal *j, journal_sync_cb cb, void *ud, journal_sync **out) {
  if (out) *out = NULL;
  journal_sync *s = calloc(1, sizeof *s);
  if (!s) return UV_ENOMEM;
  *s = (journal_sync){.cb = cb, .ud = ud};
  if (j->syncing) {
    journal_sync **tail = &j->queued;
    while (*tail) tail = &(*tail)->next;
    *tail = s;
  } else {
    j->in_sync = s;
    int rc = journal_sync_start(j);
    if (rc != 0) {
      j->in_sync = NULL;
      free(s);
      return rc;
    }
  }
  if (out) *out = s;
  return 0;
}

void journal_sync_abandon(journal_sync *s) {
  if (s) s->cb = NULL;
}

void journal_set_metrics(journal *j, const journal_metrics *m) {
  j->metrics = m ? *m : (journal_metrics){0};
}

size_t journal_bytes(const journal *j) { return j ? j->bytes : 0; }

int journal_head(const journal *j, unsigned long long *seq,
                 unsigned char hash[JOURNAL_CHAIN_HASH_BYTES]) {
  if (!j || !j->chained) return -1;
  memcpy(hash, j->head, JOURNAL_CHAIN_HASH_BYTES);
  *seq = j->seq;
  return 0;
}

int journal_take_checkpoint(journal *j, unsigned long long *seq,
                            unsigned char hash[JOURNAL_CHAIN_HASH_BYTES]) {
  if (journal_head(j, seq, hash) != 0 || *seq == j->checkpoint_seq) return -1;
  j->checkpoint_seq = *seq;
  return 0;
}

unsigned long long journal_syncs(const journal *j) { return j ? j->syncs : 0; }

const char *journal_path(const journal *j) { return j->path; }

void journal_close(journal *j) {
  if (!j) return;
  if (j->syncing) {
    j->closing = 1;
    return;
  }
  journal_release(j);
}
