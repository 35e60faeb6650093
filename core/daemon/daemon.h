/* `breakglass serve`: the daemon's life from start-up to a clean stop. */
#ifndef BG_DAEMON_H
#define BG_DAEMON_H

#include <uv.h>

#include "config.h"
#include "lua_host.h"

/* Runs until SIGTERM or SIGINT; returns the process exit code. */
int daemon_serve(bg_config *c);

/* Loads the script set in dir (or the configured one) with the daemon's
 * limits, its states charged to the process's one Lua memory budget
 * (BREAKGLASS_LUA_MEMORY_TOTAL_MB); a set whose files at their cap would not
 * fit it is refused. 0 and *out, or -1 with "file:line: message" lines in
 * err. */
int daemon_load_scripts(const bg_config *c, uv_loop_t *loop, const char *dir,
                        const lua_host_service *services, size_t service_count,
                        lua_host **out, char *err, size_t errlen);

#endif
