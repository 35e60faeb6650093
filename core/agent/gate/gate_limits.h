/* The bounds of the gate. Each is a macro of its own for the code;
 * GATE_LIMITS lists them all, X(NAME, unit, what it bounds), for
 * `breakglass --help --limits`. A name ends in its unit. */
#ifndef BG_GATE_LIMITS_H
#define BG_GATE_LIMITS_H

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

#endif
