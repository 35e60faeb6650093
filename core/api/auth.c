#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int auth_secret_equal(const char *given, const char *secret) {
  size_t glen = strlen(given), slen = strlen(secret);
  unsigned char diff = (unsigned char)(glen != slen);
  /* Walk the secret's length whatever was given, so the time taken tells
   * nothing about how much of a guess was right. */
  for (size_t i = 0; i < slen; i++) {
    unsigned char g = i < glen ? (unsigned char)given[i] : 0;
    diff |= g ^ (unsigned char)secret[i];
  }
  return diff == 0;
}

/* A proxy-supplied user name, kept printable and short. */
static void copy_user(char out[AUTH_IDENTITY_MAX_BYTES], const char *name) {
  size_t n = (size_t)snprintf(out, AUTH_IDENTITY_MAX_BYTES, "user:%s", name);
  if (n >= AUTH_IDENTITY_MAX_BYTES) n = AUTH_IDENTITY_MAX_BYTES - 1;
  for (size_t i = 5; i < n; i++)
    if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f) out[i] = '?';
}

/* The token of "Bearer <token>", or NULL. The scheme is case-insensitive
 * and one or more spaces may follow it (RFC 9110 section 11.4). */
static const char *bearer_credentials(const char *authz) {
  if (!authz || strncasecmp(authz, "Bearer ", 7) != 0) return NULL;
  return authz + 6 + strspn(authz + 6, " ");
}

int auth_identify(const api_options *o, const http_request *req,
                  char identity[AUTH_IDENTITY_MAX_BYTES]) {
  if (o->trusted_user_header) {
    const char *user = http_request_header(req, o->trusted_user_header);
    if (user && *user) {
      copy_user(identity, user);
      return 0;
    }
  }
  const char *token = bearer_credentials(http_request_header(req, "Authorization"));
  if (o->bearer_token && token && auth_secret_equal(token, o->bearer_token)) {
    snprintf(identity, AUTH_IDENTITY_MAX_BYTES, "bearer");
    return 0;
  }
  return -1;
}

/* "https://host:port" -> "host:port", to compare with the Host header. */
static const char *origin_authority(const char *origin) {
  const char *p = strstr(origin, "://");
  return p ? p + 3 : NULL;
}

int auth_check_same_origin(const http_request *req) {
  const char *site = http_request_header(req, "Sec-Fetch-Site");
  if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0) return -1;
  const char *origin = http_request_header(req, "Origin");
  if (origin && strcmp(origin, "null") != 0) {
    const char *host = http_request_header(req, "Host");
    const char *authority = origin_authority(origin);
    if (!host || !authority || strcasecmp(host, authority) != 0) return -1;
  } else if (origin) {
    return -1; /* "null": a sandboxed or file: page */
  }
  return 0;
}
