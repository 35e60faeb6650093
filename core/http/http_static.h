/* Static files from one folder (www/), with no way out of it.
 *
 * The files are served from memory (http_static_site.h): precompressed
 * (brotli or gzip, as the client's Accept-Encoding allows), with strong
 * ETags, and cached by the browser for a year under versioned URLs
 * (x?v=VERSION, which index.html and its import map use), while index.html
 * itself and unversioned URLs are revalidated every time (no-cache).
 *
 * The site is read on the first request, on a worker thread (compressing
 * it costs a few hundred milliseconds once); requests wait for it. A file
 * that changed on disk (each request checks its file; index.html checks
 * them all), or one that appeared, makes the next request read the site
 * again, so an edit to www/ shows on the next load.
 */
#ifndef BG_HTTP_STATIC_H
#define BG_HTTP_STATIC_H

#include <uv.h>

#include "http_server.h"

typedef struct http_static http_static;

/* 0, or a negative uv error (no memory). Nothing is read yet. */
int http_static_new(http_static **out, uv_loop_t *loop, const char *root);
/* Answers GET/HEAD for req->path: "/" is index.html; 404 for anything
 * missing, outside root ("..", encoded variants, symlinks leading out),
 * not a regular file, hidden (a name starting with '.'), or undecodable;
 * 500 for a file past HTTP_STATIC_MAX_FILE_BYTES. */
void http_static_serve(http_static *st, http_conn *c, const http_request *req);
/* Frees st once no read of the site runs. Requests still waiting must
 * have gone (their connections closed) before. */
void http_static_close(http_static *st);

#endif
