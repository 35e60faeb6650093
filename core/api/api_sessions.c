#include "api_sessions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

/* The journal is read whole on the loop, as static files are: it was just
 * written, so it is in the page cache, and its size is capped
 * (BREAKGLASS_MAX_SESSION_JOURNAL_BYTES plus the turn that passed it). */
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
  size_t size = (size_t)st.st_size;
  char *body = malloc(size ? size : 1);
  size_t got = 0;
  while (body && got < size) {
    ssize_t n = read(fd, body + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (!body) {
    http_respond_error(c, 500, "out of memory");
    return;
  }
  char headers[160];
  snprintf(headers, sizeof headers,
           "Content-Disposition: attachment; filename=\"breakglass-session-%s.jsonl\"\r\n", s->id);
  http_respond(c, 200, "application/x-ndjson", headers, body, got);
  free(body);
}
