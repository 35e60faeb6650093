/* ctx.runbook(action, arg): the operator's runbooks for tool scripts
 * (lua/tools/runbook.lua), read-only (runbook.h). */
#ifndef BG_RUNBOOK_SERVICE_H
#define BG_RUNBOOK_SERVICE_H

#include "app.h"
#include "lua_host.h"

lua_host_service runbook_service(app *a);

#endif
