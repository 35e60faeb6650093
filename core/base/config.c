#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base_url.h"
#include "limits_table.h"

typedef enum {
  SETTING_TEXT,     /* any string */
  SETTING_SECRET,   /* env only, never echoed */
  SETTING_POSITIVE, /* whole number >= 1: seconds, bytes, tokens, ... */
  SETTING_COUNT,    /* whole number >= 0 */
  SETTING_PORT,     /* 1..65535 */
  SETTING_LISTEN,   /* host:port, port may be 0 */
  SETTING_FILE,     /* an existing readable file */
  SETTING_URL,      /* the model API's base: base_url_check */
} setting_kind;

typedef struct setting {
  const char *env;
  const char *flag; /* NULL: environment only */
  setting_kind kind;
  size_t offset;
  const char *fallback;
  const char *help;
} setting;

#define AT(field) offsetof(bg_config, field)

static const setting settings[] = {
    {"BREAKGLASS_LISTEN", "listen", SETTING_LISTEN, AT(listen_host), "0.0.0.0:8080",
     "address:port to serve HTTP on"},
    {"BREAKGLASS_METRICS_LISTEN", "metrics-listen", SETTING_LISTEN, AT(metrics_host), NULL,
     "address:port to serve /metrics alone on, without credentials, for the scraper (unset: "
     "/metrics only on the main port, with credentials)"},
    {"BREAKGLASS_SCRIPTS_DIR", "scripts", SETTING_TEXT, AT(scripts_dir), "lua",
     "folder of prompt.lua, tools/ and policy/"},
    {"BREAKGLASS_WWW_DIR", "www", SETTING_TEXT, AT(www_dir), "www", "folder of the web page"},
    {"BREAKGLASS_DATA_DIR", "data-dir", SETTING_TEXT, AT(data_dir), "data",
     "folder for sessions and state"},
    {"BREAKGLASS_SESSIONS_DIR", "sessions-dir", SETTING_TEXT, AT(sessions_dir), NULL,
     "session journals (default: DATA_DIR/sessions)"},
    {"BREAKGLASS_MAX_SESSIONS", "max-sessions", SETTING_POSITIVE, AT(max_sessions), "200",
     "sessions kept; past it the oldest finished ones are deleted"},
    {"BREAKGLASS_MAX_JOURNAL_BYTES", "max-journal-bytes", SETTING_POSITIVE, AT(max_journal_bytes),
     "1073741824", "bytes of all session journals; past it the oldest finished are deleted"},
    {"BREAKGLASS_MAX_SESSION_JOURNAL_BYTES", "max-session-journal-bytes", SETTING_POSITIVE,
     AT(max_session_journal_bytes), "134217728",
     "bytes of one session's journal; past it the session takes no new turns"},
    {"BREAKGLASS_JOURNAL_HMAC_KEY_PATH", "journal-hmac-key", SETTING_FILE,
     AT(journal_hmac_key_path), NULL,
     "key file for the journals' HMAC (unset: SHA-256 links only)"},
    {"BREAKGLASS_RUNBOOKS_DIR", "runbooks", SETTING_TEXT, AT(runbooks_dir), NULL,
     "folder of the operator's runbooks the agent may read (unset: none)"},
    {"ANTHROPIC_API_KEY", NULL, SETTING_SECRET, AT(api_key), NULL, "Messages API key (x-api-key)"},
    {"ANTHROPIC_AUTH_TOKEN", NULL, SETTING_SECRET, AT(auth_token), NULL,
     "bearer token for an API gateway"},
    {"CLAUDE_CODE_OAUTH_TOKEN", NULL, SETTING_SECRET, AT(oauth_token), NULL,
     "subscription token: not used (see docs/api-key.md), only kept out of journals"},
    {"ANTHROPIC_BASE_URL", "anthropic-base-url", SETTING_URL, AT(base_url),
     "https://api.anthropic.com", "Messages API base URL"},
    {"ANTHROPIC_VERSION", "anthropic-version", SETTING_TEXT, AT(anthropic_version), "2023-06-01",
     "anthropic-version header"},
    {"BREAKGLASS_CA_FILE", "ca-file", SETTING_FILE, AT(ca_file), NULL,
     "CA bundle to trust for the model API"},
    {"BREAKGLASS_MODEL", "model", SETTING_TEXT, AT(model), "claude-sonnet-4-5", "model id"},
    {"BREAKGLASS_MAX_TOKENS", "max-tokens", SETTING_POSITIVE, AT(max_tokens), "8192",
     "max_tokens per model call"},
    {"BREAKGLASS_MODEL_CONNECT_TIMEOUT_SECONDS", "model-connect-timeout", SETTING_POSITIVE,
     AT(model_connect_timeout_s), "10", "TCP+TLS connect limit for the model API"},
    {"BREAKGLASS_MODEL_IDLE_TIMEOUT_SECONDS", "model-idle-timeout", SETTING_POSITIVE,
     AT(model_idle_timeout_s), "90", "a model stream silent this long is stalled"},
    {"BREAKGLASS_MODEL_REQUEST_TIMEOUT_SECONDS", "model-request-timeout", SETTING_POSITIVE,
     AT(model_request_timeout_s), "600", "limit on one model call"},
    {"BREAKGLASS_MODEL_MAX_RETRIES", "model-max-retries", SETTING_COUNT, AT(model_max_retries), "4",
     "retries of a failed model call"},
    {"BREAKGLASS_MODEL_MAX_RETRY_DELAY_SECONDS", "model-max-retry-delay", SETTING_POSITIVE,
     AT(model_max_retry_delay_s), "60", "cap on one retry's wait"},
    {"BREAKGLASS_MAX_MODEL_CALLS_PER_TURN", "max-model-calls", SETTING_POSITIVE,
     AT(max_model_calls_per_turn), "40", "model calls allowed in one turn"},
    {"API_BEARER_TOKEN", NULL, SETTING_SECRET, AT(bearer_token), NULL,
     "token machine callers send as Authorization: Bearer"},
    {"BREAKGLASS_TRUSTED_USER_HEADER", "trusted-user-header", SETTING_TEXT, AT(trusted_user_header),
     NULL, "identity header set by the auth proxy (e.g. X-authentik-username)"},
    {"BREAKGLASS_DEVVM_HOST", "devvm-host", SETTING_TEXT, AT(devvm.host), NULL,
     "devvm address (unset: not configured)"},
    {"BREAKGLASS_DEVVM_PORT", "devvm-port", SETTING_PORT, AT(devvm.port), "22", "devvm SSH port"},
    {"BREAKGLASS_DEVVM_USER", "devvm-user", SETTING_TEXT, AT(devvm.user), "breakglass",
     "devvm SSH user"},
    {"BREAKGLASS_PVE_HOST", "pve-host", SETTING_TEXT, AT(pve.host), NULL,
     "Proxmox host address (unset: not configured)"},
    {"BREAKGLASS_PVE_PORT", "pve-port", SETTING_PORT, AT(pve.port), "22", "Proxmox SSH port"},
    {"BREAKGLASS_PVE_USER", "pve-user", SETTING_TEXT, AT(pve.user), "root", "Proxmox SSH user"},
    {"BREAKGLASS_KEY_PATH", "key-path", SETTING_FILE, AT(key_path), NULL,
     "SSH private key (ed25519 or ecdsa)"},
    {"BREAKGLASS_KNOWN_HOSTS", "known-hosts", SETTING_FILE, AT(known_hosts), NULL,
     "pinned host keys (OpenSSH known_hosts format)"},
    {"BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS", "ssh-connect-timeout", SETTING_POSITIVE,
     AT(ssh_connect_timeout_s), "10", "TCP connect + banner + key exchange + auth limit"},
    {"BREAKGLASS_COMMAND_TIMEOUT_SECONDS", "command-timeout", SETTING_POSITIVE,
     AT(command_timeout_s), "120", "default limit on one SSH command"},
    {"BREAKGLASS_MAX_COMMAND_TIMEOUT_SECONDS", "max-command-timeout", SETTING_POSITIVE,
     AT(max_command_timeout_s), "600", "cap on a per-call command limit"},
    {"BREAKGLASS_PVE_VERB_TIMEOUT_SECONDS", "pve-verb-timeout", SETTING_POSITIVE,
     AT(pve_verb_timeout_s), "120", "limit on one power verb"},
    {"BREAKGLASS_SSH_STANDBY", "ssh-standby", SETTING_TEXT, AT(ssh_standby), "on",
     "on: after a host's first command, keep a program waiting there for the next one "
     "(breakglass-pve standby, the devvm's login shell); off: sshd starts each command"},
    {"BREAKGLASS_CONFIRM_TIMEOUT_SECONDS", "confirm-timeout", SETTING_POSITIVE,
     AT(confirm_timeout_s), "300", "how long a call waits for the operator's approval"},
    {"BREAKGLASS_TURN_TIMEOUT_SECONDS", "turn-timeout", SETTING_POSITIVE, AT(turn_timeout_s),
     "1800", "limit on one agent turn"},
    {"BREAKGLASS_TOOL_TIMEOUT_SECONDS", "tool-timeout", SETTING_POSITIVE, AT(tool_timeout_s), "900",
     "limit on one tool call"},
    {"BREAKGLASS_SSE_KEEPALIVE_SECONDS", "sse-keepalive", SETTING_POSITIVE, AT(sse_keepalive_s),
     "20", "idle time before an SSE keepalive comment"},
    {"BREAKGLASS_HTTP_HEADER_TIMEOUT_SECONDS", "http-header-timeout", SETTING_POSITIVE,
     AT(http_header_timeout_s), "10", "a request head must arrive within"},
    {"BREAKGLASS_HTTP_BODY_TIMEOUT_SECONDS", "http-body-timeout", SETTING_POSITIVE,
     AT(http_body_timeout_s), "30", "a request body must arrive within this of its head"},
    {"BREAKGLASS_HTTP_IDLE_TIMEOUT_SECONDS", "http-idle-timeout", SETTING_POSITIVE,
     AT(http_idle_timeout_s), "60", "idle keep-alive connections are closed after"},
    {"BREAKGLASS_LUA_MEMORY_MB", "lua-memory-mb", SETTING_POSITIVE, AT(lua_memory_mb), "8",
     "memory cap per Lua script state (one a script file)"},
    {"BREAKGLASS_LUA_MEMORY_TOTAL_MB", "lua-memory-total-mb", SETTING_POSITIVE,
     AT(lua_memory_total_mb), "256",
     "memory cap of all Lua states together (the running set, one being loaded, older ones "
     "turns still use); at least BREAKGLASS_LUA_MEMORY_MB x the script files"},
    {"BREAKGLASS_LUA_INSTRUCTIONS", "lua-instructions", SETTING_POSITIVE, AT(lua_instructions),
     "50000000", "instruction budget per entry into Lua"},
    {"BREAKGLASS_LUA_CALL_TIMEOUT_MS", "lua-call-timeout-ms", SETTING_POSITIVE,
     AT(lua_call_timeout_ms), "2000", "wall-clock limit per entry into Lua"},
    {"BREAKGLASS_LOG_LEVEL", "log-level", SETTING_TEXT, AT(log_level), "info",
     "debug, info, warn or error"},
    {"BREAKGLASS_LOG_FORMAT", "log-format", SETTING_TEXT, AT(log_format), "plain",
     "plain (a line of text a record) or json (one JSON object a line)"},
};

#define SETTINGS_LEN (sizeof settings / sizeof settings[0])

static void *field(bg_config *c, const setting *s) { return (char *)c + s->offset; }

/* A listen setting's field is its host; its port is beside it. */
static int *listen_port(bg_config *c, const setting *s) {
  return s->offset == AT(metrics_host) ? &c->metrics_port : &c->listen_port;
}

static int parse_long(const char *v, long min, long max, long *out) {
  if (!*v) return -1;
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || *end || n < min || n > max) return -1;
  *out = n;
  return 0;
}

/* Secrets are stored as given and never parsed, so no message below can
 * quote one. An empty value means unset, as charts often write it: the
 * default applies, or the setting stays unset. */
static int apply(bg_config *c, const setting *s, const char *v, const char *source, char *err,
                 size_t errlen) {
  long n = 0;
  if (!*v && s->fallback) {
    v = s->fallback;
    source = "default";
  }
  switch (s->kind) {
  case SETTING_POSITIVE:
  case SETTING_COUNT:
    if (parse_long(v, s->kind == SETTING_COUNT ? 0 : 1, LONG_MAX / 1000, &n) != 0) {
      snprintf(err, errlen, "%s: '%s' is not a whole number%s (from %s)", s->env, v,
               s->kind == SETTING_COUNT ? "" : " of at least 1", source);
      return -1;
    }
    *(long *)field(c, s) = n;
    return 0;
  case SETTING_PORT:
    if (parse_long(v, 1, 65535, &n) != 0) {
      snprintf(err, errlen, "%s: '%s' is not a port number 1-65535 (from %s)", s->env, v, source);
      return -1;
    }
    *(int *)field(c, s) = (int)n;
    return 0;
  case SETTING_LISTEN: {
    char **host = field(c, s);
    if (!*v) { /* unset, and no default */
      free(*host);
      *host = NULL;
      return 0;
    }
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || parse_long(colon + 1, 0, 65535, &n) != 0) {
      snprintf(err, errlen, "%s: '%s' is not address:port (from %s)", s->env, v, source);
      return -1;
    }
    /* "[::1]:8080": the brackets only set the port apart. */
    size_t host_len = (size_t)(colon - v);
    int bracketed = host_len > 2 && v[0] == '[' && colon[-1] == ']';
    free(*host);
    *host = bracketed ? strndup(v + 1, host_len - 2) : strndup(v, host_len);
    *listen_port(c, s) = (int)n;
    return 0;
  }
  case SETTING_URL: {
    /* Not quoted back: a refused URL may hold a password. */
    char why[256];
    if (base_url_check(v, why, sizeof why) != 0) {
      snprintf(err, errlen, "%s: the URL %s (from %s)", s->env, why, source);
      return -1;
    }
    break;
  }
  case SETTING_TEXT:
  case SETTING_SECRET:
  case SETTING_FILE:
    break;
  }
  char **slot = field(c, s);
  free(*slot);
  *slot = *v ? strdup(v) : NULL;
  return 0;
}

static const setting *find_flag(const char *name, size_t len) {
  for (size_t i = 0; i < SETTINGS_LEN; i++)
    if (settings[i].flag && strlen(settings[i].flag) == len &&
        memcmp(settings[i].flag, name, len) == 0)
      return &settings[i];
  return NULL;
}

static int check_files(const bg_config *c, char *err, size_t errlen) {
  for (size_t i = 0; i < SETTINGS_LEN; i++) {
    const setting *s = &settings[i];
    if (s->kind != SETTING_FILE) continue;
    const char *path = *(char *const *)((const char *)c + s->offset);
    if (path && access(path, R_OK) != 0) {
      snprintf(err, errlen, "%s: cannot read '%s': %s", s->env, path, strerror(errno));
      return -1;
    }
  }
  return 0;
}

/* The Lua memory settings in MiB become byte counts: keep them where that
 * cannot overflow, and one state's cap within what all states share. */
static int check_lua_memory(const bg_config *c, char *err, size_t errlen) {
  if (c->lua_memory_total_mb > LUA_MEMORY_MAX_MB) {
    snprintf(err, errlen, "BREAKGLASS_LUA_MEMORY_TOTAL_MB: %ld is more than %d",
             c->lua_memory_total_mb, LUA_MEMORY_MAX_MB);
    return -1;
  }
  if (c->lua_memory_mb > c->lua_memory_total_mb) {
    snprintf(err, errlen,
             "BREAKGLASS_LUA_MEMORY_MB (%ld) is more than BREAKGLASS_LUA_MEMORY_TOTAL_MB (%ld), "
             "the memory all Lua scripts may hold together",
             c->lua_memory_mb, c->lua_memory_total_mb);
    return -1;
  }
  return 0;
}

static int config_read(bg_config *c, int argc, char **argv, char *err, size_t errlen) {
  for (size_t i = 0; i < SETTINGS_LEN; i++)
    if (settings[i].fallback &&
        apply(c, &settings[i], settings[i].fallback, "default", err, errlen) != 0)
      return -1;
  for (size_t i = 0; i < SETTINGS_LEN; i++) {
    const char *v = getenv(settings[i].env);
    if (v && apply(c, &settings[i], v, "environment", err, errlen) != 0) return -1;
  }
  c->oauth_token_set = c->oauth_token != NULL;

  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) {
      snprintf(err, errlen, "unexpected argument '%s' (see breakglass --help)", a);
      return -1;
    }
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const setting *s = find_flag(name, len);
    if (!s) {
      snprintf(err, errlen, "unknown flag --%.*s (see breakglass --help)", (int)len, name);
      return -1;
    }
    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!v) {
      snprintf(err, errlen, "flag --%s needs a value", s->flag);
      return -1;
    }
    char from[80];
    snprintf(from, sizeof from, "flag --%s", s->flag);
    if (apply(c, s, v, from, err, errlen) != 0) return -1;
  }
  if (!c->sessions_dir) {
    if (asprintf(&c->sessions_dir, "%s/sessions", c->data_dir ? c->data_dir : ".") < 0) {
      c->sessions_dir = NULL;
      snprintf(err, errlen, "out of memory");
      return -1;
    }
  }
  if (c->log_format && strcmp(c->log_format, "plain") && strcmp(c->log_format, "json")) {
    snprintf(err, errlen, "BREAKGLASS_LOG_FORMAT: '%s' is not plain or json", c->log_format);
    return -1;
  }
  if (c->ssh_standby && strcmp(c->ssh_standby, "on") && strcmp(c->ssh_standby, "off")) {
    snprintf(err, errlen, "BREAKGLASS_SSH_STANDBY: '%s' is not on or off", c->ssh_standby);
    return -1;
  }
  if (c->log_level && strcmp(c->log_level, "debug") && strcmp(c->log_level, "info") &&
      strcmp(c->log_level, "warn") && strcmp(c->log_level, "error")) {
    snprintf(err, errlen, "BREAKGLASS_LOG_LEVEL: '%s' is not debug, info, warn or error",
             c->log_level);
    return -1;
  }
  if (check_lua_memory(c, err, errlen) != 0) return -1;
  return check_files(c, err, errlen);
}

int config_load(bg_config *c, int argc, char **argv, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  if (config_read(c, argc, argv, err, errlen) == 0) return 0;
  config_free(c);
  return -1;
}

void config_free(bg_config *c) {
  for (size_t i = 0; i < SETTINGS_LEN; i++) {
    const setting *s = &settings[i];
    if (s->kind == SETTING_TEXT || s->kind == SETTING_SECRET || s->kind == SETTING_FILE ||
        s->kind == SETTING_URL || s->kind == SETTING_LISTEN) {
      char **slot = field(c, s);
      free(*slot);
      *slot = NULL;
    }
  }
}

void config_print_help(void) {
  printf("Settings (environment variable, flag that overrides it, default):\n");
  for (size_t i = 0; i < SETTINGS_LEN; i++) {
    const setting *s = &settings[i];
    char flag[64] = "(environment only)";
    if (s->flag) snprintf(flag, sizeof flag, "--%s", s->flag);
    printf("  %-42s %-26s %s%s%s\n", s->env, flag, s->help, s->fallback ? "; default " : "",
           s->fallback ? s->fallback : "");
  }
}

/* The unit a setting's name ends in, as --help --limits writes units. */
static const char *setting_unit(const char *env) {
  static const char *const units[][2] = {
      {"_SECONDS", "seconds"}, {"_MS", "ms"},         {"_BYTES", "bytes"},
      {"_MB", "MB"},           {"_TOKENS", "tokens"}, {"_INSTRUCTIONS", "instructions"}};
  size_t len = strlen(env);
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    size_t n = strlen(units[i][0]);
    if (len > n && strcmp(env + len - n, units[i][0]) == 0) return units[i][1];
  }
  return "count";
}

void config_print_limits(void) {
  for (size_t i = 0; i < SETTINGS_LEN; i++) {
    const setting *s = &settings[i];
    if ((s->kind != SETTING_POSITIVE && s->kind != SETTING_COUNT) || !s->fallback) continue;
    printf("  %-40s %12s %-12s %s\n", s->env, s->fallback, setting_unit(s->env), s->help);
  }
}
