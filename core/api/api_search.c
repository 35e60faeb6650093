/* One search at a time in the thread pool: a request that comes while one
 * runs waits (at most API_SEARCH_MAX_WAITING_COUNT of them; more get 503), and
 * the next piece of work takes every one waiting, refreshes the index once
 * and answers each. The index is touched only by that work, so it needs no
 * lock: libuv orders each piece of work after the loop that queued it. */
#include "api_search.h"

#include <stdlib.h>
#include <string.h>

#include "api_limits.h"
#include "log.h"
#include "search_index.h"

typedef struct search_request {
  struct search_request *next;
  http_conn *conn; /* NULL once the client is gone */
  search_query query;
  char *answer;    /* the JSON the work made, or NULL (500) */
  int failed;      /* the folder could not be read */
} search_request;

/* Per process, like the loop and the journal store. */
static struct {
  search_index *ix;
  uv_work_t work;
  int running;
  search_request *waiting, *batch;
  size_t waiting_count;
  char error[512];
} searcher;

static void search_on_close(void *ud, http_conn *c) {
  (void)c;
  ((search_request *)ud)->conn = NULL;
}

static void search_work(uv_work_t *w) {
  (void)w;
  int failed = search_index_refresh(searcher.ix, searcher.error, sizeof searcher.error) != 0;
  for (search_request *r = searcher.batch; r; r = r->next) {
    r->failed = failed;
    json_t *answer = failed ? NULL : search_index_query(searcher.ix, &r->query);
    r->answer = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
    json_decref(answer);
  }
}

static void search_start_work(uv_loop_t *loop);

static void search_done(uv_work_t *w, int status) {
  search_request *r = searcher.batch;
  searcher.batch = NULL;
  searcher.running = 0;
  if (status != 0) log_error("search: the index work did not run: %s", uv_strerror(status));
  else if (searcher.error[0] && r) log_error("search: %s", searcher.error);
  while (r) {
    search_request *next = r->next;
    if (r->conn && r->answer)
      http_respond(r->conn, 200, "application/json", NULL, r->answer, strlen(r->answer));
    else if (r->conn)
      http_respond_error(r->conn, r->failed ? 503 : 500,
                         r->failed ? "the sessions folder cannot be read" : "out of memory");
    search_query_free(&r->query);
    free(r->answer);
    free(r);
    r = next;
  }
  if (searcher.waiting) search_start_work(w->loop);
}

static void search_start_work(uv_loop_t *loop) {
  searcher.batch = searcher.waiting;
  searcher.waiting = NULL;
  searcher.waiting_count = 0;
  searcher.error[0] = '\0';
  searcher.running = uv_queue_work(loop, &searcher.work, search_work, search_done) == 0;
  if (!searcher.running) search_done(&searcher.work, UV_ENOMEM);
}

void api_search_start(app *a) {
  if (!searcher.ix) searcher.ix = search_index_new(a->config->sessions_dir, 1);
  if (searcher.ix && !searcher.running) search_start_work(a->loop);
}

void api_search(app *a, http_conn *c, const http_request *req) {
  search_request *r = calloc(1, sizeof *r);
  char err[512];
  if (!r) {
    http_respond_error(c, 500, "out of memory");
    return;
  }
  search_query_init(&r->query);
  if (search_query_parse(&r->query, req->query, err, sizeof err) != 0) {
    http_respond_error(c, 400, err);
    search_query_free(&r->query);
    free(r);
    return;
  }
  if (!searcher.ix) searcher.ix = search_index_new(a->config->sessions_dir, 1);
  if (!searcher.ix || searcher.waiting_count >= API_SEARCH_MAX_WAITING_COUNT) {
    http_respond_error(c, 503, searcher.ix ? "too many searches are waiting; try again" : "out of memory");
    search_query_free(&r->query);
    free(r);
    return;
  }
  r->conn = c;
  http_conn_on_close(c, search_on_close, r);
  search_request **tail = &searcher.waiting;
  while (*tail) tail = &(*tail)->next;
  *tail = r;
  searcher.waiting_count++;
  if (!searcher.running) search_start_work(a->loop);
}

void api_search_close(void) {
  search_index_free(searcher.ix);
  searcher.ix = NULL;
}
