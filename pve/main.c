/* breakglass-pve: the forced command on the Proxmox host.
 *
 * sshd runs it for the breakglass key (command="...",restrict). The client
 * chooses one verb through SSH_ORIGINAL_COMMAND; the admin chooses
 * everything else through the command= string and a root-owned config
 * file. It runs qm for one VM only, with fixed argvs and no shell, captures
 * forensics and logs them before any change, serialises changes with a
 * lock, bounds every wait, and finishes a started change even when the
 * client goes away. A client may start it ahead of the verb and send the
 * verb as a line on stdin (standby.h). See docs/breakglass-pve.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "cycle.h"
#include "forensics.h"
#include "lock.h"
#include "standby.h"
#include "step.h"
#include "verb.h"

#define PVE_INPUT_KEPT_BYTES 64 /* >= PVE_VERB_MAX_BYTES and PVE_LOG_INPUT_MAX_BYTES */
#define PVE_CLIENT_ADDR_MAX_BYTES 64
#define PVE_ERR_BYTES 768

/* What sshd told us, copied before the environment is wiped. */
typedef struct pve_request {
  bool has_input;
  size_t input_len;
  char input[PVE_INPUT_KEPT_BYTES + 1];
  char client[PVE_CLIENT_ADDR_MAX_BYTES + 1];
} pve_request;

static void request_take(pve_request *req) {
  memset(req, 0, sizeof *req);
  const char *cmd = getenv("SSH_ORIGINAL_COMMAND");
  if (cmd) {
    req->has_input = true;
    req->input_len = strlen(cmd);
    memcpy(req->input, cmd,
           req->input_len < PVE_INPUT_KEPT_BYTES ? req->input_len : PVE_INPUT_KEPT_BYTES);
  }
  const char *client = getenv("SSH_CLIENT");
  if (client) snprintf(req->client, sizeof req->client, "%.*s", (int)strcspn(client, " "), client);
}

static bool request_is_standby(const pve_request *req) {
  return req->has_input && req->input_len == strlen(PVE_STANDBY_COMMAND) &&
         memcmp(req->input, PVE_STANDBY_COMMAND, req->input_len) == 0;
}

/* Standby: the verb comes as a line on stdin instead (standby.h). -1 when
 * none came. */
static int request_take_line(pve_request *req) {
  memset(req->input, 0, sizeof req->input);
  return pve_standby_read(STDIN_FILENO, req->input, PVE_INPUT_KEPT_BYTES, &req->input_len,
                          PVE_STANDBY_WAIT_MAX_MS);
}

/* Descriptors 0-2 must exist, or a pipe opened later could take their
 * number and be handed to qm as its stdout. */
static void std_fds_ensure(void) {
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) _exit(PVE_EXIT_INTERNAL);
}

static const char *outcome_name(pve_exit code) {
  switch (code) {
  case PVE_EXIT_OK:
    return "ok";
  case PVE_EXIT_FAILED:
    return "failed";
  case PVE_EXIT_REJECTED:
    return "REJECTED";
  case PVE_EXIT_BUSY:
    return "busy";
  case PVE_EXIT_CONFIG:
    return "config-error";
  case PVE_EXIT_TIMEOUT:
    return "timeout";
  case PVE_EXIT_LOG:
    return "log-error";
  case PVE_EXIT_INTERNAL:
    return "internal-error";
  }
  return "?";
}

/* Forensics, shown and logged; for a mutating verb flushed to disk before
 * the caller may act. */
static pve_exit forensics_record(pve_ctx *ctx) {
  pve_capture cap;
  pve_capture_init(&cap, ctx->cfg->max_forensics_bytes, ctx->out);
  int rc = pve_forensics_capture(ctx, &cap);
  int logged = pve_log_record(ctx->log, cap.b.data, cap.b.len, "forensics bytes=%zu cut=%s",
                              cap.b.len, cap.truncated ? "yes" : "no");
  pve_capture_free(&cap);
  if (logged != 0 || pve_log_sync(ctx->log) != 0) {
    pve_client_printf(ctx->err, "breakglass-pve: cannot write the forensics to %s; not acting\n",
                      ctx->cfg->log);
    return PVE_EXIT_LOG;
  }
  if (rc == -ETIMEDOUT) {
    pve_client_printf(ctx->err, "breakglass-pve: verb_timeout_seconds reached in forensics\n");
    return PVE_EXIT_TIMEOUT;
  }
  return PVE_EXIT_OK;
}

static pve_exit step_run(pve_ctx *ctx, const char *sub, unsigned flags) {
  pve_run_result res;
  int rc = pve_step_qm(ctx, sub, NULL, pve_step_left_ms(ctx, INT64_MAX), flags, &res);
  if (rc != 0) return pve_step_error(ctx, rc);
  return pve_step_exit(ctx, sub, &res);
}

static pve_exit mutating_run(pve_ctx *ctx, pve_verb verb, int *lock_fd) {
  const pve_config *cfg = ctx->cfg;
  char err[PVE_ERR_BYTES];
  int rc = pve_lock_acquire(cfg->lock, 0, lock_fd, err, sizeof err);
  if (rc == -EBUSY) {
    pve_client_printf(ctx->err,
                      "breakglass-pve: another mutating verb is running; waiting up to %u s\n",
                      cfg->lock_wait_seconds);
    rc = pve_lock_acquire(cfg->lock, (int64_t)cfg->lock_wait_seconds * 1000, lock_fd, err,
                          sizeof err);
  }
  if (rc != 0) {
    pve_client_printf(ctx->err, "breakglass-pve: %s\n", err);
    return rc == -EBUSY ? PVE_EXIT_BUSY : PVE_EXIT_CONFIG;
  }
  /* The verb's time starts once it may act. */
  ctx->deadline_ms = pve_now_ms() + (int64_t)cfg->verb_timeout_seconds * 1000;
  pve_exit code = forensics_record(ctx);
  if (code != PVE_EXIT_OK) return code;
  if (verb == PVE_VERB_CYCLE) return pve_cycle_run(ctx);
  return step_run(ctx, pve_verb_name(verb), PVE_STEP_INTENT | PVE_STEP_HEADER);
}

/* The verb list's mutating flag decides the lock and the forensics, for
 * the daemon and here alike. */
static pve_exit verb_run(pve_ctx *ctx, pve_verb verb, int *lock_fd) {
  ctx->deadline_ms = pve_now_ms() + (int64_t)ctx->cfg->verb_timeout_seconds * 1000;
  if (pve_verb_is_mutating(verb)) return mutating_run(ctx, verb, lock_fd);
  if (verb == PVE_VERB_FORENSICS) return forensics_record(ctx);
  return step_run(ctx, pve_verb_name(verb), 0);
}

static int config_path_from_args(int argc, char **argv, const char **path) {
  *path = PVE_CONFIG_DEFAULT_PATH;
  if (argc == 1) return 0;
  if (argc == 3 && strcmp(argv[1], "--config") == 0) {
    *path = argv[2];
    return 0;
  }
  return -1;
}

int main(int argc, char **argv) {
  int64_t started_ms = pve_now_ms();
  /* The client going away must not end a verb part-way: no SIGHUP from a
   * hang-up, no SIGPIPE from writing to a closed channel. */
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  umask(077);
  std_fds_ensure();
  if (chdir("/") != 0) return PVE_EXIT_INTERNAL;
  pve_request req;
  request_take(&req);
  bool standby = request_is_standby(&req);
  clearenv();

  pve_client out, errc;
  pve_client_open(&out, STDOUT_FILENO);
  pve_client_open(&errc, STDERR_FILENO);
  pve_exit code;
  const char *config_path;
  pve_config cfg;
  char err[PVE_ERR_BYTES];
  pve_log log;
  if (config_path_from_args(argc, argv, &config_path) != 0) {
    pve_client_printf(&errc, "breakglass-pve: usage: breakglass-pve [--config PATH]\n");
    code = PVE_EXIT_CONFIG;
  } else if (pve_config_load(&cfg, config_path, err, sizeof err) != 0) {
    pve_client_printf(&errc, "breakglass-pve: %s\n", err);
    code = PVE_EXIT_CONFIG;
  } else if (pve_log_open(&log, cfg.log, err, sizeof err) != 0) {
    pve_client_printf(&errc, "breakglass-pve: %s; not acting\n", err);
    code = PVE_EXIT_LOG;
  } else if (standby && request_take_line(&req) != 0) {
    /* Nobody came: nothing was done, and there is nothing to record. */
    pve_log_close(&log);
    code = PVE_EXIT_OK;
  } else {
    /* A standby's verb starts when its line arrives. */
    if (standby) started_ms = pve_now_ms();
    pve_log_set_request(&log, req.client, req.has_input ? req.input : NULL,
                        req.input_len < PVE_INPUT_KEPT_BYTES ? req.input_len : PVE_INPUT_KEPT_BYTES,
                        req.input_len);
    pve_ctx ctx = {.cfg = &cfg, .log = &log, .out = &out, .err = &errc};
    snprintf(ctx.vmid, sizeof ctx.vmid, "%u", cfg.vmid);
    pve_verb verb;
    int lock_fd = -1;
    if (pve_verb_parse(req.has_input ? req.input : NULL, req.input_len, &verb) != 0) {
      pve_client_printf(&errc, "breakglass-pve: rejected: the command must be exactly one of %s\n",
                        pve_verb_allowed());
      code = PVE_EXIT_REJECTED;
    } else {
      code = verb_run(&ctx, verb, &lock_fd);
    }
    /* Written while still holding the verb lock: a mutating verb's records
     * end before the next one's begin. */
    if (pve_log_record(&log, NULL, 0, "result outcome=%s exit=%d duration_ms=%lld",
                       outcome_name(code), (int)code,
                       (long long)(pve_now_ms() - started_ms)) != 0 ||
        pve_log_sync(&log) != 0)
      pve_client_printf(&errc, "breakglass-pve: the result could not be written to %s\n", cfg.log);
    if (lock_fd >= 0) close(lock_fd);
    pve_log_close(&log);
  }
  pve_client_close(&out);
  pve_client_close(&errc);
  return (int)code;
}
