#include "js_reveal.h"

#include <stdint.h>

/* The ranges of www/reveal.mjs's HIDDEN, in order. */
static const struct {
  uint32_t from, to;
} hidden[] = {
    {0x0000, 0x0008},   {0x000B, 0x001F},   {0x007F, 0x009F},   {0x00AD, 0x00AD},
    {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},   {0x070F, 0x070F},
    {0x0890, 0x0891},   {0x08E2, 0x08E2},   {0x180E, 0x180E},   {0x200B, 0x200F},
    {0x2028, 0x202E},   {0x2060, 0x2064},   {0x2066, 0x206F},   {0xFEFF, 0xFEFF},
    {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F},
    {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
};

static int is_hidden(uint32_t c) {
  for (size_t i = 0; i < sizeof hidden / sizeof hidden[0] && hidden[i].from <= c; i++)
    if (c <= hidden[i].to) return 1;
  return 0;
}

/* The length of the UTF-8 sequence a lead byte starts, 0 for no lead. */
static size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 0;
}

/* The code point of the UTF-8 sequence at s[0] and its length in *n, or
 * the byte itself with *n = 1 when no well-formed sequence starts there. */
static uint32_t decode(const unsigned char *s, size_t len, size_t *n) {
  static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t want = sequence_length(s[0]);
  *n = 1;
  if (want <= 1 || want > len) return s[0];
  uint32_t c = s[0] & (0x7F >> want);
  for (size_t k = 1; k < want; k++) {
    if ((s[k] & 0xC0) != 0x80) return s[0];
    c = (c << 6) | (s[k] & 0x3F);
  }
  if (c < least[want] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return s[0];
  *n = want;
  return c;
}

void js_reveal(buf *b, const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  size_t copied = 0, i = 0;
  while (i < len) {
    size_t n;
    uint32_t c = decode(s + i, len - i, &n);
    /* A lone byte of 0x80..0x9F is not the C1 control it numbers. */
    if (c == '\n' || c == '\t' || (n == 1 && c >= 0x80) || !is_hidden(c)) {
      i += n;
      continue;
    }
    buf_append(b, text + copied, i - copied);
    buf_appendf(b, "\xe2\x9f\xa8U+%04X\xe2\x9f\xa9", (unsigned)c);
    i += n;
    copied = i;
  }
  buf_append(b, text + copied, len - copied);
}
