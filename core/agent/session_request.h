/* The Messages API request for the next model call of a turn, with the
 * prompt-cache marks in the places the reference recommends. */
#ifndef BG_SESSION_REQUEST_H
#define BG_SESSION_REQUEST_H

#include <jansson.h>

#include "session.h"

/* New reference, or NULL when out of memory. */
json_t *session_request_build(const session *s, const lua_host *scripts, const char *system_prompt,
                              const char *model);
/* The context table prompt.lua's function receives. Nothing in it changes
 * between calls of a session, so the system prompt stays cacheable. */
json_t *session_request_prompt_context(const app *a, const char *model);

#endif
