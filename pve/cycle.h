/* cycle: a full stop and start of the VM, so that a fresh QEMU process
 * applies staged config (a warm reset reuses the wedged process).
 *
 * 1. `qm stop VMID`, bounded by stop_wait_seconds; then `qm status VMID`
 *    polled until it says `status: stopped` or that time is up.
 * 2. If the VM did not stop: the checked kill of its QEMU process (see
 *    qemu.h), then `qm unlock VMID` (a stop cut short can leave the config
 *    locked).
 * 3. `qm start VMID`.
 * The caller holds the verb lock and has already logged the forensics.
 */
#ifndef BG_PVE_CYCLE_H
#define BG_PVE_CYCLE_H

#include "ctx.h"

#define PVE_CYCLE_POLL_INTERVAL_MS 1000
#define PVE_CYCLE_STATUS_MAX_BYTES 4096

pve_exit pve_cycle_run(pve_ctx *ctx);

#endif
