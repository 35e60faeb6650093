/* All settings in one place: environment variables, overridden by flags.
 *
 * Names keep today's deployment (BREAKGLASS_DEVVM_HOST, API_BEARER_TOKEN,
 * the timeouts, ...). Secrets come from the environment only (a flag would
 * show in ps) and are never echoed, not even in error messages. The binary
 * has no built-in target addresses: an unset host means "not configured".
 */
#ifndef BG_CONFIG_H
#define BG_CONFIG_H

#include <stddef.h>

typedef struct bg_target {
  char *host; /* NULL: not configured */
  int port;
  char *user;
} bg_target;

typedef struct bg_config {
  char *listen_host;
  int listen_port;
  char *metrics_host; /* NULL: /metrics only on the main port, with credentials */
  int metrics_port;
  char *scripts_dir;
  char *www_dir;
  char *data_dir;
  char *sessions_dir;
  long max_sessions;              /* retention: sessions kept */
  long max_journal_bytes;         /* retention: all session journals together */
  long max_session_journal_bytes; /* one session's journal; past it no new turns */
  char *journal_hmac_key_path;    /* the journals' HMAC key file, or NULL */
  char *runbooks_dir;             /* the operator's runbooks, or NULL */

  char *api_key;       /* secret */
  char *auth_token;    /* secret: gateway bearer token */
  char *oauth_token;   /* secret: CLAUDE_CODE_OAUTH_TOKEN, never used, only redacted */
  int oauth_token_set; /* CLAUDE_CODE_OAUTH_TOKEN present */
  char *base_url;
  char *anthropic_version;
  char *ca_file;
  char *model;
  long max_tokens;
  long model_connect_timeout_s;
  long model_idle_timeout_s;
  long model_request_timeout_s;
  long model_max_retries;
  long model_max_retry_delay_s;
  long max_model_calls_per_turn;

  char *bearer_token; /* secret: API_BEARER_TOKEN */
  char *trusted_user_header;

  bg_target devvm;
  bg_target pve;
  char *key_path;
  char *known_hosts;
  long ssh_connect_timeout_s;
  long command_timeout_s;
  long max_command_timeout_s;
  long pve_verb_timeout_s;
  char *ssh_standby; /* "on" or "off" (core/ssh/ssh_transport.h ssh_pool_set_standby) */

  long confirm_timeout_s;
  long turn_timeout_s;
  long tool_timeout_s;
  long sse_keepalive_s;
  long http_header_timeout_s;
  long http_body_timeout_s;
  long http_idle_timeout_s;

  long lua_memory_mb;       /* one Lua state */
  long lua_memory_total_mb; /* all Lua states together */
  long lua_instructions;
  long lua_call_timeout_ms;

  char *log_level;
  char *log_format; /* "plain" or "json" */
} bg_config;

/* Reads the environment, then argv (flags only; the caller has taken the
 * command word off). An empty value counts as unset. On a bad value fills
 * err with one line naming the setting, frees what it had read and
 * returns -1. */
int config_load(bg_config *c, int argc, char **argv, char *err, size_t errlen);
void config_free(bg_config *c);

/* The flag reference for --help. */
void config_print_help(void);
/* The numeric settings' defaults for --help --limits, one line each in
 * the limits' form: "  NAME VALUE UNIT WHAT", the unit read off the
 * name's last word ("count" when it names none). */
void config_print_limits(void);

#endif
