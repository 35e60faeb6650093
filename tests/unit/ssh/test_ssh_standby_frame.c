/* Commands framed for a standby: the devvm's waiting shell, run here by
 * real shells (dash and bash), runs each command exactly as `SHELL -c
 * command` would, whatever its lines; breakglass-pve's frame is one verb
 * and a newline, and nothing else is framed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "limits_table.h"
#include "pve_verbs.h"
#include "ssh_standby_shell.h"

#define OUTPUT_MAX_BYTES 4096

typedef struct run {
  char out[OUTPUT_MAX_BYTES];
  size_t len;
  int status;
} run;

/* shell -c script with SHELL=shell, input on stdin; its stdout and status. */
static void run_shell(const char *shell, const char *script, const char *input, run *r) {
  int in[2], out[2];
  assert_int_equal(pipe(in), 0);
  assert_int_equal(pipe(out), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    setenv("SHELL", shell, 1);
    execl(shell, shell, "-c", script, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  size_t n = strlen(input);
  assert_int_equal(write(in[1], input, n), (ssize_t)n);
  close(in[1]);
  r->len = 0;
  ssize_t got;
  while ((got = read(out[0], r->out + r->len, sizeof r->out - 1 - r->len)) > 0)
    r->len += (size_t)got;
  r->out[r->len] = '\0';
  close(out[0]);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *const commands[] = {
    "echo hi",
    "exit 7",
    "printf '%s\\n' 'a\\b' \"$0x\" '  spaced  '",
    "echo one\n\necho three\n",
    "cat <<'END'\nbreakglass-standby-end-0\nbreakglass-standby-end-1\n-n\n!\n\\\nEND",
    "echo trailing\\",
    "  echo lead; echo tail  ",
    "read -r x; echo \"read:$x:$?\"",
    /* Nothing of the standby's own shows: its variables, positional
     * parameters, line numbers. */
    "echo \"[$cmd][$end][$line][$#][$1]\"; f() { echo \"$LINENO\"; }; f",
    "set -u; echo \"${cmd-unset}\"",
    "",
};

static void expect_same_as_exec(const char *shell) {
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    char *frame = ssh_standby_shell_frame(commands[i]);
    assert_non_null(frame);
    run direct, standby;
    run_shell(shell, commands[i], "", &direct);
    /* What the standby reads after its frame is the command's stdin. */
    run_shell(shell, ssh_standby_shell_command, frame, &standby);
    if (direct.status != standby.status || strcmp(direct.out, standby.out) != 0)
      fail_msg("%s: command %zu %s: exit %d/%d, out [%s] / [%s]", shell, i, commands[i],
               direct.status, standby.status, direct.out, standby.out);
    free(frame);
  }
}

static void test_dash_runs_frames_as_exec(void **state) {
  (void)state;
  expect_same_as_exec("/bin/sh");
}

static void test_bash_runs_frames_as_exec(void **state) {
  (void)state;
  expect_same_as_exec("/bin/bash");
}

static void test_marker_is_never_a_line_of_the_command(void **state) {
  (void)state;
  char *f = ssh_standby_shell_frame("echo x\nbreakglass-standby-end-0\nbreakglass-standby-end-1");
  assert_string_equal(f, "breakglass-standby-end-2\necho x\nbreakglass-standby-end-0\n"
                         "breakglass-standby-end-1\nbreakglass-standby-end-2\n");
  free(f);
  /* Part of a line is not a line. */
  f = ssh_standby_shell_frame("echo breakglass-standby-end-0");
  assert_string_equal(f, "breakglass-standby-end-0\necho breakglass-standby-end-0\n"
                         "breakglass-standby-end-0\n");
  free(f);
}

static void test_standby_ends_without_a_frame(void **state) {
  (void)state;
  run r;
  run_shell("/bin/sh", ssh_standby_shell_command, "", &r);
  assert_int_equal(r.status, 0);
  run_shell("/bin/sh", ssh_standby_shell_command, "breakglass-standby-end-0\necho not run\n", &r);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "");
}

static void test_long_command_is_not_framed(void **state) {
  (void)state;
  char *big = malloc(SSH_STANDBY_SHELL_MAX_BYTES + 2);
  memset(big, 'x', SSH_STANDBY_SHELL_MAX_BYTES + 1);
  big[SSH_STANDBY_SHELL_MAX_BYTES + 1] = '\0';
  assert_null(ssh_standby_shell_frame(big));
  big[SSH_STANDBY_SHELL_MAX_BYTES] = '\0';
  char *f = ssh_standby_shell_frame(big);
  assert_non_null(f);
  free(f);
  free(big);
}

static void test_pve_frame_is_one_verb(void **state) {
  (void)state;
  char *f = pve_verb_standby_frame("status");
  assert_string_equal(f, "status\n");
  free(f);
  assert_string_equal(pve_verb_standby_command(), "standby");
  const char *refused[] = {"standby", "status\nreset", "status ", "STATUS", "", "reboot"};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    assert_null(pve_verb_standby_frame(refused[i]));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dash_runs_frames_as_exec),
      cmocka_unit_test(test_bash_runs_frames_as_exec),
      cmocka_unit_test(test_marker_is_never_a_line_of_the_command),
      cmocka_unit_test(test_standby_ends_without_a_frame),
      cmocka_unit_test(test_long_command_is_not_framed),
      cmocka_unit_test(test_pve_frame_is_one_verb),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
