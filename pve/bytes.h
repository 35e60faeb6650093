/* breakglass-pve's byte buffer: allocated once, at its cap, and never grown.
 *
 * Every buffer here has a limit known when it is made (a config file, a
 * log record, a step's output), and the program runs one verb and exits,
 * so there is nothing to gain from growing one: the whole cap is taken at
 * init, and an append either fits whole or changes nothing. The kernel
 * backs pages only once they are written, so a generous cap costs only
 * what is used. The bytes are always followed by a NUL, so data reads as
 * a string.
 */
#ifndef BG_PVE_BYTES_H
#define BG_PVE_BYTES_H

#include <stddef.h>

typedef struct pve_bytes {
  char *data; /* never NULL, NUL-terminated at len */
  size_t len;
  size_t cap; /* bytes it can hold, not counting the NUL */
} pve_bytes;

/* 0, or -1 when the memory could not be had: b is then empty with no room
 * at all, so every append fails as on a full buffer. */
int pve_bytes_init(pve_bytes *b, size_t cap);
void pve_bytes_free(pve_bytes *b);
void pve_bytes_clear(pve_bytes *b);

/* 0 with all n bytes appended, or -1 with b unchanged when they do not
 * fit. */
int pve_bytes_add(pve_bytes *b, const void *p, size_t n);
int pve_bytes_add_str(pve_bytes *b, const char *s);
int pve_bytes_printf(pve_bytes *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
