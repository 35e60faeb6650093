/* VM VMID's QEMU process: finding it through its pid file, proving a pid
 * belongs to it, and killing it only after that proof.
 *
 * A pid file can be stale, and pids are reused: before any signal, the
 * process's /proc/PID/cmdline must show a QEMU binary started for this VM
 * (`-id VMID`, or `-pidfile <pid_file_dir>/VMID.pid`). The process is held
 * through a pidfd from before the check until the kill, so the pid cannot
 * be reused in between.
 */
#ifndef BG_PVE_QEMU_H
#define BG_PVE_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define PVE_QEMU_CMDLINE_MAX_BYTES (64 * 1024)
/* Tearing down a QEMU with many GiB of guest memory takes a while. */
#define PVE_QEMU_KILL_WAIT_MS 15000

/* Writes <pid_file_dir>/<vmid>.pid into out. */
void pve_qemu_pid_path(const pve_config *cfg, char *out, size_t out_len);

/* 0 and *pid; -ENOENT without a pid file; -EINVAL when it holds no pid. */
int pve_qemu_pid_read(const pve_config *cfg, pid_t *pid);

/* Pure: does the NUL-separated argv in cmdline (len bytes) start a QEMU
 * binary (kvm, qemu-kvm, qemu-system-*) for VM vmid? */
bool pve_qemu_cmdline_matches(const char *cmdline, size_t len, unsigned vmid,
                              const char *pid_file_dir);

typedef enum pve_kill_outcome {
  PVE_KILL_KILLED,      /* it was this VM's QEMU, got SIGKILL and is gone */
  PVE_KILL_NOT_RUNNING, /* no pid file, or its process is gone */
  PVE_KILL_REFUSED,     /* alive, but not this VM's QEMU: left alone */
  PVE_KILL_STUCK,       /* SIGKILL sent; it did not exit in time */
  PVE_KILL_ERROR,       /* could not be checked */
} pve_kill_outcome;

/* The checked kill. read_timeout_ms bounds the read of /proc/PID/cmdline,
 * deadline_ms (monotonic) everything. msg says what happened. */
pve_kill_outcome pve_qemu_kill_checked(const pve_config *cfg, int64_t read_timeout_ms,
                                       int64_t deadline_ms, char *msg, size_t msg_len);

#endif
