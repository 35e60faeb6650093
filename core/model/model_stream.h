/* Assembles one assistant message from the Messages API's stream events.
 *
 * Pure: it is handed whole SSE events (name and data, as sse_parser gives
 * them) and keeps the state of every content block by its index, so that
 * the message it builds is exactly what the API accepts back: blocks in
 * index order with every field the API sent (citations, caller, ...),
 * tool_use input parsed from the concatenated partial_json at
 * content_block_stop, thinking with its signature, redacted_thinking and
 * unknown block types verbatim, and empty text blocks dropped.
 */
#ifndef BG_MODEL_STREAM_H
#define BG_MODEL_STREAM_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "limits_table.h"
#include "model_response.h"

/* model_stream_event results; the errors leave error_type/error_message. */
#define MODEL_STREAM_MORE 0
#define MODEL_STREAM_DONE 1        /* message_stop: call model_stream_result */
#define MODEL_STREAM_EAPI (-10)    /* an "error" event: error_type is the API's */
#define MODEL_STREAM_EPROTO (-11)  /* events out of order or malformed */
#define MODEL_STREAM_ETOOBIG (-12) /* a bound below was passed */
#define MODEL_STREAM_ENOMEM (-13)

typedef struct model_stream_block model_stream_block;

typedef struct model_stream {
  void (*on_text)(void *ud, const char *text, size_t len);
  void *ud;
  size_t max_content_bytes; /* text, thinking and tool JSON of all blocks */
  size_t content_bytes;
  int state; /* before message_start, streaming, stopped, failed */
  model_stream_block *blocks[MODEL_STREAM_MAX_BLOCKS_COUNT];
  char *message_id;
  char *stop_reason;
  json_t *stop_details;
  model_usage usage;
  json_t *message;        /* built by model_stream_result */
  int error_code;         /* the MODEL_STREAM_E* every later event returns */
  const char *error_type; /* after an error return; owned here */
  char *error_message;
  char *error_type_owned;
} model_stream;

/* on_text gets each text_delta of a text block as it arrives. */
void model_stream_init(model_stream *s, size_t max_content_bytes,
                       void (*on_text)(void *ud, const char *text, size_t len), void *ud);
void model_stream_free(model_stream *s);

/* Applies one event. MODEL_STREAM_MORE, MODEL_STREAM_DONE, or an error after
 * which the stream stays failed; every later call returns the same error.
 * Events after message_stop are ignored. */
int model_stream_event(model_stream *s, const char *event, size_t event_len, const char *data,
                       size_t data_len);

/* After MODEL_STREAM_DONE: fills resp (all pointers owned by s; request_id
 * is left NULL for the caller). 0, or MODEL_STREAM_ENOMEM. */
int model_stream_result(model_stream *s, model_response *resp);

#endif
