#include "ssh_service.h"

#include <stdio.h>
#include <string.h>

static const bg_target *ssh_target(const app *a, const char *name) {
  if (name && strcmp(name, "devvm") == 0) return &a->config->devvm;
  if (name && strcmp(name, "pve") == 0) return &a->config->pve;
  return NULL;
}

/* Until the transport lands every call fails at once, and says why: an
 * unconfigured target must never turn into a connection attempt. */
static int ssh_start(void *ud, lua_async *op, const json_t *args, const lua_call_info *info) {
  (void)info;
  const app *a = ud;
  const char *name = json_string_value(json_array_get(args, 0));
  const bg_target *t = ssh_target(a, name);
  char msg[160];
  if (!t)
    snprintf(msg, sizeof msg, "unknown SSH target '%.32s' (use \"devvm\" or \"pve\")",
             name ? name : "");
  else if (!t->host)
    snprintf(msg, sizeof msg, "%s is not configured (set BREAKGLASS_%s_HOST)", name,
             strcmp(name, "devvm") == 0 ? "DEVVM" : "PVE");
  else
    snprintf(msg, sizeof msg, "the SSH transport is not available in this build");
  lua_async_fail(op, msg);
  return -1;
}

lua_host_service ssh_service(app *a) {
  return (lua_host_service){.name = "ssh", .start = ssh_start, .ud = a};
}
