/* Hot reload of the Lua script set while the daemon runs.
 *
 * The scripts folder (and its tools/ and policy/ subfolders) is watched, and
 * SIGHUP asks for a reload too. Any change in the top folder counts as
 * "maybe changed": that is where a Kubernetes ConfigMap mount swaps its
 * `..data` symlink (prompt.lua -> ..data/prompt.lua, ..data -> ..<timestamp>)
 * in one rename. Events are debounced, then the whole set is loaded into
 * fresh states and validated (lua_host_load). The load runs on the loop, as
 * the first one does: a bad script holds it for at most the Lua entry limits
 * (instructions, wall clock) per file.
 *
 * On success the new set replaces app->scripts; a turn in progress holds its
 * own reference and finishes on the set it started with. On failure the last
 * good set keeps serving and the error goes to app->scripts_error (shown on
 * /readyz) and the log.
 */
#ifndef BG_SCRIPTS_RELOAD_H
#define BG_SCRIPTS_RELOAD_H

#include <stddef.h>

#include "app.h"
#include "limits_table.h"
#include "lua_host.h"

typedef struct scripts_reload scripts_reload;
struct daemon_scripts;

/* Loads a set as daemon_load_scripts does (dir NULL: the configured one).
 * The daemon passes its loader in, and the loader's state (its settings
 * and the scripts' memory budget), so that this file, which the daemon
 * starts, does not call back into the daemon by name. */
typedef int (*scripts_reload_load)(struct daemon_scripts *loader, uv_loop_t *loop, const char *dir,
                                   const lua_host_service *services, size_t service_count,
                                   lua_host **out, char *err, size_t errlen);

/* Starts watching scripts_dir (the folder load loads) and listening for
 * SIGHUP; each reload loads the set with load and loader, and services are
 * what every reloaded set gets (the array is copied; scripts_dir, loader
 * and the services' ud must outlive the watcher). Returns 0 and *out, or a
 * negative libuv error with *out NULL. A folder that cannot be watched is
 * logged, not an error: SIGHUP still reloads. */
int scripts_reload_start(scripts_reload **out, app *a, const char *scripts_dir,
                         scripts_reload_load load, struct daemon_scripts *loader,
                         const lua_host_service *services, size_t service_count);

/* Stops watching and closes every handle (freed once the loop has closed
 * them). NULL is a no-op. */
void scripts_reload_stop(scripts_reload *r);

#endif
