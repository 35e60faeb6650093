/* Settings: defaults, the environment, flags over it, and error messages
 * that name the setting and never quote a secret. config_load reads the
 * real environment, so each test starts from one without our variables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

extern char **environ;

#define ERR_BYTES 512
#define ENV_NAME_MAX 128

static const char *const secrets[] = {"sk-test-SECRET123", "gw-SECRET456", "bearer-SECRET789"};

/* Unsets every variable config_load might read. Names are collected
 * first: unsetenv changes environ under a loop walking it. */
static int clear_env(void **state) {
  (void)state;
  static const char *const prefixes[] = {"BREAKGLASS_", "ANTHROPIC_", "API_BEARER_TOKEN",
                                         "CLAUDE_CODE_OAUTH_TOKEN"};
  char names[256][ENV_NAME_MAX];
  size_t n = 0;
  for (char **e = environ; *e && n < 256; e++) {
    size_t len = strcspn(*e, "=");
    if (len >= ENV_NAME_MAX) continue;
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++)
      if (strncmp(*e, prefixes[p], strlen(prefixes[p])) == 0) {
        memcpy(names[n], *e, len);
        names[n++][len] = '\0';
        break;
      }
  }
  for (size_t i = 0; i < n; i++) unsetenv(names[i]);
  return 0;
}

static void load_ok(bg_config *c, int argc, char **argv) {
  char err[ERR_BYTES] = "";
  if (config_load(c, argc, argv, err, sizeof err) != 0) fail_msg("config_load failed: %s", err);
}

/* config_load without a flag, in an environment without our variables,
 * gives every default. */
static void expect_defaults(void) {
  bg_config c;
  load_ok(&c, 0, NULL);
  assert_string_equal(c.listen_host, "0.0.0.0");
  assert_int_equal(c.listen_port, 8080);
  assert_string_equal(c.scripts_dir, "lua");
  assert_string_equal(c.www_dir, "www");
  assert_string_equal(c.data_dir, "data");
  assert_string_equal(c.sessions_dir, "data/sessions");
  assert_string_equal(c.model, "claude-sonnet-4-5");
  assert_string_equal(c.base_url, "https://api.anthropic.com");
  assert_string_equal(c.anthropic_version, "2023-06-01");
  assert_string_equal(c.log_level, "info");
  assert_int_equal(c.turn_timeout_s, 1800);
  assert_int_equal(c.pve_verb_timeout_s, 120);
  assert_int_equal(c.sse_keepalive_s, 20);
  assert_int_equal(c.model_max_retries, 4);
  /* 32 files fit in half of the pod's 512 MiB; the shipped set has 9. */
  assert_int_equal(c.lua_memory_mb, 8);
  assert_int_equal(c.lua_memory_total_mb, 256);
  assert_int_equal(c.devvm.port, 22);
  assert_string_equal(c.devvm.user, "breakglass");
  assert_string_equal(c.pve.user, "root");
  /* No target, credential or identity header is built in. */
  assert_null(c.devvm.host);
  assert_null(c.pve.host);
  assert_null(c.api_key);
  assert_null(c.auth_token);
  assert_null(c.bearer_token);
  assert_null(c.trusted_user_header);
  assert_null(c.key_path);
  assert_int_equal(c.oauth_token_set, 0);
  config_free(&c);
}

static void test_defaults(void **state) {
  (void)state;
  expect_defaults();
}

static void test_environment(void **state) {
  (void)state;
  setenv("BREAKGLASS_LISTEN", "127.0.0.1:9000", 1);
  setenv("BREAKGLASS_TURN_TIMEOUT_SECONDS", "30", 1);
  setenv("BREAKGLASS_MODEL_MAX_RETRIES", "0", 1);
  setenv("BREAKGLASS_PVE_HOST", "192.0.2.7", 1);
  setenv("BREAKGLASS_PVE_PORT", "2222", 1);
  setenv("BREAKGLASS_DATA_DIR", "/var/lib/bg", 1);
  setenv("BREAKGLASS_TRUSTED_USER_HEADER", "X-authentik-username", 1);
  setenv("API_BEARER_TOKEN", secrets[2], 1);
  setenv("ANTHROPIC_API_KEY", secrets[0], 1);
  setenv("CLAUDE_CODE_OAUTH_TOKEN", "oauth", 1);
  setenv("BREAKGLASS_KEY_PATH", "/dev/null", 1);
  bg_config c;
  load_ok(&c, 0, NULL);
  assert_string_equal(c.listen_host, "127.0.0.1");
  assert_int_equal(c.listen_port, 9000);
  assert_int_equal(c.turn_timeout_s, 30);
  assert_int_equal(c.model_max_retries, 0);
  assert_string_equal(c.pve.host, "192.0.2.7");
  assert_int_equal(c.pve.port, 2222);
  assert_string_equal(c.sessions_dir, "/var/lib/bg/sessions");
  assert_string_equal(c.trusted_user_header, "X-authentik-username");
  assert_string_equal(c.bearer_token, secrets[2]);
  assert_string_equal(c.api_key, secrets[0]);
  assert_string_equal(c.key_path, "/dev/null");
  assert_int_equal(c.oauth_token_set, 1);
  config_free(&c);
}

/* Charts write unset values as "": that must not turn a default into
 * NULL (the daemon would dereference it) nor configure a host. */
static void test_empty_means_unset(void **state) {
  (void)state;
  static const char *const names[] = {
      "BREAKGLASS_LOG_LEVEL", "BREAKGLASS_MODEL",   "BREAKGLASS_SCRIPTS_DIR",
      "BREAKGLASS_WWW_DIR",   "BREAKGLASS_LISTEN",  "BREAKGLASS_TURN_TIMEOUT_SECONDS",
      "BREAKGLASS_PVE_HOST",  "API_BEARER_TOKEN",   "CLAUDE_CODE_OAUTH_TOKEN",
      "BREAKGLASS_KEY_PATH",  "ANTHROPIC_BASE_URL", "BREAKGLASS_DEVVM_USER",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) setenv(names[i], "", 1);
  expect_defaults();
}

static void test_flags_override_environment(void **state) {
  (void)state;
  setenv("BREAKGLASS_LISTEN", "127.0.0.1:1", 1);
  setenv("BREAKGLASS_TURN_TIMEOUT_SECONDS", "30", 1);
  setenv("BREAKGLASS_MODEL", "env-model", 1);
  char *argv[] = {"--listen",   "127.0.0.1:0", "--turn-timeout=45", "--model=flag-model",
                  "--pve-host", "pve.example", "--model",           "last-wins"};
  bg_config c;
  load_ok(&c, 8, argv);
  assert_string_equal(c.listen_host, "127.0.0.1");
  assert_int_equal(c.listen_port, 0);
  assert_int_equal(c.turn_timeout_s, 45);
  assert_string_equal(c.pve.host, "pve.example");
  assert_string_equal(c.model, "last-wins");
  config_free(&c);
}

static void test_listen_ipv6(void **state) {
  (void)state;
  char *argv[] = {"--listen", "[::1]:8443"};
  bg_config c;
  load_ok(&c, 2, argv);
  assert_string_equal(c.listen_host, "::1");
  assert_int_equal(c.listen_port, 8443);
  config_free(&c);
  setenv("BREAKGLASS_LISTEN", ":::9000", 1);
  load_ok(&c, 0, NULL);
  assert_string_equal(c.listen_host, "::");
  assert_int_equal(c.listen_port, 9000);
  config_free(&c);
}

/* The scraper's listener is off unless asked for, an empty value (as a
 * chart writes it) included; the log format is plain unless json. */
static void test_metrics_listen_and_log_format(void **state) {
  (void)state;
  bg_config c;
  load_ok(&c, 0, NULL);
  assert_null(c.metrics_host);
  assert_string_equal(c.log_format, "plain");
  config_free(&c);
  setenv("BREAKGLASS_METRICS_LISTEN", "", 1);
  load_ok(&c, 0, NULL);
  assert_null(c.metrics_host);
  config_free(&c);
  setenv("BREAKGLASS_METRICS_LISTEN", "0.0.0.0:9090", 1);
  setenv("BREAKGLASS_LOG_FORMAT", "json", 1);
  load_ok(&c, 0, NULL);
  assert_string_equal(c.metrics_host, "0.0.0.0");
  assert_int_equal(c.metrics_port, 9090);
  assert_string_equal(c.listen_host, "0.0.0.0");
  assert_int_equal(c.listen_port, 8080);
  assert_string_equal(c.log_format, "json");
  config_free(&c);
  char *argv[] = {"--metrics-listen", "[::1]:0", "--log-format=plain"};
  load_ok(&c, 3, argv);
  assert_string_equal(c.metrics_host, "::1");
  assert_int_equal(c.metrics_port, 0);
  assert_string_equal(c.log_format, "plain");
  config_free(&c);

  char err[ERR_BYTES];
  setenv("BREAKGLASS_METRICS_LISTEN", "9090", 1);
  assert_int_equal(config_load(&c, 0, NULL, err, sizeof err), -1);
  assert_string_equal(err,
                      "BREAKGLASS_METRICS_LISTEN: '9090' is not address:port (from environment)");
  setenv("BREAKGLASS_METRICS_LISTEN", "127.0.0.1:9090", 1);
  setenv("BREAKGLASS_LOG_FORMAT", "yaml", 1);
  assert_int_equal(config_load(&c, 0, NULL, err, sizeof err), -1);
  assert_string_equal(err, "BREAKGLASS_LOG_FORMAT: 'yaml' is not plain or json");
}

/* Standbys are on unless turned off; anything but on or off is refused. */
static void test_ssh_standby(void **state) {
  (void)state;
  bg_config c;
  load_ok(&c, 0, NULL);
  assert_string_equal(c.ssh_standby, "on");
  config_free(&c);
  char *argv[] = {"--ssh-standby=off"};
  load_ok(&c, 1, argv);
  assert_string_equal(c.ssh_standby, "off");
  config_free(&c);
  char err[ERR_BYTES];
  setenv("BREAKGLASS_SSH_STANDBY", "yes", 1);
  assert_int_equal(config_load(&c, 0, NULL, err, sizeof err), -1);
  assert_string_equal(err, "BREAKGLASS_SSH_STANDBY: 'yes' is not on or off");
}

static void test_flag_value_may_contain_equals(void **state) {
  (void)state;
  char *argv[] = {"--model==x=y", "--devvm-user", "--who"};
  bg_config c;
  load_ok(&c, 3, argv);
  assert_string_equal(c.model, "=x=y");
  assert_string_equal(c.devvm.user, "--who");
  config_free(&c);
}

typedef struct bad_case {
  const char *env;   /* NULL: none */
  const char *value; /* the environment value */
  const char *flag;  /* NULL: none; one argv word, or two joined by ' ' */
  const char *named; /* what the message must name */
} bad_case;

static const bad_case bad_cases[] = {
    {"BREAKGLASS_TURN_TIMEOUT_SECONDS", "abc", NULL, "BREAKGLASS_TURN_TIMEOUT_SECONDS"},
    {"BREAKGLASS_TURN_TIMEOUT_SECONDS", "0", NULL, "BREAKGLASS_TURN_TIMEOUT_SECONDS"},
    {"BREAKGLASS_TURN_TIMEOUT_SECONDS", "12x", NULL, "BREAKGLASS_TURN_TIMEOUT_SECONDS"},
    {"BREAKGLASS_TURN_TIMEOUT_SECONDS", "99999999999999999999", NULL,
     "BREAKGLASS_TURN_TIMEOUT_SECONDS"},
    {"BREAKGLASS_MODEL_MAX_RETRIES", "-1", NULL, "BREAKGLASS_MODEL_MAX_RETRIES"},
    {"BREAKGLASS_DEVVM_PORT", "0", NULL, "BREAKGLASS_DEVVM_PORT"},
    {"BREAKGLASS_PVE_PORT", "65536", NULL, "BREAKGLASS_PVE_PORT"},
    {"BREAKGLASS_LISTEN", "8080", NULL, "BREAKGLASS_LISTEN"},
    {"BREAKGLASS_LISTEN", ":8080", NULL, "BREAKGLASS_LISTEN"},
    {"BREAKGLASS_LISTEN", "127.0.0.1:70000", NULL, "BREAKGLASS_LISTEN"},
    {"BREAKGLASS_LISTEN", "[::1]", NULL, "BREAKGLASS_LISTEN"},
    {"ANTHROPIC_BASE_URL", "ftp://api.example", NULL, "ANTHROPIC_BASE_URL"},
    {"BREAKGLASS_LOG_LEVEL", "loud", NULL, "BREAKGLASS_LOG_LEVEL"},
    {"BREAKGLASS_KEY_PATH", "/nonexistent/breakglass/key", NULL, "BREAKGLASS_KEY_PATH"},
    {"BREAKGLASS_KNOWN_HOSTS", "/nonexistent/known_hosts", NULL, "BREAKGLASS_KNOWN_HOSTS"},
    {"BREAKGLASS_CA_FILE", "/nonexistent/ca.pem", NULL, "BREAKGLASS_CA_FILE"},
    /* One state may not be allowed more than all of them together. */
    {"BREAKGLASS_LUA_MEMORY_TOTAL_MB", "4", NULL,
     "BREAKGLASS_LUA_MEMORY_MB (8) is more than "
     "BREAKGLASS_LUA_MEMORY_TOTAL_MB (4)"},
    {"BREAKGLASS_LUA_MEMORY_MB", "257", NULL,
     "BREAKGLASS_LUA_MEMORY_MB (257) is more than "
     "BREAKGLASS_LUA_MEMORY_TOTAL_MB (256)"},
    {"BREAKGLASS_LUA_MEMORY_TOTAL_MB", "9999999999999", NULL, "BREAKGLASS_LUA_MEMORY_TOTAL_MB"},
    {NULL, NULL, "--turn-timeout=abc", "--turn-timeout"},
    {NULL, NULL, "--pve-port 0", "BREAKGLASS_PVE_PORT"},
    {NULL, NULL, "--listen", "--listen"},
    {NULL, NULL, "--bogus=1", "--bogus"},
    {NULL, NULL, "--bogus", "--bogus"},
    {NULL, NULL, "stray", "stray"},
    /* Secrets have no flags: one given as a flag is refused by name only. */
    {NULL, NULL, "--anthropic-api-key=sk-test-SECRET123", "--anthropic-api-key"},
    {NULL, NULL, "--api-bearer-token bearer-SECRET789", "--api-bearer-token"},
};

static int argv_from(const char *flag, char *buf, size_t len, char **argv) {
  if (!flag) return 0;
  snprintf(buf, len, "%s", flag);
  argv[0] = buf;
  char *space = strchr(buf, ' ');
  if (!space) return 1;
  *space = '\0';
  argv[1] = space + 1;
  return 2;
}

static void test_errors_name_the_setting_and_hide_secrets(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const bad_case *b = &bad_cases[i];
    clear_env(NULL);
    setenv("ANTHROPIC_API_KEY", secrets[0], 1);
    setenv("ANTHROPIC_AUTH_TOKEN", secrets[1], 1);
    setenv("API_BEARER_TOKEN", secrets[2], 1);
    if (b->env) setenv(b->env, b->value, 1);
    char buf[128], *argv[2];
    int argc = argv_from(b->flag, buf, sizeof buf, argv);
    char err[ERR_BYTES] = "";
    bg_config c;
    if (config_load(&c, argc, argv, err, sizeof err) == 0) {
      config_free(&c);
      fail_msg("case %zu (%s%s): accepted", i, b->env ? b->env : "", b->flag ? b->flag : "");
    }
    if (!strstr(err, b->named)) fail_msg("case %zu: '%s' does not name %s", i, err, b->named);
    if (strchr(err, '\n')) fail_msg("case %zu: '%s' is more than one line", i, err);
    for (size_t s = 0; s < sizeof secrets / sizeof secrets[0]; s++)
      if (strstr(err, secrets[s])) fail_msg("case %zu: '%s' shows a secret", i, err);
    /* What was read before the error is freed (the sanitizer build
     * reports it otherwise) and not left dangling. */
    assert_null(c.scripts_dir);
    assert_null(c.listen_host);
    assert_null(c.api_key);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_defaults, clear_env),
      cmocka_unit_test_setup(test_ssh_standby, clear_env),
      cmocka_unit_test_setup(test_environment, clear_env),
      cmocka_unit_test_setup(test_empty_means_unset, clear_env),
      cmocka_unit_test_setup(test_flags_override_environment, clear_env),
      cmocka_unit_test_setup(test_listen_ipv6, clear_env),
      cmocka_unit_test_setup(test_metrics_listen_and_log_format, clear_env),
      cmocka_unit_test_setup(test_flag_value_may_contain_equals, clear_env),
      cmocka_unit_test_setup(test_errors_name_the_setting_and_hide_secrets, clear_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
