/* breakglass replay JOURNAL|DIR [--scripts DIR] [--json]: exit 0 when every
 * call replays the same, 1 when one diverges, 2 when a journal or the
 * scripts cannot be read. A folder is every session journal in it
 * (<32 hex>.jsonl), replayed together as the daemon lived them. */
#ifndef BG_REPLAY_CLI_H
#define BG_REPLAY_CLI_H

int replay_main(int argc, char **argv);

#endif
