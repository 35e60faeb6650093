#include "daemon.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "http_static.h"
#include "journal_store.h"
#include "log.h"
#include "scripts_reload.h"
#include "session.h"
#include "session_recover.h"
#include "session_turn.h"
#include "ssh_service.h"

#define HTTP_MAX_HEADER_BYTES (16u * 1024)
#define HTTP_MAX_BODY_BYTES (1024u * 1024)
/* Unread bytes a stream may hold. Replay is paced, so this bounds only a
 * client that falls behind live events: it is dropped and re-attaches.
 * It must hold the largest event a turn makes (a text event, 256 KiB, or
 * a tool_output chunk) many times over; each slow client costs this. */
#define HTTP_MAX_STREAM_BUFFER_BYTES (4u * 1024 * 1024)
#define HTTP_MAX_CONNECTIONS 256
/* The SSE bytes of one model answer. Real answers are far smaller (tens
 * of thousands of tokens); this bounds a hostile or broken upstream. */
#define MODEL_MAX_RESPONSE_BYTES (64u * 1024 * 1024)
#define LUA_MAX_JSON_BYTES (1024u * 1024)
#define LUA_MAX_RESULT_BYTES (256u * 1024)
#define DAEMON_MMAP_THRESHOLD_BYTES (256 * 1024)

int daemon_load_scripts(const bg_config *c, uv_loop_t *loop, const char *dir,
                        const lua_host_service *services, size_t service_count, lua_host **out,
                        char *err, size_t errlen) {
  lua_host_options o = {
      .scripts_dir = dir ? dir : c->scripts_dir,
      .limits = {.memory_bytes = (size_t)c->lua_memory_mb * 1024 * 1024,
                 .instructions = (uint64_t)c->lua_instructions,
                 .call_timeout_ms = (uint64_t)c->lua_call_timeout_ms,
                 .tool_timeout_ms = (uint64_t)c->tool_timeout_s * 1000,
                 .max_json_bytes = LUA_MAX_JSON_BYTES,
                 .max_result_bytes = LUA_MAX_RESULT_BYTES},
      .services = services,
      .service_count = service_count,
  };
  return lua_host_load(out, loop, &o, err, errlen);
}

/* The journal store's redactor is the one: it knows every secret by the
 * time a turn can call the model. */
static char *daemon_redact(void *ud, const char *text, size_t len, size_t *outlen) {
  (void)ud;
  return journal_redact(journal_store_redactor(), text, len, outlen);
}

static int daemon_model_start(app *a) {
  const bg_config *c = a->config;
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
  };
  int rc = model_client_new(&a->model, a->loop, &o);
  if (rc != 0) log_error("model client: %s (check ANTHROPIC_BASE_URL)", uv_strerror(rc));
  return rc;
}

/* The handles that end the daemon: signals start the shutdown; once the
 * server is closed the signal handles go too, so the loop runs dry. */
typedef struct daemon_stop {
  app *a;
  uv_signal_t sigs[2];
  scripts_reload *reload; /* NULL when scripts are not watched */
} daemon_stop;

static void daemon_on_http_closed(void *ud) {
  daemon_stop *stop = ud;
  app *a = stop->a;
  a->http = NULL;
  http_static_close(a->www);
  a->www = NULL;
  if (a->model) model_client_close(a->model);
  a->model = NULL;
  ssh_service_close(a);
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&stop->sigs[i], NULL);
}

/* Turns are cancelled, then everything closes and the loop runs dry. */
static void daemon_stop_begin(daemon_stop *stop) {
  app *a = stop->a;
  a->shutting_down = 1;
  session_turn_cancel_all(a);
  scripts_reload_stop(stop->reload);
  stop->reload = NULL;
  if (a->http)
    http_server_close(a->http, daemon_on_http_closed, stop);
  else
    daemon_on_http_closed(stop);
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

int daemon_serve(bg_config *c) {
  signal(SIGPIPE, SIG_IGN);
  /* glibc raises its mmap threshold as large blocks are freed, and then
   * serves the next large ones (a long answer, its journal record) from
   * the heap, which is not given back: a fixed threshold keeps them
   * mapped, so their memory returns when they are freed. */
  mallopt(M_MMAP_THRESHOLD, DAEMON_MMAP_THRESHOLD_BYTES);
  log_set_level(level_from_name(c->log_level));
  app a = {.loop = uv_default_loop(), .config = c};
  if (daemon_model_start(&a) != 0) return 1;
  char ssh_err[768];
  if (ssh_service_open(&a, ssh_err, sizeof ssh_err) != 0) {
    log_error("%s", ssh_err);
    if (a.model) model_client_close(a.model);
    uv_run(a.loop, UV_RUN_DEFAULT);
    uv_loop_close(a.loop);
    return 1;
  }

  lua_host_service services[] = {ssh_service(&a)};
  if (daemon_load_scripts(c, a.loop, NULL, services, 1, &a.scripts, a.scripts_error,
                          sizeof a.scripts_error) != 0) {
    log_error("scripts in %s did not load; serving without them:\n%s", c->scripts_dir,
              a.scripts_error);
  } else {
    a.scripts_loaded_ms = log_now_ms();
  }

  /* The journals know every secret before the first record, and sessions
   * come back from them before anyone can attach. */
  const char *key_pem = NULL;
  size_t key_len = 0;
  if (a.ssh) ssh_pool_key(a.ssh, &key_pem, &key_len);
  journal_store_open(c, a.loop, key_pem, key_len);
  session_recover(&a);
  /* Loading the scripts (each self_test runs in a state of its own, closed
   * after) and reading the journals back free more than they keep: give
   * the pages back before serving (a quarter of the idle heap). */
  malloc_trim(0);

  http_limits limits = {
      .max_header_bytes = HTTP_MAX_HEADER_BYTES,
      .max_body_bytes = HTTP_MAX_BODY_BYTES,
      .header_timeout_ms = (uint64_t)c->http_header_timeout_s * 1000,
      .idle_timeout_ms = (uint64_t)c->http_idle_timeout_s * 1000,
      .max_stream_buffer_bytes = HTTP_MAX_STREAM_BUFFER_BYTES,
      .max_connections = HTTP_MAX_CONNECTIONS,
  };
  daemon_stop stop;
  daemon_stop_init(&stop, &a);
  int reload_rc = scripts_reload_start(&stop.reload, &a, services, 1);
  if (reload_rc != 0) log_warn("scripts: no hot reload: %s", uv_strerror(reload_rc));
  int exit_code = 0;
  int rc = http_static_new(&a.www, a.loop, c->www_dir);
  if (rc == 0) rc = http_server_new(&a.http, a.loop, &limits, api_handle, &a);
  if (rc == 0) rc = http_server_listen(a.http, c->listen_host, c->listen_port);
  if (rc != 0) {
    log_error("BREAKGLASS_LISTEN: cannot listen on %s:%d: %s", c->listen_host, c->listen_port,
              uv_strerror(rc));
    /* The same way out as a signal, so that nothing is left open. */
    exit_code = 1;
    daemon_stop_begin(&stop);
  } else {
    log_info("listening on %s:%d", c->listen_host, http_server_port(a.http));
  }

  uv_run(a.loop, UV_RUN_DEFAULT);
  session_free_all(&a);
  journal_store_close();
  json_decref(a.actions);
  if (a.scripts) lua_host_release(a.scripts);
  uv_run(a.loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(a.loop);
  if (rc != 0) log_warn("event loop closed with handles still open");
  log_info("stopped");
  return exit_code;
}
