/* libFuzzer target: random Lua source through the loader `breakglass check`
 * runs (lua_host_load), with small limits.
 *
 * The input is written as all three kinds of script of one set, prompt.lua,
 * tools/fuzz.lua and policy/fuzz.lua, so that each is compiled, run and
 * read as its kind (a policy's self_test included). Whatever the source,
 * the load must end within what its entries' limits allow, return every
 * byte it took from the memory budget, and not crash; a load past the
 * time bound aborts, so that libFuzzer reports the input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "fuzz_entry.h"
#include "log.h"
#include "lua_host.h"
#include "lua_sandbox.h"

#define FUZZ_CALL_TIMEOUT_MS 25
/* A load makes at most 16 entries (compile and run for each of the three
 * files and for the policy's second state, reading each table, the
 * self_test), each ending within its limit plus one C call's work: 400 ms
 * and some. The bound leaves room for a busy machine and the sanitizers; a
 * C loop that ignores the deadline (string.rep of nothing, a quadratic
 * compile) runs for seconds or for ever. */
#define FUZZ_LOAD_MAX_MS 2000

static char set_dir[64];
static const char *const roles[] = {"prompt.lua", "tools/fuzz.lua", "policy/fuzz.lua"};
static uv_loop_t loop;

/* A fresh file each time: ext4 flushes a file truncated and written again
 * when it is closed, which would make each input wait for the disk. */
static void write_file(const char *rel, const uint8_t *data, size_t size) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", set_dir, rel);
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) || close(fd) != 0) {
    fprintf(stderr, "fuzz_lua_check: cannot write %s: %s\n", path, strerror(errno));
    abort();
  }
}

static void remove_set(void) {
  char path[256];
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", set_dir, roles[i]);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/tools", set_dir);
  rmdir(path);
  snprintf(path, sizeof path, "%s/policy", set_dir);
  rmdir(path);
  rmdir(set_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char path[256];
  /* In memory where there is a tmpfs: each input rewrites the files. */
  snprintf(set_dir, sizeof set_dir, "/dev/shm/fuzz-lua-check-XXXXXX");
  if (mkdtemp(set_dir) == NULL) {
    snprintf(set_dir, sizeof set_dir, "/tmp/fuzz-lua-check-XXXXXX");
    if (mkdtemp(set_dir) == NULL) abort();
  }
  snprintf(path, sizeof path, "%s/tools", set_dir);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/policy", set_dir);
  mkdir(path, 0700);
  atexit(remove_set);
  uv_loop_init(&loop);
  log_set_level(LOG_ERROR);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) write_file(roles[i], data, size);
  lua_sandbox_budget budget = {.limit_bytes = 8u << 20, .setting = "FUZZ_TOTAL"};
  lua_host_service ssh = {.name = "ssh"}; /* named, never started: nothing calls it at load */
  lua_host_options o = {
      .scripts_dir = set_dir,
      .limits =
          {
              .memory_bytes = 2u << 20,
              .budget = &budget,
              .instructions = 200000,
              .call_timeout_ms = FUZZ_CALL_TIMEOUT_MS,
              .tool_timeout_ms = 1000,
              .max_json_bytes = 64 * 1024,
              .max_result_bytes = 16 * 1024,
          },
      .services = &ssh,
      .service_count = 1,
  };
  static char err[16384];
  lua_host *h = NULL;
  uint64_t t0 = uv_hrtime();
  if (lua_host_load(&h, &loop, &o, err, sizeof err) == 0) lua_host_release(h);
  uint64_t ms = (uv_hrtime() - t0) / 1000000;
  uv_run(&loop, UV_RUN_NOWAIT);
  if (ms > FUZZ_LOAD_MAX_MS) {
    fprintf(stderr, "fuzz_lua_check: the load took %llu ms, past %d ms\n", (unsigned long long)ms,
            FUZZ_LOAD_MAX_MS);
    abort();
  }
  if (budget.used_bytes != 0) {
    fprintf(stderr, "fuzz_lua_check: %zu bytes still charged to the budget\n", budget.used_bytes);
    abort();
  }
  return 0;
}
