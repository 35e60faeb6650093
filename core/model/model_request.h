/* What every Messages API request carries: the URL, the fixed headers and
 * the body. Pure (no I/O), so each rule has a unit test.
 */
#ifndef BG_MODEL_REQUEST_H
#define BG_MODEL_REQUEST_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#define MODEL_REQUEST_DEFAULT_VERSION "2023-06-01"

/* "{base}/v1/messages" as libcurl writes it, trailing slashes of base's
 * path dropped. NULL when base_url_check refuses base, or
 * memory ran out. */
char *model_request_url(const char *base_url);

/* The headers of every request: one credential (x-api-key: api_key, else
 * Authorization: Bearer auth_token; never both, which the API may refuse
 * with 401), anthropic-version (version, or the default when NULL),
 * content-type, accept, and no "Expect: 100-continue". 0, UV_EINVAL when a
 * value is empty or holds a line break, or UV_ENOMEM. */
int model_request_headers(struct curl_slist **out, const char *api_key, const char *auth_token,
                          const char *version);

/* The request serialised compactly with "stream": true, keys in the
 * request's own order (jansson keeps insertion order), so that identical
 * requests are identical bytes for the prompt cache. NULL when memory ran
 * out or request is not an object; *len gets the length. */
char *model_request_body(const json_t *request, size_t *len);

#endif
