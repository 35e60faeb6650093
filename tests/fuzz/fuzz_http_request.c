/* libFuzzer target for the request parser. The first input byte sets the
 * size of the pieces the rest is fed in (0: all at once); each piece is a
 * separate allocation of exactly its size, so reading past it is caught.
 * Every outcome must be a consistent head, request or one of the
 * documented error statuses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_entry.h"
#include "http_path.h"
#include "http_request_parser.h"

enum { FUZZ_MAX_HEADER_BYTES = 2048, FUZZ_MAX_BODY_BYTES = 4096 };

static void check_request(const http_request_parser *p) {
  const http_request *r = http_request_parser_request(p);
  if (!r || !r->method || !r->target || !r->query || !r->body) abort();
  if (r->body_len > FUZZ_MAX_BODY_BYTES || r->body[r->body_len] != '\0') abort();
  if (r->header_count > HTTP_REQUEST_MAX_HEADER_COUNT) abort();
  for (size_t i = 0; i < r->header_count; i++)
    if (!r->headers[i].name[0] || !r->headers[i].value) abort();
  if (r->path) (void)http_path_is_safe(r->path);
}

/* At HEAD_DONE: the head alone, its body empty. */
static void check_head(const http_request_parser *p) {
  const http_request *h = http_request_parser_head(p);
  if (!h || !h->method || !h->target || !h->query || !h->body || h->body[0] || h->body_len) abort();
  if (h->header_count > HTTP_REQUEST_MAX_HEADER_COUNT) abort();
}

static bool status_is_documented(int status) {
  return status == 400 || status == 413 || status == 417 || status == 431 || status == 501;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t step = data[0] ? data[0] : size;
  data++;
  size--;
  http_request_parser *p = NULL;
  if (http_request_parser_new(&p, FUZZ_MAX_HEADER_BYTES, FUZZ_MAX_BODY_BYTES) != 0) return 0;
  size_t off = 0;
  /* After HEAD_DONE the parser is fed again even with nothing left: a
   * request without a body completes then. */
  while (off < size || http_request_parser_state(p) == HTTP_PARSE_HEAD_DONE) {
    size_t piece = size - off < step ? size - off : step;
    char *copy = malloc(piece ? piece : 1);
    if (!copy) break;
    memcpy(copy, data + off, piece);
    size_t used = 0;
    http_parse_state st = http_request_parser_feed(p, copy, piece, &used);
    free(copy);
    if (used > piece) abort();
    off += used;
    if (st == HTTP_PARSE_HEAD_DONE) {
      check_head(p);
    } else if (st == HTTP_PARSE_DONE) {
      check_request(p);
      http_request_parser_next(p);
    } else if (st == HTTP_PARSE_ERROR) {
      if (!status_is_documented(http_request_parser_error_status(p))) abort();
      break;
    } else if (used != piece) {
      abort();
    }
  }
  http_request_parser_free(p);
  return 0;
}
