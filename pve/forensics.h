/* The forensics capture: what the VM and the host look like, taken before
 * anything is touched so that a reset never destroys the evidence.
 *
 * Sections, each headed "=== <title> ===": qm status (--verbose, else
 * plain), qm config, qm pending, the guest agent ping, HMP info status /
 * block-jobs / block through qm monitor, host uptime and load, memory, two
 * samples of /proc/diskstats (frozen counters show a stall), and the QEMU
 * process named by the pid file: its state, memory, wchan and kernel stack,
 * and the same for each of its threads. Every step has a time limit; the
 * whole capture has a size limit and says where it was cut.
 */
#ifndef BG_PVE_FORENSICS_H
#define BG_PVE_FORENSICS_H

#include "ctx.h"

#define PVE_FORENSICS_TITLE "=== breakglass-pve forensics"

/* Appends the capture to cap (whose mirror shows it to the client as it
 * goes). 0, or -ETIMEDOUT when the verb's deadline cut it short. */
int pve_forensics_capture(pve_ctx *ctx, pve_capture *cap);

#endif
