#include "http_static.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_path.h"
#include "log.h"

/* Files are read whole and synchronously on the loop thread, up to this
 * size. They are the page's own assets: few, small, local and usually in
 * the page cache, so a read costs microseconds. uv_fs_* would need a
 * per-request state machine that survives the client going away, for no
 * measurable gain; the cap bounds the time and memory one request costs. */
static const size_t HTTP_STATIC_MAX_FILE_BYTES = 8u << 20;

static const struct {
  const char *ext;
  const char *type;
} static_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"woff2", "font/woff2"},
};

static const char *static_content_type(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(slash ? slash : path, '.');
  if (dot)
    for (size_t i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++)
      if (strcmp(dot + 1, static_types[i].ext) == 0) return static_types[i].type;
  return "application/octet-stream";
}

/* If-None-Match: "*" or a list of entity tags, compared weakly (a W/
 * prefix is ignored) as RFC 9110 asks for this header. */
static bool static_etag_matches(const char *header, const char *etag) {
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

/* Resolves req_path under root to a real path inside it, or fails. */
static int static_resolve(const char *root, const char *req_path, char *out) {
  char root_real[PATH_MAX], joined[PATH_MAX];
  if (!realpath(root, root_real)) {
    log_error("http: static root %s cannot be resolved", root);
    return -1;
  }
  int n = snprintf(joined, sizeof(joined), "%s%s", root_real, req_path);
  if (n < 0 || (size_t)n >= sizeof(joined)) return -1;
  if (!realpath(joined, out)) return -1;
  /* Symlinks may point anywhere; only what lands inside root is served. */
  size_t root_len = strlen(root_real);
  if (root_len > 1 && (strncmp(out, root_real, root_len) != 0 || out[root_len] != '/')) return -1;
  return 0;
}

static char *static_read(int fd, size_t size) {
  char *data = malloc(size ? size : 1);
  if (!data) return NULL;
  size_t got = 0;
  while (got < size) {
    ssize_t r = pread(fd, data + got, size - got, (off_t)got);
    if (r <= 0) {
      free(data);
      return NULL;
    }
    got += (size_t)r;
  }
  return data;
}

static void static_not_found(http_conn *c) { http_respond_error(c, 404, "not found"); }

void http_static_serve(http_conn *c, const http_request *req, const char *root) {
  bool is_head = strcmp(req->method, "HEAD") == 0;
  if (!is_head && strcmp(req->method, "GET") != 0) {
    static const char body[] = "{\"error\":\"method not allowed\"}";
    http_respond(c, 405, "application/json", "Allow: GET, HEAD\r\n", body, sizeof(body) - 1);
    return;
  }
  if (!req->path || !http_path_is_safe(req->path)) {
    static_not_found(c);
    return;
  }
  const char *path = strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
  char real[PATH_MAX];
  if (static_resolve(root, path, real) != 0) {
    static_not_found(c);
    return;
  }
  /* O_NONBLOCK so that a FIFO cannot stall open(); fstat refuses it next. */
  int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) close(fd);
    static_not_found(c);
    return;
  }
  if ((size_t)st.st_size > HTTP_STATIC_MAX_FILE_BYTES) {
    close(fd);
    log_error("http: static file %s is %lld bytes, over the %zu-byte cap", real,
              (long long)st.st_size, HTTP_STATIC_MAX_FILE_BYTES);
    http_respond_error(c, 500, "file too large to serve");
    return;
  }
  char etag[96], extra[160];
  snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
           (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
  snprintf(extra, sizeof(extra), "Cache-Control: no-cache\r\nETag: %s\r\n", etag);
  const char *type = static_content_type(path);
  const char *inm = http_request_header(req, "If-None-Match");
  if (inm && static_etag_matches(inm, etag)) {
    close(fd);
    http_respond(c, 304, NULL, extra, NULL, 0);
    return;
  }
  size_t size = (size_t)st.st_size;
  /* HEAD needs only the length; http_respond sends no body for it. */
  char *data = is_head ? NULL : static_read(fd, size);
  close(fd);
  if (!is_head && !data) {
    http_respond_error(c, 500, "cannot read file");
    return;
  }
  http_respond(c, 200, type, extra, data, size);
  free(data);
}
