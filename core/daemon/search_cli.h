/* breakglass search DIR [WORDS...] [--tool T] [--verb V] [--outcome O]
 * [--since T] [--until T] [--limit N] [--json]: the search of
 * GET /api/sessions/search, offline, over the session journals in DIR
 * (its index beside them is used, and kept when DIR is writable). Exit 0
 * when a session matches, 1 when none does, 2 on a bad query or a folder
 * that cannot be read. */
#ifndef BG_SEARCH_CLI_H
#define BG_SEARCH_CLI_H

int search_main(int argc, char **argv);

#endif
