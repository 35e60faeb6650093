#include "daemon_options.h"

#include <string.h>

static agent_target daemon_options_target(const bg_target *t) {
  return (agent_target){.host = t->host, .port = t->port, .user = t->user};
}

agent_options daemon_options_agent(const bg_config *c) {
  agent_options o = {
      .turn = {.model = c->model,
               .max_tokens = c->max_tokens,
               .max_model_calls_per_turn = c->max_model_calls_per_turn,
               .turn_timeout_s = c->turn_timeout_s},
      .session = {.sse_keepalive_s = c->sse_keepalive_s,
                  .confirm_timeout_s = c->confirm_timeout_s,
                  .max_session_journal_bytes = c->max_session_journal_bytes},
      .store = {.sessions_dir = c->sessions_dir,
                .max_sessions = c->max_sessions,
                .max_journal_bytes = c->max_journal_bytes},
      .ssh = {.devvm = daemon_options_target(&c->devvm),
              .pve = daemon_options_target(&c->pve),
              .key_path = c->key_path,
              .known_hosts = c->known_hosts,
              .ssh_connect_timeout_s = c->ssh_connect_timeout_s,
              .command_timeout_s = c->command_timeout_s,
              .max_command_timeout_s = c->max_command_timeout_s,
              .pve_verb_timeout_s = c->pve_verb_timeout_s,
              .standby = strcmp(c->ssh_standby, "on") == 0},
      .runbooks_dir = c->runbooks_dir,
  };
  return o;
}

api_options daemon_options_api(const bg_config *c) {
  api_options o = {.trusted_user_header = c->trusted_user_header, .bearer_token = c->bearer_token};
  return o;
}
