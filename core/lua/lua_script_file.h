/* A script file read whole, as the host loads a script and require a
 * library: only a regular file, only up to a size; and the script files of
 * a folder, which both list. */
#ifndef BG_LUA_SCRIPT_FILE_H
#define BG_LUA_SCRIPT_FILE_H

#include <dirent.h>
#include <stddef.h>

/* Reads path whole into *text (malloc'd) and *len, and returns 0. Returns
 * -1 when path cannot be opened, with why the system's reason; -2 when it
 * is not a regular file, is larger than max_bytes or cannot be read, with
 * why saying which. */
int lua_script_read(const char *path, size_t max_bytes, char **text, size_t *len, char *why,
                    size_t whylen);

/* The script files of the folder path (each *.lua whose name does not
 * begin with '.') in byte order, whatever the locale, so that the order
 * scripts load in is stable. As scandir: their count, with *names and each
 * entry malloc'd, or -1 with errno set. */
int lua_script_list(const char *path, struct dirent ***names);

#endif
