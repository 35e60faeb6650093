/* GET /api/sessions/search (docs/http-api.md): the search index over every
 * journal (search_index.h), kept and queried in libuv's thread pool, one
 * piece of work at a time, so the loop never waits on the disk or on a
 * search. */
#ifndef BG_API_SEARCH_H
#define BG_API_SEARCH_H

#include "app.h"
#include "http_server.h"

/* The index and the searches waiting on it; the daemon owns one
 * (app->search). NULL when out of memory. Free it after the loop has run
 * dry, when no work on it can be queued or running. */
typedef struct api_searcher api_searcher;
api_searcher *api_search_new(void);
void api_search_free(api_searcher *sr);

/* Starts bringing the index up to date in the background (at start, so the
 * first search finds it built). */
void api_search_start(app *a);
void api_search(app *a, http_conn *c, const http_request *req);

#endif
