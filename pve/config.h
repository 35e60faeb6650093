/* breakglass-pve's settings: a root-owned key=value file named by the admin
 * in the command= string (--config PATH), never by the SSH client.
 *
 * Lines are `key=value`, `# comment` or blank; spaces around key and value
 * are ignored. An unknown key, a bad value or a key given twice refuses the
 * whole file: a typo must not silently fall back to a default.
 */
#ifndef BG_PVE_CONFIG_H
#define BG_PVE_CONFIG_H

#include <stddef.h>

#define PVE_CONFIG_DEFAULT_PATH "/etc/breakglass-pve.conf"
#define PVE_CONFIG_MAX_BYTES (64 * 1024)
#define PVE_PATH_MAX_BYTES 256
#define PVE_CONFIG_ERR_BYTES 512

typedef struct pve_config {
  unsigned vmid;
  char qm[PVE_PATH_MAX_BYTES];           /* absolute path of qm */
  char log[PVE_PATH_MAX_BYTES];          /* the request log */
  char lock[PVE_PATH_MAX_BYTES];         /* flock serialising mutating verbs */
  char pid_file_dir[PVE_PATH_MAX_BYTES]; /* where QEMU's VMID.pid lives */
  unsigned lock_wait_seconds;
  unsigned stop_wait_seconds;
  unsigned step_timeout_seconds;
  unsigned verb_timeout_seconds;
  unsigned max_forensics_bytes;
  unsigned diskstats_interval_ms;
} pve_config;

void pve_config_defaults(pve_config *cfg);

/* Applies the lines of text (len bytes) over cfg. 0, or -1 with a message
 * naming the line in err. Pure: touches no file. */
int pve_config_parse(pve_config *cfg, const char *text, size_t len, char *err, size_t err_len);

/* Defaults, then the file at path after the ownership checks. 0 or -1. */
int pve_config_load(pve_config *cfg, const char *path, char *err, size_t err_len);

#endif
