/* One file of the page as the server keeps it: its bytes in each
 * encoding worth keeping, its version and ETags, and what it was on disk.
 * The site (http_static_site.h) reads them; the page's rewrite
 * (http_static_page.h) and the server (http_static.c) read them. */
#ifndef BG_HTTP_STATIC_FILE_H
#define BG_HTTP_STATIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* "0123456789ab": the first hex digits of the file's SHA-256. */
#define HTTP_STATIC_VERSION_CHARS 12

typedef enum {
  HTTP_STATIC_IDENTITY,
  HTTP_STATIC_GZIP,
  HTTP_STATIC_BROTLI,
  HTTP_STATIC_ENCODINGS,
} http_static_encoding;

typedef struct http_static_body {
  char *data; /* NULL when this encoding is not kept (not smaller) */
  size_t len;
  char etag[HTTP_STATIC_VERSION_CHARS + 16]; /* "\"<version>-br\"" */
} http_static_body;

/* What a file was on disk when read, to tell whether it changed. */
typedef struct http_static_stamp {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
} http_static_stamp;

typedef struct http_static_file {
  char *key;  /* "/app.mjs": the path under root, symlinks resolved */
  char *real; /* the absolute path, to stat */
  const char *type;
  http_static_stamp stamp;
  bool too_large;
  char version[HTTP_STATIC_VERSION_CHARS + 1];
  http_static_body body[HTTP_STATIC_ENCODINGS];
} http_static_file;

#endif
