#include "js_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8_text.h"

/* Digits enough for any double's shortest form, and its exact expansion
 * below 1e21 with 60 decimals. */
#define JS_MAX_DIGITS 17
#define JS_EXACT_DECIMALS 60

void js_number(buf *b, double x) {
  if (isnan(x)) {
    buf_append_str(b, "NaN");
    return;
  }
  if (x == 0) {
    buf_append_str(b, "0");
    return;
  }
  if (x < 0) {
    buf_append_str(b, "-");
    x = -x;
  }
  if (isinf(x)) {
    buf_append_str(b, "Infinity");
    return;
  }
  /* The shortest digits that read back as x: "d.ddde±X". */
  char sci[40];
  for (int p = 1; p <= JS_MAX_DIGITS; p++) {
    snprintf(sci, sizeof sci, "%.*e", p - 1, x);
    if (strtod(sci, NULL) == x) break;
  }
  char digits[JS_MAX_DIGITS + 2];
  size_t k = 0;
  const char *e = strchr(sci, 'e');
  for (const char *p = sci; p < e; p++)
    if (*p != '.') digits[k++] = *p;
  while (k > 1 && digits[k - 1] == '0') k--;
  digits[k] = '\0';
  int n = atoi(e + 1) + 1; /* where the point goes, after n digits */
  if ((int)k <= n && n <= 21) {
    buf_append(b, digits, k);
    for (int i = (int)k; i < n; i++) buf_append(b, "0", 1);
  } else if (0 < n && n <= 21) {
    buf_append(b, digits, (size_t)n);
    buf_append(b, ".", 1);
    buf_append(b, digits + n, k - (size_t)n);
  } else if (-6 < n && n <= 0) {
    buf_append(b, "0.", 2);
    for (int i = 0; i < -n; i++) buf_append(b, "0", 1);
    buf_append(b, digits, k);
  } else {
    buf_append(b, digits, 1);
    if (k > 1) {
      buf_append(b, ".", 1);
      buf_append(b, digits + 1, k - 1);
    }
    buf_appendf(b, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
  }
}

static void js_array_string(buf *b, const json_t *v) {
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item) {
    if (i) buf_append(b, ",", 1);
    if (!json_is_null(item)) js_string(b, item);
  }
}

void js_string(buf *b, const json_t *v) {
  if (!v) {
    buf_append_str(b, "undefined");
  } else if (json_is_string(v)) {
    buf_append(b, json_string_value(v), json_string_length(v));
  } else if (json_is_number(v)) {
    js_number(b, json_number_value(v));
  } else if (json_is_boolean(v)) {
    buf_append_str(b, json_is_true(v) ? "true" : "false");
  } else if (json_is_null(v)) {
    buf_append_str(b, "null");
  } else if (json_is_array(v)) {
    js_array_string(b, v);
  } else {
    buf_append_str(b, "[object Object]");
  }
}

static void js_json_string(buf *b, const char *s, size_t len) {
  buf_append(b, "\"", 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = utf8_text_json_escape(c);
    if (esc)
      buf_append_str(b, esc);
    else if (c < 0x20)
      buf_appendf(b, "\\u%04x", c);
    else
      buf_append(b, &s[i], 1);
  }
  buf_append(b, "\"", 1);
}

/* An array index as JavaScript orders keys: "0", "17", not "01". */
static int js_index_key(const char *key, unsigned long *out) {
  size_t n = strlen(key);
  if (n == 0 || n > 10 || (n > 1 && key[0] == '0') || strspn(key, "0123456789") != n) return 0;
  *out = strtoul(key, NULL, 10);
  return *out < 4294967295UL;
}

typedef struct js_key {
  const char *key;
  unsigned long index;
  int is_index;
  size_t order;
} js_key;

static int js_key_cmp(const void *x, const void *y) {
  const js_key *a = x, *b = y;
  if (a->is_index != b->is_index) return a->is_index ? -1 : 1;
  if (a->is_index) return a->index < b->index ? -1 : a->index > b->index;
  return a->order < b->order ? -1 : a->order > b->order;
}

const char **js_keys(const json_t *obj, size_t *n) {
  *n = json_object_size(obj);
  js_key *keys = *n ? malloc(*n * sizeof *keys) : NULL;
  const char **out = keys ? malloc(*n * sizeof *out) : NULL;
  if (!out) {
    free(keys);
    *n = 0;
    return NULL;
  }
  size_t i = 0;
  const char *key;
  json_t *item;
  json_object_foreach((json_t *)obj, key, item) {
    keys[i] = (js_key){.key = key, .order = i};
    keys[i].is_index = js_index_key(key, &keys[i].index);
    i++;
  }
  qsort(keys, *n, sizeof *keys, js_key_cmp);
  for (i = 0; i < *n; i++) out[i] = keys[i].key;
  free(keys);
  return out;
}

int js_map_key(buf *b, const json_t *v) {
  if (v && (json_is_object(v) || json_is_array(v))) return -1;
  if (!v) {
    buf_append_str(b, "u");
  } else if (json_is_string(v)) {
    buf_append_str(b, "s");
    buf_append(b, json_string_value(v), json_string_length(v));
  } else if (json_is_number(v)) {
    buf_append_str(b, "n");
    js_number(b, json_number_value(v));
  } else {
    buf_append_str(b, json_is_true(v) ? "t" : json_is_false(v) ? "f" : "z");
  }
  return 0;
}

void js_json(buf *b, const json_t *v) {
  if (json_is_object(v)) {
    size_t n;
    const char **keys = js_keys(v, &n);
    buf_append(b, "{", 1);
    for (size_t i = 0; i < n; i++) {
      if (i) buf_append(b, ",", 1);
      js_json_string(b, keys[i], strlen(keys[i]));
      buf_append(b, ":", 1);
      js_json(b, json_object_get(v, keys[i]));
    }
    buf_append(b, "}", 1);
    free(keys);
  } else if (json_is_array(v)) {
    buf_append(b, "[", 1);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      if (i) buf_append(b, ",", 1);
      js_json(b, item);
    }
    buf_append(b, "]", 1);
  } else if (json_is_string(v)) {
    js_json_string(b, json_string_value(v), json_string_length(v));
  } else if (json_is_number(v)) {
    double x = json_number_value(v);
    if (isfinite(x))
      js_number(b, x);
    else
      buf_append_str(b, "null");
  } else {
    js_string(b, v);
  }
}

int js_is_string(const json_t *v, const char *s) {
  return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

int js_truthy(const json_t *v) {
  if (!v || json_is_null(v) || json_is_false(v)) return 0;
  if (json_is_string(v)) return json_string_length(v) > 0;
  if (json_is_number(v)) {
    double x = json_number_value(v);
    return x != 0 && !isnan(x);
  }
  return 1;
}

static size_t js_digits(const char *s, size_t len, size_t *at) {
  size_t from = *at;
  while (*at < len && s[*at] >= '0' && s[*at] <= '9') (*at)++;
  return *at - from;
}

/* A 0x / 0o / 0b integer's digits. glibc's strtod rounds a hexadecimal
 * integer as JavaScript rounds one (to nearest, ties to even), so octal
 * and binary digits are rewritten as hexadecimal, bit for bit. */
static double js_radix_number(const char *s, size_t len, int base) {
  static const char hex[] = "0123456789abcdef";
  int bits = base == 16 ? 4 : base == 8 ? 3 : 1;
  buf b;
  buf_init(&b, JS_TEXT_MAX_BYTES);
  buf_append_str(&b, "0x");
  unsigned acc = 0, held = (4 - (len * (size_t)bits) % 4) % 4; /* leading zero bits */
  for (size_t i = 0; i < len; i++) {
    const char *at = strchr(hex, s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    int digit = at && s[i] ? (int)(at - hex) : base;
    if (digit >= base) {
      buf_free(&b);
      return NAN;
    }
    for (int k = bits - 1; k >= 0; k--) {
      acc = acc << 1 | ((unsigned)digit >> k & 1);
      if (++held == 4) {
        buf_append(&b, &hex[acc], 1);
        acc = held = 0;
      }
    }
  }
  double x = len > 0 && b.data ? strtod(b.data, NULL) : NAN;
  buf_free(&b);
  return x;
}

/* StringToNumber of text already trimmed. */
static double js_text_number(const char *s, size_t len) {
  if (len == 0) return 0;
  if (len >= 2 && s[0] == '0') {
    char p = (char)(s[1] | 0x20);
    if (p == 'x' || p == 'o' || p == 'b')
      return js_radix_number(s + 2, len - 2, p == 'x' ? 16 : p == 'o' ? 8 : 2);
  }
  size_t i = s[0] == '+' || s[0] == '-';
  if (len - i == 8 && memcmp(s + i, "Infinity", 8) == 0) return s[0] == '-' ? -INFINITY : INFINITY;
  size_t digits = js_digits(s, len, &i);
  if (i < len && s[i] == '.') {
    i++;
    digits += js_digits(s, len, &i);
  }
  if (digits == 0) return NAN;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    if (js_digits(s, len, &i) == 0) return NAN;
  }
  if (i != len) return NAN;
  /* What is left is a decimal literal strtod reads, correctly rounded. */
  char *literal = strndup(s, len);
  double x = literal ? strtod(literal, NULL) : NAN;
  free(literal);
  return x;
}

double js_to_number(const json_t *v) {
  if (!v) return NAN;
  if (json_is_number(v)) return json_number_value(v);
  if (json_is_null(v)) return 0;
  if (json_is_boolean(v)) return json_is_true(v) ? 1 : 0;
  buf b;
  buf_init(&b, JS_TEXT_MAX_BYTES);
  js_string(&b, v);
  size_t start, end;
  js_trim(buf_cstr(&b), b.len, &start, &end);
  double x = js_text_number(buf_cstr(&b) + start, end - start);
  buf_free(&b);
  return x;
}

double js_round(double x) {
  double r = floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

void js_fixed1(buf *b, double x) {
  /* glibc prints a double's exact decimal expansion: round that half up. */
  char exact[400];
  snprintf(exact, sizeof exact, "%.*f", JS_EXACT_DECIMALS, x);
  char *point = strchr(exact, '.');
  size_t whole = (size_t)(point - exact);
  int up = point[2] >= '5';
  char digits[400];
  memcpy(digits, exact, whole);
  digits[whole] = point[1];
  size_t n = whole + 1;
  for (size_t i = n; up && i > 0; i--) {
    if (digits[i - 1] == '9') {
      digits[i - 1] = '0';
      continue;
    }
    digits[i - 1]++;
    up = 0;
  }
  if (up) buf_append(b, "1", 1);
  buf_append(b, digits, n - 1);
  buf_append(b, ".", 1);
  buf_append(b, digits + n - 1, 1);
}

size_t js_space_at(const char *s, size_t len) {
  unsigned char c = (unsigned char)s[0];
  if (len == 0) return 0;
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  if (c < 0x80) return 0;
  /* U+00A0 U+1680 U+2000-200A U+2028 U+2029 U+202F U+205F U+3000 U+FEFF */
  if (len >= 2 && c == 0xC2 && (unsigned char)s[1] == 0xA0) return 2;
  if (len < 3) return 0;
  unsigned char c1 = (unsigned char)s[1], c2 = (unsigned char)s[2];
  if (c == 0xE1 && c1 == 0x9A && c2 == 0x80) return 3;
  if (c == 0xE2 && c1 == 0x80 &&
      ((c2 >= 0x80 && c2 <= 0x8A) || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF))
    return 3;
  if (c == 0xE2 && c1 == 0x81 && c2 == 0x9F) return 3;
  if (c == 0xE3 && c1 == 0x80 && c2 == 0x80) return 3;
  if (c == 0xEF && c1 == 0xBB && c2 == 0xBF) return 3;
  return 0;
}

void js_join_lines(buf *b, const char *text, size_t len) {
  size_t i = 0;
  while (i < len) {
    size_t w = js_space_at(text + i, len - i);
    if (!w) {
      buf_append(b, text + i, 1);
      i++;
      continue;
    }
    size_t start = i;
    int newline = 0;
    while (i < len && (w = js_space_at(text + i, len - i)) > 0) {
      newline |= text[i] == '\n';
      i += w;
    }
    if (newline)
      buf_append(b, " ", 1);
    else
      buf_append(b, text + start, i - start);
  }
}

/* The start of the whitespace character that ends text[0..end), or end
 * when there is none. */
static size_t js_space_before(const char *text, size_t end) {
  for (size_t w = 1; w <= 3 && w <= end; w++)
    if (js_space_at(text + end - w, w) == w) return end - w;
  return end;
}

void js_trim(const char *text, size_t len, size_t *start, size_t *end) {
  size_t s = 0, e = len, w;
  while (s < len && (w = js_space_at(text + s, len - s)) > 0) s += w;
  while (e > s) {
    size_t before = js_space_before(text, e);
    if (before == e) break;
    e = before;
  }
  *start = s;
  *end = e;
}
