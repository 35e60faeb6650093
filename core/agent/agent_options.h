/* What the agent's modules read of the settings: filled once by the daemon
 * from its configuration at start (core/daemon/daemon_options.c) and held
 * in app->options, so that no module here reads the settings themselves.
 * Each group names the files that read it. Strings point into the daemon's
 * configuration, which outlives every reader. No secret is held here: the
 * model's credentials stay with the model client, the journals' key with
 * the journal store. */
#ifndef BG_AGENT_OPTIONS_H
#define BG_AGENT_OPTIONS_H

#include <stdbool.h>

/* A host a session's commands reach (BREAKGLASS_DEVVM_HOST, ..._PORT,
 * ..._USER; the same for PVE). */
typedef struct agent_target {
  const char *host; /* NULL: not configured */
  int port;
  const char *user;
} agent_target;

/* A turn: session_turn.c, session_request.c (and the model shown by
 * core/api/api_targets.c). */
typedef struct agent_turn_options {
  const char *model; /* BREAKGLASS_MODEL, unless the prompt names one */
  long max_tokens;
  long max_model_calls_per_turn;
  long turn_timeout_s;
} agent_turn_options;

/* A session's stream, its confirmations and its journal: session_stream.c,
 * action.c, journal_session.c. */
typedef struct agent_session_options {
  long sse_keepalive_s;
  long confirm_timeout_s;
  long max_session_journal_bytes; /* past it no new turns */
} agent_session_options;

/* The sessions on disk: session_recover.c, session_prune.c (and the search
 * index over them, core/api/api_search.c). */
typedef struct agent_store_options {
  const char *sessions_dir;
  long max_sessions;      /* retention: sessions kept */
  long max_journal_bytes; /* retention: all session journals together */
} agent_store_options;

/* The SSH targets and the commands run on them: ssh_service.c (and the
 * power buttons and the targets' probes, core/api/api_pve.c and
 * api_targets.c). */
typedef struct agent_ssh_options {
  agent_target devvm;
  agent_target pve;
  const char *key_path; /* NULL: SSH is off */
  const char *known_hosts;
  long ssh_connect_timeout_s;
  long command_timeout_s;
  long max_command_timeout_s;
  long pve_verb_timeout_s;
  bool standby; /* a program waits on each host for its next command (ssh_service_open) */
} agent_ssh_options;

typedef struct agent_options {
  agent_turn_options turn;
  agent_session_options session;
  agent_store_options store;
  agent_ssh_options ssh;
  const char *runbooks_dir; /* ctx.runbook (runbook_service.c); NULL: none configured */
} agent_options;

#endif
