#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* The pieces a record is written in (journal_write_record). */
#define JOURNAL_WRITE_CHUNK_BYTES (64u * 1024)

struct journal {
  uv_loop_t *loop;
  int fd;
  char *path;
  size_t bytes;
  const journal_redactor *redactor;
  journal_metrics metrics;
  uint64_t sync_started_ns; /* of the fdatasync running */
  /* Group commit: one fdatasync at a time. Waiters that ask while one runs
   * share the next, which covers everything written before they asked. */
  uv_fs_t sync_req;
  int syncing;
  journal_sync *in_sync; /* waiters the running fdatasync answers */
  journal_sync *queued;  /* waiters for the next one */
  unsigned long long syncs; /* fdatasync calls started */
  int closing;           /* close once no fdatasync runs */
};

struct journal_sync {
  journal_sync *next;
  journal_sync_cb cb; /* NULL once abandoned */
  void *ud;
};

int journal_open(journal **out, uv_loop_t *loop, const char *path, const journal_redactor *r,
                 char *err, size_t errlen) {
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
                    : !S_ISREG(st.st_mode)               ? "not a regular file"
                    : st.st_uid != geteuid()             ? "owned by another user"
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
  *out = j;
  return 0;
}

/* One write() of the whole line; on a short or failed write the file is
 * cut back, so what is there stays whole lines. */
static int journal_write_line(journal *j, const char *line, size_t len, char *err,
                              size_t errlen) {
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

/* A record written as it is serialised: the JSON text gathers in raw,
 * goes through the redactor a piece at a time (a secret across pieces is
 * still caught) and out to the file in writes of at most out's size. A
 * long record (a whole long answer) is never held whole, nor twice. If a
 * write fails, what was written of the record is cut back off the file. */
typedef struct record_writer {
  journal *j;
  journal_redact_stream redact;
  size_t written;
  int error; /* errno of the first failure, or 0 */
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

static void writer_out(record_writer *w, const char *p, size_t n) {
  while (n > 0 && !w->error) {
    size_t k = sizeof w->out - w->out_len < n ? sizeof w->out - w->out_len : n;
    memcpy(w->out + w->out_len, p, k);
    w->out_len += k;
    p += k;
    n -= k;
    if (w->out_len == sizeof w->out) writer_flush(w);
  }
}

/* What raw holds, redacted, to the file; at the end (last) the tail the
 * redactor held back goes too. */
static void writer_redact(record_writer *w, int last) {
  size_t n;
  char *safe = journal_redact_stream_push(&w->redact, w->raw, w->raw_len, &n);
  w->raw_len = 0;
  if (!safe) {
    w->error = ENOMEM;
    return;
  }
  writer_out(w, safe, n);
  free(safe);
  if (!last) return;
  char *rest = journal_redact_stream_end(&w->redact, &n);
  if (!rest) {
    w->error = ENOMEM;
    return;
  }
  writer_out(w, rest, n);
  free(rest);
}

static int writer_on_dump(const char *p, size_t n, void *data) {
  record_writer *w = data;
  while (n > 0 && !w->error) {
    size_t k = sizeof w->raw - w->raw_len < n ? sizeof w->raw - w->raw_len : n;
    memcpy(w->raw + w->raw_len, p, k);
    w->raw_len += k;
    p += k;
    n -= k;
    if (w->raw_len == sizeof w->raw) writer_redact(w, 0);
  }
  return w->error ? -1 : 0;
}

/* rec as one line: 0, or -1 with err set and nothing of it left in the file. */
static int journal_write_record(journal *j, const json_t *rec, char *err, size_t errlen) {
  record_writer *w = malloc(sizeof *w);
  if (!w) {
    snprintf(err, errlen, "out of memory writing the journal");
    return -1;
  }
  w->j = j;
  w->redact = (journal_redact_stream){.r = j->redactor};
  w->written = w->raw_len = w->out_len = 0;
  w->error = 0;
  if (json_dump_callback(rec, writer_on_dump, w, JSON_COMPACT) != 0 && !w->error) w->error = ENOMEM;
  if (!w->error) {
    writer_redact(w, 1);
    writer_out(w, "\n", 1);
    writer_flush(w);
  }
  free(w->redact.held);
  int error = w->error;
  size_t written = w->written;
  free(w);
  if (!error) {
    j->bytes += written;
    return 0;
  }
  if (written > 0 && ftruncate(j->fd, (off_t)j->bytes) != 0)
    log_error("journal %s: a record was cut short and could not be removed: %s", j->path,
              strerror(errno));
  snprintf(err, errlen, "cannot write the journal %s: %s", j->path, strerror(error));
  return -1;
}

int journal_append(journal *j, const char *kind, json_t *fields, char *err, size_t errlen) {
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

int journal_append_raw(journal *j, const char *kind, const char *key, const char *value,
                       size_t len, char *err, size_t errlen) {
  char stamp[32];
  log_format_utc(stamp, log_now_ms());
  /* kind and key are the caller's constants: plain words, no escaping. */
  char *text = NULL;
  int n = len <= (size_t)INT_MAX
              ? asprintf(&text, "{\"ts\":\"%s\",\"kind\":\"%s\",\"%s\":%.*s}", stamp, kind,
                         key, (int)len, value)
              : -1;
  if (n < 0) {
    snprintf(err, errlen, "out of memory writing the journal");
    return -1;
  }
  /* Redacted by the caller already (every event is, once, as it is made):
   * a second pass over each event would double that cost. The NUL makes
   * room for the newline. */
  text[n] = '\n';
  int rc = journal_write_line(j, text, (size_t)n + 1, err, errlen);
  free(text);
  return rc;
}

static void journal_release(journal *j) {
  if (j->fd >= 0) close(j->fd);
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
