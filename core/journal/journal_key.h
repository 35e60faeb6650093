/* The journals' HMAC key (BREAKGLASS_JOURNAL_HMAC_KEY_PATH): a file of
 * random bytes mounted from a Secret, read once. Trailing whitespace (the
 * newline `openssl rand -hex 32 > key` leaves) is not part of the key. */
#ifndef BG_JOURNAL_KEY_H
#define BG_JOURNAL_KEY_H

#include <stddef.h>

#include "limits_table.h"

/* Reads path: 0 with *out (malloc'd) and *len set, *raw (malloc'd: the
 * file as it is, for the redactor) and *raw_len; -1 with err set. */
int journal_key_read(const char *path, unsigned char **out, size_t *len, char **raw,
                     size_t *raw_len, char *err, size_t errlen);

#endif
