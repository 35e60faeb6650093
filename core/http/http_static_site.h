/* The page's files as the server keeps them: read once, each with a
 * version (a hash of what is served), a strong ETag per representation,
 * and gzip and brotli copies made once, so that a phone on a slow link
 * downloads the page once and then only revalidates index.html.
 *
 * index.html is served rewritten: its src and href attributes that name a
 * file of the site carry ?v=VERSION, and an import map gives every module
 * its versioned URL, so the modules' own imports (`from './api.mjs'`) reach
 * versioned URLs too; a web app manifest's icons are versioned the same
 * way. www/ stays a plain folder with no build step.
 *
 * Building reads the file system and compresses, and touches nothing
 * else, so it runs on a worker thread. A site is immutable once built.
 */
#ifndef BG_HTTP_STATIC_SITE_H
#define BG_HTTP_STATIC_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "http_static_file.h"
#include "limits_table.h"

typedef struct http_static_site {
  char *root;              /* realpath of the root */
  struct timespec scanned; /* when the walk began (CLOCK_REALTIME) */
  http_static_file *files; /* sorted by key */
  size_t count;
  char csp[512]; /* for index.html: the CSP with its import map's hash */
  size_t bytes;  /* kept, all representations */
} http_static_site;

/* Reads root into a new site. NULL with err filled when root cannot be read
 * or memory ran out; files that cannot be read are left out. */
http_static_site *http_static_site_build(const char *root, char *err, size_t errlen);
void http_static_site_free(http_static_site *s);

/* The file at key ("/index.html"), or NULL. */
const http_static_file *http_static_site_find(const http_static_site *s, const char *key);
/* The stamp of what is at path now; -1 when it is gone or not a file. */
int http_static_stamp_of(const char *path, http_static_stamp *out);
bool http_static_stamp_equal(const http_static_stamp *a, const http_static_stamp *b);

#endif
