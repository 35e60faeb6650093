#include "array_grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int array_grow(void *items_ptr, size_t *cap, size_t count, size_t item_bytes, size_t first) {
  if (count < *cap) return 0;
  size_t want = *cap ? *cap * 2 : first;
  if (want <= *cap || want > SIZE_MAX / item_bytes) return -1;
  /* The caller's pointer is a T *, read and written as bytes so that no
   * T ** is accessed as a void **. */
  void *items;
  memcpy(&items, items_ptr, sizeof items);
  void *more = realloc(items, want * item_bytes);
  if (!more) return -1;
  memcpy(items_ptr, &more, sizeof more);
  *cap = want;
  return 0;
}
