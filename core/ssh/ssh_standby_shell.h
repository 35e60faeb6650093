/* A login shell as a standby (ssh_pool_set_standby): sshd starts it ahead
 * of the next command, as `SHELL -c standby`, and it waits for that
 * command on stdin and evaluates it itself, so that a command on the devvm
 * skips sshd's fork and exec of a session and the shell's start. The
 * command sees what `SHELL -c command` from sshd would: the same shell,
 * $0, environment, positional parameters (none) and stdin (the channel);
 * the standby's own variables are unset before it runs. Besides the time,
 * a shell already running can still run a command on a host that has no
 * process left to give (a fork bomb, a full pid table).
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
