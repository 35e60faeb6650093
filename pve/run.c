#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PVE_RUN_CHUNK_BYTES 16384
/* After the child exits, a grandchild holding our pipe could feed it
 * forever; what is already buffered is read, up to this much. */
#define PVE_RUN_DRAIN_MAX_BYTES (1024 * 1024)
#define PVE_RUN_COPY_MAX_BYTES (4 * 1024 * 1024)
#define PVE_RUN_EXIT_EXEC_FAILED 127

static char *const child_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};

int64_t pve_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void child_say(const char *a, const char *b, const char *c) {
  const char *parts[] = {a, b, c, "\n"};
  for (size_t i = 0; i < 4; i++)
    if (write(STDOUT_FILENO, parts[i], strlen(parts[i])) < 0) return;
}

static void child_copy_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    child_say("cannot open ", path, ": unreadable or gone");
    _exit(1);
  }
  char chunk[PVE_RUN_CHUNK_BYTES];
  size_t total = 0;
  while (total < PVE_RUN_COPY_MAX_BYTES) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      child_say("cannot read ", path, ": permission denied or not supported");
      _exit(1);
    }
    if (n == 0) _exit(0);
    if (write(STDOUT_FILENO, chunk, (size_t)n) != n) _exit(1);
    total += (size_t)n;
  }
  _exit(0);
}

/* Runs in the forked child: only async-signal-safe calls until execve. */
static void child_start(const pve_run_spec *spec, int in_fd, int out_fd) {
  setsid();
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigaction(SIGPIPE, &dfl, NULL);
  sigaction(SIGHUP, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
      dup2(out_fd, STDERR_FILENO) < 0)
    _exit(PVE_RUN_EXIT_EXEC_FAILED);
  close_range(3, ~0U, 0);
  if (!spec->argv) child_copy_file(spec->read_path);
  execve(spec->argv[0], (char *const *)spec->argv, child_env);
  child_say("breakglass-pve: cannot execute ", spec->argv[0], "");
  _exit(PVE_RUN_EXIT_EXEC_FAILED);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Reads what the pipe holds now; closes it at EOF. max caps the bytes. */
static void read_available(int *fd, pve_capture *out, size_t max) {
  char chunk[PVE_RUN_CHUNK_BYTES];
  size_t total = 0;
  while (*fd >= 0 && total < max) {
    ssize_t n = read(*fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_fd(fd);
      return;
    }
    pve_capture_append(out, chunk, (size_t)n);
    total += (size_t)n;
  }
}

static void record_status(pve_run_result *res, int status) {
  if (WIFEXITED(status)) res->exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) res->signal = WTERMSIG(status);
}

/* After SIGKILL: waits up to the grace period for the pidfd to report the
 * exit, then reaps. */
static void reap_after_kill(pid_t pid, int pidfd, pve_run_result *res) {
  struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
  int64_t until = pve_now_ms() + PVE_RUN_KILL_GRACE_MS;
  for (;;) {
    int64_t left = until - pve_now_ms();
    int rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
    if (rc > 0) break;
    if (rc < 0 && errno == EINTR) continue;
    res->unreaped = true;
    return;
  }
  int status;
  if (waitpid(pid, &status, 0) == pid) record_status(res, status);
}

typedef struct run_fds {
  int out, in, pidfd;
} run_fds;

static void feed_input(run_fds *f, const pve_run_spec *spec, size_t *sent) {
  while (f->in >= 0 && *sent < spec->input_len) {
    ssize_t n = write(f->in, spec->input + *sent, spec->input_len - *sent);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) break;
    *sent += (size_t)n;
  }
  close_fd(&f->in);
}

static void supervise(pid_t pid, run_fds *f, const pve_run_spec *spec, pve_capture *out,
                      pve_run_result *res, int64_t start_ms) {
  int64_t deadline = start_ms + spec->timeout_ms;
  size_t sent = 0;
  for (;;) {
    int64_t left = deadline - pve_now_ms();
    struct pollfd pfd[3] = {{.fd = f->out, .events = POLLIN},
                            {.fd = f->in, .events = POLLOUT},
                            {.fd = f->pidfd, .events = POLLIN}};
    int rc = left > 0 ? poll(pfd, 3, (int)(left < INT32_MAX ? left : INT32_MAX)) : 0;
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0 && pve_now_ms() >= deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      res->timed_out = true;
      res->elapsed_ms = pve_now_ms() - start_ms;
      reap_after_kill(pid, f->pidfd, res);
      read_available(&f->out, out, PVE_RUN_DRAIN_MAX_BYTES);
      return;
    }
    if (rc < 0) {
      /* poll itself failed: end it as at the deadline, killed and reaped. */
      deadline = pve_now_ms();
      continue;
    }
    if (rc == 0) continue;
    if (pfd[0].revents) read_available(&f->out, out, PVE_RUN_DRAIN_MAX_BYTES);
    if (pfd[1].revents) feed_input(f, spec, &sent);
    if (pfd[2].revents) {
      int status;
      if (waitpid(pid, &status, 0) == pid) record_status(res, status);
      read_available(&f->out, out, PVE_RUN_DRAIN_MAX_BYTES);
      return;
    }
  }
}

int pve_run(const pve_run_spec *spec, pve_capture *out, pve_run_result *res) {
  memset(res, 0, sizeof *res);
  res->exit_code = -1;
  int out_pipe[2], in_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return -errno;
  int child_in = -1;
  if (spec->input && pipe2(in_pipe, O_CLOEXEC) == 0)
    child_in = in_pipe[0];
  else if (!spec->input)
    child_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (child_in < 0) {
    int err = -errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    return err;
  }
  int64_t start = pve_now_ms();
  pid_t pid = fork();
  if (pid == 0) child_start(spec, child_in, out_pipe[1]);
  int err = pid < 0 ? -errno : 0;
  close(out_pipe[1]);
  close(child_in);
  run_fds f = {.out = out_pipe[0], .in = in_pipe[1], .pidfd = -1};
  if (pid > 0) {
    f.pidfd = pidfd_open(pid, 0);
    if (f.pidfd < 0) {
      /* Without a pidfd the child cannot be supervised: do not leave it. */
      err = -errno;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
  }
  if (err == 0) {
    set_nonblocking(f.out);
    if (f.in >= 0) set_nonblocking(f.in);
    supervise(pid, &f, spec, out, res, start);
  }
  close_fd(&f.out);
  close_fd(&f.in);
  close_fd(&f.pidfd);
  if (!res->timed_out) res->elapsed_ms = pve_now_ms() - start;
  return err;
}

bool pve_run_ok(const pve_run_result *res) { return !res->timed_out && res->exit_code == 0; }

void pve_run_describe(const pve_run_result *res, char *out, size_t out_len) {
  if (res->timed_out)
    snprintf(out, out_len, "timed out after %lld ms; process group killed%s",
             (long long)res->elapsed_ms, res->unreaped ? ", but it did not exit" : "");
  else if (res->signal)
    snprintf(out, out_len, "killed by signal %d", res->signal);
  else if (res->exit_code >= 0)
    snprintf(out, out_len, "exit code %d", res->exit_code);
  else
    snprintf(out, out_len, "ended in an unknown way");
}
