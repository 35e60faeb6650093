/* GET /api/targets.
 *
 * The devvm is probed with `true` and the Proxmox host with `status` (its
 * forced command runs breakglass-pve whatever is sent; `status` is the verb
 * that changes nothing and says whether VM 102 runs). Each probe opens a
 * connection of its own, so it sees every layer of a new connection rather
 * than a channel on one opened before the host wedged.
 *
 * The model API is probed with count_tokens (model_probe.h), which spends
 * no tokens, at most once a minute: the page polls while it is open, and a
 * provider's rate limits are not the place to spend a page's curiosity.
 * What the last real model call met counts too: the newer of the two is
 * the model's state.
 *
 * The state is the daemon's one cache: a process serves one app.
 */
#include "api_targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "journal_reader.h"
#include "limits_table.h"
#include "log.h"
#include "model_probe.h"
#include "session.h"
#include "utf8_text.h"

enum { TARGET_DEVVM, TARGET_PVE, TARGET_COUNT };
/* The waiters' bit for the model probe, after the SSH targets' bits. */
#define TARGETS_MODEL_BIT (1u << TARGET_COUNT)

typedef struct target_probe {
  const char *name;
  const char *command;
  ssh_exec *exec;      /* the probe running now, or NULL */
  json_t *last;        /* the last finished probe, or NULL */
  uint64_t checked_ms; /* loop time it finished */
} target_probe;

/* A request waiting for probes: one bit a target. */
typedef struct targets_waiter {
  app *a;
  http_conn *conn;
  unsigned waiting;
  struct targets_waiter *prev, *next;
} targets_waiter;

struct api_targets {
  target_probe probes[TARGET_COUNT];
  json_t *model_last;        /* the last finished model probe, or NULL */
  uint64_t model_checked_ms; /* loop time it finished */
  targets_waiter *waiters;
};

api_targets *api_targets_new(void) {
  api_targets *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->probes[TARGET_DEVVM] = (target_probe){.name = "devvm", .command = "true"};
  t->probes[TARGET_PVE] = (target_probe){.name = "pve", .command = "status"};
  return t;
}

void api_targets_free(api_targets *t) {
  if (!t) return;
  for (int i = 0; i < TARGET_COUNT; i++) json_decref(t->probes[i].last);
  json_decref(t->model_last);
  free(t);
}

static const agent_target *target_config(const app *a, int i) {
  return i == TARGET_DEVVM ? &a->options.ssh.devvm : &a->options.ssh.pve;
}

static json_t *utc_now_json(void) {
  char stamp[TARGETS_TS_MAX_BYTES];
  log_format_utc(stamp, log_now_ms());
  return json_string(stamp);
}

/* The first line of the host's answer, at most max bytes, as text. */
static json_t *first_line_json(const ssh_output *o, size_t max) {
  size_t n = strcspn(o->data, "\r\n"), len;
  char *text = utf8_text_sanitize(o->data, n < max ? n : max, &len);
  json_t *j = text ? json_stringn(text, len) : NULL;
  free(text);
  return j ? j : json_string("");
}

static json_t *probe_result_json(int i, const ssh_result *r) {
  json_t *j = json_pack("{s:b, s:b, s:s, s:I, s:I, s:I, s:I, s:o}", "configured", 1, "ok", 0,
                        "layer", ssh_layer_name(r->layer), "connect_ms", (json_int_t)r->connect_ms,
                        "handshake_ms", (json_int_t)r->handshake_ms, "auth_ms",
                        (json_int_t)r->auth_ms, "total_ms", (json_int_t)r->duration_ms,
                        "checked_at", utc_now_json());
  if (!j) return NULL;
  char msg[320];
  if (!r->ok) {
    snprintf(msg, sizeof msg, "%s", r->message);
  } else if (i == TARGET_PVE) {
    /* Whatever breakglass-pve answered, the key was accepted and the forced
     * command ran: the host is reachable. */
    json_t *line = first_line_json(&r->out, TARGETS_DETAIL_MAX_BYTES);
    json_object_set_new(j, "ok", json_true());
    if (r->exit_status == 0 && !r->exit_signal)
      snprintf(msg, sizeof msg, "%s", json_string_value(line));
    else
      snprintf(msg, sizeof msg, "reachable; breakglass-pve status ended with exit %d",
               r->exit_status);
    json_object_set_new(j, "detail", line);
  } else if (r->exit_status == 0 && !r->exit_signal) {
    json_object_set_new(j, "ok", json_true());
    snprintf(msg, sizeof msg, "ok in %llu ms", (unsigned long long)r->duration_ms);
  } else {
    snprintf(msg, sizeof msg, "connected, but `true` ended with %s %d",
             r->exit_signal ? "signal" : "exit", r->exit_signal ? 0 : r->exit_status);
  }
  if (r->ok) json_object_set_new(j, "exit_status", json_integer(r->exit_status));
  json_object_set_new(j, "message", json_string(msg));
  return j;
}

/* Why the daemon cannot probe target i, or NULL when it can. */
static const char *target_unconfigured_why(const app *a, int i) {
  if (!target_config(a, i)->host)
    return i == TARGET_DEVVM ? "the devvm is not configured (set BREAKGLASS_DEVVM_HOST)"
                             : "the Proxmox host is not configured (set BREAKGLASS_PVE_HOST)";
  if (!a->ssh) return "SSH is not configured (set BREAKGLASS_KEY_PATH and BREAKGLASS_KNOWN_HOSTS)";
  return NULL;
}

/* ---- the model ---- */

/* The event's JSON when it is a model call's outcome: usage (a call that
 * answered), retry, or an error that carries the API's http_status (other
 * errors are the turn's own). New reference, or NULL. */
static json_t *model_event(const session_event *ev) {
  if (!ev->frame) return NULL;
  const char *data = memmem(ev->frame, ev->frame_len, "\ndata: ", 7);
  if (!data) return NULL;
  data += 7;
  size_t len = (size_t)(ev->frame + ev->frame_len - data);
  static const char *const kinds[] = {"{\"kind\":\"usage\"", "{\"kind\":\"retry\"",
                                      "{\"kind\":\"error\""};
  int kind = -1;
  for (int k = 0; k < 3 && kind < 0; k++)
    if (len > strlen(kinds[k]) && memcmp(data, kinds[k], strlen(kinds[k])) == 0) kind = k;
  if (kind < 0) return NULL;
  json_t *j = json_loadb(data, len, JSON_DISABLE_EOF_CHECK, NULL);
  if (j && kind == 2 && !json_object_get(j, "http_status")) {
    json_decref(j);
    return NULL;
  }
  return j;
}

static json_t *model_last_event(const app *a) {
  json_t *best = NULL;
  for (const session *s = a->sessions; s; s = s->next) {
    size_t stop = s->event_count > TARGETS_MODEL_SCAN_EVENTS
                      ? s->event_count - TARGETS_MODEL_SCAN_EVENTS
                      : 0;
    for (size_t k = s->event_count; k > stop; k--) {
      json_t *ev = model_event(&s->events[k - 1]);
      if (!ev) continue;
      const char *ts = json_string_value(json_object_get(ev, "ts"));
      const char *best_ts = json_string_value(json_object_get(best, "ts"));
      if (!best || (ts && best_ts && strcmp(ts, best_ts) > 0)) {
        json_decref(best);
        best = ev;
      } else {
        json_decref(ev);
      }
      break;
    }
  }
  return best;
}

/* What the last real call met, as the model's state: {ok, layer, message,
 * last_call_at, source: "call"}. */
static json_t *model_call_json(const json_t *ev) {
  const char *type = journal_event_kind(ev);
  json_t *j = json_object();
  char msg[400];
  if (strcmp(type, "usage") == 0) {
    json_object_set_new(j, "ok", json_true());
    json_object_set_new(j, "layer", json_string("none"));
    snprintf(msg, sizeof msg, "the last call answered");
  } else {
    const char *etype = json_string_value(json_object_get(ev, "error_type"));
    const char *error = json_string_value(json_object_get(ev, "error"));
    json_int_t http = json_integer_value(json_object_get(ev, "http_status"));
    json_object_set_new(j, "ok", json_false());
    json_object_set_new(j, "layer", json_string(etype ? etype : "error"));
    json_object_set_new(j, "http_status", json_integer(http));
    snprintf(msg, sizeof msg, "%s%.300s",
             strcmp(type, "retry") == 0 ? "retrying: " : "the last call failed: ",
             error ? error : "no detail");
  }
  json_object_set_new(j, "message", json_string(msg));
  json_object_set_new(j, "source", json_string("call"));
  return j;
}

static json_t *model_status_json(const app *a) {
  if (!a->model)
    return json_pack("{s:b, s:n, s:s, s:s, s:s}", "configured", 0, "ok", "layer", "not_configured",
                     "message", "no model credential is configured (set ANTHROPIC_API_KEY)",
                     "model", a->options.turn.model);
  json_t *ev = model_last_event(a);
  const char *call_ts = json_string_value(json_object_get(ev, "ts"));
  const json_t *probed = a->targets->model_last;
  const char *probe_ts = json_string_value(json_object_get(probed, "checked_at"));
  json_t *j;
  if (call_ts && (!probe_ts || strcmp(call_ts, probe_ts) > 0))
    j = model_call_json(ev);
  else if (probed)
    j = json_deep_copy(probed);
  else
    j = json_pack("{s:n, s:s, s:s}", "ok", "layer", "unknown", "message", "not checked yet");
  json_object_set_new(j, "configured", json_true());
  json_object_set_new(j, "model", json_string(a->options.turn.model));
  if (call_ts) json_object_set_new(j, "last_call_at", json_string(call_ts));
  json_decref(ev);
  return j;
}

/* ---- answering ---- */

static json_t *target_json(const app *a, int i) {
  const char *why = target_unconfigured_why(a, i);
  if (why)
    return json_pack("{s:b, s:b, s:s, s:s, s:o}", "configured", 0, "ok", 0, "layer",
                     "not_configured", "message", why, "checked_at", utc_now_json());
  target_probe *p = &a->targets->probes[i];
  return p->last ? json_deep_copy(p->last)
                 : json_pack("{s:b, s:b, s:s, s:s}", "configured", 1, "ok", 0, "layer", "unknown",
                             "message", "not checked yet");
}

static void targets_answer(app *a, http_conn *c) {
  json_t *body = json_pack("{s:o, s:o, s:o, s:o}", "checked_at", utc_now_json(), "model",
                           model_status_json(a), "devvm", target_json(a, TARGET_DEVVM), "pve",
                           target_json(a, TARGET_PVE));
  if (!body) {
    http_respond_error(c, 500, "out of memory");
    return;
  }
  http_respond_json(c, 200, body);
}

static void waiter_unlink(targets_waiter *w) {
  DLIST_UNLINK(w->a->targets->waiters, w);
  free(w);
}

static void waiter_on_close(void *ud, http_conn *c) {
  (void)c;
  waiter_unlink(ud);
}

/* A probe ended: the requests that waited only for what has now ended are
 * answered. */
static void targets_settle(api_targets *t, unsigned bits) {
  targets_waiter *next;
  for (targets_waiter *w = t->waiters; w; w = next) {
    next = w->next;
    w->waiting &= ~bits;
    if (w->waiting) continue;
    app *a = w->a;
    http_conn *c = w->conn;
    waiter_unlink(w);
    targets_answer(a, c);
  }
}

static void probe_finish(api_targets *t, int i, json_t *result, uint64_t now_ms) {
  target_probe *p = &t->probes[i];
  p->exec = NULL;
  json_decref(p->last);
  p->last = result;
  p->checked_ms = now_ms;
  targets_settle(t, 1u << i);
}

typedef struct probe_ctx {
  app *a;
  int target;
} probe_ctx;

static void probe_on_done(void *ud, const ssh_result *r) {
  probe_ctx *ctx = ud;
  int i = ctx->target;
  api_targets *t = ctx->a->targets;
  uint64_t now = uv_now(ctx->a->loop);
  free(ctx);
  log_info("targets: %s probe: %s%s%s in %llu ms", t->probes[i].name,
           r->ok ? "ran" : ssh_layer_name(r->layer), r->ok ? "" : ": ", r->message,
           (unsigned long long)r->duration_ms);
  probe_finish(t, i, probe_result_json(i, r), now);
}

/* 1 when a probe of target i now runs (new or shared), 0 when none is
 * needed. */
static int probe_ensure(app *a, int i, int refresh) {
  target_probe *p = &a->targets->probes[i];
  if (p->exec) return 1;
  if (target_unconfigured_why(a, i)) return 0;
  uint64_t now = uv_now(a->loop);
  if (!refresh && p->last && now - p->checked_ms < TARGETS_CACHE_MS) return 0;
  probe_ctx *ctx = malloc(sizeof *ctx);
  if (ctx) *ctx = (probe_ctx){.a = a, .target = i};
  static const ssh_exec_cbs cbs = {.on_done = probe_on_done};
  uint64_t limit_ms = (uint64_t)a->options.ssh.ssh_connect_timeout_s * 1000 + TARGETS_COMMAND_MS;
  p->exec = ctx ? ssh_exec_start(a->ssh, p->name, p->command, limit_ms, SSH_EXEC_FRESH_CONNECTION,
                                 &cbs, ctx)
                : NULL;
  if (p->exec) return 1;
  free(ctx);
  json_decref(p->last);
  p->last = json_pack("{s:b, s:b, s:s, s:s, s:o}", "configured", 1, "ok", 0, "layer", "none",
                      "message", "the probe could not start (out of memory or shutting down)",
                      "checked_at", utc_now_json());
  p->checked_ms = now;
  return 0;
}

/* ---- the model ---- */

static void model_store(api_targets *t, json_t *result, uint64_t now_ms) {
  json_decref(t->model_last);
  t->model_last = result;
  t->model_checked_ms = now_ms;
}

static void model_probe_on_done(void *ud, const model_probe_result *r) {
  app *a = ud;
  log_info("targets: model probe: %s%s%s in %llu ms", r->ok ? "answered" : r->layer,
           r->ok ? "" : ": ", r->ok ? "" : r->message, (unsigned long long)r->duration_ms);
  json_t *j = json_pack("{s:b, s:s, s:s, s:I, s:o, s:s}", "ok", r->ok, "layer", r->layer, "message",
                        r->message, "total_ms", (json_int_t)r->duration_ms, "checked_at",
                        utc_now_json(), "source", "probe");
  if (j && r->http_status) json_object_set_new(j, "http_status", json_integer(r->http_status));
  if (j && r->error_type[0]) json_object_set_new(j, "error_type", json_string(r->error_type));
  if (j && r->request_id[0]) json_object_set_new(j, "request_id", json_string(r->request_id));
  model_store(a->targets, j, uv_now(a->loop));
  targets_settle(a->targets, TARGETS_MODEL_BIT);
}

/* 1 when a model probe now runs (new or shared), 0 when none is needed:
 * none configured, or the last is younger than the interval, refresh or
 * not. */
static int model_probe_ensure(app *a) {
  if (!a->model_probe) return 0;
  if (model_probe_running(a->model_probe)) return 1;
  uint64_t now = uv_now(a->loop);
  api_targets *t = a->targets;
  if (t->model_last && now - t->model_checked_ms < TARGETS_MODEL_PROBE_INTERVAL_MS) return 0;
  int rc = model_probe_start(a->model_probe, model_probe_on_done, a);
  if (rc == 0) return 1;
  char msg[128];
  snprintf(msg, sizeof msg, "the probe could not start: %s", uv_strerror(rc));
  model_store(t,
              json_pack("{s:n, s:s, s:s, s:o, s:s}", "ok", "layer", "unknown", "message", msg,
                        "checked_at", utc_now_json(), "source", "probe"),
              now);
  return 0;
}

static int query_refresh(const char *query) {
  for (const char *q = query; q && *q;) {
    size_t n = strcspn(q, "&");
    if (n == 9 && strncmp(q, "refresh=1", 9) == 0) return 1;
    q += n + (q[n] == '&');
  }
  return 0;
}

void api_targets_get(app *a, http_conn *c, const http_request *req) {
  int refresh = query_refresh(req->query);
  unsigned waiting = 0;
  for (int i = 0; i < TARGET_COUNT; i++)
    if (probe_ensure(a, i, refresh)) waiting |= 1u << i;
  if (model_probe_ensure(a)) waiting |= TARGETS_MODEL_BIT;
  if (!waiting) {
    targets_answer(a, c);
    return;
  }
  targets_waiter *w = calloc(1, sizeof *w);
  if (!w) {
    http_respond_error(c, 500, "out of memory");
    return;
  }
  api_targets *t = a->targets;
  *w = (targets_waiter){.a = a, .conn = c, .waiting = waiting};
  DLIST_PUSH(t->waiters, w);
  http_conn_on_close(c, waiter_on_close, w);
}
