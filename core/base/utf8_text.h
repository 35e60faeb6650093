/* Text for JSON: command output and script results are bytes, but every
 * JSON string the daemon writes (events, API answers, the model's
 * tool_result) must be well-formed UTF-8. */
#ifndef BG_UTF8_TEXT_H
#define BG_UTF8_TEXT_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at s (n bytes left), or 0. */
size_t utf8_text_seq_len(const unsigned char *s, size_t n);

/* A malloc'd, NUL-terminated copy in which every invalid byte is U+FFFD;
 * NULL when out of memory. */
char *utf8_text_sanitize(const char *text, size_t len, size_t *outlen);

/* How many of the last bytes of s begin a sequence that more bytes could
 * complete (0 to 3): a stream cut into chunks holds them back for the next
 * chunk instead of turning a split character into U+FFFD. */
size_t utf8_text_incomplete_tail(const char *s, size_t n);

/* Text out of a byte stream cut into chunks: a character split between
 * two chunks waits for its end. Zero-initialise one per stream. */
typedef struct utf8_stream {
  char carry[4];
  size_t carry_len;
} utf8_stream;

/* The sanitised text of what can be shown so far (malloc'd, NUL-ended;
 * NULL when out of memory, and then the chunk is lost). */
char *utf8_stream_text(utf8_stream *st, const char *bytes, size_t len, size_t *outlen);

/* The two-character escape JSON has for c (backslash n for a newline), or
 * NULL: other control characters take the six-character escape of their
 * code, the rest stands as it is. */
const char *utf8_text_json_escape(unsigned char c);

/* How many bytes of s (len of them) to keep so that at most max are kept
 * and no character is cut in two: max itself, or a little less. */
size_t utf8_text_cut(const char *s, size_t len, size_t max);

/* A title out of text: at most max bytes, cut on a character boundary,
 * on one line (newlines and tabs become spaces). malloc'd; NULL when out
 * of memory. */
char *utf8_text_title(const char *text, size_t max);

#endif
