/* Room for one more item in a growable array, typed once for the eleven
 * arrays that grow by doubling (sessions' events, search documents, replay's
 * calls, the page's files...).
 *
 * The caller still bounds how many items it keeps: this only makes room,
 * refusing a size that would overflow size_t.
 */
#ifndef BG_ARRAY_GROW_H
#define BG_ARRAY_GROW_H

#include <stddef.h>

/* *items_ptr (a T **, passed as void *) holds count of *cap items of
 * item_bytes each. When count reaches *cap, doubles *cap (to first when
 * empty) and reallocates. 0, or -1 when memory ran out or the size would
 * overflow; then *items_ptr and *cap are unchanged and still valid. */
int array_grow(void *items_ptr, size_t *cap, size_t count, size_t item_bytes, size_t first);

/* array_grow for an array of any type: ARRAY_GROW(s->docs, s->cap, s->count, 16). */
#define ARRAY_GROW(items, cap, count, first)                                                       \
  array_grow(&(items), &(cap), (count), sizeof *(items), (first))

#endif
