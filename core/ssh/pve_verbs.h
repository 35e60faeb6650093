/* The power verbs the Proxmox host's forced command allows, as the runtime
 * knows them: the allow-list checked before any connection is opened, and
 * which verbs change the VM's power state. The list is breakglass-pve's
 * own (pve/shared/pve_verb_list.h), so the two cannot disagree. */
#ifndef BG_PVE_VERBS_H
#define BG_PVE_VERBS_H

#include <jansson.h>

int pve_verb_known(const char *verb);
int pve_verb_mutating(const char *verb);
/* {"verbs": [...], "mutating": [...]}, both sorted, as the contract says. */
json_t *pve_verbs_json(void);

#endif
