#include "http_request_parser.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http_path.h"

struct http_request_parser {
  llhttp_t ll;
  http_parse_state state;
  size_t max_header_bytes;
  size_t max_body_bytes;
  size_t head_bytes; /* raw bytes of the current head seen so far */
  char head_last;    /* the last head byte, for the bare-LF check */
  /* The head as NUL-terminated strings: target, then name and value of each
   * header. Offsets, not pointers, because the buffer moves as it grows. */
  buf head;
  size_t name_off[HTTP_REQUEST_MAX_HEADER_COUNT];
  size_t value_off[HTTP_REQUEST_MAX_HEADER_COUNT];
  size_t header_count;
  bool in_field; /* the next name chunk continues the current name */
  /* Trailer fields and chunk extensions are read and dropped: they arrive
   * after the head was handed out, so they must not touch it. Only their
   * sizes are kept, to bound them. */
  size_t trailer_bytes;
  size_t extension_bytes;
  buf body;
  char *path;
  http_header headers[HTTP_REQUEST_MAX_HEADER_COUNT];
  http_request head_req; /* req as it was when the head completed, body empty */
  http_request req;
  bool keep_alive;
  int error_status;
  const char *error_reason;
};

/* Lives here rather than in http_server.c so this file stays free of
 * sockets: the fuzz target links it alone. */
const char *http_request_header(const http_request *req, const char *name) {
  for (size_t i = 0; i < req->header_count; i++)
    if (strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
  return NULL;
}

static http_request_parser *parser_of(llhttp_t *ll) { return ll->data; }

/* Records why parsing stops; llhttp turns the -1 into an error return. */
static int parser_fail(http_request_parser *p, int status, const char *reason) {
  p->error_status = status;
  p->error_reason = reason;
  return -1;
}

static int head_append(http_request_parser *p, const char *at, size_t n) {
  if (buf_append(&p->head, at, n) != 0) return parser_fail(p, 431, "request head too large");
  return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t n) {
  return head_append(parser_of(ll), at, n);
}

static int on_string_complete(llhttp_t *ll) { return head_append(parser_of(ll), "", 1); }

/* A trailer field's bytes (name, value, or the 2 of a separator). The head
 * and its trailers share one limit, as if the trailers were more headers. */
static int trailer_count(http_request_parser *p, size_t n) {
  p->trailer_bytes += n;
  if (p->head_bytes + p->trailer_bytes > p->max_header_bytes)
    return parser_fail(p, 431, "request trailers too large");
  return 0;
}

static bool in_trailers(const http_request_parser *p) { return p->state == HTTP_PARSE_BODY; }

static int on_header_field(llhttp_t *ll, const char *at, size_t n) {
  http_request_parser *p = parser_of(ll);
  if (in_trailers(p)) return trailer_count(p, n);
  if (!p->in_field) {
    if (p->header_count == HTTP_REQUEST_MAX_HEADER_COUNT)
      return parser_fail(p, 431, "too many request headers");
    p->name_off[p->header_count] = p->head.len;
    p->in_field = true;
  }
  return head_append(p, at, n);
}

/* RFC 9110 tchar. llhttp (strict build or not) lets an empty name through,
 * and its default build a space inside one, which proxies may read
 * differently: a classic smuggling vector. */
static bool is_token_char(unsigned char ch) {
  if (ch >= '0' && ch <= '9') return true;
  if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') return true;
  return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch);
}

static int on_header_field_complete(llhttp_t *ll) {
  http_request_parser *p = parser_of(ll);
  if (in_trailers(p)) return trailer_count(p, 2);
  p->in_field = false;
  if (p->head.len == p->name_off[p->header_count]) return parser_fail(p, 400, "empty header name");
  for (size_t i = p->name_off[p->header_count]; i < p->head.len; i++)
    if (!is_token_char((unsigned char)p->head.data[i]))
      return parser_fail(p, 400, "invalid character in a header name");
  if (head_append(p, "", 1) != 0) return -1;
  p->value_off[p->header_count] = p->head.len;
  return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n) {
  http_request_parser *p = parser_of(ll);
  if (in_trailers(p)) return trailer_count(p, n);
  return head_append(p, at, n);
}

static int on_header_value_complete(llhttp_t *ll) {
  http_request_parser *p = parser_of(ll);
  if (in_trailers(p)) return trailer_count(p, 2);
  /* llhttp drops leading whitespace but keeps trailing whitespace. */
  size_t start = p->value_off[p->header_count];
  while (p->head.len > start &&
         (p->head.data[p->head.len - 1] == ' ' || p->head.data[p->head.len - 1] == '\t'))
    p->head.len--;
  if (head_append(p, "", 1) != 0) return -1;
  p->header_count++;
  return 0;
}

/* Target splits into the path (up to '?' or '#'), decoded, and the raw
 * query after '?'. Only origin-form ("/...") has a path. */
static void parser_split_target(http_request_parser *p) {
  const char *target = p->req.target;
  const char *q = strchr(target, '?');
  p->req.query = q ? q + 1 : "";
  if (target[0] != '/') return;
  size_t raw_len = strcspn(target, "?#");
  p->path = malloc(raw_len + 1);
  if (p->path && http_path_decode(target, raw_len, p->path, NULL) != 0) {
    free(p->path);
    p->path = NULL;
  }
  p->req.path = p->path;
}

/* RFC 3986 host (reg-name, IPv4 or a bracketed IP literal) and optional
 * port, by character class: enough to keep out what could change how the
 * authority is read (spaces, '@', '/', '?', '#'). Empty is allowed (RFC
 * 9112 section 3.2: a target without an authority sends an empty Host). */
static bool host_value_ok(const char *v) {
  for (; *v; v++) {
    unsigned char ch = (unsigned char)*v;
    bool alnum = (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
    if (!alnum && !strchr("-._~%!$&'()*+,;=:[]", ch)) return false;
  }
  return true;
}

/* RFC 9112 section 3.2: exactly one Host in HTTP/1.1, at most one in 1.0,
 * and a value that is an authority; otherwise 400. The Host field is what
 * the same-origin check compares Origin with, so it must be unambiguous. */
static int parser_check_host(http_request_parser *p, const llhttp_t *ll) {
  const char *host = NULL;
  for (size_t i = 0; i < p->req.header_count; i++) {
    if (strcasecmp(p->headers[i].name, "Host") != 0) continue;
    if (host) return parser_fail(p, 400, "more than one Host header");
    host = p->headers[i].value;
  }
  if (!host && ll->http_minor == 1) return parser_fail(p, 400, "no Host header");
  if (host && !host_value_ok(host)) return parser_fail(p, 400, "invalid Host header");
  return 0;
}

/* Only "Transfer-Encoding: chunked" is understood; llhttp has already
 * refused codings where chunked is not last. */
static bool parser_te_is_plain_chunked(const http_request_parser *p) {
  int seen = 0;
  for (size_t i = 0; i < p->req.header_count; i++) {
    if (strcasecmp(p->headers[i].name, "Transfer-Encoding") != 0) continue;
    if (++seen > 1 || strcasecmp(p->headers[i].value, "chunked") != 0) return false;
  }
  return true;
}

static int on_headers_complete(llhttp_t *ll) {
  http_request_parser *p = parser_of(ll);
  for (size_t i = 0; i < p->header_count; i++) {
    p->headers[i].name = p->head.data + p->name_off[i];
    p->headers[i].value = p->head.data + p->value_off[i];
  }
  p->req.method = llhttp_method_name((llhttp_method_t)llhttp_get_method(ll));
  p->req.target = p->head.data;
  p->req.headers = p->headers;
  p->req.header_count = p->header_count;
  parser_split_target(p);

  /* llhttp takes "GET /" with no version as HTTP/0.9. */
  if (ll->http_major != 1 || ll->http_minor > 1)
    return parser_fail(p, 400, "unsupported HTTP version");
  for (const unsigned char *t = (const unsigned char *)p->req.target; *t; t++)
    if (*t <= ' ' || *t >= 0x7f) return parser_fail(p, 400, "invalid character in the target");
  if (ll->method == HTTP_CONNECT) return parser_fail(p, 501, "CONNECT is not supported");
  if (parser_check_host(p, ll) != 0) return -1;
  if (http_request_header(&p->req, "Expect"))
    return parser_fail(p, 417, "Expect is not supported; send the body directly");
  if ((ll->flags & F_CHUNKED) && !parser_te_is_plain_chunked(p))
    return parser_fail(p, 501, "only the chunked transfer coding is supported");
  if ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > p->max_body_bytes)
    return parser_fail(p, 413, "request body too large");
  /* Upgrade is optional for a server to honour; clearing the flag makes
   * llhttp treat the request as an ordinary one instead of stopping. */
  ll->upgrade = 0;
  p->head_req = p->req;
  p->head_req.body = "";
  p->state = HTTP_PARSE_HEAD_DONE;
  /* Pausing here tells feed() exactly where the head ended, and lets the
   * caller look at the head before a body byte is read. */
  return HPE_PAUSED;
}

static int on_body(llhttp_t *ll, const char *at, size_t n) {
  http_request_parser *p = parser_of(ll);
  if (p->body.len + n + p->extension_bytes > p->max_body_bytes || buf_append(&p->body, at, n) != 0)
    return parser_fail(p, 413, "request body too large");
  return 0;
}

/* Extensions count against the body limit: they travel inside the body. */
static int on_chunk_extension(llhttp_t *ll, const char *at, size_t n) {
  (void)at;
  http_request_parser *p = parser_of(ll);
  p->extension_bytes += n;
  if (p->body.len + p->extension_bytes > p->max_body_bytes)
    return parser_fail(p, 413, "request body too large (chunk extensions)");
  return 0;
}

static int on_message_complete(llhttp_t *ll) {
  http_request_parser *p = parser_of(ll);
  /* RFC 9112 section 6.1: an HTTP/1.0 message with Transfer-Encoding has
   * faulty framing as far as any 1.0 intermediary knows; answer it, then
   * close rather than read on from where it may think the message ended. */
  bool te_in_1_0 = ll->http_minor == 0 && (ll->flags & F_TRANSFER_ENCODING);
  p->keep_alive = llhttp_should_keep_alive(ll) != 0 && !te_in_1_0;
  p->req.body = buf_cstr(&p->body);
  p->req.body_len = p->body.len;
  p->state = HTTP_PARSE_DONE;
  /* Pausing leaves any pipelined bytes for after this request's answer. */
  return HPE_PAUSED;
}

static const llhttp_settings_t parser_settings = {
    .on_url = on_url,
    .on_url_complete = on_string_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_extension_name = on_chunk_extension,
    .on_chunk_extension_value = on_chunk_extension,
    .on_message_complete = on_message_complete,
};

int http_request_parser_new(http_request_parser **out, size_t max_header_bytes,
                            size_t max_body_bytes) {
  http_request_parser *p = calloc(1, sizeof(*p));
  if (!p) return -1;
  llhttp_init(&p->ll, HTTP_REQUEST, &parser_settings);
  p->ll.data = p;
  p->max_header_bytes = max_header_bytes;
  p->max_body_bytes = max_body_bytes;
  buf_init(&p->head, max_header_bytes);
  buf_init(&p->body, max_body_bytes);
  p->state = HTTP_PARSE_IDLE;
  *out = p;
  return 0;
}

static void parser_clear_request(http_request_parser *p) {
  buf_free(&p->head);
  buf_free(&p->body);
  free(p->path);
  p->path = NULL;
  p->header_count = 0;
  p->in_field = false;
  p->trailer_bytes = 0;
  p->extension_bytes = 0;
  p->head_bytes = 0;
  p->head_last = '\0';
  p->keep_alive = false;
  memset(&p->req, 0, sizeof(p->req));
  memset(&p->head_req, 0, sizeof(p->head_req));
}

void http_request_parser_free(http_request_parser *p) {
  if (!p) return;
  parser_clear_request(p);
  free(p);
}

/* llhttp ends a request line at a bare LF even in its strict build; every
 * line of the head must end in CRLF, or a proxy may split it differently. */
static bool head_has_bare_lf(http_request_parser *p, const char *at, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (at[i] == '\n' && p->head_last != '\r') return true;
    p->head_last = at[i];
  }
  return false;
}

static void parser_set_error(http_request_parser *p) {
  p->state = HTTP_PARSE_ERROR;
  if (p->error_status) return;
  p->error_status = 400;
  p->error_reason = llhttp_get_error_reason(&p->ll);
  if (!p->error_reason) p->error_reason = "malformed request";
}

http_parse_state http_request_parser_feed(http_request_parser *p, const char *data, size_t len,
                                          size_t *consumed) {
  size_t off = 0;
  /* After the pause at the end of the head, llhttp must run once more even
   * with no bytes left: a request without a body completes right there. The
   * pause is where a feed returns HEAD_DONE; the next one resumes. */
  bool run_empty = false;
  if (p->state == HTTP_PARSE_HEAD_DONE) {
    llhttp_resume(&p->ll);
    p->state = HTTP_PARSE_BODY;
    run_empty = true;
  }
  while ((off < len || run_empty) && p->state != HTTP_PARSE_HEAD_DONE &&
         p->state != HTTP_PARSE_DONE && p->state != HTTP_PARSE_ERROR) {
    run_empty = false;
    if (p->state == HTTP_PARSE_IDLE) p->state = HTTP_PARSE_HEAD;
    http_parse_state before = p->state;
    llhttp_errno_t err = llhttp_execute(&p->ll, data + off, len - off);
    size_t used = len - off;
    if (err != HPE_OK) {
      const char *pos = llhttp_get_error_pos(&p->ll);
      if (pos >= data + off && pos <= data + len) used = (size_t)(pos - (data + off));
    }
    off += used;
    if (before == HTTP_PARSE_HEAD && (err == HPE_OK || err == HPE_PAUSED)) {
      if (head_has_bare_lf(p, data + off - used, used)) {
        parser_fail(p, 400, "line ends in LF without CR");
        parser_set_error(p);
        break;
      }
      p->head_bytes += used;
      if (p->head_bytes > p->max_header_bytes) {
        parser_fail(p, 431, "request head too large");
        parser_set_error(p);
        break;
      }
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
      parser_set_error(p);
    }
  }
  *consumed = off;
  return p->state;
}

http_parse_state http_request_parser_state(const http_request_parser *p) { return p->state; }

const http_request *http_request_parser_request(const http_request_parser *p) {
  return p->state == HTTP_PARSE_DONE ? &p->req : NULL;
}

const http_request *http_request_parser_head(const http_request_parser *p) {
  bool has_head = p->state == HTTP_PARSE_HEAD_DONE || p->state == HTTP_PARSE_BODY ||
                  p->state == HTTP_PARSE_DONE;
  return has_head ? &p->head_req : NULL;
}

bool http_request_parser_keep_alive(const http_request_parser *p) { return p->keep_alive; }

int http_request_parser_error_status(const http_request_parser *p) { return p->error_status; }

const char *http_request_parser_error_reason(const http_request_parser *p) {
  return p->error_reason ? p->error_reason : "";
}

void http_request_parser_next(http_request_parser *p) {
  if (p->state != HTTP_PARSE_DONE) return;
  parser_clear_request(p);
  llhttp_resume(&p->ll);
  p->state = HTTP_PARSE_IDLE;
}
