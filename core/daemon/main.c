/* breakglass: regain control of a wedged development VM.
 *
 *   breakglass serve [flags]    run the daemon
 *   breakglass check [DIR]      validate a script set offline
 *   breakglass replay JOURNAL   re-decide a recorded session with the current scripts
 *   breakglass verify JOURNAL   check a journal's hash chain
 *   breakglass export JOURNAL   a session's incident summary
 *   breakglass search DIR ...   search the sessions' journals
 *   breakglass --version | --help [--limits]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "daemon.h"
#include "export_cli.h"
#include "limits_print.h"
#include "lua_host.h"
#include "replay_cli.h"
#include "search_cli.h"
#include "verify_cli.h"

static void print_help(void) {
  printf("breakglass %s: regain control of a wedged development VM\n\n"
         "Usage:\n"
         "  breakglass serve [--flag value ...]  run the daemon (HTTP, model, SSH)\n"
         "  breakglass check [DIR]               validate the Lua scripts in DIR (default:\n"
         "                                       BREAKGLASS_SCRIPTS_DIR); exit 1 with\n"
         "                                       file:line: message lines when not valid\n"
         "  breakglass replay JOURNAL [--scripts DIR] [--json]\n"
         "                                       replay a session journal offline against the\n"
         "                                       scripts; exit 0 same, 1 diverges, 2 unreadable\n"
         "  breakglass verify JOURNAL|DIR [--key FILE] [--json]\n"
         "                                       check journals' hash chains offline; exit 0\n"
         "                                       intact, 1 broken, 2 unreadable\n"
         "  breakglass export JOURNAL [--format md|txt|json]\n"
         "                                       a session's incident summary, as the page\n"
         "                                       exports it\n"
         "  breakglass search DIR [WORDS...] [--tool T] [--verb V] [--outcome O]\n"
         "                    [--since T] [--until T] [--limit N] [--json]\n"
         "                                       search the session journals in DIR; exit 0\n"
         "                                       found, 1 none, 2 bad query or folder\n"
         "  breakglass --version | --help\n"
         "  breakglass --help --limits           every compiled-in limit, with its value\n\n"
         "Secrets (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, API_BEARER_TOKEN) are read\n"
         "from the environment only.\n\n",
         BREAKGLASS_VERSION);
  config_print_help();
}

static int run_check(int argc, char **argv) {
  bg_config c;
  char err[512];
  const char *dir = argc > 0 && strncmp(argv[0], "--", 2) != 0 ? argv[0] : NULL;
  if (config_load(&c, dir ? argc - 1 : argc, dir ? argv + 1 : argv, err, sizeof err) != 0) {
    fprintf(stderr, "breakglass: %s\n", err);
    return 2;
  }
  const char *scripts_dir = dir ? dir : c.scripts_dir;
  struct stat st;
  int missing = stat(scripts_dir, &st) != 0;
  if (missing || !S_ISDIR(st.st_mode)) {
    /* Said of the folder itself: "prompt.lua: cannot open" would hide that
     * the path is wrong. */
    fprintf(stderr, "%s: %s%s\n", scripts_dir, missing ? "cannot open: " : "not a folder",
            missing ? strerror(errno) : "");
    config_free(&c);
    return 1;
  }
  static char problems[16384];
  lua_host *h = NULL;
  uv_loop_t *loop = uv_default_loop();
  /* The services scripts may call are named here so that check sees the
   * same ctx the daemon gives; nothing runs, so they need no body. */
  lua_host_service services[] = {{.name = "ssh"}, {.name = "runbook"}};
  daemon_scripts scripts;
  daemon_scripts_init(&scripts, &c);
  int rc = daemon_load_scripts(&scripts, loop, dir, services, 2, &h, problems, sizeof problems);
  if (rc == 0) {
    printf("%s: scripts are valid\n", scripts_dir);
    lua_host_release(h);
  } else {
    fputs(problems, stderr);
    if (problems[0] && problems[strlen(problems) - 1] != '\n') fputc('\n', stderr);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  config_free(&c);
  return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    if (argc == 3 && strcmp(argv[2], "--limits") == 0) {
      limits_print();
      return 0;
    }
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
    printf("breakglass %s\n", BREAKGLASS_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "check") == 0) return run_check(argc - 2, argv + 2);
  if (strcmp(argv[1], "replay") == 0) return replay_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "verify") == 0) return verify_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "export") == 0) return export_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "search") == 0) return search_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "serve") != 0) {
    fprintf(stderr, "breakglass: unknown command '%s' (see breakglass --help)\n", argv[1]);
    return 2;
  }
  bg_config c;
  char err[512];
  if (config_load(&c, argc - 2, argv + 2, err, sizeof err) != 0) {
    fprintf(stderr, "breakglass: %s\n", err);
    return 2;
  }
  int rc = daemon_serve(&c);
  config_free(&c);
  return rc;
}
