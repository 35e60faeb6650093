#include "runbook.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "utf8_text.h"

/* {"error": "<what>: <why>"} */
static json_t *runbook_error(const char *what, const char *why) {
  char msg[768];
  snprintf(msg, sizeof msg, "%s: %s", what, why);
  return json_pack("{s:s}", "error", msg);
}

static json_t *root_error(const char *dir) {
  char what[600];
  snprintf(what, sizeof what, "the runbooks folder %s cannot be opened", dir);
  return runbook_error(what, strerror(errno));
}

static int has_text_extension(const char *name) {
  static const char *const exts[] = {".md", ".markdown", ".txt"};
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
    size_t e = strlen(exts[i]);
    if (n > e && strcasecmp(name + n - e, exts[i]) == 0) return 1;
  }
  return 0;
}

/* A path the folder may hold: relative, plain names. NULL, or why not. */
static const char *path_problem(const char *path) {
  if (!path || !*path) return "the path is empty";
  if (strlen(path) > RUNBOOK_MAX_PATH_BYTES) return "the path is too long";
  if (path[0] == '/') return "absolute paths are refused: give a path inside the runbooks folder";
  for (const char *p = path; *p; p++)
    if ((unsigned char)*p < 0x20) return "the path holds a control character";
  for (const char *p = path;; p++) {
    size_t n = strcspn(p, "/");
    if (n == 0) return "the path has an empty part (\"//\" or a trailing \"/\")";
    if (n == 2 && p[0] == '.' && p[1] == '.')
      return "\"..\" is refused: runbooks never leave their folder";
    if (p[0] == '.') return "hidden names (starting with \".\") are refused";
    p += n;
    if (*p == '\0') return NULL;
  }
}

/* Opens path under the folder's descriptor without leaving it. */
static int open_beneath(int root, const char *path, int flags) {
  struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC | O_NONBLOCK),
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
  long fd = syscall(SYS_openat2, root, path, &how, sizeof how);
  if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return (int)fd;
  /* No openat2 (an old kernel, or a seccomp filter): no symlink at all. */
  int dir = dup(root);
  char part[RUNBOOK_MAX_PATH_BYTES + 1];
  for (const char *p = path; dir >= 0;) {
    size_t n = strcspn(p, "/");
    snprintf(part, sizeof part, "%.*s", (int)n, p);
    int last = p[n] == '\0';
    int next = openat(
        dir, part, (last ? flags : O_RDONLY | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    int saved = errno;
    close(dir);
    errno = saved;
    if (last || next < 0) return next;
    dir = next;
    p += n + 1;
  }
  return -1;
}

static int open_root(const char *dir) { return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

static const char *open_problem(int err) {
  switch (err) {
  case EXDEV:
    return "it leads out of the runbooks folder (a symlink or \"..\"): refused";
  case ELOOP:
    return "it is a symlink, and symlinks are refused here";
  case ENOENT:
    return "no such runbook";
  case ENOTDIR:
    return "a part of the path is not a folder";
  default:
    return strerror(err);
  }
}

/* The file's text, whole, for a path already checked: 0, or -1 with err. */
static int read_text(int root, const char *path, char **out, size_t *len, char *err,
                     size_t errlen) {
  *out = NULL;
  int fd = open_beneath(root, path, O_RDONLY);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, open_problem(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s: not a regular file: refused", path);
    close(fd);
    return -1;
  }
  if ((size_t)st.st_size > RUNBOOK_MAX_FILE_BYTES) {
    snprintf(err, errlen, "%s: %lld bytes, over the cap of %u KiB a runbook may hold: refused",
             path, (long long)st.st_size, RUNBOOK_MAX_FILE_BYTES / 1024);
    close(fd);
    return -1;
  }
  /* One byte more than fstat said, to see a file that grew meanwhile. */
  size_t size = (size_t)st.st_size, got = 0;
  char *data = malloc(size + 2);
  while (data && got <= size) {
    ssize_t n = read(fd, data + got, size + 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  const char *why = !data                     ? "out of memory"
                    : got > size              ? "it grew while it was read: try again"
                    : memchr(data, '\0', got) ? "not text (it holds NUL bytes): refused"
                                              : NULL;
  if (why) {
    snprintf(err, errlen, "%s: %s", path, why);
    free(data);
    return -1;
  }
  data[got] = '\0';
  *out = data;
  *len = got;
  return 0;
}

/* --- list ------------------------------------------------------------------- */

typedef struct walk {
  int root;
  json_t *found;
  int cut;
} walk;

static void walk_dir(walk *w, const char *prefix, int depth) {
  int fd = prefix[0] ? open_beneath(w->root, prefix, O_RDONLY | O_DIRECTORY) : dup(w->root);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue; /* hidden, and a ConfigMap's ..data */
    if (json_array_size(w->found) >= RUNBOOK_MAX_FILES_COUNT) {
      w->cut = 1;
      break;
    }
    char path[RUNBOOK_MAX_PATH_BYTES + 1];
    int n = snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "/" : "", e->d_name);
    if (n < 0 || (size_t)n >= sizeof path || path_problem(path)) continue;
    int child = open_beneath(w->root, path, O_RDONLY);
    struct stat st;
    if (child < 0) continue;
    int ok = fstat(child, &st) == 0;
    close(child);
    if (ok && S_ISDIR(st.st_mode) && depth + 1 < RUNBOOK_MAX_DEPTH_LEVELS) {
      walk_dir(w, path, depth + 1);
    } else if (ok && S_ISREG(st.st_mode) && has_text_extension(e->d_name)) {
      json_array_append_new(w->found,
                            json_pack("{s:s, s:I}", "path", path, "bytes", (json_int_t)st.st_size));
    }
  }
  closedir(d);
}

static int by_path(const void *x, const void *y) {
  const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
  return strcmp(json_string_value(json_object_get(a, "path")),
                json_string_value(json_object_get(b, "path")));
}

/* The runbooks under root, sorted by path. */
static json_t *list_under(int root, int *cut) {
  walk w = {.root = root, .found = json_array()};
  walk_dir(&w, "", 0);
  size_t n = json_array_size(w.found);
  json_t **items = n ? malloc(n * sizeof *items) : NULL;
  json_t *sorted = json_array();
  if (items) {
    for (size_t i = 0; i < n; i++) items[i] = json_array_get(w.found, i);
    qsort(items, n, sizeof *items, by_path);
    for (size_t i = 0; i < n; i++) json_array_append(sorted, items[i]);
  }
  free(items);
  json_decref(w.found);
  *cut = w.cut;
  return sorted;
}

json_t *runbook_list(const char *dir) {
  int root = open_root(dir);
  if (root < 0) return root_error(dir);
  int cut = 0;
  json_t *found = list_under(root, &cut);
  close(root);
  return json_pack("{s:o, s:b}", "runbooks", found, "cut", cut);
}

/* --- read ------------------------------------------------------------------- */

json_t *runbook_read(const char *dir, const char *path, size_t offset) {
  const char *problem = path_problem(path);
  if (problem) return runbook_error(path ? path : "", problem);
  if (!has_text_extension(path))
    return runbook_error(path, "only Markdown and text runbooks (.md, .markdown, .txt) are read");
  int root = open_root(dir);
  if (root < 0) return root_error(dir);
  char err[768], *data;
  size_t len;
  int rc = read_text(root, path, &data, &len, err, sizeof err);
  close(root);
  if (rc != 0) return json_pack("{s:s}", "error", err);
  if (offset > len) offset = len;
  /* Start on a character: skip the continuation bytes an offset fell in. */
  while (offset < len && ((unsigned char)data[offset] & 0xC0) == 0x80) offset++;
  size_t take = utf8_text_cut(data + offset, len - offset, RUNBOOK_MAX_CALL_BYTES);
  size_t text_len;
  char *text = utf8_text_sanitize(data + offset, take, &text_len);
  json_t *out = text ? json_pack("{s:s, s:I, s:I, s:s%}", "path", path, "bytes", (json_int_t)len,
                                 "offset", (json_int_t)offset, "text", text, text_len)
                     : NULL;
  if (out && offset + take < len)
    json_object_set_new(out, "next_offset", json_integer((json_int_t)(offset + take)));
  free(text);
  free(data);
  return out;
}

/* --- grep ------------------------------------------------------------------- */

static const char *find_folded(const char *hay, size_t n, const char *needle, size_t m) {
  for (size_t i = 0; m && i + m <= n; i++) {
    size_t k = 0;
    while (k < m && tolower((unsigned char)hay[i + k]) == tolower((unsigned char)needle[k])) k++;
    if (k == m) return hay + i;
  }
  return NULL;
}

static int grep_file(int root, const char *path, const char *pattern, json_t *matches,
                     size_t *bytes) {
  char err[768], *data;
  size_t len;
  if (read_text(root, path, &data, &len, err, sizeof err) != 0) return 0;
  size_t m = strlen(pattern);
  int line = 1, cut = 0;
  for (const char *p = data, *end = data + len; p < end && !cut;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (find_folded(p, n, pattern, m)) {
      size_t show = utf8_text_cut(p, n, RUNBOOK_MATCH_LINE_BYTES), text_len;
      char *text = utf8_text_sanitize(p, show, &text_len);
      if (json_array_size(matches) >= RUNBOOK_MAX_MATCHES_COUNT ||
          *bytes + show > RUNBOOK_MAX_CALL_BYTES) {
        cut = 1;
      } else if (text) {
        json_array_append_new(matches, json_pack("{s:s, s:i, s:s%}", "path", path, "line", line,
                                                 "text", text, text_len));
        *bytes += show;
      }
      free(text);
    }
    line++;
    p += n + 1;
  }
  free(data);
  return cut;
}

json_t *runbook_grep(const char *dir, const char *pattern) {
  if (!pattern || !*pattern || strlen(pattern) > RUNBOOK_MAX_PATTERN_BYTES || strchr(pattern, '\n'))
    return runbook_error("grep", "the pattern must be 1 to 200 bytes of text on one line");
  int root = open_root(dir);
  if (root < 0) return root_error(dir);
  int cut = 0;
  json_t *files = list_under(root, &cut), *matches = json_array(), *f;
  size_t i, bytes = 0;
  json_array_foreach(files, i, f) {
    if (cut) break;
    cut = grep_file(root, json_string_value(json_object_get(f, "path")), pattern, matches, &bytes);
  }
  close(root);
  json_decref(files);
  return json_pack("{s:o, s:b}", "matches", matches, "cut", cut);
}
