/* The daemon's long-lived parts, created at start and handed to every
 * module that serves a request or runs a turn. */
#ifndef BG_APP_H
#define BG_APP_H

#include <uv.h>

#include "agent_options.h"
#include "http_server.h"
#include "limits_table.h"
#include "lua_host.h"
#include "metrics_daemon.h"
#include "model_client.h"
#include "ssh_transport.h"

struct session;
struct model_probe;
struct http_static;
struct journal_store;
struct api_targets;
struct api_searcher;
struct api_options;

typedef struct app {
  uv_loop_t *loop;
  agent_options options; /* what the modules here read of the settings */
  http_server *http;
  struct http_static *www;         /* the page's files */
  model_client *model;             /* NULL when no credential is configured */
  struct model_probe *model_probe; /* checks the model API for the page; NULL with model */
  ssh_pool *ssh;                   /* NULL when no SSH key is configured */
  daemon_metrics *metrics;         /* what the daemon counts (metrics_daemon.h) */
  struct journal_store *journals;  /* where sessions are recorded; NULL: nowhere */
  struct api_targets *targets;     /* the targets' probes and their cache (api_targets.h) */
  struct api_searcher *search;     /* the search index and its waiting searches (api_search.h) */
  const struct api_options *api;   /* what the routes read of the settings (api_options.h) */
  lua_host *scripts;               /* the last good script set; NULL before the first */
  unsigned long long scripts_loaded_ms;
  char scripts_error[APP_SCRIPTS_ERROR_MAX_BYTES]; /* the last failed load, "" if none */
  struct session *sessions;                        /* newest first */
  json_t *actions; /* recent mutating actions, turns and buttons (gate.h) */
  /* Session files recovery refused to read (a symlink, a FIFO, someone
   * else's): [{file, message}], listed with the sessions. */
  json_t *journal_damage;
  /* Orders the gate's decisions and the actions' ends within one
   * millisecond, so that replay sees them in the order they happened. */
  unsigned long long gate_seq;
  int shutting_down;
} app;

#endif
