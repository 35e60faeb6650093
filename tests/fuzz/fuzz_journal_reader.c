/* libFuzzer target: bytes -> journal reader -> records, garbage, torn line;
 * and the same bytes through the chain's verifier, with and without a key.
 *
 * Whatever the bytes, the reader must end, count lines forward, keep
 * good_bytes within the input and at a line's end, and hand out only
 * objects with a string "kind", whether it reads every record or skips
 * some kinds. The verifier must end too, break at most once at a line that
 * exists, have named a kind of damage with a reason by the end, and never
 * count more unchained lines than lines.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_entry.h"
#include "journal_reader.h"
#include "journal_verify.h"

static void check_verify(const uint8_t *data, size_t size, const journal_chain_key *key) {
  journal_verifier v;
  journal_verifier_init(&v, key);
  int rc = journal_verify_bytes(&v, (const char *)data, size);
  if ((rc != 0) != v.broken || v.deciding) abort();
  if (v.broken &&
      (v.damage == JOURNAL_DAMAGE_NONE || v.break_line == 0 || v.break_line > v.lines || !v.why[0]))
    abort();
  if (v.unchained_lines > v.lines) abort();
  journal_chain_line p;
  if (journal_chain_parse((const char *)data, size, &p) == 0 && p.hashed_len > size) abort();
}

/* Read once as recovery does (every record) and once as replay does (only
 * some kinds, the rest skipped unparsed). */
static void read_all(const uint8_t *data, size_t size, const char *const *wanted) {
  journal_reader r;
  journal_reader_init(&r, (const char *)data, size);
  journal_reader_want(&r, wanted);
  size_t last_line = 0;
  for (;;) {
    json_t *record = NULL;
    char why[256];
    journal_read_result res = journal_reader_next(&r, &record, why, sizeof why);
    if (res == JOURNAL_READ_END) break;
    if (r.line <= last_line || r.good_bytes > size) abort();
    if (r.good_bytes > 0 && data[r.good_bytes - 1] != '\n') abort();
    last_line = r.line;
    if (res == JOURNAL_READ_RECORD) {
      if (!json_is_object(record) || !json_is_string(json_object_get(record, "kind"))) abort();
      json_decref(record);
    } else if (res == JOURNAL_READ_GARBAGE) {
      if (strnlen(why, sizeof why) == sizeof why) abort();
    } else {
      break; /* torn: the last line */
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const wanted[] = {"tool_call", "event tool", NULL};
  read_all(data, size, NULL);
  read_all(data, size, wanted);
  unsigned long long ms;
  char stamp[32];
  size_t n = size < sizeof stamp - 1 ? size : sizeof stamp - 1;
  memcpy(stamp, data, n);
  stamp[n] = '\0';
  (void)journal_parse_utc(stamp, &ms);
  static const journal_chain_key key = {(const unsigned char *)"fuzz-key-0123456789abcdef", 25};
  check_verify(data, size, NULL);
  check_verify(data, size, &key);
  return 0;
}
