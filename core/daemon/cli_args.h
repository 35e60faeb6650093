/* The arguments of the offline commands (replay, verify, export): one
 * journal or folder, at most one option with a value, and --json where
 * the command prints JSON. */
#ifndef BG_CLI_ARGS_H
#define BG_CLI_ARGS_H

/* Reads argv into *path, *value (after --option, when option is not NULL)
 * and *json (1 for --json, when json is not NULL), leaving what is not
 * given as it was. 0, or -1 for anything else or no path: the caller
 * prints its usage. */
int cli_args_parse(int argc, char **argv, const char **path, const char *option, const char **value,
                   int *json);

#endif
