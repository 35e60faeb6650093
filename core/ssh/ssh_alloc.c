#include "ssh_alloc.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#include "dlist.h"

/* A block's header, before what libssh2 gets; its size keeps the payload
 * aligned as malloc's would be. */
typedef struct ssh_alloc_block {
  struct ssh_alloc_block *prev, *next;
  ssh_alloc_arena *arena;
} ssh_alloc_block;

#define SSH_ALLOC_HEADER_BYTES                                                                     \
  ((sizeof(ssh_alloc_block) + alignof(max_align_t) - 1) / alignof(max_align_t) *                   \
   alignof(max_align_t))

static size_t reclaimed_total;

static ssh_alloc_block *block_of(void *ptr) {
  return (ssh_alloc_block *)((char *)ptr - SSH_ALLOC_HEADER_BYTES);
}

static void *payload_of(ssh_alloc_block *b) { return (char *)b + SSH_ALLOC_HEADER_BYTES; }

static void block_link(ssh_alloc_block *b, ssh_alloc_arena *a) {
  b->arena = a;
  DLIST_PUSH(a->head, b);
}

static void block_unlink(ssh_alloc_block *b) { DLIST_UNLINK(b->arena->head, b); }

void *ssh_alloc(size_t count, void **abstract) {
  if (count > SIZE_MAX - SSH_ALLOC_HEADER_BYTES) return NULL;
  ssh_alloc_block *b = malloc(SSH_ALLOC_HEADER_BYTES + count);
  if (!b) return NULL;
  block_link(b, *abstract);
  return payload_of(b);
}

void ssh_alloc_free(void *ptr, void **abstract) {
  (void)abstract;
  if (!ptr) return;
  ssh_alloc_block *b = block_of(ptr);
  block_unlink(b);
  free(b);
}

void *ssh_alloc_realloc(void *ptr, size_t count, void **abstract) {
  if (!ptr) return ssh_alloc(count, abstract);
  if (count > SIZE_MAX - SSH_ALLOC_HEADER_BYTES) return NULL;
  ssh_alloc_block *b = block_of(ptr);
  ssh_alloc_arena *a = b->arena;
  /* Unlinked while it may move; on failure the old block stays valid and
   * goes back. */
  block_unlink(b);
  ssh_alloc_block *moved = realloc(b, SSH_ALLOC_HEADER_BYTES + count);
  block_link(moved ? moved : b, a);
  return moved ? payload_of(moved) : NULL;
}

size_t ssh_alloc_arena_release(ssh_alloc_arena *a) {
  size_t n = 0;
  while (a->head) {
    ssh_alloc_block *b = a->head;
    a->head = b->next;
    free(b);
    n++;
  }
  reclaimed_total += n;
  return n;
}

size_t ssh_alloc_reclaimed_total(void) { return reclaimed_total; }
