/* Who is asking, and may they: the checks every /api request passes.
 *
 * Identity comes from the auth proxy's header (only when the operator named
 * it in BREAKGLASS_TRUSTED_USER_HEADER: the proxy overwrites any value the
 * client sent) or from Authorization: Bearer API_BEARER_TOKEN. With neither,
 * requests fail closed. Cross-site requests are refused outright.
 */
#ifndef BG_AUTH_H
#define BG_AUTH_H

#include <stddef.h>

#include "api_options.h"
#include "http_server.h"
#include "limits_table.h"

/* 0 and identity ("user:<name>" or "bearer") when the request is
 * authenticated; -1 otherwise. */
int auth_identify(const api_options *o, const http_request *req,
                  char identity[AUTH_IDENTITY_MAX_BYTES]);

/* 0 when the request comes from our own page or a non-browser client;
 * -1 when Sec-Fetch-Site or Origin says another site sent it. */
int auth_check_same_origin(const http_request *req);

/* Equal strings, in time that depends only on the length of secret. */
int auth_secret_equal(const char *given, const char *secret);

#endif
