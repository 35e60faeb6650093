/* The bounds of the daemon's start and its command-line tools. Each is a
 * macro of its own for the code; DAEMON_LIMITS lists them all, X(NAME,
 * unit, what it bounds), for `breakglass --help --limits`. A name ends in
 * its unit. */
#ifndef BG_DAEMON_LIMITS_H
#define BG_DAEMON_LIMITS_H

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
