#include "base_url.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

const char *base_url_problem(CURLU *u, const char *base) {
  if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
    return "is not a URL (expected https://host[:port][/path])";
  if (url_has(u, CURLUPART_USER) || url_has(u, CURLUPART_PASSWORD) || url_has(u, CURLUPART_OPTIONS))
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

int base_url_check(const char *base, char *why, size_t whylen) {
  CURLU *u = curl_url();
  const char *problem = u ? base_url_problem(u, base) : "cannot be checked: out of memory";
  curl_url_cleanup(u);
  if (!problem) return 0;
  snprintf(why, whylen, "%s", problem);
  return -1;
}
