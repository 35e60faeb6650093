/* Text as the page's JavaScript makes it, byte for byte: String() of a
 * JSON value, a Number's digits, JSON.stringify, the whitespace of `\s`
 * and trim(). The offline export (incident.h) writes what www/incident.mjs
 * writes, so it spells values the way the page's engine does.
 *
 * Output goes to a growing buffer (buf.h).
 */
#ifndef BG_JS_TEXT_H
#define BG_JS_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "limits_table.h"

/* Number.prototype.toString() of x: shortest digits that read back as x,
 * "1e+21" past 1e21, "NaN", "Infinity". */
void js_number(buf *b, double x);
/* String(v): a string as it is, a number as above, "true", "null",
 * arrays joined by ",", objects "[object Object]"; NULL (undefined) as
 * "undefined". */
void js_string(buf *b, const json_t *v);
/* JSON.stringify(v): JavaScript's key order (integer keys first, in
 * order), its escapes (\u001f in lower case, "/" as it is) and numbers. */
void js_json(buf *b, const json_t *v);
/* The keys of an object in JavaScript's order (Object.keys): integer keys
 * first, ascending, then the rest as inserted. malloc'd; NULL when empty
 * or out of memory. */
const char **js_keys(const json_t *obj, size_t *n);
/* The text v reads as when it keys a Map, so that keys the Map takes as
 * the same (SameValueZero: equal strings, equal numbers, both true, both
 * null, both undefined (NULL)) read the same and others differ: a tag,
 * then the value. -1 for an object or array, never the same as another. */
int js_map_key(buf *b, const json_t *v);
/* Whether v is the string s (v === s). */
int js_is_string(const json_t *v, const char *s);
/* Whether v is truthy: not undefined (NULL), null, false, 0, NaN or "". */
int js_truthy(const json_t *v);
/* Number(v): a number as it is, null 0, a boolean 0 or 1, and a string
 * (or what String() makes of an array or object) read as JavaScript reads
 * it: trimmed, "" as 0, [+-]Infinity, 0x / 0o / 0b integers, a decimal
 * literal; NaN for anything else and for undefined (NULL). */
double js_to_number(const json_t *v);
/* Math.round(x): half-way rounds up. */
double js_round(double x);
/* x.toFixed(1) for 0 <= x < 1e21: the exact value rounded, half-way up. */
void js_fixed1(buf *b, double x);

/* The length of the JavaScript whitespace character (WhiteSpace or
 * LineTerminator, what `\s` and trim() take) at s[0], or 0. */
size_t js_space_at(const char *s, size_t len);
/* text with every run of whitespace that holds a '\n' replaced by one
 * space: .replace(/\s*\n\s*\/g, ' '). */
void js_join_lines(buf *b, const char *text, size_t len);
/* text without the whitespace at its ends (trim()), as [*start, *end). */
void js_trim(const char *text, size_t len, size_t *start, size_t *end);

#endif
