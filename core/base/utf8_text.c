#include "utf8_text.h"

#include <stdlib.h>
#include <string.h>

size_t utf8_text_seq_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) {
    need = 2;
  } else if (c < 0xF0) {
    need = 3;
    if (c == 0xE0) lo = 0xA0; /* overlong */
    if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c < 0xF5) {
    need = 4;
    if (c == 0xF0) lo = 0x90; /* overlong */
    if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
  } else {
    return 0;
  }
  if (n < need || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < need; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  return need;
}

char *utf8_text_sanitize(const char *text, size_t len, size_t *outlen) {
  char *out = malloc(len * 3 + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_text_seq_len((const unsigned char *)text + i, len - i);
    if (n == 0) {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    } else {
      memcpy(out + o, text + i, n);
      o += n;
      i += n;
    }
  }
  out[o] = '\0';
  *outlen = o;
  return out;
}

size_t utf8_text_incomplete_tail(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  /* A lead byte within the last three whose sequence runs past the end. */
  for (size_t back = 1; back <= 3 && back <= n; back++) {
    unsigned char c = u[n - back];
    if ((c & 0xC0) == 0x80) continue;
    size_t need = c >= 0xF5 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

const char *utf8_text_json_escape(unsigned char c) {
  return c == '"'    ? "\\\""
         : c == '\\' ? "\\\\"
         : c == '\b' ? "\\b"
         : c == '\f' ? "\\f"
         : c == '\n' ? "\\n"
         : c == '\r' ? "\\r"
         : c == '\t' ? "\\t"
                     : NULL;
}

size_t utf8_text_cut(const char *s, size_t len, size_t max) {
  if (len <= max) return len;
  while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
  return max;
}

char *utf8_text_title(const char *text, size_t max) {
  char *title = strndup(text, utf8_text_cut(text, strlen(text), max));
  for (char *p = title; p && *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
  return title;
}

char *utf8_stream_text(utf8_stream *st, const char *bytes, size_t len, size_t *outlen) {
  char *joined = malloc(st->carry_len + len + 1);
  if (!joined) return NULL;
  memcpy(joined, st->carry, st->carry_len);
  memcpy(joined + st->carry_len, bytes, len);
  size_t n = st->carry_len + len;
  size_t keep = utf8_text_incomplete_tail(joined, n);
  memcpy(st->carry, joined + n - keep, keep);
  st->carry_len = keep;
  char *text = utf8_text_sanitize(joined, n - keep, outlen);
  free(joined);
  return text;
}
