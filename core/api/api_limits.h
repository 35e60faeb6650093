/* The bounds of the routes. Each is a macro of its own for the code;
 * API_LIMITS lists them all, X(NAME, unit, what it bounds), for
 * `breakglass --help --limits`. A name ends in its unit. */
#ifndef BG_API_LIMITS_H
#define BG_API_LIMITS_H

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
  X(TARGETS_MODEL_PROBE_INTERVAL_MS, "ms", "between two probes of the model API")

#endif
