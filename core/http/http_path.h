/* Request paths: percent-decoding and the safety check for file lookups.
 *
 * Pure functions over strings, so the traversal rules can be tested and
 * fuzzed without a socket or a file system.
 */
#ifndef BG_HTTP_PATH_H
#define BG_HTTP_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Percent-decodes raw[0..len) into out, which must hold len + 1 bytes, and
 * NUL-terminates it. '+' stays '+' (that rule is for form bodies, not
 * paths). Returns 0, or -1 for a malformed escape or a decoded NUL byte. */
int http_path_decode(const char *raw, size_t len, char *out, size_t *out_len);

/* True when a decoded path may name a file under a root: it starts with '/',
 * has no empty, "." or ".." segment (so "//x", "/a/./b", "/a/.." fail), no
 * backslash and no control byte. "/" alone is accepted. */
bool http_path_is_safe(const char *path);

#endif
