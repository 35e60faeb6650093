#include "search_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "search_index.h"

static int usage(void) {
  fprintf(stderr, "usage: breakglass search DIR [WORDS...] [--tool T] [--verb V] [--outcome O] "
                  "[--since T] [--until T] [--limit N] [--json]\n");
  return 2;
}

static void print_hit(const json_t *h) {
  const char *kind = json_string_value(json_object_get(h, "kind"));
  const char *ts = json_string_value(json_object_get(h, "ts"));
  printf("  event %lld  %s  %s", (long long)json_integer_value(json_object_get(h, "event_id")),
         ts ? ts : "?", kind);
  const char *tool = json_string_value(json_object_get(h, "tool"));
  const char *argument = json_string_value(json_object_get(h, "argument"));
  if (tool) printf(" %s", tool);
  if (argument) printf(" %s", argument);
  const char *outcome = json_string_value(json_object_get(h, "outcome"));
  if (outcome) printf(" [%s]", outcome);
  const char *snippet = json_string_value(json_object_get(h, "snippet"));
  printf(": ");
  for (const char *p = snippet; p && *p; p++) putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
  putchar('\n');
}

static void print_text(const json_t *answer) {
  size_t i, k;
  json_t *s, *h;
  printf("%lld session(s) match (%lld searched",
         (long long)json_integer_value(json_object_get(answer, "session_count")),
         (long long)json_integer_value(json_object_get(answer, "searched")));
  long long unsearched = json_integer_value(json_object_get(answer, "unsearched"));
  if (unsearched) printf(", %lld not searched: past the index's memory bound", unsearched);
  printf(")\n");
  json_array_foreach(json_object_get(answer, "sessions"), i, s) {
    const char *title = json_string_value(json_object_get(s, "title"));
    printf("session %s \"%s\" (%s): %lld hit(s)\n",
           json_string_value(json_object_get(s, "session_id")), title ? title : "untitled",
           json_string_value(json_object_get(s, "created"))
               ? json_string_value(json_object_get(s, "created"))
               : "?",
           (long long)json_integer_value(json_object_get(s, "hit_count")));
    json_array_foreach(json_object_get(s, "hits"), k, h) print_hit(h);
  }
}

int search_main(int argc, char **argv) {
  if (argc < 1 || strncmp(argv[0], "--", 2) == 0) return usage();
  const char *dir = argv[0];
  int as_json = 0, rc = 2;
  char err[512];
  search_query q;
  search_query_init(&q);
  size_t words_len = 0;
  char *words = calloc(1, 1);
  for (int i = 1; i < argc && words; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      as_json = 1;
    } else if (strncmp(argv[i], "--", 2) == 0 && i + 1 < argc && strcmp(argv[i] + 2, "q") != 0) {
      if (search_query_set(&q, argv[i] + 2, argv[i + 1], err, sizeof err) != 0) {
        fprintf(stderr, "breakglass search: %s\n", err);
        goto done;
      }
      i++;
    } else if (strncmp(argv[i], "--", 2) == 0) {
      free(words);
      search_query_free(&q);
      return usage();
    } else {
      size_t n = strlen(argv[i]);
      char *more = realloc(words, words_len + n + 2);
      if (!more) break;
      words = more;
      if (words_len) words[words_len++] = ' ';
      memcpy(words + words_len, argv[i], n + 1);
      words_len += n;
    }
  }
  if (!words || (words_len && search_query_set(&q, "q", words, err, sizeof err) != 0)) {
    fprintf(stderr, "breakglass search: %s\n", words ? err : "out of memory");
    goto done;
  }
  search_index *ix = search_index_new(dir, access(dir, W_OK) == 0);
  json_t *answer = NULL;
  if (!ix || search_index_refresh(ix, err, sizeof err) != 0) {
    fprintf(stderr, "breakglass search: %s\n", ix ? err : "out of memory");
  } else if (!(answer = search_index_query(ix, &q))) {
    fprintf(stderr, "breakglass search: out of memory\n");
  } else {
    if (as_json) {
      json_dumpf(answer, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
      putchar('\n');
    } else {
      print_text(answer);
    }
    rc = json_integer_value(json_object_get(answer, "session_count")) > 0 ? 0 : 1;
  }
  json_decref(answer);
  search_index_free(ix);
done:
  free(words);
  search_query_free(&q);
  return rc;
}
