#include "ssh_standby_shell.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssh_limits.h"

/* POSIX sh, and bash and zsh as login shells: `read -r` with an empty IFS
 * takes a line as it is, one byte at a time from a pipe, so nothing after
 * the closing marker leaves stdin. A standby nobody uses ends when its
 * channel closes (stdin ends). */
const char ssh_standby_shell_command[] =
    "IFS= read -r end || exit 0\n"
    "IFS= read -r cmd || exit 0\n"
    "while IFS= read -r line; do\n"
    "  if [ \"$line\" = \"$end\" ]; then exec \"${SHELL:-/bin/sh}\" -c \"$cmd\"; fi\n"
    "  cmd=\"$cmd\n$line\"\n"
    "done\n"
    "exit 0\n";

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
