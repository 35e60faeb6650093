#include "daemon.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_metrics.h"
#include "api_search.h"
#include "api_targets.h"
#include "app.h"
#include "daemon_options.h"
#include "http_static.h"
#include "journal_store.h"
#include "limits_table.h"
#include "log.h"
#include "lua_sandbox.h"
#include "model_probe.h"
#include "runbook_service.h"
#include "scripts_reload.h"
#include "session.h"
#include "session_recover.h"
#include "session_turn.h"
#include "ssh_service.h"

void daemon_scripts_init(daemon_scripts *ds, const bg_config *c) {
  *ds = (daemon_scripts){
      .config = c,
      .memory = {.limit_bytes = (size_t)c->lua_memory_total_mb * 1024 * 1024,
                 .setting = "BREAKGLASS_LUA_MEMORY_TOTAL_MB"},
  };
}

/* A set must fit the budget on its own, each state at its cap: otherwise a
 * set that loads today fails once its scripts grow. */
static int daemon_check_set_memory(const bg_config *c, const char *dir, char *err, size_t errlen) {
  size_t states = lua_host_state_count(dir);
  if (states * (size_t)c->lua_memory_mb <= (size_t)c->lua_memory_total_mb) return 0;
  snprintf(err, errlen,
           "limits: %zu script files at BREAKGLASS_LUA_MEMORY_MB=%ld each may hold %zu MiB, more "
           "than BREAKGLASS_LUA_MEMORY_TOTAL_MB=%ld allows all Lua scripts together; lower the "
           "first or raise the second",
           states, c->lua_memory_mb, states * (size_t)c->lua_memory_mb, c->lua_memory_total_mb);
  return -1;
}

int daemon_load_scripts(daemon_scripts *ds, uv_loop_t *loop, const char *dir,
                        const lua_host_service *services, size_t service_count, lua_host **out,
                        char *err, size_t errlen) {
  const bg_config *c = ds->config;
  lua_host_options o = {
      .scripts_dir = dir ? dir : c->scripts_dir,
      .limits = {.memory_bytes = (size_t)c->lua_memory_mb * 1024 * 1024,
                 .budget = &ds->memory,
                 .instructions = (uint64_t)c->lua_instructions,
                 .call_timeout_ms = (uint64_t)c->lua_call_timeout_ms,
                 .tool_timeout_ms = (uint64_t)c->tool_timeout_s * 1000,
                 .max_json_bytes = LUA_HOST_JSON_MAX_BYTES,
                 .max_result_bytes = LUA_HOST_RESULT_MAX_BYTES},
      .services = services,
      .service_count = service_count,
  };
  if (daemon_check_set_memory(c, o.scripts_dir, err, errlen) != 0) return -1;
  return lua_host_load(out, loop, &o, err, errlen);
}

/* The secrets the journal store redacts are the configured tokens and the
 * SSH key as the pool read it; they pass through the options for this call
 * only. */
static void daemon_journals_open(app *a, const bg_config *c) {
  const char *secrets[] = {c->api_key, c->auth_token, c->oauth_token, c->bearer_token};
  journal_metrics jm = {.bytes_written = a->metrics->journal_bytes,
                        .flush_seconds = a->metrics->journal_flush_seconds};
  journal_store_options o = {
      .sessions_dir = c->sessions_dir,
      .hmac_key_path = c->journal_hmac_key_path,
      .secrets = secrets,
      .secret_count = sizeof secrets / sizeof secrets[0],
      .metrics = &jm,
  };
  if (a->ssh) ssh_pool_key(a->ssh, &o.key_pem, &o.key_len);
  a->journals = journal_store_open(a->loop, &o);
}

/* The journal store's redactor is the one: it knows every secret by the
 * time a turn can call the model. */
static char *daemon_redact(void *ud, const char *text, size_t len, size_t *outlen) {
  (void)ud;
  const app *a = ud;
  return redactor_apply(journal_store_redactor(a->journals), text, len, outlen);
}

static int daemon_model_start(app *a, const bg_config *c) {
  if (!c->api_key && !c->auth_token) {
    if (c->oauth_token_set)
      log_warn("CLAUDE_CODE_OAUTH_TOKEN is set but not used: subscription tokens are for "
               "Anthropic's own apps. Set ANTHROPIC_API_KEY (see docs/api-key.md)");
    log_warn("no model credential: prompts will be refused; the power-verb buttons still work");
    return 0;
  }
  model_client_options o = {
      .base_url = c->base_url,
      .api_key = c->api_key,
      .auth_token = c->api_key ? NULL : c->auth_token,
      .version = c->anthropic_version,
      .ca_file = c->ca_file,
      .connect_timeout_ms = c->model_connect_timeout_s * 1000,
      .idle_timeout_ms = c->model_idle_timeout_s * 1000,
      .request_timeout_ms = c->model_request_timeout_s * 1000,
      .max_retries = (int)c->model_max_retries,
      .max_retry_delay_ms = c->model_max_retry_delay_s * 1000,
      .max_response_bytes = MODEL_MAX_RESPONSE_BYTES,
      .redact = daemon_redact,
      .redact_ud = a,
      .metrics = a->metrics,
  };
  int rc = model_client_new(&a->model, a->loop, &o);
  if (rc == 0) rc = model_probe_new(&a->model_probe, a->loop, &o, c->model);
  if (rc != 0) log_error("model client: %s (check ANTHROPIC_BASE_URL)", uv_strerror(rc));
  return rc;
}

/* The handles that end the daemon: signals start the shutdown; once the
 * server is closed the signal handles go too, so the loop runs dry. */
typedef struct daemon_stop {
  app *a;
  uv_signal_t sigs[2];
  scripts_reload *reload;    /* NULL when scripts are not watched */
  http_server *metrics_http; /* the scraper's listener, or NULL */
} daemon_stop;

static void daemon_on_metrics_http_closed(void *ud) {
  daemon_stop *stop = ud;
  stop->metrics_http = NULL;
}

static void daemon_on_http_closed(void *ud) {
  daemon_stop *stop = ud;
  app *a = stop->a;
  a->http = NULL;
  http_static_close(a->www);
  a->www = NULL;
  if (a->model) model_client_close(a->model);
  a->model = NULL;
  model_probe_close(a->model_probe);
  a->model_probe = NULL;
  ssh_service_close(a);
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&stop->sigs[i], NULL);
  /* Closing the handles restored the default action: a second SIGTERM
   * during the last clean-up must not turn a clean exit into a kill. */
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
}

static void daemon_on_ssh_drained(void *ud) {
  daemon_stop *stop = ud;
  app *a = stop->a;
  if (a->http)
    http_server_close(a->http, daemon_on_http_closed, stop);
  else
    daemon_on_http_closed(stop);
}

/* Turns are cancelled, then everything closes and the loop runs dry. A
 * power verb already sent to the Proxmox host is the exception: it runs
 * to its end (or its own time limit) and its outcome is recorded first,
 * while the server answers every new request with 503. */
static void daemon_stop_begin(daemon_stop *stop) {
  app *a = stop->a;
  a->shutting_down = 1;
  session_turn_cancel_all(a);
  scripts_reload_stop(stop->reload);
  stop->reload = NULL;
  if (stop->metrics_http)
    http_server_close(stop->metrics_http, daemon_on_metrics_http_closed, stop);
  if (!a->ssh) {
    daemon_on_ssh_drained(stop);
    return;
  }
  unsigned left = ssh_pool_drain(a->ssh, daemon_on_ssh_drained, stop);
  if (left)
    log_info("waiting for %u power verb%s on the Proxmox host to end, each within its time "
             "limit (BREAKGLASS_PVE_VERB_TIMEOUT_SECONDS: %lds)",
             left, left == 1 ? "" : "s", a->options.ssh.pve_verb_timeout_s);
}

static void daemon_on_signal(uv_signal_t *sig, int signum) {
  daemon_stop *stop = sig->data;
  if (stop->a->shutting_down) return;
  log_info("%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
  daemon_stop_begin(stop);
}

static void daemon_stop_init(daemon_stop *stop, app *a) {
  static const int signums[2] = {SIGTERM, SIGINT};
  stop->a = a;
  stop->reload = NULL;
  stop->metrics_http = NULL;
  for (int i = 0; i < 2; i++) {
    uv_signal_init(a->loop, &stop->sigs[i]);
    stop->sigs[i].data = stop;
    uv_signal_start(&stop->sigs[i], daemon_on_signal, signums[i]);
  }
}

static log_level level_from_name(const char *name) {
  if (strcmp(name, "debug") == 0) return LOG_DEBUG;
  if (strcmp(name, "warn") == 0) return LOG_WARN;
  if (strcmp(name, "error") == 0) return LOG_ERROR;
  return LOG_INFO;
}

/* BREAKGLASS_METRICS_LISTEN: /metrics alone, without credentials. */
static int daemon_metrics_listen(app *a, const bg_config *c, daemon_stop *stop,
                                 const http_limits *limits) {
  if (!c->metrics_host) return 0;
  int rc = http_server_new(&stop->metrics_http, a->loop, limits, api_metrics_only, a);
  if (rc == 0) {
    http_server_set_head_check(stop->metrics_http, api_head_check_anonymous);
    rc = http_server_listen(stop->metrics_http, c->metrics_host, c->metrics_port);
  }
  if (rc != 0) {
    log_error("BREAKGLASS_METRICS_LISTEN: cannot listen on %s:%d: %s", c->metrics_host,
              c->metrics_port, uv_strerror(rc));
    return rc;
  }
  log_info("metrics on %s:%d", c->metrics_host, http_server_port(stop->metrics_http));
  return 0;
}

/* Serves until a signal; the first failure to listen stops it the same
 * way, so that nothing is left open. */
static int daemon_listen(app *a, const bg_config *c, daemon_stop *stop, const http_limits *limits) {
  int rc = http_static_new(&a->www, a->loop, c->www_dir);
  if (rc != 0) {
    log_error("the page's files: %s", uv_strerror(rc));
    return rc;
  }
  rc = http_server_new(&a->http, a->loop, limits, api_handle, a);
  if (rc == 0) {
    http_server_set_metrics(a->http, a->metrics);
    http_server_set_head_check(a->http, api_head_check);
    rc = http_server_listen(a->http, c->listen_host, c->listen_port);
  }
  if (rc != 0) {
    log_error("BREAKGLASS_LISTEN: cannot listen on %s:%d: %s", c->listen_host, c->listen_port,
              uv_strerror(rc));
    return rc;
  }
  if (daemon_metrics_listen(a, c, stop, limits) != 0) return -1;
  log_info("listening on %s:%d", c->listen_host, http_server_port(a->http));
  return 0;
}

static void daemon_free(app *a) {
  session_free_all(a);
  log_set_redactor(NULL);
  journal_store_close(a->journals);
  json_decref(a->actions);
  json_decref(a->journal_damage);
  if (a->scripts) lua_host_release(a->scripts);
  uv_run(a->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(a->loop) != 0) log_warn("event loop closed with handles still open");
  api_targets_free(a->targets);
  api_search_free(a->search);
  daemon_metrics_free(a->metrics);
}

int daemon_serve(const bg_config *c) {
  signal(SIGPIPE, SIG_IGN);
  /* glibc raises its mmap threshold as large blocks are freed, and then
   * serves the next large ones (a long answer, its journal record) from
   * the heap, which is not given back: a fixed threshold keeps them
   * mapped, so their memory returns when they are freed. */
  mallopt(M_MMAP_THRESHOLD, DAEMON_MMAP_THRESHOLD_BYTES);
  log_set_level(level_from_name(c->log_level));
  log_set_format(strcmp(c->log_format, "json") == 0 ? LOG_FORMAT_JSON : LOG_FORMAT_PLAIN);
  api_options routes = daemon_options_api(c);
  app a = {.loop = uv_default_loop(),
           .options = daemon_options_agent(c),
           .api = &routes,
           .metrics = daemon_metrics_new(),
           .targets = api_targets_new(),
           .search = api_search_new()};
  if (!a.metrics || !a.targets || !a.search) {
    log_error("out of memory at start");
    daemon_metrics_free(a.metrics);
    api_targets_free(a.targets);
    api_search_free(a.search);
    return 1;
  }
  char ssh_err[768];
  if (ssh_service_open(&a, ssh_err, sizeof ssh_err) != 0) {
    log_error("%s", ssh_err);
    daemon_free(&a);
    return 1;
  }
  /* The journals know every secret before the first record, and the log
   * redacts with them from here on (the lines before hold none). */
  daemon_journals_open(&a, c);
  log_set_redactor(journal_store_redactor(a.journals));
  if (daemon_model_start(&a, c) != 0) {
    if (a.model) model_client_close(a.model);
    model_probe_close(a.model_probe);
    ssh_service_close(&a);
    daemon_free(&a);
    return 1;
  }

  /* Every set loaded here and by a reload lives on this frame's budget;
   * daemon_free releases the last of them. */
  daemon_scripts scripts;
  daemon_scripts_init(&scripts, c);
  lua_host_service services[] = {ssh_service(&a), runbook_service(&a)};
  size_t service_count = sizeof services / sizeof services[0];
  if (daemon_load_scripts(&scripts, a.loop, NULL, services, service_count, &a.scripts,
                          a.scripts_error, sizeof a.scripts_error) != 0) {
    log_error("scripts in %s did not load; serving without them:\n%s", c->scripts_dir,
              a.scripts_error);
  } else {
    a.scripts_loaded_ms = log_now_ms();
  }
  /* Sessions come back from the journals before anyone can attach. */
  session_recover(&a);
  api_search_start(&a);
  /* Loading the scripts (each self_test runs in a state of its own, closed
   * after) and reading the journals back free more than they keep: give
   * the pages back before serving (a quarter of the idle heap). */
  malloc_trim(0);

  http_limits limits = {
      .max_header_bytes = HTTP_MAX_HEADER_BYTES,
      .max_body_bytes = HTTP_MAX_BODY_BYTES,
      .header_timeout_ms = (uint64_t)c->http_header_timeout_s * 1000,
      .body_timeout_ms = (uint64_t)c->http_body_timeout_s * 1000,
      .idle_timeout_ms = (uint64_t)c->http_idle_timeout_s * 1000,
      .max_stream_buffer_bytes = HTTP_MAX_STREAM_BUFFER_BYTES,
      .max_connections = HTTP_MAX_CONNECTIONS_COUNT,
      .max_unproven_per_address = HTTP_MAX_UNPROVEN_PER_ADDRESS_COUNT,
  };
  daemon_stop stop;
  daemon_stop_init(&stop, &a);
  int reload_rc = scripts_reload_start(&stop.reload, &a, c->scripts_dir, daemon_load_scripts,
                                       &scripts, services, service_count);
  if (reload_rc != 0) log_warn("scripts: no hot reload: %s", uv_strerror(reload_rc));
  int exit_code = 0;
  if (daemon_listen(&a, c, &stop, &limits) != 0) {
    exit_code = 1;
    daemon_stop_begin(&stop);
  }

  uv_run(a.loop, UV_RUN_DEFAULT);
  daemon_free(&a);
  log_info("stopped");
  return exit_code;
}
