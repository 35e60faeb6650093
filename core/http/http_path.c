#include "http_path.h"

#include <string.h>

static int hex_value(unsigned char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

int http_path_decode(const char *raw, size_t len, char *out, size_t *out_len) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)raw[i];
    if (ch == '%') {
      if (len - i < 3) return -1;
      int hi = hex_value((unsigned char)raw[i + 1]);
      int lo = hex_value((unsigned char)raw[i + 2]);
      if (hi < 0 || lo < 0) return -1;
      ch = (unsigned char)(hi * 16 + lo);
      i += 2;
    }
    /* A NUL would cut the C string short of what the client asked for. */
    if (ch == '\0') return -1;
    out[o++] = (char)ch;
  }
  out[o] = '\0';
  if (out_len) *out_len = o;
  return 0;
}

/* Checks one segment [s, s + n): non-empty, not "." or "..". */
static bool segment_is_safe(const char *s, size_t n) {
  if (n == 0) return false;
  if (n == 1 && s[0] == '.') return false;
  if (n == 2 && s[0] == '.' && s[1] == '.') return false;
  return true;
}

bool http_path_is_safe(const char *path) {
  if (path[0] != '/') return false;
  if (path[1] == '\0') return true;
  for (const char *p = path; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    /* Backslashes separate segments on some systems; refuse them outright
     * rather than reason about which. */
    if (ch == '\\' || ch < 0x20 || ch == 0x7f) return false;
  }
  const char *seg = path + 1;
  for (;;) {
    const char *slash = strchr(seg, '/');
    size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
    if (!segment_is_safe(seg, n)) return false;
    if (!slash) return true;
    seg = slash + 1;
  }
}
