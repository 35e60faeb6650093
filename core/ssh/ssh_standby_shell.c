#include "ssh_standby_shell.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits_table.h"

/* POSIX sh, and bash and zsh as login shells: `read -r` with an empty IFS
 * takes a line as it is, one byte at a time from a pipe, so nothing after
 * the closing marker leaves stdin. eval's text is expanded before it runs,
 * so the unset in front of the command clears the standby's variables and
 * still runs the whole command. The eval is on the script's first line, so
 * that bash numbers the command's lines (LINENO) from 1, as in `bash -c`.
 * A standby nobody uses ends when its channel closes (stdin ends). */
const char ssh_standby_shell_command[] =
    "IFS= read -r end || exit 0; IFS= read -r cmd || exit 0; "
    "while IFS= read -r line; do "
    "if [ \"$line\" = \"$end\" ]; then eval \"unset cmd end line; $cmd\"; exit; fi; "
    "cmd=\"$cmd\n$line\"; done; exit 0\n";

#define MARKER_BYTES 48

static bool has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; (p = strstr(p, line)); p++)
    if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) return true;
  return false;
}

char *ssh_standby_shell_frame(const char *command) {
  size_t len = strlen(command);
  if (len > SSH_STANDBY_SHELL_MAX_BYTES) return NULL;
  char marker[MARKER_BYTES];
  unsigned n = 0;
  do {
    snprintf(marker, sizeof marker, "breakglass-standby-end-%u", n++);
  } while (has_line(command, marker));
  size_t size = 2 * strlen(marker) + len + 4;
  char *frame = malloc(size);
  if (frame) snprintf(frame, size, "%s\n%s\n%s\n", marker, command, marker);
  return frame;
}
