/* A command's output stream kept within a byte budget: the first half of
 * the budget as it arrived (the head), the last half as a ring (the tail),
 * and the count of bytes dropped in between. Memory is bounded by the
 * budget whatever the command prints. */
#ifndef BG_SSH_CAPTURE_H
#define BG_SSH_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ssh_capture {
  size_t max_bytes;
  char *head;
  size_t head_len;
  char *tail; /* ring of max_bytes - max_bytes / 2 */
  size_t tail_start, tail_len;
  uint64_t total_bytes;
} ssh_capture;

void ssh_capture_init(ssh_capture *c, size_t max_bytes);
/* 0, or -1 when memory ran out (the bytes are counted as cut). */
int ssh_capture_append(ssh_capture *c, const char *p, size_t n);
/* head + tail as one malloc'd NUL-terminated string (NULL when out of
 * memory); *cut gets the bytes dropped. */
char *ssh_capture_join(const ssh_capture *c, size_t *len, uint64_t *cut);
void ssh_capture_free(ssh_capture *c);

#endif
