/* Static files from one folder (www/), with no way out of it. */
#ifndef BG_HTTP_STATIC_H
#define BG_HTTP_STATIC_H

#include "http_server.h"

/* Answers GET/HEAD for req->path from root: "/" is index.html; types by
 * extension; 404 for anything missing, outside root ("..", encoded
 * variants, symlinks leading out), not a regular file, or undecodable. */
void http_static_serve(http_conn *c, const http_request *req, const char *root);

#endif
