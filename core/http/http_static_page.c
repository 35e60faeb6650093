/* index.html (and the web app manifest) with versioned URLs: each
 * src="x" and href="x" (a manifest's "src": "x") naming a file of the
 * site becomes x?v=VERSION, and an import map before the first
 * script maps every module to its versioned URL, so that the modules'
 * relative imports land on versioned URLs as well (the browser matches
 * the map against the resolved URL, so './api.mjs' imported from any
 * module is found). The map is an inline script: the page's CSP allows it
 * by its hash. A page that has an import map of its own keeps it, alone. */
#include "http_static_page.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

/* Paths that go into URLs and the map as they are: no quoting needed. */
static bool plain_path(const char *s, size_t n) {
  if (n == 0 || s[0] == '/') return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '/';
    if (!ok) return false;
  }
  return !memmem(s, n, "..", 2);
}

static int by_key(const void *key, const void *file) {
  return strcmp(key, ((const http_static_file *)file)->key);
}

/* The file a relative reference from index.html names, or NULL. */
static const http_static_file *referenced(http_static_files s, const char *ref, size_t n) {
  if (n >= 2 && ref[0] == '.' && ref[1] == '/') ref += 2, n -= 2;
  char key[256];
  if (!plain_path(ref, n) || n + 2 > sizeof key) return NULL;
  key[0] = '/';
  memcpy(key + 1, ref, n);
  key[n + 1] = '\0';
  const http_static_file *f = bsearch(key, s.file, s.count, sizeof *s.file, by_key);
  return f && f->body[HTTP_STATIC_IDENTITY].data ? f : NULL;
}

static bool is_module(const http_static_file *f) {
  size_t n = strlen(f->key);
  bool js = (n > 4 && strcmp(f->key + n - 4, ".mjs") == 0) ||
            (n > 3 && strcmp(f->key + n - 3, ".js") == 0);
  return js && f->body[HTTP_STATIC_IDENTITY].data && plain_path(f->key + 1, n - 1);
}

/* {"imports":{"./a.mjs":"./a.mjs?v=...",...}}, or nothing when the site
 * has no modules. */
static int import_map(http_static_files s, buf *out) {
  int rc = 0;
  size_t modules = 0;
  for (size_t i = 0; rc == 0 && i < s.count; i++) {
    const http_static_file *f = &s.file[i];
    if (!is_module(f)) continue;
    rc = buf_appendf(out, "%s\".%s\":\".%s?v=%s\"", modules++ ? "," : "{\"imports\":{", f->key,
                     f->key, f->version);
  }
  return rc == 0 && modules ? buf_append_str(out, "}}") : rc;
}

static void base64_sha256(const char *data, size_t len, char *out, size_t outlen) {
  unsigned char md[32];
  unsigned int n = sizeof md;
  EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
  if (outlen >= 4 * ((n + 2) / 3) + 1) EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

/* Where the next reference after `at` starts (its value's first byte), or
 * NULL: an HTML attribute src="" or href="", or a manifest's "src": "". */
static const char *next_reference(const char *text, size_t at, size_t to) {
  static const char *const marks[] = {" src=\"",  " href=\"",  "\tsrc=\"", "\thref=\"",
                                      "\nsrc=\"", "\nhref=\"", "\"src\":"};
  const char *best = NULL, *value = NULL;
  for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
    const char *hit = memmem(text + at, to - at, marks[k], strlen(marks[k]));
    if (!hit || (best && hit >= best)) continue;
    const char *v = hit + strlen(marks[k]);
    if (marks[k][0] == '"') { /* JSON: "src": "value" */
      while (v < text + to && (*v == ' ' || *v == '\t')) v++;
      if (v == text + to || *v != '"') continue;
      v++;
    }
    best = hit;
    value = v;
  }
  return value;
}

/* Copies text[from, to) into out, versioning every reference to a file of
 * the site. */
static int copy_versioned(http_static_files s, const char *html, size_t from, size_t to, buf *out) {
  size_t at = from;
  while (at < to) {
    const char *value = next_reference(html, at, to);
    if (!value) break;
    const char *end = memchr(value, '"', (size_t)(html + to - value));
    if (!end) break;
    const http_static_file *f = referenced(s, value, (size_t)(end - value));
    if (buf_append(out, html + at, (size_t)(end - html - at)) != 0) return -1;
    if (f && buf_appendf(out, "?v=%s", f->version) != 0) return -1;
    at = (size_t)(end - html);
  }
  return buf_append(out, html + at, to - at);
}

char *http_static_manifest_rewrite(http_static_files s, const char *json, size_t len,
                                   size_t *out_len) {
  buf out;
  buf_init(&out, len * 2 + 4096);
  if (copy_versioned(s, json, 0, len, &out) != 0) {
    buf_free(&out);
    return NULL;
  }
  return buf_steal(&out, out_len);
}

char *http_static_page_rewrite(http_static_files s, const char *html, size_t len, size_t *out_len,
                               char *csp_hash, size_t hash_len) {
  buf out, map;
  buf_init(&out, len * 2 + 64 * 1024);
  buf_init(&map, 64 * 1024);
  csp_hash[0] = '\0';
  const char *script = NULL;
  for (const char *p = html; (p = memchr(p, '<', len - (size_t)(p - html))); p++)
    if ((size_t)(html + len - p) >= 7 && strncasecmp(p, "<script", 7) == 0) {
      script = p;
      break;
    }
  bool own_map = memmem(html, len, "importmap", 9) != NULL;
  size_t split = script && !own_map ? (size_t)(script - html) : len;
  int rc = copy_versioned(s, html, 0, split, &out);
  if (rc == 0 && split < len) rc = import_map(s, &map);
  if (rc == 0 && map.len > 0) {
    rc = buf_appendf(&out, "<script type=\"importmap\">%s</script>", buf_cstr(&map));
    if (rc == 0) base64_sha256(map.data, map.len, csp_hash, hash_len);
  }
  if (rc == 0) rc = copy_versioned(s, html, split, len, &out);
  buf_free(&map);
  if (rc != 0) {
    buf_free(&out);
    return NULL;
  }
  return buf_steal(&out, out_len);
}
