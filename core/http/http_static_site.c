/* Building the site: walk root, read, version, rewrite index.html,
 * compress. Runs on a worker thread: no loop, no logging, no globals. */
#include "http_static_site.h"

#include <brotli/encode.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "array_grow.h"
#include "http_server.h"
#include "http_static_page.h"

#define STATIC_INDEX_KEY "/index.html"

static const struct {
  const char *ext;
  const char *type;
  bool text; /* worth compressing */
} static_types[] = {
    {"html", "text/html; charset=utf-8", true},
    {"css", "text/css; charset=utf-8", true},
    {"js", "text/javascript; charset=utf-8", true},
    /* A module script is always decoded as UTF-8 (HTML's "fetch a single
     * module script"): a charset would add bytes to every module and say
     * nothing. */
    {"mjs", "text/javascript", true},
    {"json", "application/json", true},
    {"svg", "image/svg+xml", true},
    {"png", "image/png", false},
    {"ico", "image/x-icon", false},
    {"webmanifest", "application/manifest+json", true},
    {"txt", "text/plain; charset=utf-8", true},
    {"woff2", "font/woff2", false},
};

static const char *type_of(const char *key, bool *text) {
  const char *slash = strrchr(key, '/');
  const char *dot = strrchr(slash ? slash : key, '.');
  for (size_t i = 0; dot && i < sizeof static_types / sizeof static_types[0]; i++)
    if (strcmp(dot + 1, static_types[i].ext) == 0) {
      *text = static_types[i].text;
      return static_types[i].type;
    }
  *text = false;
  return "application/octet-stream";
}

int http_static_stamp_of(const char *path, http_static_stamp *out) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  *out = (http_static_stamp){.dev = st.st_dev,
                             .ino = st.st_ino,
                             .size = st.st_size,
                             .mtime = st.st_mtim,
                             .ctime = st.st_ctim};
  return 0;
}

bool http_static_stamp_equal(const http_static_stamp *a, const http_static_stamp *b) {
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
         a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* --- the walk ------------------------------------------------------------------ */

typedef struct site_build {
  http_static_site *site;
  size_t cap;
} site_build;

static int add_file(site_build *b, const char *key, const char *real) {
  http_static_site *s = b->site;
  if (s->count == HTTP_STATIC_MAX_FILES_COUNT) return 0;
  if (ARRAY_GROW(s->files, b->cap, s->count, 32) != 0) return -1;
  http_static_file *f = &s->files[s->count];
  *f = (http_static_file){.key = strdup(key), .real = strdup(real)};
  if (!f->key || !f->real) {
    free(f->key);
    free(f->real);
    return -1;
  }
  s->count++;
  return 0;
}

/* Regular files under dir (key is its path under root), folders to
 * HTTP_STATIC_MAX_DEPTH_LEVELS. Names starting with '.' and symlinks are passed
 * over: a file a symlink inside root points to is found where it is, and
 * a request through the link resolves to it. */
static int walk(site_build *b, const char *dir, const char *key, int depth) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int rc = 0;
  for (struct dirent *e; rc == 0 && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char path[PATH_MAX], sub[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
        snprintf(sub, sizeof sub, "%s/%s", key, e->d_name) >= (int)sizeof sub)
      continue;
    struct stat st;
    if (lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode) && depth < HTTP_STATIC_MAX_DEPTH_LEVELS)
      rc = walk(b, path, sub, depth + 1);
    else if (S_ISREG(st.st_mode))
      rc = add_file(b, sub, path);
  }
  closedir(d);
  return rc;
}

static int by_key(const void *a, const void *b) {
  return strcmp(((const http_static_file *)a)->key, ((const http_static_file *)b)->key);
}

const http_static_file *http_static_site_find(const http_static_site *s, const char *key) {
  http_static_file probe = {.key = (char *)key};
  return bsearch(&probe, s->files, s->count, sizeof *s->files, by_key);
}

/* --- reading and versions --------------------------------------------------------- */

/* The whole file, if it fits; its stamp is taken from the open file, so
 * that a change after the read shows as one. */
static char *read_whole(http_static_file *f, size_t *len) {
  int fd = open(f->real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  struct stat st;
  char *data = NULL;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) goto out;
  f->stamp = (http_static_stamp){.dev = st.st_dev,
                                 .ino = st.st_ino,
                                 .size = st.st_size,
                                 .mtime = st.st_mtim,
                                 .ctime = st.st_ctim};
  if ((size_t)st.st_size > HTTP_STATIC_MAX_FILE_BYTES) {
    f->too_large = true;
    goto out;
  }
  size_t size = (size_t)st.st_size, got = 0;
  data = malloc(size ? size : 1);
  while (data && got < size) {
    ssize_t r = pread(fd, data + got, size - got, (off_t)got);
    if (r <= 0) {
      free(data);
      data = NULL;
    } else {
      got += (size_t)r;
    }
  }
  *len = size;
out:
  if (fd >= 0) close(fd);
  return data;
}

static void sha256(const char *data, size_t len, unsigned char out[32]) {
  unsigned int n = 32;
  EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static void set_version(http_static_file *f) {
  unsigned char md[32];
  sha256(f->body[HTTP_STATIC_IDENTITY].data, f->body[HTTP_STATIC_IDENTITY].len, md);
  for (int i = 0; i < HTTP_STATIC_VERSION_CHARS / 2; i++)
    snprintf(f->version + 2 * i, 3, "%02x", md[i]);
  static const char *const suffix[HTTP_STATIC_ENCODINGS] = {"", "-gzip", "-br"};
  for (int e = 0; e < HTTP_STATIC_ENCODINGS; e++)
    snprintf(f->body[e].etag, sizeof f->body[e].etag, "\"%s%s\"", f->version, suffix[e]);
}

/* --- compression ------------------------------------------------------------------ */

static char *gzip_of(const char *in, size_t len, size_t *out_len) {
  z_stream z = {0};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  uLong cap = deflateBound(&z, (uLong)len);
  char *out = malloc(cap);
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  z.next_out = (Bytef *)out;
  z.avail_out = (uInt)cap;
  int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
  *out_len = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

static char *brotli_of(const char *in, size_t len, size_t *out_len) {
  /* The smallest window that holds the file: the best ratio, and the
   * encoder's memory stays small. */
  int lgwin = BROTLI_MIN_WINDOW_BITS;
  while (lgwin < BROTLI_MAX_WINDOW_BITS && ((size_t)1 << lgwin) - 16 < len) lgwin++;
  size_t cap = BrotliEncoderMaxCompressedSize(len);
  char *out = cap ? malloc(cap) : NULL;
  *out_len = cap;
  if (out && BrotliEncoderCompress(BROTLI_MAX_QUALITY, lgwin, BROTLI_MODE_TEXT, len,
                                   (const uint8_t *)in, out_len, (uint8_t *)out))
    return out;
  free(out);
  return NULL;
}

/* The compressed copies worth keeping: smaller than what they replace. */
static void compress_file(http_static_site *s, http_static_file *f) {
  const http_static_body *id = &f->body[HTTP_STATIC_IDENTITY];
  size_t len;
  char *gz = gzip_of(id->data, id->len, &len);
  if (gz && len < id->len && s->bytes + len <= HTTP_STATIC_MAX_SITE_BYTES) {
    f->body[HTTP_STATIC_GZIP].data = gz;
    f->body[HTTP_STATIC_GZIP].len = len;
    s->bytes += len;
  } else {
    free(gz);
  }
  size_t best = f->body[HTTP_STATIC_GZIP].data ? f->body[HTTP_STATIC_GZIP].len : id->len;
  char *br = brotli_of(id->data, id->len, &len);
  if (br && len < best && s->bytes + len <= HTTP_STATIC_MAX_SITE_BYTES) {
    f->body[HTTP_STATIC_BROTLI].data = br;
    f->body[HTTP_STATIC_BROTLI].len = len;
    s->bytes += len;
  } else {
    free(br);
  }
}

/* --- the whole build ------------------------------------------------------------- */

/* A file that cannot be read (gone, unreadable) is kept without data and
 * served as missing; one too large is served as an error. */
static void load_file(http_static_site *s, http_static_file *f) {
  bool text;
  f->type = type_of(f->key, &text);
  size_t len = 0;
  char *data = read_whole(f, &len);
  if (data && s->bytes + len > HTTP_STATIC_MAX_SITE_BYTES) {
    free(data);
    data = NULL;
    f->too_large = true;
  }
  if (!data) return;
  s->bytes += len;
  f->body[HTTP_STATIC_IDENTITY] = (http_static_body){.data = data, .len = len};
}

/* What a page may name: every file, read and versioned by now. */
static http_static_files files_of(const http_static_site *s) {
  return (http_static_files){.file = s->files, .count = s->count};
}

static bool is_manifest(const http_static_file *f) {
  size_t n = strlen(f->key);
  return n > 12 && strcmp(f->key + n - 12, ".webmanifest") == 0;
}

/* A manifest names its icons, versioned; index.html then names it. */
static int load_manifest(http_static_site *s, http_static_file *f) {
  http_static_body *id = &f->body[HTTP_STATIC_IDENTITY];
  size_t len;
  char *json = http_static_manifest_rewrite(files_of(s), id->data, id->len, &len);
  if (!json) return -1;
  s->bytes += len - id->len;
  free(id->data);
  id->data = json;
  id->len = len;
  set_version(f);
  return 0;
}

/* index.html names the others by their versions, so it comes last. */
static int load_index(http_static_site *s, http_static_file *f) {
  http_static_body *id = &f->body[HTTP_STATIC_IDENTITY];
  char hash[64] = "";
  size_t len;
  char *html = http_static_page_rewrite(files_of(s), id->data, id->len, &len, hash, sizeof hash);
  if (!html) return -1;
  s->bytes += len - id->len;
  free(id->data);
  id->data = html;
  id->len = len;
  if (hash[0])
    snprintf(s->csp, sizeof s->csp, "%s; script-src 'self' 'sha256-%s'",
             HTTP_CONTENT_SECURITY_POLICY, hash);
  return 0;
}

http_static_site *http_static_site_build(const char *root, char *err, size_t errlen) {
  http_static_site *s = calloc(1, sizeof *s);
  site_build b = {.site = s};
  if (!s || !(s->root = realpath(root, NULL))) {
    snprintf(err, errlen, "the page's folder %s cannot be read: %s", root,
             s ? strerror(errno) : "out of memory");
    http_static_site_free(s);
    return NULL;
  }
  clock_gettime(CLOCK_REALTIME, &s->scanned);
  snprintf(s->csp, sizeof s->csp, "%s", HTTP_CONTENT_SECURITY_POLICY);
  int rc = walk(&b, s->root, "", 0);
  if (rc == 0) qsort(s->files, s->count, sizeof *s->files, by_key);
  http_static_file *index = NULL;
  for (size_t i = 0; rc == 0 && i < s->count; i++) {
    if (strcmp(s->files[i].key, STATIC_INDEX_KEY) == 0) index = &s->files[i];
    load_file(s, &s->files[i]);
    if (s->files[i].body[HTTP_STATIC_IDENTITY].data) set_version(&s->files[i]);
  }
  for (size_t i = 0; rc == 0 && i < s->count; i++)
    if (is_manifest(&s->files[i]) && s->files[i].body[HTTP_STATIC_IDENTITY].data)
      rc = load_manifest(s, &s->files[i]);
  if (rc == 0 && index && index->body[HTTP_STATIC_IDENTITY].data) {
    rc = load_index(s, index);
    if (rc == 0) set_version(index);
  }
  for (size_t i = 0; rc == 0 && i < s->count; i++) {
    bool text;
    type_of(s->files[i].key, &text);
    if (text && s->files[i].body[HTTP_STATIC_IDENTITY].data) compress_file(s, &s->files[i]);
  }
  if (rc != 0) {
    snprintf(err, errlen, "out of memory reading the page's folder %s", root);
    http_static_site_free(s);
    return NULL;
  }
  return s;
}

void http_static_site_free(http_static_site *s) {
  if (!s) return;
  for (size_t i = 0; i < s->count; i++) {
    free(s->files[i].key);
    free(s->files[i].real);
    for (int e = 0; e < HTTP_STATIC_ENCODINGS; e++) free(s->files[i].body[e].data);
  }
  free(s->files);
  free(s->root);
  free(s);
}
