#include "json_path.h"

#include <stdarg.h>
#include <stdio.h>

void json_path_clear(json_path *p) {
  p->len = 0;
  p->text[0] = '\0';
}

size_t json_path_push(json_path *p, const char *fmt, ...) {
  size_t saved = p->len;
  size_t room = sizeof p->text - p->len;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(p->text + p->len, room, fmt, ap);
  va_end(ap);
  if (n > 0) p->len += (size_t)n < room ? (size_t)n : room - 1;
  return saved;
}

void json_path_pop(json_path *p, size_t saved) {
  p->len = saved;
  p->text[saved] = '\0';
}
