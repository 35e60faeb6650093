/* GET /api/sessions/search (docs/http-api.md): the search index over every
 * journal (search_index.h), kept and queried in libuv's thread pool, one
 * piece of work at a time, so the loop never waits on the disk or on a
 * search. */
#ifndef BG_API_SEARCH_H
#define BG_API_SEARCH_H

#include "app.h"
#include "http_server.h"

/* Starts bringing the index up to date in the background (at start, so the
 * first search finds it built). */
void api_search_start(app *a);
void api_search(app *a, http_conn *c, const http_request *req);
/* After the loop has run dry: frees the index. */
void api_search_close(void);

#endif
