/* The verbs breakglass-pve accepts, in the one place both programs read
 * them from: the forced command itself (pve/verb.c) and the daemon's
 * allow-list (core/ssh/pve_verbs.c), so the two cannot disagree. This folder
 * is the only part of pve/ the daemon may include; keep it to plain data.
 *
 * PVE_VERB_LIST(X) expands X(ID, name, mutating) once per verb: ID names
 * breakglass-pve's enum constant (PVE_VERB_<ID>), name is the whole command
 * the client sends, and mutating (1 or 0) says whether the verb changes the
 * VM, so that it takes the lock and records forensics first. The order is
 * the one breakglass-pve names them in when it rejects a command.
 */
#ifndef BG_PVE_VERB_LIST_H
#define BG_PVE_VERB_LIST_H

#define PVE_VERB_LIST(X)                                                                           \
  X(STATUS, "status", 0)                                                                           \
  X(FORENSICS, "forensics", 0)                                                                     \
  X(RESET, "reset", 1)                                                                             \
  X(STOP, "stop", 1)                                                                               \
  X(START, "start", 1)                                                                             \
  X(CYCLE, "cycle", 1)

/* Not a verb: the command that starts breakglass-pve ahead of one, to wait
 * for it on stdin (pve/standby.h). */
#define PVE_STANDBY_COMMAND "standby"

#endif
