/* breakglass replay JOURNAL [--scripts DIR] [--json]: exit 0 when every
 * call replays the same, 1 when one diverges, 2 when the journal or the
 * scripts cannot be read. */
#ifndef BG_REPLAY_CLI_H
#define BG_REPLAY_CLI_H

int replay_main(int argc, char **argv);

#endif
