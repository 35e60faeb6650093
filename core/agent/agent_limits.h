/* The bounds of sessions, turns, actions and the services scripts call.
 * Each is a macro of its own for the code; AGENT_LIMITS lists them all,
 * X(NAME, unit, what it bounds), for `breakglass --help --limits`. A name
 * ends in its unit. The turns' timeouts and model calls are settings
 * (core/base/config.c). */
#ifndef BG_AGENT_LIMITS_H
#define BG_AGENT_LIMITS_H

/* Past it new turns are refused. */
#define SESSION_MAX_EVENT_BYTES (64u * 1024 * 1024)
/* A longer block goes in several text events. */
#define SESSION_TEXT_EVENT_MAX_BYTES (256u * 1024)
#define SESSION_TITLE_MAX_BYTES 120
/* Every client is paced, in its replay on attach and live alike: this
 * much is queued, then the rest waits in the session's events for the
 * client to take it. A session of any size replays on one connection, and
 * a client slower than a fast answer lags behind it instead of being
 * dropped, holding no more than this (and one event) in its queue. */
#define SSE_QUEUE_BYTES (256u * 1024)
/* It re-attaches with Last-Event-ID. */
#define SSE_MAX_STALLED_TICKS 3
/* The model never sees this output, only the call's result, which the
 * runner bounds; past it a note says the rest is not shown. */
#define ACTION_MAX_OUTPUT_BYTES (8u * 1024 * 1024)
#define ACTION_NOTE_MAX_BYTES 512
#define SSH_MAX_OUTPUT_BYTES (1024u * 1024)
#define SSH_MAX_COMMAND_BYTES (64u * 1024)
#define SSH_KEEPALIVE_MS 15000u
#define SSH_OUTCOME_BYTES 2048
#define RECOVER_MAX_REPORTED_LINES 20
#define RECOVER_MAX_REFUSED_FILES_COUNT 20
#define APP_SCRIPTS_ERROR_MAX_BYTES 8192
#define RUNBOOK_MAX_FILE_BYTES (256u * 1024)
#define RUNBOOK_MAX_CALL_BYTES (64u * 1024)
#define RUNBOOK_MAX_FILES_COUNT 256
#define RUNBOOK_MAX_DEPTH_LEVELS 4
#define RUNBOOK_MAX_PATH_BYTES 512
#define RUNBOOK_MAX_PATTERN_BYTES 200
#define RUNBOOK_MAX_MATCHES_COUNT 50
#define RUNBOOK_MATCH_LINE_BYTES 240

#define AGENT_LIMITS(X)                                                                            \
  X(SESSION_MAX_EVENT_BYTES, "bytes", "event bytes a session keeps in memory")                     \
  X(SESSION_TEXT_EVENT_MAX_BYTES, "bytes", "the text of one text event")                           \
  X(SESSION_TITLE_MAX_BYTES, "bytes", "a session's title (its first prompt, shortened)")           \
  X(SSE_QUEUE_BYTES, "bytes", "events queued for one client of a session's stream")                \
  X(SSE_MAX_STALLED_TICKS, "ticks",                                                                \
    "keepalive intervals a client may take nothing while events wait")                             \
  X(ACTION_MAX_OUTPUT_BYTES, "bytes", "output of one call the session keeps and shows")            \
  X(ACTION_NOTE_MAX_BYTES, "bytes", "a note of the action pipeline")                               \
  X(SSH_MAX_OUTPUT_BYTES, "bytes", "output of one ctx.ssh command kept")                           \
  X(SSH_MAX_COMMAND_BYTES, "bytes", "one ctx.ssh command")                                         \
  X(SSH_KEEPALIVE_MS, "ms", "between two SSH keepalives")                                          \
  X(SSH_OUTCOME_BYTES, "bytes", "a verb's outcome line")                                           \
  X(RECOVER_MAX_REPORTED_LINES, "lines", "garbage lines named in a recovery report")               \
  X(RECOVER_MAX_REFUSED_FILES_COUNT, "count", "refused session files named in GET /api/sessions")  \
  X(APP_SCRIPTS_ERROR_MAX_BYTES, "bytes", "the last failed script load's problems kept")           \
  X(RUNBOOK_MAX_FILE_BYTES, "bytes", "one runbook file")                                           \
  X(RUNBOOK_MAX_CALL_BYTES, "bytes", "text one runbook call returns")                              \
  X(RUNBOOK_MAX_FILES_COUNT, "count", "runbook files listed")                                      \
  X(RUNBOOK_MAX_DEPTH_LEVELS, "levels", "folders below the runbooks' root")                        \
  X(RUNBOOK_MAX_PATH_BYTES, "bytes", "a runbook's path")                                           \
  X(RUNBOOK_MAX_PATTERN_BYTES, "bytes", "a runbook grep pattern")                                  \
  X(RUNBOOK_MAX_MATCHES_COUNT, "count", "matching lines one runbook grep returns")                 \
  X(RUNBOOK_MATCH_LINE_BYTES, "bytes", "one matching line shown")

#endif
