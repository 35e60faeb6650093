/* The stand-ins fuzz_http_server links in place of sessions, turns, SSH,
 * the model and the log (fuzz_api_stubs.c). */
#ifndef BG_FUZZ_API_STUBS_H
#define BG_FUZZ_API_STUBS_H

#include "app.h"

/* Calls into a stand-in for a route that needs credentials, since the last
 * reset. */
unsigned long fuzz_api_authed_calls(void);
/* Frees the sessions and zeroes the counts: ids start again at 1 (32 hex
 * digits), so an input can name the sessions it made. */
void fuzz_api_reset(app *a);

#endif
