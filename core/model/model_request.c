#include "model_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base_url.h"

char *model_request_url(const char *base) {
  CURLU *u = curl_url();
  char *path = NULL, *url = NULL, *joined = NULL;
  if (!u || base_url_problem(u, base) || curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    goto done;
  size_t n = strlen(path);
  while (n > 0 && path[n - 1] == '/') n--;
  if (asprintf(&joined, "%.*s/v1/messages", (int)n, path) < 0) {
    joined = NULL;
    goto done;
  }
  char *got = NULL;
  if (curl_url_set(u, CURLUPART_PATH, joined, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &got, 0) == CURLUE_OK) {
    url = strdup(got);
    curl_free(got);
  }
done:
  free(joined);
  curl_free(path);
  curl_url_cleanup(u);
  return url;
}

/* A value must not be able to end its header line and start another. */
static int request_value_ok(const char *v) { return v && *v && !strpbrk(v, "\r\n"); }

static int request_add(struct curl_slist **list, const char *name, const char *prefix,
                       const char *value) {
  char *line;
  if (asprintf(&line, "%s: %s%s", name, prefix, value) < 0) return UV_ENOMEM;
  struct curl_slist *l = curl_slist_append(*list, line);
  free(line);
  if (!l) return UV_ENOMEM;
  *list = l;
  return 0;
}

int model_request_headers(struct curl_slist **out, const char *api_key, const char *auth_token,
                          const char *version) {
  *out = NULL;
  if (!version) version = MODEL_REQUEST_DEFAULT_VERSION;
  if (!request_value_ok(api_key ? api_key : auth_token) || !request_value_ok(version))
    return UV_EINVAL;
  struct curl_slist *list = NULL;
  int rc = api_key ? request_add(&list, "x-api-key", "", api_key)
                   : request_add(&list, "Authorization", "Bearer ", auth_token);
  if (rc == 0) rc = request_add(&list, "anthropic-version", "", version);
  if (rc == 0) rc = request_add(&list, "content-type", "", "application/json");
  if (rc == 0) rc = request_add(&list, "accept", "", "text/event-stream");
  /* "Expect:" with no value removes the header: a large body must not wait
   * a second for "100 Continue". */
  struct curl_slist *l = rc == 0 ? curl_slist_append(list, "Expect:") : NULL;
  if (!l) {
    curl_slist_free_all(list);
    return rc ? rc : UV_ENOMEM;
  }
  *out = l;
  return 0;
}

char *model_request_body(const json_t *request, size_t *len) {
  *len = 0;
  if (!json_is_object(request)) return NULL;
  /* A shallow copy only takes references: the caller's tree is unchanged. */
  json_t *copy = json_copy((json_t *)request);
  char *body = NULL;
  if (copy && json_object_set_new(copy, "stream", json_true()) == 0)
    body = json_dumps(copy, JSON_COMPACT);
  json_decref(copy);
  if (body) *len = strlen(body);
  return body;
}
