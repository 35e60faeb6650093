/* The verbs breakglass-pve accepts from SSH_ORIGINAL_COMMAND.
 *
 * The client's string is compared, whole and byte for byte, against a fixed
 * table: no splitting, trimming or case folding, so nothing the client sends
 * can turn into an argument, a second command or another VM. The table is
 * shared/pve_verb_list.h, which the daemon reads too.
 */
#ifndef BG_PVE_VERB_H
#define BG_PVE_VERB_H

#include <stdbool.h>
#include <stddef.h>

#include "shared/pve_verb_list.h"

/* Longer input is rejected without a look at its bytes. */
#define PVE_VERB_MAX_BYTES 32

#define PVE_VERB_ENUM(id, name, mutating) PVE_VERB_##id,
typedef enum pve_verb { PVE_VERB_LIST(PVE_VERB_ENUM) } pve_verb;
#undef PVE_VERB_ENUM

/* 0 and *out when input (len bytes; NULL when unset) is exactly one verb,
 * else -1. */
int pve_verb_parse(const char *input, size_t len, pve_verb *out);

const char *pve_verb_name(pve_verb verb);

/* start, stop, reset and cycle change the VM: they take the lock and run
 * forensics first. */
bool pve_verb_is_mutating(pve_verb verb);

/* "status|forensics|...": every verb, for the message that rejects the
 * client's command. */
const char *pve_verb_allowed(void);

#endif
