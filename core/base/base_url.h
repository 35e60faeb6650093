/* The model API's base URL: what the setting may hold. Read where the
 * settings are checked (config.c) and where the model client builds its
 * URL from the same parse (model_request.c), so the two cannot disagree;
 * it lives below both because the settings may not reach up into the
 * model client. */
#ifndef BG_BASE_URL_H
#define BG_BASE_URL_H

#include <curl/curl.h>
#include <stddef.h>

/* 0 when base_url may be the Messages API's base; else -1 and why (a
 * phrase to follow the setting's name; it never quotes the URL, which may
 * hold a password). The URL is parsed by libcurl's own URL API, so the rule
 * applies to the host libcurl will connect to: https://, or http:// only to
 * 127.0.0.0/8, [::1] or localhost (credentials never cross a network in
 * clear text); no user name or password (http://127.0.0.1:1@host names
 * host), query or fragment. */
int base_url_check(const char *base_url, char *why, size_t whylen);

/* The reason base_url is refused (as base_url_check gives it), or NULL;
 * u holds it parsed either way. */
const char *base_url_problem(CURLU *u, const char *base_url);

#endif
