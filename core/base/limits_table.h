/* Every bound of the daemon, in one table: a section a folder of core/, in
 * the order of core/edges.txt (each folder after those it uses). Each bound
 * is a macro of its own for the code, its unit at the end of its name; each
 * section's list, X(NAME, unit, what it bounds), is what
 * `breakglass --help --limits` prints (core/daemon/limits_print.c), and
 * daemon_cli's test holds every macro here to a line of it. The settings'
 * defaults (timeouts, sizes an operator may change) are in
 * core/base/config.c, not here. */
#ifndef BG_LIMITS_TABLE_H
#define BG_LIMITS_TABLE_H

/* core/base: the helpers every folder uses: the log, the redactor, metrics, JSON paths, the
 * settings' own caps. */
/* Past it the text is cut. */
#define LOG_MAX_MESSAGE_BYTES (16u * 1024)
/* Longer values are cut (they are ids and names). */
#define LOG_MAX_FIELD_BYTES 128
/* The message and the fields, escaped (at most 6 bytes a byte), and the
 * keys. */
#define LOG_MAX_RECORD_BYTES (8 * (LOG_MAX_MESSAGE_BYTES + 4 * LOG_MAX_FIELD_BYTES) + 256)
/* Shorter values are not treated as secrets: replacing them would garble
 * ordinary text and hides little. */
#define REDACT_MIN_SECRET_BYTES 8
/* A secret shorter than this is not looked for in base64 or hex: the characters
 * that carry it alone would be too few to tell it from chance. */
#define REDACT_MIN_ENCODED_SECRET_BYTES 16
#define REDACT_MAX_SECRETS_COUNT 256
/* Past it redactor_add fails. */
#define REDACT_MAX_PATTERN_BYTES (64u * 1024)
/* Beyond it everything goes to the series whose labels are all "other"
 * (one more). The label caps keep real families far below it. */
#define METRICS_MAX_SERIES_COUNT 1024
#define METRICS_MAX_LABELS_COUNT 3
/* The rest fold into "other". */
#define METRICS_MAX_LABEL_VALUES_COUNT 32
/* A longer label value is "other" too. */
#define METRICS_MAX_LABEL_VALUE_BYTES 64
#define METRICS_MAX_BUCKETS_COUNT 16
#define JSON_PATH_MAX_BYTES 256
/* 1 TiB: past any machine this runs on, and far from overflowing bytes. */
#define LUA_MEMORY_MAX_MB (1 << 20)

#define BASE_LIMITS(X)                                                                             \
  X(LOG_MAX_MESSAGE_BYTES, "bytes", "the text of one log record")                                  \
  X(LOG_MAX_FIELD_BYTES, "bytes", "one context field of a log record")                             \
  X(LOG_MAX_RECORD_BYTES, "bytes", "a whole log record")                                           \
  X(REDACT_MIN_SECRET_BYTES, "bytes", "the shortest value treated as a secret")                    \
  X(REDACT_MIN_ENCODED_SECRET_BYTES, "bytes", "the shortest secret looked for in base64 and hex")  \
  X(REDACT_MAX_SECRETS_COUNT, "count", "secrets one redactor knows")                               \
  X(REDACT_MAX_PATTERN_BYTES, "bytes", "all secrets' forms together")                              \
  X(METRICS_MAX_SERIES_COUNT, "count", "series in one metric family")                              \
  X(METRICS_MAX_LABELS_COUNT, "count", "labels of one metric family")                              \
  X(METRICS_MAX_LABEL_VALUES_COUNT, "count", "distinct values of one open label")                  \
  X(METRICS_MAX_LABEL_VALUE_BYTES, "bytes", "one label value")                                     \
  X(METRICS_MAX_BUCKETS_COUNT, "count", "buckets of one histogram")                                \
  X(JSON_PATH_MAX_BYTES, "bytes", "a JSON path named in an error")                                 \
  X(LUA_MEMORY_MAX_MB, "MB", "the largest BREAKGLASS_LUA_MEMORY_MB and _TOTAL_MB accepted")

/* core/http: the HTTP server and the page's files; the settings' timeouts are in
 * core/base/config.c. */
#include <stdint.h>

#define HTTP_MAX_HEADER_BYTES (16u * 1024)
#define HTTP_MAX_BODY_BYTES (1024u * 1024)
/* Unread bytes a stream may hold. Replay is paced, so this bounds only a
 * client that falls behind live events: it is dropped and re-attaches.
 * It must hold the largest event a turn makes (a text event, 256 KiB, or
 * a tool_output chunk) many times over; each slow client costs this. */
#define HTTP_MAX_STREAM_BUFFER_BYTES (4u * 1024 * 1024)
#define HTTP_MAX_CONNECTIONS_COUNT 256
/* Unproven connections (no credentials yet, see http_server.h) from one
 * address: a quarter of the slots, so one address alone never fills them,
 * and far more than one browser or probe keeps open. The auth proxy's
 * address is not held to it for the requests it forwards: they carry the
 * proxy's header and make their connections trusted. */
#define HTTP_MAX_UNPROVEN_PER_ADDRESS_COUNT 64
/* More is answered with 431. */
#define HTTP_REQUEST_MAX_HEADER_COUNT 64
/* A client's X-Request-Id is kept when it is 1 to this many bytes of
 * [A-Za-z0-9._:-]; otherwise the server makes one. */
#define HTTP_REQUEST_ID_MAX_BYTES 64
/* The kernel drops what overflows the backlog without looking at it;
 * accepted, a burst is sorted by server_admit, which spares a probe. */
#define HTTP_LISTEN_BACKLOG_COUNT 1024
/* Per connection: one read's worth, also the cap on pipelined bytes held
 * while a request is being answered (reading pauses when it is full). */
#define HTTP_READ_BUFFER_BYTES (16 * 1024)
/* Status line and our own headers; extra_headers and the body add to it. */
#define HTTP_RESPONSE_HEAD_MAX_BYTES 2048
/* After an answer that closes the connection we send FIN and keep reading
 * (and discarding) for this long, so a client still sending (say, the rest
 * of a body we refused with 413) is not answered by a reset that destroys
 * the response before it reads it. */
#define HTTP_LINGER_TIMEOUT_MS UINT64_C(2000)
/* Closing connections to make room is news, but under attack it happens
 * thousands of times a second: one log line per this interval says how
 * many. */
#define HTTP_PRESSURE_LOG_INTERVAL_MS UINT64_C(10000)
/* Files are the page's own assets: few and small. Asking for a larger one
 * is a 500. */
#define HTTP_STATIC_MAX_FILE_BYTES (8u << 20)
/* Every representation; files past it are refused like a file too large. */
#define HTTP_STATIC_MAX_SITE_BYTES (32u << 20)
#define HTTP_STATIC_MAX_FILES_COUNT 512
/* Deeper folders are not served. */
#define HTTP_STATIC_MAX_DEPTH_LEVELS 8
/* File times can be coarser than the clock. */
#define HTTP_STATIC_CLOCK_SLACK_NS 1000000000LL

#define HTTP_LIMITS(X)                                                                             \
  X(HTTP_MAX_HEADER_BYTES, "bytes", "a request's head")                                            \
  X(HTTP_MAX_BODY_BYTES, "bytes", "a request's body (past it: 413)")                               \
  X(HTTP_MAX_STREAM_BUFFER_BYTES, "bytes", "unread bytes an event stream may hold")                \
  X(HTTP_MAX_CONNECTIONS_COUNT, "count", "open connections")                                       \
  X(HTTP_MAX_UNPROVEN_PER_ADDRESS_COUNT, "count",                                                  \
    "connections without credentials yet from one address")                                        \
  X(HTTP_REQUEST_MAX_HEADER_COUNT, "count", "headers of one request (past it: 431)")               \
  X(HTTP_REQUEST_ID_MAX_BYTES, "bytes", "a client's X-Request-Id that is kept")                    \
  X(HTTP_LISTEN_BACKLOG_COUNT, "count", "connections the kernel queues before accept")             \
  X(HTTP_READ_BUFFER_BYTES, "bytes", "one read, and pipelined bytes held per connection")          \
  X(HTTP_RESPONSE_HEAD_MAX_BYTES, "bytes", "a response's status line and own headers")             \
  X(HTTP_LINGER_TIMEOUT_MS, "ms", "reading on after an answer that closes the connection")         \
  X(HTTP_PRESSURE_LOG_INTERVAL_MS, "ms", "between two log lines on connections closed for room")   \
  X(HTTP_STATIC_MAX_FILE_BYTES, "bytes", "one file of the page kept in memory")                    \
  X(HTTP_STATIC_MAX_SITE_BYTES, "bytes", "the page's files kept in memory together")               \
  X(HTTP_STATIC_MAX_FILES_COUNT, "count", "files of the page")                                     \
  X(HTTP_STATIC_MAX_DEPTH_LEVELS, "levels", "folders below the page's root that are served")       \
  X(HTTP_STATIC_CLOCK_SLACK_NS, "ns", "a file this much newer than its last read is read again")

/* core/model: the model client, its stream and its probe; the settings' timeouts and retries
 * are in core/base/config.c. */
/* Real answers are far smaller (tens of thousands of tokens); this bounds
 * a hostile or broken upstream. */
#define MODEL_MAX_RESPONSE_BYTES (64u * 1024 * 1024)
/* The API's own request limit; a larger body would only earn a 413. */
#define MODEL_CLIENT_MAX_REQUEST_BYTES (32u * 1024 * 1024)
/* A whole redacted_thinking block arrives in one event. */
#define MODEL_CLIENT_MAX_EVENT_BYTES (8u * 1024 * 1024)
#define MODEL_CLIENT_MAX_HEADER_VALUE_BYTES 128
#define MODEL_CLIENT_MAX_MESSAGE_BYTES 2048
#define MODEL_CLIENT_MAX_LOG_VALUE_BYTES 128
#define MODEL_CLIENT_AFTER_STOP_MS 1000
/* long: curl_easy_setopt takes them as such. */
#define MODEL_CLIENT_KEEPIDLE_SECONDS 60L
#define MODEL_CLIENT_KEEPINTVL_SECONDS 60L
/* The caller's cap is lower. */
#define MODEL_RETRY_MAX_SERVER_DELAY_MS (24L * 3600 * 1000)
#define MODEL_RETRY_BASE_DELAY_MS 500L
#define MODEL_RETRY_MAX_BACKOFF_MS 8000L
/* An index at or past this is refused. */
#define MODEL_STREAM_MAX_BLOCKS_COUNT 256
#define MODEL_STREAM_MAX_TOOL_INPUT_BYTES (4u * 1024 * 1024)
#define MODEL_STREAM_MAX_MESSAGE_BYTES 256
/* {"input_tokens": N} is a few bytes; an error body a few hundred. */
#define MODEL_PROBE_MAX_BODY_BYTES (16u * 1024)
#define MODEL_PROBE_ERROR_TEXT_MAX_BYTES 200
#define MODEL_PROBE_ANSWER_MS 5000u
#define MODEL_PROBE_MESSAGE_MAX_BYTES 320

#define MODEL_LIMITS(X)                                                                            \
  X(MODEL_MAX_RESPONSE_BYTES, "bytes", "the SSE bytes of one model answer")                        \
  X(MODEL_CLIENT_MAX_REQUEST_BYTES, "bytes", "one request to the Messages API")                    \
  X(MODEL_CLIENT_MAX_EVENT_BYTES, "bytes", "one SSE event of an answer")                           \
  X(MODEL_CLIENT_MAX_HEADER_VALUE_BYTES, "bytes",                                                  \
    "a response header value kept (request-id, ...)")                                              \
  X(MODEL_CLIENT_MAX_MESSAGE_BYTES, "bytes", "an error message handed to the operator")            \
  X(MODEL_CLIENT_MAX_LOG_VALUE_BYTES, "bytes",                                                     \
    "an outside value (error type, request id) in a log line")                                     \
  X(MODEL_CLIENT_AFTER_STOP_MS, "ms", "the response's clean end after message_stop")               \
  X(MODEL_CLIENT_KEEPIDLE_SECONDS, "seconds", "idle time before TCP keepalive probes")             \
  X(MODEL_CLIENT_KEEPINTVL_SECONDS, "seconds", "between two TCP keepalive probes")                 \
  X(MODEL_RETRY_MAX_SERVER_DELAY_MS, "ms",                                                         \
    "a retry-after the server asks (longer counts as this)")                                       \
  X(MODEL_RETRY_BASE_DELAY_MS, "ms", "the first backoff step")                                     \
  X(MODEL_RETRY_MAX_BACKOFF_MS, "ms", "the backoff step it doubles up to")                         \
  X(MODEL_STREAM_MAX_BLOCKS_COUNT, "count", "content blocks in one message")                       \
  X(MODEL_STREAM_MAX_TOOL_INPUT_BYTES, "bytes", "the JSON text of one tool_use input")             \
  X(MODEL_STREAM_MAX_MESSAGE_BYTES, "bytes", "a diagnostic the stream makes")                      \
  X(MODEL_PROBE_MAX_BODY_BYTES, "bytes", "the reachability probe's answer")                        \
  X(MODEL_PROBE_ERROR_TEXT_MAX_BYTES, "bytes", "the API's error message as the page shows it")     \
  X(MODEL_PROBE_ANSWER_MS, "ms", "the probe's answer once connected")                              \
  X(MODEL_PROBE_MESSAGE_MAX_BYTES, "bytes", "the probe's message")

/* core/ssh: the SSH transport and keys; the settings' timeouts are in core/base/config.c. */
/* A private key file is a few hundred bytes; anything far larger is not one. */
#define SSH_KEY_MAX_BYTES (16 * 1024)
#define SSH_READ_CHUNK_BYTES (32 * 1024)
/* Past it the rest waits a turn, so a command that prints without pause
 * cannot starve the loop. */
#define SSH_MAX_READ_PER_TURN_BYTES (4 * 1024 * 1024)
#define SSH_MESSAGE_BYTES 1536
/* A busy connection that hears nothing for this many keepalive intervals is
 * lost. */
#define SSH_KEEPALIVE_MAX_MISSED_COUNT 3
/* OpenSSH's default MaxSessions; commands past it wait for a free channel. */
#define SSH_MAX_CHANNELS_PER_CONN_COUNT 10
/* A standby (ssh_pool_set_standby) is replaced after this, well before
 * breakglass-pve's own wait (PVE_STANDBY_WAIT_MAX_MS, 10 minutes) ends. */
#define SSH_STANDBY_LIFE_MS (5 * 60 * 1000)
/* After a standby ended unused on its own, commands run plainly this long. */
#define SSH_STANDBY_RETRY_MS (10 * 60 * 1000)
/* A shell standby reads its command a byte at a time; longer ones go
 * through sshd's exec (ssh_standby_shell.h). */
#define SSH_STANDBY_SHELL_MAX_BYTES (16 * 1024)

#define SSH_LIMITS(X)                                                                              \
  X(SSH_KEY_MAX_BYTES, "bytes", "a private key file")                                              \
  X(SSH_READ_CHUNK_BYTES, "bytes", "one read from a channel")                                      \
  X(SSH_MAX_READ_PER_TURN_BYTES, "bytes", "read from one connection per loop turn")                \
  X(SSH_MESSAGE_BYTES, "bytes", "an error message of the transport")                               \
  X(SSH_KEEPALIVE_MAX_MISSED_COUNT, "count",                                                       \
    "keepalive intervals a busy connection may be silent")                                         \
  X(SSH_MAX_CHANNELS_PER_CONN_COUNT, "count", "channels open at once on one connection")           \
  X(SSH_STANDBY_LIFE_MS, "ms", "a standby command's life before it is replaced")                   \
  X(SSH_STANDBY_RETRY_MS, "ms", "plain commands after a standby ended on its own")                 \
  X(SSH_STANDBY_SHELL_MAX_BYTES, "bytes", "a command a shell standby takes")

/* core/journal: the journal, its store, its check, the export and search; the journals' sizes
 * are settings (core/base/config.c). */
/* A line longer than this is garbage, whatever it holds. */
#define JOURNAL_MAX_RECORD_BYTES (32u * 1024 * 1024)
/* The pieces a record is written in (journal_write_record). */
#define JOURNAL_WRITE_CHUNK_BYTES (64u * 1024)
#define JOURNAL_FILE_READ_BYTES (64u * 1024)
#define JOURNAL_FILES_MAX_COUNT 4096
/* The sessions index grows by a line (about 250 bytes) a turn: 64 MiB is
 * some 250,000 turns. Past it, it takes no more records, and says so. */
#define JOURNAL_INDEX_MAX_BYTES (64u * 1024 * 1024)
/* Shorter keys would be guessable. */
#define JOURNAL_KEY_MIN_BYTES 16
/* A key is a file of random bytes. */
#define JOURNAL_CHAIN_MAX_KEY_BYTES 4096
/* From `,"seq":` to the newline. */
#define JOURNAL_CHAIN_SUFFIX_MAX_BYTES 200
/* Lines read after a break to tell a reorder from a removal. */
#define JOURNAL_VERIFY_LOOKAHEAD_LINES 64
/* A header names its kind near the start: {"ts":"<24>","kind":"chain". */
#define VERIFY_HEADER_PREFIX_BYTES 64
/* As session.c: the title is the first prompt on one line, shortened. */
#define INCIDENT_TITLE_MAX_BYTES 120
#define JS_TEXT_MAX_BYTES (1024u * 1024 * 1024)
/* As session.c titles a session. */
#define SEARCH_TITLE_MAX_BYTES 120
#define SEARCH_MAX_PIECE_BYTES (16u * 1024)
#define SEARCH_MAX_WORD_BYTES 64
#define SEARCH_ARGUMENT_BYTES 160
#define SEARCH_SNIPPET_BYTES 240
#define SEARCH_READ_BYTES (1024u * 1024)
/* It was left by a process that died. */
#define SEARCH_STALE_TMP_SECONDS 600
/* An index is far smaller than its journal. */
#define SEARCH_MAX_INDEX_FILE_BYTES (512u * 1024 * 1024)
/* 4 Mi word hashes: 32 MiB. */
#define SEARCH_MAX_INDEX_WORDS (4u * 1024 * 1024)
/* The rest are counted. */
#define SEARCH_MAX_HITS_PER_SESSION_COUNT 20
#define SEARCH_DEFAULT_LIMIT_COUNT 50
#define SEARCH_MAX_LIMIT_COUNT 1000
#define SEARCH_MAX_VALUE_BYTES 1024

#define JOURNAL_LIMITS(X)                                                                          \
  X(JOURNAL_MAX_RECORD_BYTES, "bytes", "one journal line")                                         \
  X(JOURNAL_WRITE_CHUNK_BYTES, "bytes", "the pieces a record is written in")                       \
  X(JOURNAL_FILE_READ_BYTES, "bytes", "one read of a journal")                                     \
  X(JOURNAL_FILES_MAX_COUNT, "count", "session journals one command reads from a folder")          \
  X(JOURNAL_INDEX_MAX_BYTES, "bytes", "the sessions index (past it, no more records)")             \
  X(JOURNAL_KEY_MIN_BYTES, "bytes", "the shortest HMAC key accepted")                              \
  X(JOURNAL_CHAIN_MAX_KEY_BYTES, "bytes", "the longest HMAC key accepted")                         \
  X(JOURNAL_CHAIN_SUFFIX_MAX_BYTES, "bytes", "a line's chain fields")                              \
  X(JOURNAL_VERIFY_LOOKAHEAD_LINES, "lines",                                                       \
    "read after a break to tell a reorder from a removal")                                         \
  X(VERIFY_HEADER_PREFIX_BYTES, "bytes", "where a chain header names its kind")                    \
  X(INCIDENT_TITLE_MAX_BYTES, "bytes", "an incident's title")                                      \
  X(JS_TEXT_MAX_BYTES, "bytes", "one piece of text of the export")                                 \
  X(SEARCH_TITLE_MAX_BYTES, "bytes", "a search hit's session title")                               \
  X(SEARCH_MAX_PIECE_BYTES, "bytes", "one piece of text indexed")                                  \
  X(SEARCH_MAX_WORD_BYTES, "bytes", "one word indexed")                                            \
  X(SEARCH_ARGUMENT_BYTES, "bytes", "a hit's call argument shown")                                 \
  X(SEARCH_SNIPPET_BYTES, "bytes", "a hit's text shown")                                           \
  X(SEARCH_READ_BYTES, "bytes", "journal bytes read at a time")                                    \
  X(SEARCH_STALE_TMP_SECONDS, "seconds", "age of a temporary index file left by a dead process")   \
  X(SEARCH_MAX_INDEX_FILE_BYTES, "bytes", "one index file")                                        \
  X(SEARCH_MAX_INDEX_WORDS, "words", "word hashes of one index")                                   \
  X(SEARCH_MAX_HITS_PER_SESSION_COUNT, "count", "hits listed per session")                         \
  X(SEARCH_DEFAULT_LIMIT_COUNT, "count", "sessions a search lists without --limit")                \
  X(SEARCH_MAX_LIMIT_COUNT, "count", "the largest --limit")                                        \
  X(SEARCH_MAX_VALUE_BYTES, "bytes", "a query's text, and each other value")

/* core/lua/sandbox: the Lua sandbox, the pattern matcher, JSON and schemas. */
/* One instruction can take milliseconds on its own (`s < t` compares two
 * long strings with strcoll, `s == t` with memcmp): a step of 1000 let a
 * loop of them run a second past the deadline. At 100 the hook costs a few
 * percent. */
#define LUA_SANDBOX_HOOK_STEP_INSTRUCTIONS 100
/* table.insert/remove/move/sort loop in C without running the hook, so
 * their element count is capped to end quickly. */
#define LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS (1 << 22)
#define LUA_SANDBOX_FORMAT_MAX_VALUES 1000
#define LUA_SANDBOX_FORMAT_QUOTE_MAX_BYTES (1 << 20)
/* strftime runs once per conversion. */
#define LUA_SANDBOX_DATE_FORMAT_MAX_BYTES 1024
#define LUA_SANDBOX_SOURCE_PIECE_BYTES 256
#define LUA_SANDBOX_ERROR_MAX_BYTES 1024
/* Over what the state kept after its last full collection. */
#define LUA_SANDBOX_COLLECT_SLACK_BYTES (256u * 1024)
#define LUA_PATTERN_CHECK_STEPS 4096
/* Lua's LUA_MAXCAPTURES. */
#define LUA_PATTERN_MAX_CAPTURES_COUNT 32
/* Lua's MAXCCALLS. */
#define LUA_PATTERN_MAX_DEPTH_LEVELS 200
#define LUA_JSON_MAX_DEPTH_LEVELS 64
#define LUA_JSON_ERROR_MAX_BYTES 256
#define JSON_SCHEMA_MAX_DEPTH_LEVELS 32
#define JSON_SCHEMA_SHOWN_MAX_BYTES 200

#define SANDBOX_LIMITS(X)                                                                          \
  X(LUA_SANDBOX_HOOK_STEP_INSTRUCTIONS, "instructions",                                            \
    "VM instructions between two deadline checks")                                                 \
  X(LUA_SANDBOX_TABLE_OP_MAX_ELEMENTS, "elements",                                                 \
    "longest table table.insert/remove/move/sort accept")                                          \
  X(LUA_SANDBOX_FORMAT_MAX_VALUES, "values", "values one string.format may format")                \
  X(LUA_SANDBOX_FORMAT_QUOTE_MAX_BYTES, "bytes", "bytes one string.format may quote with %q")      \
  X(LUA_SANDBOX_DATE_FORMAT_MAX_BYTES, "bytes", "longest format os.date accepts")                  \
  X(LUA_SANDBOX_SOURCE_PIECE_BYTES, "bytes",                                                       \
    "source handed to the compiler between deadline checks")                                       \
  X(LUA_SANDBOX_ERROR_MAX_BYTES, "bytes", "an error text the sandbox builds")                      \
  X(LUA_SANDBOX_COLLECT_SLACK_BYTES, "bytes", "garbage left after an entry before a collection")   \
  X(LUA_PATTERN_CHECK_STEPS, "steps",                                                              \
    "bytes the pattern matcher looks at between deadline checks")                                  \
  X(LUA_PATTERN_MAX_CAPTURES_COUNT, "count", "captures in one Lua pattern")                        \
  X(LUA_PATTERN_MAX_DEPTH_LEVELS, "levels", "nested matcher calls before \"pattern too complex\"") \
  X(LUA_JSON_MAX_DEPTH_LEVELS, "levels", "nesting of arrays and objects in json.encode/decode")    \
  X(LUA_JSON_ERROR_MAX_BYTES, "bytes", "an error text of json.encode/decode")                      \
  X(JSON_SCHEMA_MAX_DEPTH_LEVELS, "levels", "nesting of a tool's input_schema")                    \
  X(JSON_SCHEMA_SHOWN_MAX_BYTES, "bytes", "an enum list shown in a schema error")

/* core/lua: the Lua host: scripts, names, what a call returns. */
#define LUA_HOST_SCRIPT_MAX_BYTES (1024 * 1024)
#define LUA_HOST_PROMPT_MAX_BYTES (256 * 1024)
/* Tool and policy names: 1 to this many of a-z A-Z 0-9 _ -. */
#define LUA_HOST_NAME_MAX_CHARS 64
#define LUA_HOST_ERROR_MAX_BYTES 2048
#define LUA_REQUIRE_NAME_MAX_CHARS 64
/* As a script file is. */
#define LUA_REQUIRE_FILE_MAX_BYTES (1024 * 1024)
#define LUA_REQUIRE_PATH_MAX_BYTES 4096
/* "policy/lib/" and a file name (at most 255 bytes). */
#define LUA_REQUIRE_REL_MAX_BYTES 300
#define LUA_REQUIRE_ERROR_MAX_BYTES 1024
/* The whole call has its tool timeout. */
#define LUA_CTX_SLEEP_MAX_MS 600000
#define LUA_CTX_LOG_MAX_BYTES 2048
/* It reaches the model and the page. */
#define LUA_POLICY_REASON_MAX_BYTES 1024
#define LUA_HOST_JSON_MAX_BYTES (1024u * 1024)
#define LUA_HOST_RESULT_MAX_BYTES (256u * 1024)
#define LUA_TOOL_CALL_CUT_MARKER_MAX_BYTES 64

#define LUA_LIMITS(X)                                                                              \
  X(LUA_HOST_SCRIPT_MAX_BYTES, "bytes", "a script file (larger is refused at load)")               \
  X(LUA_HOST_PROMPT_MAX_BYTES, "bytes", "the system prompt prompt.lua returns")                    \
  X(LUA_HOST_NAME_MAX_CHARS, "chars", "a tool's or policy's name")                                 \
  X(LUA_HOST_ERROR_MAX_BYTES, "bytes", "a load or tool error the host builds")                     \
  X(LUA_REQUIRE_NAME_MAX_CHARS, "chars", "a library name given to require")                        \
  X(LUA_REQUIRE_FILE_MAX_BYTES, "bytes", "a library file (larger is refused)")                     \
  X(LUA_REQUIRE_PATH_MAX_BYTES, "bytes", "a library file's path")                                  \
  X(LUA_REQUIRE_REL_MAX_BYTES, "bytes", "a library's path in the scripts folder")                  \
  X(LUA_REQUIRE_ERROR_MAX_BYTES, "bytes", "an error text of require")                              \
  X(LUA_CTX_SLEEP_MAX_MS, "ms", "one ctx.sleep")                                                   \
  X(LUA_CTX_LOG_MAX_BYTES, "bytes", "a ctx.log message (cut past it)")                             \
  X(LUA_POLICY_REASON_MAX_BYTES, "bytes", "a policy's reason (cut past it)")                       \
  X(LUA_HOST_JSON_MAX_BYTES, "bytes",                                                              \
    "json.encode output, json.decode input, service arguments, a table "                           \
    "result")                                                                                      \
  X(LUA_HOST_RESULT_MAX_BYTES, "bytes", "the text of a tool result the model gets (cut past it)")  \
  X(LUA_TOOL_CALL_CUT_MARKER_MAX_BYTES, "bytes", "the marker put where a result was cut")

/* core/agent/gate: the gate. */
/* A policy that keeps asking is refused. */
#define GATE_MAX_ROUNDS_COUNT 2
/* Old entries go first. */
#define GATE_MAX_HISTORY_COUNT 4096
#define GATE_MAX_ACTIONS_COUNT 256
#define GATE_MAX_RESULT_BYTES (64u * 1024)

#define GATE_LIMITS(X)                                                                             \
  X(GATE_MAX_ROUNDS_COUNT, "count", "run_first rounds for one call")                               \
  X(GATE_MAX_HISTORY_COUNT, "count", "a session's newest calls policies can read back")            \
  X(GATE_MAX_ACTIONS_COUNT, "count",                                                               \
    "the daemon's newest mutating actions policies can read back")                                 \
  X(GATE_MAX_RESULT_BYTES, "bytes", "a result as the after hooks see it")

/* core/agent: sessions, turns, actions and the services scripts call; the turns' timeouts and
 * model calls are settings (core/base/config.c). */
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
/* libssh2 1.10 keeps each keepalive's reply it reads (two blocks, about
 * 90 bytes) until the connection's session is freed: past this a
 * connection makes way for a fresh one, which costs one handshake, and
 * holds at most the replies of an hour. */
#define SSH_CONN_MAX_AGE_MS (60u * 60 * 1000)
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
  X(SSH_CONN_MAX_AGE_MS, "ms", "life of one SSH connection, for new commands")                     \
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

/* core/api: the routes. */
#define AUTH_IDENTITY_MAX_BYTES 128
/* Every family with a handful of series each comes to some tens of KiB; a
 * cap far above that keeps a bug from growing the answer without end. */
#define API_METRICS_MAX_BYTES (4u * 1024 * 1024)
/* The host's answer to a verb is short (forensics is the longest); what
 * passes this is cut in the middle. */
#define PVE_MAX_ANSWER_BYTES (256u * 1024)
#define API_SEARCH_MAX_WAITING_COUNT 32
/* A result this young is answered from the cache. */
#define TARGETS_CACHE_MS 10000u
/* The probe's command, once connected (the connection has the pool's own
 * limit, BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS, so a stuck phase is named
 * by its layer rather than by this limit). */
#define TARGETS_COMMAND_MS 5000u
/* Its first line. */
#define TARGETS_DETAIL_MAX_BYTES 200u
#define TARGETS_MODEL_SCAN_EVENTS 4096u
#define TARGETS_TS_MAX_BYTES 32u
#define TARGETS_MODEL_PROBE_INTERVAL_MS 60000u
/* What a journal download holds at once (read, then written). */
#define API_JOURNAL_CHUNK_BYTES (64u * 1024)

#define API_LIMITS(X)                                                                              \
  X(AUTH_IDENTITY_MAX_BYTES, "bytes", "the identity a request carries")                            \
  X(API_METRICS_MAX_BYTES, "bytes", "the answer of GET /metrics")                                  \
  X(PVE_MAX_ANSWER_BYTES, "bytes", "the Proxmox host's answer to a power verb")                    \
  X(API_SEARCH_MAX_WAITING_COUNT, "count", "searches waiting for the index at once")               \
  X(TARGETS_CACHE_MS, "ms", "age of a target's probe answered from the cache")                     \
  X(TARGETS_COMMAND_MS, "ms", "a target probe's command once connected")                           \
  X(TARGETS_DETAIL_MAX_BYTES, "bytes", "the Proxmox host's status line kept")                      \
  X(TARGETS_MODEL_SCAN_EVENTS, "events", "read back from each session for its last model call")    \
  X(TARGETS_TS_MAX_BYTES, "bytes", "a timestamp in the targets' answer")                           \
  X(TARGETS_MODEL_PROBE_INTERVAL_MS, "ms", "between two probes of the model API")                  \
  X(API_JOURNAL_CHUNK_BYTES, "bytes", "a session journal download's chunk")

/* core/daemon: the daemon's start and its command-line tools. */
#define DAEMON_MMAP_THRESHOLD_BYTES (256 * 1024)
/* A change is acted on once the folder has been quiet this long... */
#define SCRIPTS_RELOAD_DEBOUNCE_MS 200
/* ...or this long after the first change, if changes keep coming. */
#define SCRIPTS_RELOAD_MAX_DELAY_MS 2000
/* Larger than any journal the daemon keeps
 * (BREAKGLASS_MAX_SESSION_JOURNAL_BYTES caps new turns well below this). */
#define VERIFY_MAX_JOURNAL_BYTES (1024u * 1024 * 1024)
/* The sessions index: far more than years of turns. */
#define VERIFY_MAX_INDEX_BYTES (256u * 1024 * 1024)
/* Larger than any journal the daemon keeps. */
#define EXPORT_MAX_JOURNAL_BYTES (1024u * 1024 * 1024)
#define EXPORT_MAX_OUTPUT_BYTES (1024u * 1024 * 1024)
#define REPLAY_INPUT_SHOWN_CHARS 120

#define DAEMON_LIMITS(X)                                                                           \
  X(DAEMON_MMAP_THRESHOLD_BYTES, "bytes", "allocations malloc serves from its heap, not mmap")     \
  X(SCRIPTS_RELOAD_DEBOUNCE_MS, "ms", "quiet in the scripts folder before a reload")               \
  X(SCRIPTS_RELOAD_MAX_DELAY_MS, "ms", "a reload's wait after the first change")                   \
  X(VERIFY_MAX_JOURNAL_BYTES, "bytes", "a journal breakglass verify reads")                        \
  X(VERIFY_MAX_INDEX_BYTES, "bytes", "the sessions index breakglass verify reads")                 \
  X(EXPORT_MAX_JOURNAL_BYTES, "bytes", "a journal breakglass export reads")                        \
  X(EXPORT_MAX_OUTPUT_BYTES, "bytes", "what breakglass export writes")                             \
  X(REPLAY_INPUT_SHOWN_CHARS, "chars", "a call's input in replay's text report")

#endif
