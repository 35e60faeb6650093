#include "lua_script_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lua_script_read(const char *path, size_t max_bytes, char **text, size_t *len, char *why,
                    size_t whylen) {
  *text = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    snprintf(why, whylen, "%s", strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max_bytes) {
    snprintf(why, whylen, "%s",
             S_ISREG(st.st_mode) ? "larger than the script limit" : "not a regular file");
    close(fd);
    return -2;
  }
  char *data = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (data && got < (size_t)st.st_size) {
    ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (!data || got != (size_t)st.st_size) {
    snprintf(why, whylen, "%s", !data ? "out of memory" : "cannot read");
    free(data);
    return -2;
  }
  *text = data;
  *len = got;
  return 0;
}

static int script_name_filter(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".lua") == 0;
}

static int script_name_cmp(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

int lua_script_list(const char *path, struct dirent ***names) {
  return scandir(path, names, script_name_filter, script_name_cmp);
}
