/* revealHidden() of www/reveal.mjs, byte for byte: each character that
 * changes how text looks without showing itself (C0 and C1 controls but
 * newline and tab, format characters such as bidi overrides and
 * zero-width spaces, the line and paragraph separators) written by name,
 * ⟨U+202E⟩, so that a summary pasted into a ticket reads as it was
 * recorded. The set is the page's, Unicode 17.0, written out in both. */
#ifndef BG_JS_REVEAL_H
#define BG_JS_REVEAL_H

#include <stddef.h>

#include "buf.h"

/* Appends text[0..len) to b with its hidden characters named. Bytes that
 * are not UTF-8 are copied as they are (the journal holds UTF-8). */
void js_reveal(buf *b, const char *text, size_t len);

#endif
