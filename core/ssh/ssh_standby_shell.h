/* A login shell as a standby (ssh_pool_set_standby): started ahead of the
 * next command, it waits for that command on stdin and then runs it with
 * "$SHELL" -c, as sshd would have, so that a command on the devvm skips
 * sshd's fork and exec of a session. Besides the time, a shell already
 * running can still run a command on a host that has no process left to
 * give (a fork bomb, a full pid table): exec needs none.
 *
 * What differs from sshd's own exec, and why it does not matter to a
 * command: $0 is the shell's path rather than its name, and a login shell
 * that counts its levels (bash's SHLVL) counts one more. The command's
 * stdin is still the channel, as it is with sshd's exec.
 */
#ifndef BG_SSH_STANDBY_SHELL_H
#define BG_SSH_STANDBY_SHELL_H

/* What starts the standby, for the login shell to run. */
extern const char ssh_standby_shell_command[];

/* The command framed for the standby: a marker line that is not a line of
 * the command, the command, a newline and the marker again. NULL for a
 * command longer than SSH_STANDBY_SHELL_MAX_BYTES (read a byte at a time,
 * a long one is faster through sshd's exec) or when out of memory. */
char *ssh_standby_shell_frame(const char *command);

#endif
