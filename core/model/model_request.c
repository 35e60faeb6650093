#include "model_request.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

/* Where plain HTTP may go: the credential rides on every request, so clear
 * text only on this machine. "localhost" counts: libcurl (since 7.78)
 * answers it with 127.0.0.1 and ::1 itself, never asking a resolver or
 * /etc/hosts. host is libcurl's CURLUPART_HOST: IPv6 in brackets. */
static bool host_is_loopback(const char *host) {
  if (strcasecmp(host, "localhost") == 0) return true;
  struct in_addr v4;
  if (inet_pton(AF_INET, host, &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  char inner[INET6_ADDRSTRLEN];
  size_t n = strlen(host);
  struct in6_addr v6;
  if (n < 3 || n - 2 >= sizeof(inner) || host[0] != '[' || host[n - 1] != ']') return false;
  memcpy(inner, host + 1, n - 2);
  inner[n - 2] = '\0';
  return inet_pton(AF_INET6, inner, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

static bool url_has(CURLU *u, CURLUPart part) {
  char *value = NULL;
  bool has = curl_url_get(u, part, &value, 0) == CURLUE_OK;
  curl_free(value);
  return has;
}

/* The reason base is refused, or NULL; u holds it parsed. */
static const char *base_url_problem(CURLU *u, const char *base) {
  if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
    return "is not a URL (expected https://host[:port][/path])";
  if (url_has(u, CURLUPART_USER) || url_has(u, CURLUPART_PASSWORD) ||
      url_has(u, CURLUPART_OPTIONS))
    return "must not hold a user name or password (the credential is ANTHROPIC_API_KEY or "
           "ANTHROPIC_AUTH_TOKEN)";
  if (url_has(u, CURLUPART_QUERY) || url_has(u, CURLUPART_FRAGMENT))
    return "must not hold a query or a fragment";
  char *scheme = NULL, *host = NULL;
  const char *problem = NULL;
  if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0))
    problem = "must be https:// (or http:// to this machine)";
  else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
    problem = "has no host";
  else if (strcmp(scheme, "http") == 0 && !host_is_loopback(host))
    problem = "would send the credential in clear text: http:// only to 127.0.0.0/8, [::1] "
              "or localhost, else https://";
  curl_free(scheme);
  curl_free(host);
  return problem;
}

int model_request_check_base_url(const char *base, char *why, size_t whylen) {
  CURLU *u = curl_url();
  const char *problem = u ? base_url_problem(u, base) : "cannot be checked: out of memory";
  curl_url_cleanup(u);
  if (!problem) return 0;
  snprintf(why, whylen, "%s", problem);
  return -1;
}

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
