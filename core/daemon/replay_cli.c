#include "replay_cli.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_args.h"
#include "config.h"
#include "daemon.h"
#include "journal_files.h"
#include "limits_table.h"
#include "replay.h"

/* The session id is the file's name: <32 hex>.jsonl. */
static void session_id_of(const char *path, char *out, size_t outlen) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strcspn(base, ".");
  snprintf(out, outlen, "%.*s", (int)n, base);
}

/* The session journals in dir, sorted by name: malloc'd paths. */
static char **list_journals(const char *dir, size_t *count, char *err, size_t errlen) {
  char **names;
  if (journal_files_list(dir, &names, count, err, errlen) != 0) return NULL;
  for (size_t i = 0; i < *count; i++) {
    char *path;
    if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
      snprintf(err, errlen, "out of memory listing %s", dir);
      journal_files_free(names, *count);
      return NULL;
    }
    free(names[i]);
    names[i] = path;
  }
  return names;
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

static void print_session(const json_t *report) {
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(report, "calls"), i, c) {
    char *input = json_dumps(json_object_get(c, "input"), JSON_COMPACT);
    int same = strcmp(json_string_value(json_object_get(c, "status")), "same") == 0;
    printf("call %lld (line %lld) %s %.*s%s [%s, %s]: %s\n",
           (long long)json_integer_value(json_object_get(c, "index")),
           (long long)json_integer_value(json_object_get(c, "line")),
           json_string_value(json_object_get(c, "tool")), REPLAY_INPUT_SHOWN_CHARS,
           input ? input : "", input && strlen(input) > REPLAY_INPUT_SHOWN_CHARS ? "..." : "",
           json_string_value(json_object_get(c, "call_id")),
           json_string_value(json_object_get(c, "source")), same ? "same" : "DIVERGES");
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
  const char *dropped = json_string_value(json_object_get(report, "dropped"));
  if (dropped) printf("note: %s\n", dropped);
}

static void print_summary(const char *label, const json_t *s) {
  printf("%s: %lld calls (%lld run first by policies), %lld same, %lld diverge\n", label,
         (long long)json_integer_value(json_object_get(s, "calls")),
         (long long)json_integer_value(json_object_get(s, "inserted_calls")),
         (long long)json_integer_value(json_object_get(s, "same")),
         (long long)json_integer_value(json_object_get(s, "diverges")));
}

static void print_text(const json_t *report, const char *what, const char *scripts, int folder) {
  printf("replay of %s against %s\n", what, scripts);
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(report, "sessions"), i, s) {
    if (folder) printf("session %s\n", json_string_value(json_object_get(s, "session_id")));
    print_session(s);
    if (folder) print_summary("  session summary", json_object_get(s, "summary"));
  }
  const json_t *sum = json_object_get(report, "summary");
  if (folder)
    printf("sessions: %lld, of which %lld diverge\n",
           (long long)json_integer_value(json_object_get(sum, "sessions")),
           (long long)json_integer_value(json_object_get(sum, "diverging_sessions")));
  print_summary("summary", sum);
}

/* A torn line is said on stderr whatever the output format: the run
 * compared every record but one, and a script reading --json or the exit
 * status alone should not miss it. */
static void warn_dropped(const json_t *report) {
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(report, "sessions"), i, s) {
    const char *dropped = json_string_value(json_object_get(s, "dropped"));
    if (dropped)
      fprintf(stderr, "warning: session %s: %s\n",
              json_string_value(json_object_get(s, "session_id")), dropped);
  }
}

static int usage(void) {
  fprintf(stderr, "usage: breakglass replay JOURNAL|DIR [--scripts DIR] [--json]\n");
  return 2;
}

int replay_main(int argc, char **argv) {
  const char *journal = NULL, *scripts = NULL;
  int as_json = 0;
  if (cli_args_parse(argc, argv, &journal, "--scripts", &scripts, &as_json) != 0) return usage();
  /* Replay makes millions of small JSON values and frees most of them
   * together at the end, where glibc's fastbins make free after free
   * consolidate them all over again: a seventh of a 10,000-call replay's
   * time, measured (bench/). Without fastbins, frees coalesce as they go. */
  mallopt(M_MXFAST, 0);
  bg_config c;
  static char problems[16384];
  if (config_load(&c, 0, NULL, problems, sizeof problems) != 0) {
    fprintf(stderr, "breakglass: %s\n", problems);
    return 2;
  }
  struct stat st;
  int folder = stat(journal, &st) == 0 && S_ISDIR(st.st_mode);
  char **paths = NULL;
  size_t count = 0;
  if (folder) {
    paths = list_journals(journal, &count, problems, sizeof problems);
  } else if ((paths = calloc(1, sizeof *paths)) && (paths[0] = strdup(journal))) {
    count = 1;
  } else {
    snprintf(problems, sizeof problems, "out of memory");
  }
  replay_journal *journals = paths ? calloc(count ? count : 1, sizeof *journals) : NULL;
  char(*ids)[128] = paths ? calloc(count ? count : 1, sizeof *ids) : NULL;
  lua_host *h = NULL;
  json_t *report = NULL;
  int rc = 2, read_ok = paths && journals && ids;
  if (paths && !read_ok) snprintf(problems, sizeof problems, "out of memory");
  for (size_t i = 0; read_ok && i < count; i++) {
    session_id_of(paths[i], ids[i], sizeof ids[i]);
    journals[i] = (replay_journal){.session_id = ids[i], .path = paths[i]};
  }
  uv_loop_t *loop = uv_default_loop();
  /* As check: the services the daemon offers are named, none runs. */
  lua_host_service services[] = {{.name = "ssh"}};
  daemon_scripts loader;
  daemon_scripts_init(&loader, &c);
  if (!read_ok) {
    fprintf(stderr, "%s\n", problems);
  } else if (daemon_load_scripts(&loader, loop, scripts, services, 1, &h, problems,
                                 sizeof problems) != 0) {
    fprintf(stderr, "the scripts in %s did not load:\n%s\n", scripts ? scripts : c.scripts_dir,
            problems);
  } else if (replay_journals(h, journals, count, &report, problems, sizeof problems) != 0) {
    fprintf(stderr, "%s: %s\n", journal, problems);
  } else {
    warn_dropped(report);
    const json_t *shown = folder ? report : json_array_get(json_object_get(report, "sessions"), 0);
    if (as_json)
      json_dumpf(shown, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER), putchar('\n');
    else
      print_text(report, journal, scripts ? scripts : c.scripts_dir, folder);
    rc = json_integer_value(json_object_get(json_object_get(report, "summary"), "diverges")) ? 1
                                                                                             : 0;
  }
  json_decref(report);
  if (h) lua_host_release(h);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  for (size_t i = 0; paths && i < count; i++) free(paths[i]);
  free(paths);
  free(journals);
  free(ids);
  config_free(&c);
  return rc;
}
