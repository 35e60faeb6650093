#include "replay_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "replay.h"

/* Larger than any session journal the daemon keeps
 * (BREAKGLASS_MAX_SESSION_JOURNAL_BYTES caps new turns well below this). */
#define REPLAY_MAX_JOURNAL_BYTES (1024L * 1024 * 1024)
/* How much of a call's input the text report shows. */
#define REPLAY_INPUT_SHOWN_CHARS 120

static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || size > REPLAY_MAX_JOURNAL_BYTES || fseek(f, 0, SEEK_SET) != 0) {
    snprintf(err, errlen, "%s: %s", path,
             size > REPLAY_MAX_JOURNAL_BYTES ? "larger than 1 GiB" : "cannot be read");
    fclose(f);
    return -1;
  }
  *out = malloc((size_t)size + 1);
  if (!*out || fread(*out, 1, (size_t)size, f) != (size_t)size) {
    snprintf(err, errlen, "%s: cannot read: %s", path, *out ? strerror(errno) : "out of memory");
    free(*out);
    *out = NULL;
    fclose(f);
    return -1;
  }
  fclose(f);
  *len = (size_t)size;
  return 0;
}

/* The session id is the file's name: <32 hex>.jsonl. */
static void session_id_of(const char *path, char *out, size_t outlen) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strcspn(base, ".");
  snprintf(out, outlen, "%.*s", (int)n, base);
}

static void print_decisions(const char *label, const json_t *side) {
  printf("%s %s", label, json_string_value(json_object_get(side, "outcome")));
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(side, "decisions"), i, d) {
    const char *policy = json_string_value(json_object_get(d, "policy"));
    printf("%s%s by %s", i ? ", " : " after ", json_string_value(json_object_get(d, "verdict")),
           policy ? policy : "?");
  }
}

static void print_text(const json_t *report, const char *journal, const char *scripts) {
  printf("replay of %s against %s\n", journal, scripts);
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(report, "calls"), i, c) {
    char *input = json_dumps(json_object_get(c, "input"), JSON_COMPACT);
    int same = strcmp(json_string_value(json_object_get(c, "status")), "same") == 0;
    printf("call %lld (line %lld) %s %.*s%s [%s]: %s\n",
           (long long)json_integer_value(json_object_get(c, "index")),
           (long long)json_integer_value(json_object_get(c, "line")),
           json_string_value(json_object_get(c, "tool")), REPLAY_INPUT_SHOWN_CHARS,
           input ? input : "", input && strlen(input) > REPLAY_INPUT_SHOWN_CHARS ? "..." : "",
           json_string_value(json_object_get(c, "call_id")), same ? "same" : "DIVERGES");
    free(input);
    printf("  ");
    print_decisions("recorded", json_object_get(c, "recorded"));
    printf("; ");
    print_decisions("now", json_object_get(c, "now"));
    printf("\n");
    size_t k;
    json_t *d;
    json_array_foreach(json_object_get(c, "differences"), k, d)
      printf("  - %s\n", json_string_value(d));
  }
  const json_t *torn = json_object_get(report, "torn_line");
  if (json_is_integer(torn))
    printf("note: line %lld is torn (the process died while writing it) and was ignored\n",
           (long long)json_integer_value(torn));
  const json_t *s = json_object_get(report, "summary");
  printf("summary: %lld calls (%lld run first by policies), %lld same, %lld diverge\n",
         (long long)json_integer_value(json_object_get(s, "calls")),
         (long long)json_integer_value(json_object_get(s, "inserted_calls")),
         (long long)json_integer_value(json_object_get(s, "same")),
         (long long)json_integer_value(json_object_get(s, "diverges")));
}

static int usage(void) {
  fprintf(stderr, "usage: breakglass replay JOURNAL [--scripts DIR] [--json]\n");
  return 2;
}

int replay_main(int argc, char **argv) {
  const char *journal = NULL, *scripts = NULL;
  int as_json = 0;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      as_json = 1;
    else if (strcmp(argv[i], "--scripts") == 0 && i + 1 < argc)
      scripts = argv[++i];
    else if (strncmp(argv[i], "--", 2) != 0 && !journal)
      journal = argv[i];
    else
      return usage();
  }
  if (!journal) return usage();
  bg_config c;
  static char problems[16384];
  if (config_load(&c, 0, NULL, problems, sizeof problems) != 0) {
    fprintf(stderr, "breakglass: %s\n", problems);
    return 2;
  }
  char *data = NULL;
  size_t len = 0;
  lua_host *h = NULL;
  json_t *report = NULL;
  int rc = 2;
  uv_loop_t *loop = uv_default_loop();
  /* As check: the services the daemon offers are named, none runs. */
  lua_host_service services[] = {{.name = "ssh"}};
  if (read_file(journal, &data, &len, problems, sizeof problems) != 0) {
    fprintf(stderr, "%s\n", problems);
  } else if (daemon_load_scripts(&c, loop, scripts, services, 1, &h, problems, sizeof problems) != 0) {
    fprintf(stderr, "the scripts in %s did not load:\n%s\n", scripts ? scripts : c.scripts_dir,
            problems);
  } else {
    char sid[128];
    session_id_of(journal, sid, sizeof sid);
    if (replay_journal(h, data, len, sid, &report, problems, sizeof problems) != 0) {
      fprintf(stderr, "%s: %s\n", journal, problems);
    } else {
      if (as_json)
        json_dumpf(report, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER), putchar('\n');
      else
        print_text(report, journal, scripts ? scripts : c.scripts_dir);
      rc = json_integer_value(json_object_get(json_object_get(report, "summary"), "diverges")) ? 1 : 0;
    }
  }
  json_decref(report);
  if (h) lua_host_release(h);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  free(data);
  config_free(&c);
  return rc;
}
