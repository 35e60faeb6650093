/* Watching the scripts folder, debouncing its changes, and swapping in a
 * newly loaded set only when the whole set is valid. */
#include "scripts_reload.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The folders watched: the top one first (where a ConfigMap swaps ..data),
 * then the ones scripts and their libraries live in. */
static const char *const watched_subfolders[] = {"",     "/tools",     "/policy",
                                                 "/lib", "/tools/lib", "/policy/lib"};
#define WATCH_COUNT (sizeof watched_subfolders / sizeof watched_subfolders[0])

struct scripts_reload {
  app *a;
  const char *dir;
  scripts_reload_load load;
  struct daemon_scripts *loader;
  lua_host_service *services;
  size_t service_count;
  char *paths[WATCH_COUNT];
  uv_fs_event_t watches[WATCH_COUNT];
  uv_timer_t debounce;
  uv_signal_t hup;
  uint64_t pending_since_ms; /* loop time of the first change not acted on */
  const char *pending_why;   /* what asked for the pending reload */
  int open_handles;
};

static void reload_free(scripts_reload *r) {
  for (size_t i = 0; i < WATCH_COUNT; i++) free(r->paths[i]);
  free(r->services);
  free(r);
}

static void reload_on_closed(uv_handle_t *handle) {
  scripts_reload *r = handle->data;
  if (--r->open_handles == 0) reload_free(r);
}

static void reload_on_change(uv_fs_event_t *watch, const char *filename, int events, int status);

/* (Re)starts every watch. A subfolder may have appeared, gone, or (behind a
 * ConfigMap's symlinks) now be another folder: a watch follows the folder it
 * was started on, so each reload starts them afresh. Missing subfolders are
 * fine; a missing top folder is logged once per reload. */
static void reload_watch_all(scripts_reload *r) {
  for (size_t i = 0; i < WATCH_COUNT; i++) {
    uv_fs_event_stop(&r->watches[i]);
    int rc = uv_fs_event_start(&r->watches[i], reload_on_change, r->paths[i], 0);
    if (rc != 0 && i == 0)
      log_warn("scripts: cannot watch %s (%s); only SIGHUP reloads the scripts", r->paths[i],
               uv_strerror(rc));
  }
}

/* Loads the whole set afresh; swaps it in only when all of it is valid. */
static void reload_now(scripts_reload *r) {
  app *a = r->a;
  const char *dir = r->dir;
  reload_watch_all(r);
  lua_host *fresh = NULL;
  char err[APP_SCRIPTS_ERROR_MAX_BYTES];
  if (r->load(r->loader, a->loop, NULL, r->services, r->service_count, &fresh, err, sizeof err) !=
      0) {
    snprintf(a->scripts_error, sizeof a->scripts_error, "%s", err);
    if (a->metrics) metric_inc(metric_at(a->metrics->script_reloads, "error"));
    log_error("scripts in %s did not reload (%s); %s:\n%s", dir, r->pending_why,
              a->scripts ? "the last good set keeps serving" : "still serving without scripts",
              err);
    return;
  }
  lua_host *old = a->scripts;
  a->scripts = fresh;
  a->scripts_error[0] = '\0';
  a->scripts_loaded_ms = log_now_ms();
  if (a->metrics) metric_inc(metric_at(a->metrics->script_reloads, "ok"));
  /* Turns running on the old set hold their own reference to it. */
  lua_host_release(old);
  json_t *tools = lua_host_tools_json(fresh);
  log_info("scripts in %s reloaded (%s): %zu tools", dir, r->pending_why, json_array_size(tools));
  json_decref(tools);
}

static void reload_on_timer(uv_timer_t *timer) {
  scripts_reload *r = timer->data;
  if (!r->a->shutting_down) reload_now(r);
  r->pending_why = NULL;
}

/* Restarts the quiet period, unless changes have kept it going too long. */
static void reload_request(scripts_reload *r, const char *why, uint64_t delay_ms) {
  uint64_t now = uv_now(r->a->loop);
  if (!r->pending_why) {
    r->pending_since_ms = now;
    r->pending_why = why;
  } else if (now - r->pending_since_ms >= SCRIPTS_RELOAD_MAX_DELAY_MS) {
    return;
  }
  uv_timer_start(&r->debounce, reload_on_timer, delay_ms, 0);
}

static void reload_on_change(uv_fs_event_t *watch, const char *filename, int events, int status) {
  (void)events;
  scripts_reload *r = watch->data;
  if (status < 0)
    log_warn("scripts: watching %s: %s", watch->path ? watch->path : "?", uv_strerror(status));
  log_debug("scripts: change in %s%s%s", watch->path ? watch->path : "?", filename ? ": " : "",
            filename ? filename : "");
  reload_request(r, "the folder changed", SCRIPTS_RELOAD_DEBOUNCE_MS);
}

static void reload_on_hup(uv_signal_t *sig, int signum) {
  (void)signum;
  scripts_reload *r = sig->data;
  log_info("SIGHUP: reloading the scripts");
  reload_request(r, "SIGHUP", 0);
}

static int reload_copy_config(scripts_reload *r, const lua_host_service *services,
                              size_t service_count) {
  const char *dir = r->dir;
  for (size_t i = 0; i < WATCH_COUNT; i++) {
    size_t len = strlen(dir) + strlen(watched_subfolders[i]) + 1;
    if (!(r->paths[i] = malloc(len))) return UV_ENOMEM;
    snprintf(r->paths[i], len, "%s%s", dir, watched_subfolders[i]);
  }
  if (service_count == 0) return 0;
  r->services = calloc(service_count, sizeof *r->services);
  if (!r->services) return UV_ENOMEM;
  memcpy(r->services, services, service_count * sizeof *r->services);
  r->service_count = service_count;
  return 0;
}

int scripts_reload_start(scripts_reload **out, app *a, const char *scripts_dir,
                         scripts_reload_load load, struct daemon_scripts *loader,
                         const lua_host_service *services, size_t service_count) {
  *out = NULL;
  scripts_reload *r = calloc(1, sizeof *r);
  if (!r) return UV_ENOMEM;
  r->a = a;
  r->dir = scripts_dir;
  r->load = load;
  r->loader = loader;
  int rc = reload_copy_config(r, services, service_count);
  if (rc != 0) {
    reload_free(r);
    return rc;
  }
  /* From here on every handle is open and goes through scripts_reload_stop. */
  for (size_t i = 0; i < WATCH_COUNT; i++) {
    uv_fs_event_init(a->loop, &r->watches[i]);
    r->watches[i].data = r;
  }
  uv_timer_init(a->loop, &r->debounce);
  r->debounce.data = r;
  uv_signal_init(a->loop, &r->hup);
  r->hup.data = r;
  r->open_handles = WATCH_COUNT + 2;
  rc = uv_signal_start(&r->hup, reload_on_hup, SIGHUP);
  if (rc != 0) {
    scripts_reload_stop(r);
    return rc;
  }
  reload_watch_all(r);
  *out = r;
  return 0;
}

void scripts_reload_stop(scripts_reload *r) {
  if (!r) return;
  for (size_t i = 0; i < WATCH_COUNT; i++)
    uv_close((uv_handle_t *)&r->watches[i], reload_on_closed);
  uv_close((uv_handle_t *)&r->debounce, reload_on_closed);
  uv_close((uv_handle_t *)&r->hup, reload_on_closed);
}
