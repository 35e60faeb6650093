/* index.html and a web app manifest rewritten to name the site's files by
 * their versioned URLs (http_static_page.c). The site (http_static_site.c)
 * calls these while it is built, handing over the files they may name;
 * they call nothing back. */
#ifndef BG_HTTP_STATIC_PAGE_H
#define BG_HTTP_STATIC_PAGE_H

#include <stddef.h>

#include "http_static_file.h"

/* The files a page may name, sorted by key (strcmp); those read have their
 * version set, and one without data (it could not be read) is never named. */
typedef struct http_static_files {
  const http_static_file *file;
  size_t count;
} http_static_files;

/* index.html with versioned URLs and the import map. Returns the new text
 * (malloc'd, *out_len set) and fills csp_hash with the base64 SHA-256 of
 * the import map ("" when none was added); NULL when memory ran out. */
char *http_static_page_rewrite(http_static_files files, const char *html, size_t len,
                               size_t *out_len, char *csp_hash, size_t hash_len);
/* A web app manifest with its "src" (icons) naming versioned URLs; NULL
 * when memory ran out. */
char *http_static_manifest_rewrite(http_static_files files, const char *json, size_t len,
                                   size_t *out_len);

#endif
