/* libFuzzer target: bytes -> SSE parser -> message assembler -> result.
 *
 * The first input byte picks the chunk size the rest is fed in, so one
 * corpus explores the parser's state carried across reads as well as the
 * assembler's handling of any event sequence. Limits are small so that the
 * cap paths are reached too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_entry.h"
#include "model_stream.h"
#include "sse_parser.h"

#define FUZZ_MAX_EVENT_BYTES (64 * 1024)
#define FUZZ_MAX_CONTENT_BYTES (256 * 1024)

typedef struct fuzz_run {
  model_stream ms;
  int rc;
  unsigned char last; /* the last text byte seen: reading it checks len */
} fuzz_run;

static int fuzz_on_event(void *ud, const char *event, size_t event_len, const char *data,
                         size_t data_len) {
  fuzz_run *r = ud;
  r->rc = model_stream_event(&r->ms, event, event_len, data, data_len);
  return r->rc == MODEL_STREAM_MORE ? 0 : 1;
}

static void fuzz_on_text(void *ud, const char *text, size_t len) {
  fuzz_run *r = ud;
  if (len > 0) r->last = (unsigned char)text[len - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = (size_t)data[0] + 1;
  data++;
  size--;
  fuzz_run r = {.rc = MODEL_STREAM_MORE};
  sse_parser sp;
  sse_parser_init(&sp, FUZZ_MAX_EVENT_BYTES, fuzz_on_event, &r);
  model_stream_init(&r.ms, FUZZ_MAX_CONTENT_BYTES, fuzz_on_text, &r);
  for (size_t at = 0; at < size; at += chunk) {
    size_t n = size - at < chunk ? size - at : chunk;
    if (sse_parser_feed(&sp, (const char *)data + at, n) != 0) break;
  }
  if (r.rc == MODEL_STREAM_DONE) {
    model_response resp;
    if (model_stream_result(&r.ms, &resp) == 0) free(json_dumps(resp.message, JSON_COMPACT));
  }
  sse_parser_free(&sp);
  model_stream_free(&r.ms);
  return 0;
}
