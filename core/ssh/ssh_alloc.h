/* The allocator libssh2 sessions are given: every block a session
 * allocates is linked into the session's arena, so that what libssh2 leaves
 * behind when a session is freed in the middle of its key exchange is
 * freed with it. libssh2 1.10 loses the curve25519 key pair then (upstream
 * issue 282), which a probe of a wedged host that thaws mid-handshake, or a
 * connect limit that fires there, does every time.
 *
 * The session's abstract pointer must be the arena (it is how the
 * allocator finds it): libssh2_session_init_ex(ssh_alloc, ssh_alloc_free,
 * ssh_alloc_realloc, arena).
 */
#ifndef BG_SSH_ALLOC_H
#define BG_SSH_ALLOC_H

#include <stddef.h>

struct ssh_alloc_block;

typedef struct ssh_alloc_arena {
  struct ssh_alloc_block *head;
} ssh_alloc_arena;

/* libssh2's LIBSSH2_ALLOC_FUNC, LIBSSH2_FREE_FUNC, LIBSSH2_REALLOC_FUNC:
 * *abstract is the session's arena. */
void *ssh_alloc(size_t count, void **abstract);
void ssh_alloc_free(void *ptr, void **abstract);
void *ssh_alloc_realloc(void *ptr, size_t count, void **abstract);

/* After libssh2_session_free: frees what is still allocated and returns how
 * many blocks that was (0 when libssh2 freed all it had). */
size_t ssh_alloc_arena_release(ssh_alloc_arena *a);

/* Blocks reclaimed that way since the process started. */
size_t ssh_alloc_reclaimed_total(void);

#endif
