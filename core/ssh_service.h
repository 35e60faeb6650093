/* ctx.ssh(target, command, opts): the service tool scripts use to reach the
 * devvm and the Proxmox host. */
#ifndef BG_SSH_SERVICE_H
#define BG_SSH_SERVICE_H

#include "app.h"
#include "lua_host.h"

lua_host_service ssh_service(app *a);

#endif
