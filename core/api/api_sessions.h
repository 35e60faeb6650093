/* The sessions API beyond the stream: a session's journal as a download. */
#ifndef BG_API_SESSIONS_H
#define BG_API_SESSIONS_H

#include "http_server.h"
#include "session.h"

/* GET /api/session/{id}/journal: the JSON Lines file, as an attachment. */
void api_session_journal(session *s, http_conn *c);

#endif
