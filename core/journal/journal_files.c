#include "journal_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SESSION_JOURNAL_HEX_CHARS 32

int journal_files_read(const char *path, size_t cap, char **out, size_t *len, char *err,
                       size_t errlen) {
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode) || (size_t)st.st_size > cap) {
    snprintf(err, errlen, "%s: %s", path,
             S_ISREG(st.st_mode) ? "larger than this command reads" : "not a file");
    close(fd);
    return -1;
  }
  size_t size = (size_t)st.st_size, got = 0;
  char *data = malloc(size + 1);
  int failed = data ? 0 : ENOMEM;
  while (!failed && got < size) {
    ssize_t n = read(fd, data + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) failed = errno;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (failed) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(failed));
    free(data);
    return -1;
  }
  data[got] = '\0';
  *out = data;
  *len = got;
  return 0;
}

int journal_files_is_session(const char *name) {
  return strlen(name) == SESSION_JOURNAL_HEX_CHARS + 6 &&
         strspn(name, "0123456789abcdef") == SESSION_JOURNAL_HEX_CHARS &&
         strcmp(name + SESSION_JOURNAL_HEX_CHARS, ".jsonl") == 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void journal_files_free(char **names, size_t count) {
  for (size_t i = 0; names && i < count; i++) free(names[i]);
  free(names);
}

int journal_files_list(const char *dir, char ***names, size_t *count, char *err, size_t errlen) {
  *names = NULL;
  *count = 0;
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
    return -1;
  }
  char **list = calloc(JOURNAL_FILES_MAX_COUNT, sizeof *list);
  size_t n = 0;
  int failed = !list;
  if (failed) snprintf(err, errlen, "out of memory listing %s", dir);
  struct dirent *e;
  while (!failed && (e = readdir(d))) {
    if (!journal_files_is_session(e->d_name)) continue;
    if (n == JOURNAL_FILES_MAX_COUNT) {
      snprintf(err, errlen, "%s: more than %d session journals; give fewer at a time", dir,
               JOURNAL_FILES_MAX_COUNT);
      failed = 1;
    } else if (!(list[n] = strdup(e->d_name))) {
      snprintf(err, errlen, "out of memory listing %s", dir);
      failed = 1;
    } else {
      n++;
    }
  }
  closedir(d);
  if (failed) {
    journal_files_free(list, n);
    return -1;
  }
  qsort(list, n, sizeof *list, by_name);
  *names = list;
  *count = n;
  return 0;
}
