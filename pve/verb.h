/* The verbs breakglass-pve accepts from SSH_ORIGINAL_COMMAND.
 *
 * The client's string is compared, whole and byte for byte, against a fixed
 * table: no splitting, trimming or case folding, so nothing the client sends
 * can turn into an argument, a second command or another VM.
 */
#ifndef BG_PVE_VERB_H
#define BG_PVE_VERB_H

#include <stdbool.h>
#include <stddef.h>

/* Longer input is rejected without a look at its bytes. */
#define PVE_VERB_MAX_BYTES 32
#define PVE_VERBS_ALLOWED "status|forensics|reset|stop|start|cycle"

typedef enum pve_verb {
  PVE_VERB_STATUS,
  PVE_VERB_FORENSICS,
  PVE_VERB_RESET,
  PVE_VERB_STOP,
  PVE_VERB_START,
  PVE_VERB_CYCLE,
} pve_verb;

/* 0 and *out when input (len bytes; NULL when unset) is exactly one verb,
 * else -1. */
int pve_verb_parse(const char *input, size_t len, pve_verb *out);

const char *pve_verb_name(pve_verb verb);

/* start, stop, reset and cycle change the VM: they take the lock and run
 * forensics first. */
bool pve_verb_is_mutating(pve_verb verb);

#endif
