/* ctx.ssh(target, command, opts) on the SSH transport.
 *
 * opts (all optional): timeout_s (capped by BREAKGLASS_MAX_COMMAND_TIMEOUT_SECONDS),
 * fresh (true: a connection of its own, as a probe needs), max_bytes (per
 * stream in the returned table: head and tail around a marker of what was
 * cut). The call returns a table whether or not the host answered; see
 * docs/lua-api.md for its fields.
 */
#include "ssh_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits_table.h"
#include "journal_store.h"
#include "log.h"
#include "pve_verbs.h"
#include "ssh_standby_shell.h"
#include "utf8_text.h"

typedef struct ssh_call {
  app *app;
  lua_async *op; /* NULL once the caller is gone */
  ssh_exec *exec;
  size_t max_bytes;
  utf8_stream streams[2]; /* stdout, stderr */
  char target[8];
} ssh_call;

static const agent_target *ssh_target_config(const app *a, const char *name) {
  if (name && strcmp(name, "devvm") == 0) return &a->options.ssh.devvm;
  if (name && strcmp(name, "pve") == 0) return &a->options.ssh.pve;
  return NULL;
}

/* Live output goes out as text: a character split between two chunks
 * waits for its end, bytes that are not UTF-8 become U+FFFD. */
static void ssh_call_on_output(void *ud, int stream, const char *bytes, size_t len) {
  ssh_call *call = ud;
  if (!call->op) return;
  size_t text_len;
  char *text = utf8_stream_text(&call->streams[stream == 2], bytes, len, &text_len);
  if (text && text_len) lua_async_output(call->op, text, text_len);
  free(text);
}

/* Head and tail of at most max bytes in all, with one marker for what the
 * transport dropped (at its head/tail seam, head_len) and what is dropped
 * here. Secrets go before the script sees the text: a script that changed
 * its form (reversed, hex) would carry one past every exit's redactor. */
static json_t *ssh_clip_json(const ssh_output *o, size_t head_len, size_t max,
                             const redactor *secrets) {
  size_t len = o->len;
  uint64_t cut = o->cut_bytes;
  size_t head = cut ? head_len : len, tail = cut ? len - head_len : 0;
  if (len > max) {
    head = max / 2;
    tail = max - head;
    cut += len - max;
  }
  /* A character cut at the seam is dropped whole and counted as cut,
   * rather than shown as U+FFFD the host never printed. */
  if (cut) {
    size_t lead = utf8_text_incomplete_tail(o->data, head), cont = 0;
    while (cont < 3 && cont < tail && ((unsigned char)o->data[len - tail + cont] & 0xC0) == 0x80)
      cont++;
    head -= lead;
    tail -= cont;
    cut += lead + cont;
  }
  char marker[96] = "";
  if (cut)
    snprintf(marker, sizeof marker, "\n[breakglass: %llu bytes cut here]\n",
             (unsigned long long)cut);
  size_t mlen = strlen(marker), n = head + mlen + tail;
  char *raw = malloc(n + 1);
  if (!raw) return json_string("");
  memcpy(raw, o->data, head);
  memcpy(raw + head, marker, mlen);
  memcpy(raw + head + mlen, o->data + len - tail, tail);
  char *safe = redactor_apply(secrets, raw, n, &n);
  free(raw);
  size_t text_len;
  char *text = safe ? utf8_text_sanitize(safe, n, &text_len) : NULL;
  free(safe);
  json_t *j = text ? json_stringn(text, text_len) : NULL;
  free(text);
  return j ? j : json_string("");
}

json_t *ssh_result_json(const ssh_result *r, size_t max_bytes, const redactor *secrets) {
  size_t seam = SSH_MAX_OUTPUT_BYTES / 2;
  json_t *j = json_pack("{s:b, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:b, s:I, s:I, s:I}", "ok", r->ok,
                        "layer", ssh_layer_name(r->layer), "message", r->message, "stdout",
                        ssh_clip_json(&r->out, seam, max_bytes, secrets), "stderr",
                        ssh_clip_json(&r->err, seam, max_bytes, secrets), "stdout_cut_bytes",
                        (json_int_t)r->out.cut_bytes, "stderr_cut_bytes",
                        (json_int_t)r->err.cut_bytes, "duration_ms", (json_int_t)r->duration_ms,
                        "reused_connection", r->reused_connection, "connect_ms",
                        (json_int_t)r->connect_ms, "handshake_ms", (json_int_t)r->handshake_ms,
                        "auth_ms", (json_int_t)r->auth_ms);
  if (!j) return NULL;
  /* Absent rather than null, so that scripts see nil. */
  if (r->ok && !r->exit_signal) json_object_set_new(j, "exit_status", json_integer(r->exit_status));
  if (r->exit_signal) json_object_set_new(j, "exit_signal", json_string(r->exit_signal));
  return j;
}

static void ssh_call_on_done(void *ud, const ssh_result *r) {
  ssh_call *call = ud;
  if (call->op) {
    json_t *j = ssh_result_json(r, call->max_bytes, journal_store_redactor(call->app->journals));
    json_object_set_new(j, "target", json_string(call->target));
    lua_async_finish(call->op, j);
    json_decref(j);
  }
  free(call);
}

/* The action pipeline never cancels a call that changes something once it
 * runs (action.h), so whatever is cancelled here may stop at once. */
static void ssh_call_cancel(void *ud) {
  ssh_call *call = ud;
  call->op = NULL;
  ssh_exec_cancel(call->exec);
}

static int ssh_opts_read(const app *a, const char *target, const json_t *opts, uint64_t *timeout_ms,
                         unsigned *flags, size_t *max_bytes, char *err, size_t errlen) {
  const agent_ssh_options *c = &a->options.ssh;
  long timeout_s = strcmp(target, "pve") == 0 ? c->pve_verb_timeout_s : c->command_timeout_s;
  *flags = 0;
  *max_bytes = SSH_MAX_OUTPUT_BYTES;
  if (opts && !json_is_null(opts) && !json_is_object(opts)) {
    snprintf(err, errlen, "ctx.ssh: argument #3 must be a table of options");
    return -1;
  }
  json_t *t = json_object_get(opts, "timeout_s"), *f = json_object_get(opts, "fresh"),
         *m = json_object_get(opts, "max_bytes");
  if (t && !json_is_null(t)) {
    if (!json_is_integer(t) || json_integer_value(t) < 1) {
      snprintf(err, errlen, "ctx.ssh: timeout_s must be a whole number of seconds, at least 1");
      return -1;
    }
    timeout_s = (long)json_integer_value(t);
  }
  if (timeout_s > c->max_command_timeout_s) timeout_s = c->max_command_timeout_s;
  if (f && json_is_true(f)) *flags |= SSH_EXEC_FRESH_CONNECTION;
  if (m && !json_is_null(m)) {
    if (!json_is_integer(m) || json_integer_value(m) < 256) {
      snprintf(err, errlen, "ctx.ssh: max_bytes must be a whole number, at least 256");
      return -1;
    }
    if ((size_t)json_integer_value(m) < *max_bytes) *max_bytes = (size_t)json_integer_value(m);
  }
  *timeout_ms = (uint64_t)timeout_s * 1000;
  return 0;
}

static int ssh_start(void *ud, lua_async *op, const json_t *args, const lua_tool_call_info *info) {
  (void)info;
  app *a = ud;
  const char *name = json_string_value(json_array_get(args, 0));
  const char *command = json_string_value(json_array_get(args, 1));
  const agent_target *t = ssh_target_config(a, name);
  char msg[256];
  uint64_t timeout_ms;
  unsigned flags;
  size_t max_bytes;
  if (!t) {
    snprintf(msg, sizeof msg, "ctx.ssh: unknown target '%.32s' (use \"devvm\" or \"pve\")",
             name ? name : "");
  } else if (!command || !command[0] || strlen(command) > SSH_MAX_COMMAND_BYTES) {
    snprintf(msg, sizeof msg, "ctx.ssh: the command must be a non-empty string of at most %u bytes",
             SSH_MAX_COMMAND_BYTES);
  } else if (!t->host) {
    snprintf(msg, sizeof msg, "%s is not configured (set BREAKGLASS_%s_HOST)", name,
             strcmp(name, "devvm") == 0 ? "DEVVM" : "PVE");
  } else if (!a->ssh) {
    snprintf(msg, sizeof msg,
             "SSH is not configured (set BREAKGLASS_KEY_PATH and BREAKGLASS_KNOWN_HOSTS)");
  } else if (ssh_opts_read(a, name, json_array_get(args, 2), &timeout_ms, &flags, &max_bytes, msg,
                           sizeof msg) == 0) {
    ssh_call *call = calloc(1, sizeof *call);
    if (!call) {
      lua_async_fail(op, "out of memory");
      return -1;
    }
    call->app = a;
    call->op = op;
    call->max_bytes = max_bytes;
    snprintf(call->target, sizeof call->target, "%s", name);
    if (strcmp(name, "pve") == 0) flags |= pve_verb_exec_flags(command);
    static const ssh_exec_cbs cbs = {ssh_call_on_output, ssh_call_on_done};
    call->exec = ssh_exec_start(a->ssh, name, command, timeout_ms, flags, &cbs, call);
    if (call->exec) {
      lua_async_on_cancel(op, ssh_call_cancel, call);
      return 0;
    }
    free(call);
    snprintf(msg, sizeof msg,
             a->shutting_down ? "not run on %s: the daemon is shutting down"
                              : "out of memory starting the command on %s",
             name);
  }
  lua_async_fail(op, msg);
  return -1;
}

lua_host_service ssh_service(app *a) {
  return (lua_host_service){.name = "ssh", .start = ssh_start, .ud = a};
}

static int ssh_add_target(ssh_pool *p, const char *name, const agent_target *t) {
  return t->host ? ssh_pool_add_target(p, name, t->host, t->port, t->user) : 0;
}

int ssh_service_open(app *a, char *err, size_t errlen) {
  const agent_ssh_options *c = &a->options.ssh;
  if (!c->key_path) {
    if (c->devvm.host || c->pve.host)
      log_warn("BREAKGLASS_KEY_PATH is not set: the devvm and the Proxmox host cannot be reached");
    return 0;
  }
  if (!c->known_hosts) {
    snprintf(err, errlen,
             "BREAKGLASS_KNOWN_HOSTS must be set with BREAKGLASS_KEY_PATH: host keys "
             "are pinned, never trusted on first use");
    return -1;
  }
  ssh_pool_options o = {
      .key_path = c->key_path,
      .known_hosts = c->known_hosts,
      .connect_timeout_ms = (uint64_t)c->ssh_connect_timeout_s * 1000,
      .keepalive_ms = SSH_KEEPALIVE_MS,
      .conn_max_age_ms = SSH_CONN_MAX_AGE_MS,
      .standby_life_ms = SSH_STANDBY_LIFE_MS,
      .max_output_bytes = SSH_MAX_OUTPUT_BYTES,
      .metrics = a->metrics,
  };
  char why[512];
  if (ssh_pool_new(&a->ssh, a->loop, &o, why, sizeof why) != 0) {
    snprintf(err, errlen, "BREAKGLASS_KEY_PATH: %s", why);
    return -1;
  }
  /* On each host a program waits for the next command, started ahead of
   * it: breakglass-pve on the Proxmox host (pve/standby.h), the login
   * shell on the devvm (ssh_standby_shell.h); unless
   * BREAKGLASS_SSH_STANDBY=off. */
  if (ssh_add_target(a->ssh, "devvm", &c->devvm) != 0 ||
      ssh_add_target(a->ssh, "pve", &c->pve) != 0 ||
      (c->standby && c->pve.host &&
       ssh_pool_set_standby(a->ssh, "pve", pve_verb_standby_command(), pve_verb_standby_frame) !=
           0) ||
      (c->standby && c->devvm.host &&
       ssh_pool_set_standby(a->ssh, "devvm", ssh_standby_shell_command, ssh_standby_shell_frame) !=
           0)) {
    snprintf(err, errlen, "out of memory");
    ssh_pool_close(a->ssh, NULL, NULL);
    a->ssh = NULL;
    return -1;
  }
  return 0;
}

void ssh_service_close(app *a) {
  if (a->ssh) ssh_pool_close(a->ssh, NULL, NULL);
  a->ssh = NULL;
}
