/* The settings, read once at start into the option structs the modules
 * below the daemon take, so that no file outside core/daemon/ (and the
 * settings' own core/base/config.c) reads bg_config. Strings are pointed
 * to, not copied: the configuration outlives the daemon. */
#ifndef BG_DAEMON_OPTIONS_H
#define BG_DAEMON_OPTIONS_H

#include "agent_options.h"
#include "api_options.h"
#include "config.h"

agent_options daemon_options_agent(const bg_config *c);
api_options daemon_options_api(const bg_config *c);

#endif
