#include "journal_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define JOURNAL_DIR_MODE 0700

typedef struct journal_store {
  int open;
  uv_loop_t *loop;
  journal_redactor *redactor;
  journal_metrics metrics;
  char *sessions_dir; /* NULL when it could not be made */
  char dir_error[512];
} journal_store;

/* The store is per process, like the loop it runs on. */
static journal_store store;

static int mkdir_p(const char *path, char *err, size_t errlen) {
  char *copy = strdup(path);
  if (!copy) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (char *p = copy + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char was = *p;
    *p = '\0';
    if (mkdir(copy, JOURNAL_DIR_MODE) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "cannot create the folder %s: %s", copy, strerror(errno));
      free(copy);
      return -1;
    }
    if (was == '\0') break;
    *p = was;
  }
  free(copy);
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s is not a folder", path);
    return -1;
  }
  return 0;
}

static void store_add_secret(const char *value) {
  if (value && journal_redactor_add(store.redactor, value, strlen(value)) != 0)
    log_error("journal: out of memory noting a secret");
}

void journal_store_open(const bg_config *c, uv_loop_t *loop, const char *key_pem, size_t key_len,
                        const journal_metrics *m) {
  store = (journal_store){.open = 1, .loop = loop};
  if (m) store.metrics = *m;
  store.redactor = journal_redactor_new();
  if (!store.redactor) {
    log_error("journal: out of memory");
    return;
  }
  store_add_secret(c->api_key);
  store_add_secret(c->auth_token);
  store_add_secret(c->oauth_token);
  store_add_secret(c->bearer_token);
  if (key_pem && journal_redactor_add_key_file(store.redactor, key_pem, key_len) != 0)
    log_error("journal: out of memory noting the SSH key as a secret");

  if (mkdir_p(c->sessions_dir, store.dir_error, sizeof store.dir_error) != 0 ||
      !(store.sessions_dir = strdup(c->sessions_dir))) {
    log_error("journal: %s; sessions run without a journal and every action is refused",
              store.dir_error[0] ? store.dir_error : "out of memory");
  }
}

void journal_store_close(void) {
  journal_redactor_free(store.redactor);
  free(store.sessions_dir);
  store = (journal_store){0};
}

const journal_redactor *journal_store_redactor(void) { return store.redactor; }

int journal_store_open_session(journal **out, const char *id, char *err, size_t errlen) {
  *out = NULL;
  if (!store.sessions_dir || !store.redactor) {
    snprintf(err, errlen, "%s",
             store.dir_error[0] ? store.dir_error : "the journal store is not open");
    return -1;
  }
  char *path = NULL;
  if (asprintf(&path, "%s/%s.jsonl", store.sessions_dir, id) < 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int rc = journal_open(out, store.loop, path, store.redactor, err, errlen);
  free(path);
  if (rc == 0) journal_set_metrics(*out, &store.metrics);
  return rc;
}
