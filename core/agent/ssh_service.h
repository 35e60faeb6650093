/* The SSH side of the daemon: the pool of connections to the devvm and the
 * Proxmox host, and ctx.ssh(target, command, opts), the service tool
 * scripts reach them with. */
#ifndef BG_SSH_SERVICE_H
#define BG_SSH_SERVICE_H

#include "app.h"
#include "lua_host.h"
#include "redactor.h"
#include "ssh_transport.h"

/* Opens the pool when BREAKGLASS_KEY_PATH is set (with no key, SSH is off
 * and calls say so). -1 with err filled for a key that cannot be used (an
 * RSA key, say) or no pinned host keys: the daemon does not start. */
int ssh_service_open(app *a, char *err, size_t errlen);
void ssh_service_close(app *a);

lua_host_service ssh_service(app *a);

/* The table ctx.ssh returns, also the buttons' answer: every stream clipped
 * to max_bytes as head and tail around a marker, with what secrets knows
 * replaced (secrets may be NULL). New reference. */
json_t *ssh_result_json(const ssh_result *r, size_t max_bytes, const redactor *secrets);

#endif
