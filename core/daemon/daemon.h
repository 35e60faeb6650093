/* `breakglass serve`: the daemon's life from start-up to a clean stop. */
#ifndef BG_DAEMON_H
#define BG_DAEMON_H

#include <uv.h>

#include "config.h"
#include "lua_host.h"
#include "lua_sandbox.h"

/* Runs until SIGTERM or SIGINT; returns the process exit code. */
int daemon_serve(const bg_config *c);

/* What loads script sets: the settings they load with, and the one memory
 * budget (BREAKGLASS_LUA_MEMORY_TOTAL_MB) that all their Lua states share:
 * the running set, one being loaded beside it, and older sets that turns
 * still use. One a process (the daemon's, check's, replay's), living until
 * the last set it loaded is released. */
typedef struct daemon_scripts {
  const bg_config *config;
  lua_sandbox_budget memory;
} daemon_scripts;

void daemon_scripts_init(daemon_scripts *ds, const bg_config *c);

/* Loads the script set in dir (or the configured one) with the daemon's
 * limits, its states charged to ds's budget; a set whose files at their
 * cap would not fit it is refused. 0 and *out, or -1 with
 * "file:line: message" lines in err. */
int daemon_load_scripts(daemon_scripts *ds, uv_loop_t *loop, const char *dir,
                        const lua_host_service *services, size_t service_count, lua_host **out,
                        char *err, size_t errlen);

#endif
