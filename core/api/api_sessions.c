#include "api_sessions.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "limits_table.h"
#include "log.h"

/* A journal on its way out: sent a chunk at a time, the next once the last
 * has gone to the kernel, so a download holds one chunk whatever the
 * journal's size (a journal may be BREAKGLASS_MAX_SESSION_JOURNAL_BYTES,
 * and a slow client would otherwise hold it all). It sends the journal as
 * it was when the request came: a turn that appends meanwhile is not in
 * it, and Content-Length tells the client a cut answer from a whole one. */
typedef struct journal_download {
  int fd;
  off_t left;
  char session_id[SESSION_ID_LEN + 1];
  char chunk[API_JOURNAL_CHUNK_BYTES];
} journal_download;

static void download_free(journal_download *d) {
  close(d->fd);
  free(d);
}

static void download_on_close(void *ud, http_conn *c) {
  (void)c;
  download_free(ud);
}

static void download_pump(void *ud, http_conn *c) {
  journal_download *d = ud;
  while (d->left > 0) {
    size_t want = d->left < (off_t)sizeof d->chunk ? (size_t)d->left : sizeof d->chunk;
    ssize_t n = read(d->fd, d->chunk, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      /* The client sees fewer bytes than Content-Length said. */
      log_error("session %s: the journal download stopped: %s", d->session_id,
                n < 0 ? strerror(errno) : "the file is shorter than it was");
      break;
    }
    d->left -= n;
    if (http_stream_write(c, d->chunk, (size_t)n) != 0) return; /* closing */
    if (http_stream_queued(c) > 0) {
      http_stream_on_drain(c, download_pump, d);
      return;
    }
  }
  http_stream_end(c); /* drops the close callback: d is the pump's to free */
  download_free(d);
}

void api_session_journal(session *s, http_conn *c) {
  if (!s->journal) {
    http_respond_error(c, 404, "this session has no journal");
    return;
  }
  const char *path = journal_path(s->journal);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    log_error("session %s: cannot read the journal %s: %s", s->id, path, strerror(errno));
    if (fd >= 0) close(fd);
    http_respond_error(c, 500, "cannot read the journal");
    return;
  }
  journal_download *d = malloc(sizeof *d);
  if (!d) {
    close(fd);
    http_respond_error(c, 500, "out of memory");
    return;
  }
  d->fd = fd;
  d->left = st.st_size;
  snprintf(d->session_id, sizeof d->session_id, "%s", s->id);
  char headers[256];
  snprintf(headers, sizeof headers,
           "Content-Disposition: attachment; filename=\"breakglass-session-%s.jsonl\"\r\n"
           "Content-Length: %" PRIdMAX "\r\n",
           s->id, (intmax_t)st.st_size);
  if (http_stream_begin(c, 200, "application/x-ndjson", headers) != 0) {
    download_free(d);
    return;
  }
  http_conn_on_close(c, download_on_close, d);
  download_pump(d, c);
}
