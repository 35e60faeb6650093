#include "http_static.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dlist.h"
#include "http_path.h"
#include "http_static_site.h"
#include "limits_table.h"
#include "log.h"

/* A year: the longest a browser is asked to keep a versioned file. Not
 * "public": the browser's own cache keeps it without, and a shared cache
 * between a signed-in browser and the proxy has no business keeping it. */
#define HTTP_STATIC_IMMUTABLE "max-age=31536000, immutable"

/* A request waiting for the site to be read. */
typedef struct pending {
  http_static *st;
  http_conn *c;
  const http_request *req; /* valid until it is answered */
  struct pending *prev, *next;
} pending;

struct http_static {
  uv_loop_t *loop;
  char *root;
  http_static_site *site; /* NULL before the first read */
  uv_work_t work;
  bool reading, closing;
  http_static_site *read; /* what the worker made */
  char read_error[PATH_MAX + 128];
  char logged_error[PATH_MAX + 128]; /* said once until it changes */
  pending *waiting;
};

/* --- answering from the site ---------------------------------------------------- */

/* The key of the file req names, symlinks resolved, if it is inside root. */
static bool resolve_key(const http_static_site *s, const char *path, char *key, size_t keylen) {
  char joined[PATH_MAX], real[PATH_MAX];
  int n = snprintf(joined, sizeof joined, "%s%s", s->root, path);
  if (n < 0 || (size_t)n >= sizeof joined || !realpath(joined, real)) return false;
  size_t root_len = strlen(s->root);
  if (root_len == 1) root_len = 0; /* root is "/" */
  if (strncmp(real, s->root, root_len) != 0 || real[root_len] != '/') return false;
  return snprintf(key, keylen, "%s", real + root_len) < (int)keylen;
}

static const char *request_path(const http_request *req) {
  return strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
}

/* Whether coding (as "gzip") is acceptable by an Accept-Encoding value:
 * named (or "*") without q=0. */
static bool accepts(const char *header, const char *coding) {
  size_t n = strlen(coding);
  bool star = false, named = false, refused = false;
  for (const char *p = header; p && *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    const char *end = p + strcspn(p, ",");
    const char *token_end = p + strcspn(p, ";, \t");
    const char *q = memmem(p, (size_t)(end - p), "q=", 2);
    bool zero = q && strtod(q + 2, NULL) == 0;
    size_t len = (size_t)(token_end - p);
    if (len == n && strncasecmp(p, coding, n) == 0)
      named = true, refused = zero;
    else if (len == 1 && *p == '*' && !zero)
      star = true;
    p = *end ? end + 1 : end;
  }
  return named ? !refused : star;
}

static http_static_encoding pick_encoding(const http_static_file *f, const char *accept) {
  if (!accept) return HTTP_STATIC_IDENTITY;
  if (f->body[HTTP_STATIC_BROTLI].data && accepts(accept, "br")) return HTTP_STATIC_BROTLI;
  if (f->body[HTTP_STATIC_GZIP].data && accepts(accept, "gzip")) return HTTP_STATIC_GZIP;
  return HTTP_STATIC_IDENTITY;
}

/* If-None-Match: "*" or a list of entity tags, compared weakly (a W/
 * prefix is ignored) as RFC 9110 asks for this header. */
static bool etag_matches(const char *header, const char *etag) {
  size_t etag_len = strlen(etag);
  const char *p = header;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    if (!*p) return false;
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    const char *item_end = end;
    while (item_end > p && (item_end[-1] == ' ' || item_end[-1] == '\t')) item_end--;
    if (item_end - p == 1 && *p == '*') return true;
    if (item_end - p > 2 && p[0] == 'W' && p[1] == '/') p += 2;
    if ((size_t)(item_end - p) == etag_len && memcmp(p, etag, etag_len) == 0) return true;
    p = end;
  }
}

static void answer(http_static *st, http_conn *c, const http_request *req) {
  const http_static_site *s = st->site;
  char key[PATH_MAX];
  const http_static_file *f = s && resolve_key(s, request_path(req), key, sizeof key)
                                  ? http_static_site_find(s, key)
                                  : NULL;
  if (f && f->too_large) {
    log_error("http: static file %s is over the %u-byte cap (or the site's %u)", f->real,
              HTTP_STATIC_MAX_FILE_BYTES, HTTP_STATIC_MAX_SITE_BYTES);
    http_respond_error(c, 500, "file too large to serve");
    return;
  }
  if (!f || !f->body[HTTP_STATIC_IDENTITY].data) {
    http_respond_error(c, 404, "not found");
    return;
  }
  bool page = strcmp(f->key, "/index.html") == 0;
  bool versioned = !page && strncmp(req->query, "v=", 2) == 0 &&
                   strcmp(req->query + 2, f->version) == 0;
  bool varies = f->body[HTTP_STATIC_GZIP].data || f->body[HTTP_STATIC_BROTLI].data;
  http_static_encoding e = pick_encoding(f, http_request_header(req, "Accept-Encoding"));
  static const char *const coding[HTTP_STATIC_ENCODINGS] = {NULL, "gzip", "br"};
  char extra[1024];
  snprintf(extra, sizeof extra, "Cache-Control: %s\r\nETag: %s\r\n%s%s%s%s%s%s",
           versioned ? HTTP_STATIC_IMMUTABLE : "no-cache", f->body[e].etag,
           varies ? "Vary: Accept-Encoding\r\n" : "", coding[e] ? "Content-Encoding: " : "",
           coding[e] ? coding[e] : "", coding[e] ? "\r\n" : "",
           page ? "Content-Security-Policy: " : "", page ? s->csp : "");
  if (page) strncat(extra, "\r\n", sizeof extra - strlen(extra) - 1);
  const char *inm = http_request_header(req, "If-None-Match");
  if (inm && etag_matches(inm, f->body[e].etag)) {
    http_respond(c, 304, NULL, extra, NULL, 0);
    return;
  }
  http_respond(c, 200, f->type, extra, f->body[e].data, f->body[e].len);
}

/* --- knowing when to read the site again ------------------------------------------ */

/* A file not in the site that is there now, servable, and new since the
 * site was read. */
static bool appeared(const http_static_site *s, const char *key) {
  char real[PATH_MAX];
  http_static_stamp stamp;
  if (strstr(key, "/.") || snprintf(real, sizeof real, "%s%s", s->root, key) >= (int)sizeof real ||
      http_static_stamp_of(real, &stamp) != 0)
    return false;
  long long changed = stamp.ctime.tv_sec * 1000000000LL + stamp.ctime.tv_nsec;
  long long scanned = s->scanned.tv_sec * 1000000000LL + s->scanned.tv_nsec;
  return changed >= scanned - HTTP_STATIC_CLOCK_SLACK_NS;
}

static bool file_changed(const http_static_file *f) {
  http_static_stamp now;
  return http_static_stamp_of(f->real, &now) != 0 || !http_static_stamp_equal(&now, &f->stamp);
}

/* Whether the site must be read again before req is answered: its file
 * changed or appeared; for index.html, which names them all, any file. */
static bool stale(const http_static *st, const http_request *req) {
  const http_static_site *s = st->site;
  char key[PATH_MAX];
  if (!s) return true;
  if (!resolve_key(s, request_path(req), key, sizeof key)) return false;
  const http_static_file *f = http_static_site_find(s, key);
  if (!f) return appeared(s, key);
  if (strcmp(key, "/index.html") != 0) return file_changed(f);
  for (size_t i = 0; i < s->count; i++)
    if (file_changed(&s->files[i])) return true;
  return false;
}

/* --- reading on a worker thread ----------------------------------------------------- */

static void pending_on_close(void *ud, http_conn *c);

static void pending_unlink(pending *p) {
  http_static *st = p->st;
  DLIST_UNLINK(st->waiting, p);
}

static void pending_on_close(void *ud, http_conn *c) {
  (void)c;
  pending *p = ud;
  pending_unlink(p);
  free(p);
}

static void static_free(http_static *st) {
  http_static_site_free(st->site);
  free(st->root);
  free(st);
}

static void read_work(uv_work_t *w) {
  http_static *st = w->data;
  st->read = http_static_site_build(st->root, st->read_error, sizeof st->read_error);
}

static void read_done(uv_work_t *w, int status) {
  (void)status;
  http_static *st = w->data;
  st->reading = false;
  if (st->closing) {
    http_static_site_free(st->read);
    static_free(st);
    return;
  }
  if (st->read) {
    http_static_site_free(st->site);
    st->site = st->read;
    st->read = NULL;
    log_info("http: %s read: %zu files, %zu bytes kept with their compressed copies",
             st->site->root, st->site->count, st->site->bytes);
  } else if (strcmp(st->read_error, st->logged_error) != 0) {
    log_error("http: %s", st->read_error);
    memcpy(st->logged_error, st->read_error, sizeof st->logged_error);
  }
  /* Answered from what there is now, without another look: an edit in
   * progress must not keep them waiting. */
  while (st->waiting) {
    pending *p = st->waiting;
    pending_unlink(p);
    answer(st, p->c, p->req);
    free(p);
  }
}

static void start_read(http_static *st) {
  if (st->reading) return;
  st->work.data = st;
  if (uv_queue_work(st->loop, &st->work, read_work, read_done) == 0) st->reading = true;
}

/* --- the interface ----------------------------------------------------------------- */

int http_static_new(http_static **out, uv_loop_t *loop, const char *root) {
  http_static *st = calloc(1, sizeof *st);
  if (!st || !(st->root = strdup(root))) {
    free(st);
    return UV_ENOMEM;
  }
  st->loop = loop;
  *out = st;
  return 0;
}

void http_static_serve(http_static *st, http_conn *c, const http_request *req) {
  bool is_head = strcmp(req->method, "HEAD") == 0;
  if (!is_head && strcmp(req->method, "GET") != 0) {
    static const char body[] = "{\"error\":\"method not allowed\"}";
    http_respond(c, 405, "application/json", "Allow: GET, HEAD\r\n", body, sizeof(body) - 1);
    return;
  }
  if (!req->path || !http_path_is_safe(req->path)) {
    http_respond_error(c, 404, "not found");
    return;
  }
  if (!stale(st, req)) {
    answer(st, c, req);
    return;
  }
  pending *p = calloc(1, sizeof *p);
  if (!p) {
    http_respond_error(c, 500, "out of memory");
    return;
  }
  *p = (pending){.st = st, .c = c, .req = req};
  DLIST_PUSH(st->waiting, p);
  http_conn_on_close(c, pending_on_close, p);
  start_read(st);
  if (!st->reading) {
    /* The thread pool refused the work: answer from what there is. */
    pending_unlink(p);
    free(p);
    answer(st, c, req);
  }
}

void http_static_close(http_static *st) {
  if (!st) return;
  if (st->reading)
    st->closing = true;
  else
    static_free(st);
}
