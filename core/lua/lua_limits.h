/* The bounds of the Lua host: scripts, names, what a call returns. Each is
 * a macro of its own for the code; LUA_LIMITS lists them all, X(NAME, unit,
 * what it bounds), for `breakglass --help --limits`. A name ends in its
 * unit. */
#ifndef BG_LUA_LIMITS_H
#define BG_LUA_LIMITS_H

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

#endif
