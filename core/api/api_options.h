/* What the routes read of the settings beyond what the agent reads
 * (app->options): who may call them. Filled once by the daemon from its
 * configuration at start (core/daemon/daemon_options.c); app->api points
 * to it. */
#ifndef BG_API_OPTIONS_H
#define BG_API_OPTIONS_H

typedef struct api_options {
  const char *trusted_user_header; /* BREAKGLASS_TRUSTED_USER_HEADER, or NULL */
  /* API_BEARER_TOKEN, or NULL. A secret: only compared (auth.c), so
   * nothing prints or logs this struct. */
  const char *bearer_token;
} api_options;

#endif
