#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

#define PVE_CONFIG_NUMBER_MAX_DIGITS 10
#define PVE_CONFIG_KEY_SHOWN_BYTES 40

typedef enum { KEY_NUMBER, KEY_PATH } key_kind;

typedef struct key_spec {
  const char *name;
  key_kind kind;
  size_t offset;
  unsigned long min, max; /* KEY_NUMBER only */
} key_spec;

#define AT(field) offsetof(pve_config, field)

/* PVE accepts VMIDs 100..999999999. */
static const key_spec keys[] = {
    {"vmid", KEY_NUMBER, AT(vmid), 100, 999999999},
    {"qm", KEY_PATH, AT(qm), 0, 0},
    {"log", KEY_PATH, AT(log), 0, 0},
    {"lock", KEY_PATH, AT(lock), 0, 0},
    {"pid_file_dir", KEY_PATH, AT(pid_file_dir), 0, 0},
    {"lock_wait_seconds", KEY_NUMBER, AT(lock_wait_seconds), 0, 3600},
    {"stop_wait_seconds", KEY_NUMBER, AT(stop_wait_seconds), 1, 3600},
    {"step_timeout_seconds", KEY_NUMBER, AT(step_timeout_seconds), 1, 600},
    {"verb_timeout_seconds", KEY_NUMBER, AT(verb_timeout_seconds), 1, 7200},
    {"max_forensics_bytes", KEY_NUMBER, AT(max_forensics_bytes), 4096, 16 * 1024 * 1024},
    {"diskstats_interval_ms", KEY_NUMBER, AT(diskstats_interval_ms), 0, 10000},
};

#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

void pve_config_defaults(pve_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->vmid = 102;
  snprintf(cfg->qm, sizeof cfg->qm, "%s", "/usr/sbin/qm");
  snprintf(cfg->log, sizeof cfg->log, "%s", "/var/log/breakglass-pve.log");
  snprintf(cfg->lock, sizeof cfg->lock, "%s", "/run/lock/breakglass-pve.lock");
  snprintf(cfg->pid_file_dir, sizeof cfg->pid_file_dir, "%s", "/var/run/qemu-server");
  cfg->lock_wait_seconds = 30;
  cfg->stop_wait_seconds = 40;
  cfg->step_timeout_seconds = 5;
  cfg->verb_timeout_seconds = 300;
  cfg->max_forensics_bytes = 256 * 1024;
  cfg->diskstats_interval_ms = 1000;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static void trim(const char **s, size_t *n) {
  while (*n && is_blank(**s)) (*s)++, (*n)--;
  while (*n && is_blank((*s)[*n - 1])) (*n)--;
}

/* Digits only: no sign, no spaces, no hex; at most 10 digits so the sum
 * below cannot overflow an unsigned long. */
static int parse_number(const char *v, size_t n, const key_spec *k, unsigned *out) {
  if (n == 0 || n > PVE_CONFIG_NUMBER_MAX_DIGITS) return -1;
  unsigned long x = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    x = x * 10 + (unsigned long)(v[i] - '0');
  }
  if (x < k->min || x > k->max) return -1;
  *out = (unsigned)x;
  return 0;
}

/* Absolute, printable ASCII, no spaces: paths that need no quoting in the
 * log and cannot smuggle a control byte into an argv or a message. */
static int parse_path(const char *v, size_t n, char *out) {
  if (n == 0 || n >= PVE_PATH_MAX_BYTES || v[0] != '/') return -1;
  for (size_t i = 0; i < n; i++)
    if (v[i] <= ' ' || v[i] > '~') return -1;
  memcpy(out, v, n);
  out[n] = '\0';
  return 0;
}

static void describe_value(const key_spec *k, char *out, size_t out_len) {
  if (k->kind == KEY_NUMBER)
    snprintf(out, out_len, "digits only, %lu..%lu", k->min, k->max);
  else
    snprintf(out, out_len, "an absolute path of printable ASCII without spaces, < %d bytes",
             PVE_PATH_MAX_BYTES);
}

static int parse_line(pve_config *cfg, const char *line, size_t n, bool *seen, char *err,
                      size_t err_len, unsigned lineno) {
  trim(&line, &n);
  if (n == 0 || line[0] == '#') return 0;
  const char *eq = memchr(line, '=', n);
  if (!eq) {
    snprintf(err, err_len, "line %u: expected key=value", lineno);
    return -1;
  }
  const char *key = line, *val = eq + 1;
  size_t key_n = (size_t)(eq - line), val_n = n - key_n - 1;
  trim(&key, &key_n);
  trim(&val, &val_n);
  for (size_t i = 0; i < KEY_COUNT; i++) {
    const key_spec *k = &keys[i];
    if (strlen(k->name) != key_n || memcmp(k->name, key, key_n) != 0) continue;
    if (seen[i]) {
      snprintf(err, err_len, "line %u: key '%s' given twice", lineno, k->name);
      return -1;
    }
    seen[i] = true;
    char *field = (char *)cfg + k->offset;
    int rc = k->kind == KEY_NUMBER ? parse_number(val, val_n, k, (unsigned *)(void *)field)
                                   : parse_path(val, val_n, field);
    if (rc != 0) {
      char want[128];
      describe_value(k, want, sizeof want);
      snprintf(err, err_len, "line %u: bad value for '%s' (want %s)", lineno, k->name, want);
      return -1;
    }
    return 0;
  }
  /* The key is shown only if it is tame, so the message stays one line. */
  bool tame = key_n > 0 && key_n <= PVE_CONFIG_KEY_SHOWN_BYTES;
  for (size_t i = 0; tame && i < key_n; i++) tame = key[i] > ' ' && key[i] <= '~';
  snprintf(err, err_len, "line %u: unknown key '%.*s'", lineno, tame ? (int)key_n : 1,
           tame ? key : "?");
  return -1;
}

int pve_config_parse(pve_config *cfg, const char *text, size_t len, char *err, size_t err_len) {
  bool seen[KEY_COUNT] = {false};
  if (memchr(text, '\0', len)) {
    snprintf(err, err_len, "contains a NUL byte");
    return -1;
  }
  unsigned lineno = 0;
  size_t pos = 0;
  while (pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    if (parse_line(cfg, text + pos, end - pos, seen, err, err_len, ++lineno) != 0) return -1;
    pos = end + 1;
  }
  return 0;
}

int pve_config_load(pve_config *cfg, const char *path, char *err, size_t err_len) {
  pve_config_defaults(cfg);
  int fd;
  char why[PVE_CONFIG_ERR_BYTES];
  if (pve_file_open_trusted(path, O_RDONLY, S_IWGRP | S_IWOTH, &fd, why, sizeof why) != 0) {
    snprintf(err, err_len, "config: %s", why);
    return -1;
  }
  pve_bytes text;
  if (pve_bytes_init(&text, PVE_CONFIG_MAX_BYTES) != 0) {
    snprintf(err, err_len, "config %s: out of memory", path);
    close(fd);
    return -1;
  }
  int rc = pve_file_read_all(fd, &text);
  close(fd);
  if (rc != 0) {
    snprintf(err, err_len, "config %s: cannot read it whole (limit %d bytes)", path,
             PVE_CONFIG_MAX_BYTES);
    pve_bytes_free(&text);
    return -1;
  }
  rc = pve_config_parse(cfg, text.data, text.len, why, sizeof why);
  pve_bytes_free(&text);
  if (rc != 0) snprintf(err, err_len, "config %s %s", path, why);
  return rc;
}
