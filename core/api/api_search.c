/* One search at a time in the thread pool: a request that comes while one
 * runs waits (at most API_SEARCH_MAX_WAITING_COUNT of them; more get 503), and
 * the next piece of work takes every one waiting, refreshes the index once
 * and answers each. The index is touched only by that work, so it needs no
 * lock: libuv orders each piece of work after the loop that queued it. */
#include "api_search.h"

#include <stdlib.h>
#include <string.h>

#include "limits_table.h"
#include "log.h"
#include "search_index.h"

typedef struct search_request {
  struct search_request *next;
  http_conn *conn; /* NULL once the client is gone */
  search_query query;
  char *answer; /* the JSON the work made, or NULL (500) */
  int failed;   /* the folder could not be read */
} search_request;

struct api_searcher {
  search_index *ix; /* NULL until first made */
  uv_work_t work;
  int running;
  search_request *waiting, *batch;
  size_t waiting_count;
  char error[512];
};

api_searcher *api_search_new(void) {
  api_searcher *sr = calloc(1, sizeof *sr);
  return sr;
}

void api_search_free(api_searcher *sr) {
  if (!sr) return;
  search_index_free(sr->ix);
  free(sr);
}

static void search_on_close(void *ud, http_conn *c) {
  (void)c;
  ((search_request *)ud)->conn = NULL;
}

static void search_work(uv_work_t *w) {
  api_searcher *sr = w->data;
  int failed = search_index_refresh(sr->ix, sr->error, sizeof sr->error) != 0;
  for (search_request *r = sr->batch; r; r = r->next) {
    r->failed = failed;
    json_t *answer = failed ? NULL : search_index_query(sr->ix, &r->query);
    r->answer = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
    json_decref(answer);
  }
}

static void search_start_work(api_searcher *sr, uv_loop_t *loop);

static void search_done(uv_work_t *w, int status) {
  api_searcher *sr = w->data;
  search_request *r = sr->batch;
  sr->batch = NULL;
  sr->running = 0;
  if (status != 0)
    log_error("search: the index work did not run: %s", uv_strerror(status));
  else if (sr->error[0] && r)
    log_error("search: %s", sr->error);
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
  if (sr->waiting) search_start_work(sr, w->loop);
}

static void search_start_work(api_searcher *sr, uv_loop_t *loop) {
  sr->batch = sr->waiting;
  sr->waiting = NULL;
  sr->waiting_count = 0;
  sr->error[0] = '\0';
  sr->work.data = sr;
  sr->running = uv_queue_work(loop, &sr->work, search_work, search_done) == 0;
  if (!sr->running) search_done(&sr->work, UV_ENOMEM);
}

void api_search_start(app *a) {
  api_searcher *sr = a->search;
  if (!sr->ix) sr->ix = search_index_new(a->options.store.sessions_dir, 1);
  if (sr->ix && !sr->running) search_start_work(sr, a->loop);
}

void api_search(app *a, http_conn *c, const http_request *req) {
  api_searcher *sr = a->search;
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
  if (!sr->ix) sr->ix = search_index_new(a->options.store.sessions_dir, 1);
  if (!sr->ix || sr->waiting_count >= API_SEARCH_MAX_WAITING_COUNT) {
    http_respond_error(c, 503,
                       sr->ix ? "too many searches are waiting; try again" : "out of memory");
    search_query_free(&r->query);
    free(r);
    return;
  }
  r->conn = c;
  http_conn_on_close(c, search_on_close, r);
  search_request **tail = &sr->waiting;
  while (*tail) tail = &(*tail)->next;
  *tail = r;
  sr->waiting_count++;
  if (!sr->running) search_start_work(sr, a->loop);
}
