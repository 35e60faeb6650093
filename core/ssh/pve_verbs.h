/* The power verbs the Proxmox host's forced command allows, as the runtime
 * knows them: the allow-list checked before any connection is opened, and
 * which verbs change the VM's power state. The list is breakglass-pve's
 * own (pve/shared/pve_verb_list.h), so the two cannot disagree. */
#ifndef BG_PVE_VERBS_H
#define BG_PVE_VERBS_H

#include <jansson.h>

int pve_verb_known(const char *verb);
int pve_verb_mutating(const char *verb);
/* The SSH_EXEC_* flags a command on the Proxmox host runs with: a verb
 * that changes the VM, once sent, ends on the host whatever we do, so a
 * shutdown waits for it rather than lose its outcome. */
unsigned pve_verb_exec_flags(const char *command);
/* What starts breakglass-pve ahead of a verb (pve/standby.h), and a verb
 * framed for it: the verb and a newline; NULL for anything but exactly
 * one verb, which goes through sshd's exec to be refused there. */
const char *pve_verb_standby_command(void);
char *pve_verb_standby_frame(const char *command);
/* {"verbs": [...], "mutating": [...]}, both sorted, as the contract says. */
json_t *pve_verbs_json(void);

#endif
