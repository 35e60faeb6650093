#include "journal_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal_chain.h"

int journal_key_read(const char *path, unsigned char **out, size_t *len, char **raw,
                     size_t *raw_len, char *err, size_t errlen) {
  *out = NULL;
  *raw = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot read the journal HMAC key %s: %s", path, strerror(errno));
    return -1;
  }
  char *buf = malloc(JOURNAL_CHAIN_MAX_KEY_BYTES + 1);
  size_t got = 0;
  int failed = buf ? 0 : ENOMEM;
  while (!failed && got <= JOURNAL_CHAIN_MAX_KEY_BYTES) {
    ssize_t n = read(fd, buf + got, JOURNAL_CHAIN_MAX_KEY_BYTES + 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) failed = errno;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (failed || got > JOURNAL_CHAIN_MAX_KEY_BYTES) {
    if (failed)
      snprintf(err, errlen, "cannot read the journal HMAC key %s: %s", path, strerror(failed));
    else
      snprintf(err, errlen,
               "the journal HMAC key %s is longer than %d bytes; use a file of 32 random bytes "
               "(or their hex)",
               path, JOURNAL_CHAIN_MAX_KEY_BYTES);
    free(buf);
    return -1;
  }
  size_t keep = got;
  while (keep > 0 && strchr(" \t\r\n", buf[keep - 1])) keep--;
  if (keep < JOURNAL_KEY_MIN_BYTES) {
    snprintf(err, errlen,
             "the journal HMAC key %s holds %zu bytes; it needs at least %d (e.g. `openssl rand "
             "-hex 32`)",
             path, keep, JOURNAL_KEY_MIN_BYTES);
    free(buf);
    return -1;
  }
  *out = malloc(keep);
  if (!*out) {
    snprintf(err, errlen, "out of memory reading the journal HMAC key");
    free(buf);
    return -1;
  }
  memcpy(*out, buf, keep);
  *len = keep;
  buf[got] = '\0';
  *raw = buf;
  *raw_len = got;
  return 0;
}
