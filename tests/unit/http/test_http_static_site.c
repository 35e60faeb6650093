/* The page's files as the server keeps them: versions, ETags, the rewritten
 * index.html with its import map and CSP hash, compressed copies that
 * decompress to the file, and what is left out (hidden files, symlinks out,
 * files too large). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <brotli/decode.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "http_static_site.h"
#include "scratch.h"

static char base[64], root[128];

static const char INDEX[] =
    "<!doctype html>\n<html><head>\n"
    "  <link rel=\"icon\" href=\"icon.svg\" type=\"image/svg+xml\">\n"
    "  <link rel=\"manifest\" href=\"site.webmanifest\">\n"
    "  <link rel=\"stylesheet\" href=\"./app.css\">\n"
    "  <script type=\"module\" src=\"app.mjs\"></script>\n"
    "</head><body><a href=\"#top\">top</a><a href=\"https://example.test/app.css\">x</a>"
    "<img src=\"missing.png\"><a href=\"lib/util.mjs\">u</a></body></html>\n";

static int setup(void **state) {
  (void)state;
  scratch_dir_make(base, sizeof base, "static");
  snprintf(root, sizeof root, "%s/www", base);
  assert_int_equal(mkdir(root, 0755), 0);
  char path[512];
  snprintf(path, sizeof path, "%s/lib", root);
  assert_int_equal(mkdir(path, 0755), 0);
  scratch_write_text(root, "index.html", INDEX);
  /* Compressible: the same rule again and again. */
  char css[8192] = "";
  for (int i = 0; i < 100; i++) strcat(css, ".row { display: flex; gap: 4px; }\n");
  scratch_write_text(root, "app.css", css);
  scratch_write_text(root, "app.mjs", "import { x } from './lib/util.mjs';\nconsole.log(x);\n");
  scratch_write_text(root, "lib/util.mjs", "export const x = 1;\n");
  scratch_write_text(root, "icon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
  scratch_write_text(root, "site.webmanifest",
                     "{\"start_url\": \"./\", \"icons\": [{\"src\": \"icon.svg\"}]}");
  scratch_write_text(root, ".hidden", "not served");
  scratch_write_text(base, "secret.txt", "secret");
  snprintf(path, sizeof path, "%s/escape.txt", root);
  assert_int_equal(symlink("../secret.txt", path), 0);
  snprintf(path, sizeof path, "%s/alias.mjs", root);
  assert_int_equal(symlink("app.mjs", path), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  scratch_remove(base);
  return 0;
}

/* The site built from root; the test fails with the reason if it is not. */
static http_static_site *must_build(void) {
  char err[256];
  http_static_site *s = http_static_site_build(root, err, sizeof err);
  if (!s) fail_msg("%s", err);
  return s;
}

static const http_static_file *must_find(const http_static_site *s, const char *key) {
  const http_static_file *f = http_static_site_find(s, key);
  if (!f) fail_msg("%s is not in the site", key);
  return f;
}

static void test_files_versions_and_what_is_left_out(void **state) {
  (void)state;
  http_static_site *s = must_build();
  const http_static_file *css = must_find(s, "/app.css");
  assert_string_equal(css->type, "text/css; charset=utf-8");
  assert_int_equal(strlen(css->version), HTTP_STATIC_VERSION_CHARS);
  char etag[64];
  snprintf(etag, sizeof etag, "\"%s\"", css->version);
  assert_string_equal(css->body[HTTP_STATIC_IDENTITY].etag, etag);
  snprintf(etag, sizeof etag, "\"%s-br\"", css->version);
  assert_string_equal(css->body[HTTP_STATIC_BROTLI].etag, etag);
  /* Modules are UTF-8 whatever the header says: no charset on them. */
  assert_string_equal(must_find(s, "/lib/util.mjs")->type, "text/javascript");
  assert_null(http_static_site_find(s, "/.hidden"));
  assert_null(http_static_site_find(s, "/escape.txt")); /* symlinks are not walked */
  assert_null(http_static_site_find(s, "/alias.mjs"));
  /* The same bytes, the same version; other bytes, another. */
  http_static_site *again = must_build();
  assert_string_equal(must_find(again, "/app.css")->version, css->version);
  assert_string_not_equal(must_find(again, "/app.mjs")->version, css->version);
  http_static_site_free(again);
  http_static_site_free(s);
  char err[256];
  assert_null(http_static_site_build("/nonexistent/www", err, sizeof err));
  assert_non_null(strstr(err, "/nonexistent/www cannot be read"));
}

static void sha256_base64(const char *data, size_t len, char *out) {
  unsigned char md[32];
  unsigned int n = sizeof md;
  EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
  EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

static void test_index_names_versions_and_maps_modules(void **state) {
  (void)state;
  char want[256];
  http_static_site *s = must_build();
  const http_static_file *index = must_find(s, "/index.html");
  const char *html = index->body[HTTP_STATIC_IDENTITY].data;
  snprintf(want, sizeof want, "href=\"icon.svg?v=%s\"", must_find(s, "/icon.svg")->version);
  assert_non_null(strstr(html, want));
  snprintf(want, sizeof want, "href=\"./app.css?v=%s\"", must_find(s, "/app.css")->version);
  assert_non_null(strstr(html, want));
  snprintf(want, sizeof want, "src=\"app.mjs?v=%s\"", must_find(s, "/app.mjs")->version);
  assert_non_null(strstr(html, want));
  /* The manifest names its icon by version, and is named by its own. */
  const http_static_file *manifest = must_find(s, "/site.webmanifest");
  snprintf(want, sizeof want, "\"src\": \"icon.svg?v=%s\"", must_find(s, "/icon.svg")->version);
  assert_non_null(strstr(manifest->body[HTTP_STATIC_IDENTITY].data, want));
  assert_non_null(strstr(manifest->body[HTTP_STATIC_IDENTITY].data, "\"start_url\": \"./\""));
  snprintf(want, sizeof want, "href=\"site.webmanifest?v=%s\"", manifest->version);
  assert_non_null(strstr(html, want));
  /* Not files of the site: left as they are. */
  assert_non_null(strstr(html, "href=\"#top\""));
  assert_non_null(strstr(html, "href=\"https://example.test/app.css\""));
  assert_non_null(strstr(html, "src=\"missing.png\""));
  /* The map, before the first script, names every module. */
  const char *map = strstr(html, "<script type=\"importmap\">");
  assert_non_null(map);
  assert_true(map < strstr(html, "<script type=\"module\""));
  map += strlen("<script type=\"importmap\">");
  const char *map_end = strstr(map, "</script>");
  snprintf(want, sizeof want, "{\"imports\":{\"./app.mjs\":\"./app.mjs?v=%s\",",
           must_find(s, "/app.mjs")->version);
  assert_memory_equal(map, want, strlen(want));
  snprintf(want, sizeof want, "\"./lib/util.mjs\":\"./lib/util.mjs?v=%s\"}}",
           must_find(s, "/lib/util.mjs")->version);
  assert_memory_equal(map_end - strlen(want), want, strlen(want));
  /* The page's CSP lets that script, and only it, run inline. */
  char hash[64];
  sha256_base64(map, (size_t)(map_end - map), hash);
  snprintf(want, sizeof want, "; script-src 'self' 'sha256-%s'", hash);
  assert_non_null(strstr(s->csp, want));
  assert_memory_equal(s->csp, "default-src 'self'", 18);
  /* index.html's version is that of what is served. */
  unsigned char md[32];
  unsigned int n = sizeof md;
  EVP_Digest(html, index->body[HTTP_STATIC_IDENTITY].len, md, &n, EVP_sha256(), NULL);
  char hex[16];
  snprintf(hex, sizeof hex, "%02x%02x", md[0], md[1]);
  assert_memory_equal(index->version, hex, 4);
  http_static_site_free(s);
}

static void test_compressed_copies_decompress_to_the_file(void **state) {
  (void)state;
  http_static_site *s = must_build();
  const http_static_file *css = must_find(s, "/app.css");
  const http_static_body *id = &css->body[HTTP_STATIC_IDENTITY];
  const http_static_body *gz = &css->body[HTTP_STATIC_GZIP];
  const http_static_body *br = &css->body[HTTP_STATIC_BROTLI];
  assert_non_null(gz->data);
  assert_non_null(br->data);
  assert_true(br->len < gz->len && gz->len < id->len / 10);
  static char out[16384];
  z_stream z = {0};
  assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = (Bytef *)gz->data;
  z.avail_in = (uInt)gz->len;
  z.next_out = (Bytef *)out;
  z.avail_out = sizeof out;
  assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
  assert_int_equal(z.total_out, id->len);
  assert_memory_equal(out, id->data, id->len);
  inflateEnd(&z);
  size_t n = sizeof out;
  assert_int_equal(BrotliDecoderDecompress(br->len, (const uint8_t *)br->data, &n, (uint8_t *)out),
                   BROTLI_DECODER_RESULT_SUCCESS);
  assert_int_equal(n, id->len);
  assert_memory_equal(out, id->data, id->len);
  /* A copy that would not be smaller is not kept. */
  const http_static_file *util = must_find(s, "/lib/util.mjs");
  assert_null(util->body[HTTP_STATIC_GZIP].data);
  http_static_site_free(s);
}

static void test_stamps_tell_a_change(void **state) {
  (void)state;
  http_static_site *s = must_build();
  const http_static_file *f = must_find(s, "/lib/util.mjs");
  http_static_stamp now;
  assert_int_equal(http_static_stamp_of(f->real, &now), 0);
  assert_true(http_static_stamp_equal(&now, &f->stamp));
  /* Another size: file times can be as coarse as a clock tick. */
  scratch_write_text(root, "lib/util.mjs", "export const x = 22;\n");
  assert_int_equal(http_static_stamp_of(f->real, &now), 0);
  assert_false(http_static_stamp_equal(&now, &f->stamp));
  assert_int_equal(http_static_stamp_of(root, &now), -1); /* a folder */
  http_static_site_free(s);
}

static void test_too_large_is_kept_as_such(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/big.bin", root);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fseek(f, HTTP_STATIC_MAX_FILE_BYTES, SEEK_SET), 0);
  fputc('x', f);
  fclose(f);
  http_static_site *s = must_build();
  const http_static_file *big = must_find(s, "/big.bin");
  assert_true(big->too_large);
  assert_null(big->body[HTTP_STATIC_IDENTITY].data);
  http_static_site_free(s);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_files_versions_and_what_is_left_out),
      cmocka_unit_test(test_index_names_versions_and_maps_modules),
      cmocka_unit_test(test_compressed_copies_decompress_to_the_file),
      cmocka_unit_test(test_stamps_tell_a_change),
      cmocka_unit_test(test_too_large_is_kept_as_such),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
