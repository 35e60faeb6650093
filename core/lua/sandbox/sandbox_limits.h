/* The bounds of the Lua sandbox, the pattern matcher, JSON and schemas.
 * Each is a macro of its own for the code; SANDBOX_LIMITS lists them all,
 * X(NAME, unit, what it bounds), for `breakglass --help --limits`. A name
 * ends in its unit. */
#ifndef BG_SANDBOX_LIMITS_H
#define BG_SANDBOX_LIMITS_H

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
  X(LUA_PATTERN_CHECK_STEPS, "steps", "pattern matcher steps between two deadline checks")         \
  X(LUA_PATTERN_MAX_CAPTURES_COUNT, "count", "captures in one Lua pattern")                        \
  X(LUA_PATTERN_MAX_DEPTH_LEVELS, "levels", "nested matcher calls before \"pattern too complex\"") \
  X(LUA_JSON_MAX_DEPTH_LEVELS, "levels", "nesting of arrays and objects in json.encode/decode")    \
  X(LUA_JSON_ERROR_MAX_BYTES, "bytes", "an error text of json.encode/decode")                      \
  X(JSON_SCHEMA_MAX_DEPTH_LEVELS, "levels", "nesting of a tool's input_schema")                    \
  X(JSON_SCHEMA_SHOWN_MAX_BYTES, "bytes", "an enum list shown in a schema error")

#endif
