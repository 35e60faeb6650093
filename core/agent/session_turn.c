#include "session_turn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "buf.h"
#include "journal_session.h"
#include "journal_store.h"
#include "log.h"
#include "session_request.h"
#include "utf8_text.h"

typedef enum { TURN_ACTIVE, TURN_CANCELLED, TURN_TIMED_OUT } turn_stop;

typedef struct session_turn {
  session *s;
  lua_host *scripts; /* the set the turn started with, held to its end */
  char *model;
  char *identity;
  char *system_prompt;
  unsigned long long started_ms;
  size_t messages_at_start; /* to take back a refused turn */
  int model_calls;
  model_call *call;  /* in flight, or NULL */
  action *action;    /* the tool call in flight, or NULL */
  json_t *tool_uses; /* tool_use blocks of the current assistant message */
  size_t tool_index;
  json_t *tool_results;
  char *final_text;      /* the last message's prose, its first part */
  size_t final_text_cut; /* bytes of it not kept */
  model_usage usage;
  uv_timer_t deadline;
  /* Text deltas that arrived in one read of the stream go out as one
   * text_delta event, sent from the loop's next turn: a fast stream costs
   * a few frames, not one per token, and a slow one is not delayed. */
  buf deltas;
  redactor_stream deltas_redact; /* a secret across two deltas is caught */
  uv_timer_t relay;
  int open_handles;
  turn_stop stop;
  char *cancelled_by; /* identity of who cancelled */
} session_turn;

static void turn_call_model(session_turn *t);
static void turn_run_next_tool(session_turn *t);

static void turn_free(uv_handle_t *h) {
  session_turn *t = h->data;
  if (--t->open_handles > 0) return;
  buf_free(&t->deltas);
  free(t->deltas_redact.held);
  if (t->scripts) lua_host_release(t->scripts);
  json_decref(t->tool_uses);
  json_decref(t->tool_results);
  free(t->model);
  free(t->identity);
  free(t->system_prompt);
  free(t->final_text);
  free(t->cancelled_by);
  free(t);
}

static json_t *usage_json(const model_usage *u) {
  return json_pack("{s:I, s:I, s:I, s:I}", "input_tokens", (json_int_t)u->input_tokens,
                   "output_tokens", (json_int_t)u->output_tokens, "cache_read_input_tokens",
                   (json_int_t)u->cache_read_input_tokens, "cache_creation_input_tokens",
                   (json_int_t)u->cache_creation_input_tokens);
}

static void turn_emit_delta(session_turn *t, const char *text, size_t len) {
  if (len > 0) session_emit_kind(t->s, "text_delta", json_pack("{s:s%}", "text", text, len));
}

/* What the deltas gathered goes out, but for a tail that may begin a
 * secret; at the end of a message (last) that tail goes too. */
static void turn_relay(session_turn *t, int last) {
  uv_timer_stop(&t->relay);
  size_t n;
  char *safe = t->deltas.len
                   ? redactor_stream_push(&t->deltas_redact, t->deltas.data, t->deltas.len, &n)
                   : NULL;
  buf_reset(&t->deltas);
  if (safe) turn_emit_delta(t, safe, n);
  free(safe);
  if (!last) return;
  char *rest = redactor_stream_end(&t->deltas_redact, &n);
  if (rest) turn_emit_delta(t, rest, n);
  free(rest);
}

static void turn_relay_deltas(session_turn *t) { turn_relay(t, 1); }

static void turn_on_relay(uv_timer_t *timer) { turn_relay(timer->data, 0); }

/* The one way a turn ends. Its result repeats the final answer for
 * today's client, which shows it beside the prose; an answer longer than
 * one text event is cut there (the whole of it is in the text events). */
static void turn_finish(session_turn *t, int is_error, const char *result, size_t cut_bytes) {
  session *s = t->s;
  turn_relay_deltas(t);
  if (t->stop == TURN_CANCELLED)
    session_emit_kind(s, "cancelled", json_pack("{s:s?}", "identity", t->cancelled_by));
  unsigned long long duration = log_now_ms() - t->started_ms;
  json_t *ev = json_pack("{s:s, s:b, s:I, s:o}", "result", result ? result : "", "is_error",
                         is_error, "duration_ms", (json_int_t)duration, "usage",
                         usage_json(&t->usage));
  if (ev && cut_bytes)
    json_object_set_new(ev, "result_cut_bytes", json_integer((json_int_t)cut_bytes));
  session_emit_kind(s, "result", ev);
  session_emit_kind(s, "turn_end", NULL);
  const char *outcome = t->stop == TURN_CANCELLED   ? "cancelled"
                        : t->stop == TURN_TIMED_OUT ? "timeout"
                        : is_error                  ? "error"
                                                    : "ok";
  if (s->app->metrics) metric_inc(metric_at(s->app->metrics->turns_ended, outcome));
  s->status = t->stop == TURN_CANCELLED ? SESSION_CANCELLED
              : is_error                ? SESSION_FAILED
                                        : SESSION_IDLE;
  s->turn = NULL;
  journal_session_flush(s);
  uv_timer_stop(&t->deadline);
  uv_close((uv_handle_t *)&t->deadline, turn_free);
  uv_close((uv_handle_t *)&t->relay, turn_free);
}

static void turn_fail(session_turn *t, const char *error_type, const char *message) {
  session_emit_kind(t->s, "error",
                    json_pack("{s:s, s:s}", "error", message, "error_type", error_type));
  turn_finish(t, 1, message, 0);
}

/* Why the turn stopped early, when it did. */
static int turn_finish_if_stopped(session_turn *t) {
  if (t->stop == TURN_CANCELLED) {
    turn_finish(t, 1, "cancelled by the operator", 0);
    return 1;
  }
  if (t->stop == TURN_TIMED_OUT) {
    char msg[128];
    snprintf(msg, sizeof msg, "the turn exceeded its time limit of %ld s",
             t->s->app->options.turn.turn_timeout_s);
    turn_fail(t, "turn_timeout", msg);
    return 1;
  }
  return 0;
}

/* ---- the model call ---- */

/* Prose as it streams; the whole block follows as `text` events when the
 * message is complete (turn_emit_text_blocks). */
static void turn_on_text(void *ud, const char *text, size_t len) {
  session_turn *t = ud;
  if (t->deltas.len + len > SESSION_TEXT_EVENT_MAX_BYTES) turn_relay(t, 0);
  if (buf_append(&t->deltas, text, len) != 0) {
    /* One delta over the bound, or no memory: it goes through alone. */
    size_t n;
    char *safe = redactor_stream_push(&t->deltas_redact, text, len, &n);
    if (safe) turn_emit_delta(t, safe, n);
    free(safe);
    return;
  }
  if (!uv_is_active((uv_handle_t *)&t->relay)) uv_timer_start(&t->relay, turn_on_relay, 0, 0);
}

/* Each text block of a complete message, whole, as today's client reads
 * prose: `text` events in order, whose concatenation is the message's
 * text. A block longer than one event may carry goes in parts, cut on a
 * character boundary, so that no frame outgrows a client's queue. */
static void turn_emit_text_blocks(session_turn *t, const json_t *message) {
  size_t i;
  json_t *block;
  json_array_foreach(json_object_get(message, "content"), i, block) {
    const char *type = json_string_value(json_object_get(block, "type"));
    const json_t *text = json_object_get(block, "text");
    if (!type || strcmp(type, "text") != 0 || !json_is_string(text)) continue;
    const char *at = json_string_value(text);
    size_t left = json_string_length(text);
    while (left > 0) {
      size_t n = utf8_text_cut(at, left, SESSION_TEXT_EVENT_MAX_BYTES);
      if (n == 0) n = left; /* not UTF-8 at the cut: the API sends UTF-8 */
      session_emit_kind(t->s, "text", json_pack("{s:s%}", "text", at, n));
      /* From the first part on, the blocks stand in for the deltas: a
       * long answer is not held twice while the rest goes out. */
      session_forget_deltas(t->s);
      at += n;
      left -= n;
    }
  }
}

static void turn_on_retry(void *ud, int attempt, long delay_ms, const model_error *why) {
  session_turn *t = ud;
  turn_relay_deltas(t);
  session_emit_kind(t->s, "retry",
                    json_pack("{s:i, s:I, s:s, s:s?, s:i, s:s?}", "attempt", attempt, "delay_ms",
                              (json_int_t)delay_ms, "error", why->message ? why->message : "",
                              "error_type", why->type, "http_status", why->http_status,
                              "request_id", why->request_id));
}

static void usage_add(model_usage *total, const model_usage *u) {
  total->input_tokens += u->input_tokens;
  total->output_tokens += u->output_tokens;
  total->cache_read_input_tokens += u->cache_read_input_tokens;
  total->cache_creation_input_tokens += u->cache_creation_input_tokens;
}

/* The text blocks of an assistant message, joined, as far as max bytes
 * (cut on a character boundary); *cut gets how many bytes were left out. */
static char *message_text(const json_t *message, size_t max, size_t *cut) {
  size_t i;
  json_t *block;
  buf out;
  buf_init(&out, max);
  *cut = 0;
  json_array_foreach(json_object_get(message, "content"), i, block) {
    const char *type = json_string_value(json_object_get(block, "type"));
    json_t *text = json_object_get(block, "text");
    if (!type || strcmp(type, "text") != 0 || !json_is_string(text)) continue;
    const char *s = json_string_value(text);
    size_t len = json_string_length(text), room = max - out.len;
    size_t kept = *cut ? 0 : utf8_text_cut(s, len, room);
    buf_append(&out, s, kept);
    *cut += len - kept;
  }
  size_t n;
  char *joined = buf_steal(&out, &n);
  return joined ? joined : strdup("");
}

/* Content blocks of the given type, new reference. */
static json_t *blocks_of_type(const json_t *message, const char *type, int keep) {
  json_t *out = json_array();
  size_t i;
  json_t *block;
  json_array_foreach(json_object_get(message, "content"), i, block) {
    const char *bt = json_string_value(json_object_get(block, "type"));
    int match = bt && strcmp(bt, type) == 0;
    if (match == keep) json_array_append(out, block);
  }
  return out;
}

static void turn_keep_assistant(session_turn *t, json_t *content) {
  session_add_assistant(t->s, content);
}

static void turn_on_model_done(void *ud, int status, const model_response *resp,
                               const model_error *err) {
  session_turn *t = ud;
  t->call = NULL;
  turn_relay_deltas(t);
  if (status == UV_ECANCELED) {
    if (!turn_finish_if_stopped(t)) turn_fail(t, "cancelled", "model call cancelled");
    return;
  }
  if (turn_finish_if_stopped(t)) return;
  if (status != 0) {
    session_emit_kind(t->s, "error",
                      json_pack("{s:s, s:s?, s:i, s:s?}", "error",
                                err && err->message ? err->message : "model call failed",
                                "error_type", err ? err->type : NULL, "http_status",
                                err ? err->http_status : 0, "request_id",
                                err ? err->request_id : NULL));
    turn_finish(t, 1, err && err->message ? err->message : "model call failed", 0);
    return;
  }

  usage_add(&t->usage, &resp->usage);
  session_emit_kind(t->s, "usage",
                    json_pack("{s:o, s:o, s:s?}", "call", usage_json(&resp->usage), "turn_total",
                              usage_json(&t->usage), "request_id", resp->request_id));
  free(t->final_text);
  t->final_text = message_text(resp->message, SESSION_TEXT_EVENT_MAX_BYTES, &t->final_text_cut);
  const char *stop = resp->stop_reason ? resp->stop_reason : "";
  json_t *content = json_object_get(resp->message, "content");
  /* A refused answer is withdrawn: its prose is not kept as blocks. */
  if (strcmp(stop, "refusal") != 0) turn_emit_text_blocks(t, resp->message);

  if (strcmp(stop, "refusal") == 0) {
    /* The refused exchange must not be sent again: take the whole turn
     * back out of the conversation, as the API asks. */
    session_truncate_messages(t->s, t->messages_at_start);
    session_emit_kind(t->s, "refusal", json_pack("{s:O?}", "stop_details", resp->stop_details));
    turn_finish(t, 1, "the model declined to answer; the text shown above is withdrawn", 0);
    return;
  }
  if (strcmp(stop, "max_tokens") == 0 || resp->incomplete_tool_use) {
    turn_keep_assistant(t, blocks_of_type(resp->message, "tool_use", 0));
    turn_fail(t, "max_tokens",
              "the model's reply was cut off before it finished; a cut tool call was not run");
    return;
  }
  if (strcmp(stop, "pause_turn") == 0) {
    turn_keep_assistant(t, json_incref(content));
    turn_call_model(t);
    return;
  }
  if (strcmp(stop, "tool_use") == 0) {
    json_t *uses = blocks_of_type(resp->message, "tool_use", 1);
    turn_keep_assistant(t, json_incref(content));
    if (json_array_size(uses) > 0) {
      json_decref(t->tool_uses);
      json_decref(t->tool_results);
      t->tool_uses = uses;
      t->tool_results = json_array();
      t->tool_index = 0;
      turn_run_next_tool(t);
      return;
    }
    json_decref(uses);
  } else {
    turn_keep_assistant(t, json_incref(content));
  }
  if (strcmp(stop, "end_turn") != 0 && strcmp(stop, "stop_sequence") != 0 &&
      strcmp(stop, "tool_use") != 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "the model stopped with stop_reason '%.64s'", stop);
    turn_fail(t, "stop_reason", msg);
    return;
  }
  turn_finish(t, 0, t->final_text, t->final_text_cut);
}

static void turn_call_model(session_turn *t) {
  long max_calls = t->s->app->options.turn.max_model_calls_per_turn;
  if (t->model_calls >= max_calls) {
    char msg[128];
    snprintf(msg, sizeof msg, "the turn reached its limit of %ld model calls", max_calls);
    turn_fail(t, "model_call_limit", msg);
    return;
  }
  json_t *req = session_request_build(t->s, t->scripts, t->system_prompt, t->model);
  static const model_call_cbs cbs = {turn_on_text, turn_on_retry, turn_on_model_done};
  t->call = req ? model_call_start(t->s->app->model, req, &cbs, t) : NULL;
  json_decref(req);
  if (!t->call) {
    turn_fail(t, "internal_error", "out of memory building the model request");
    return;
  }
  t->model_calls++;
}

/* ---- tool calls ---- */

static void turn_add_result(session_turn *t, const char *id, int is_error, const char *content,
                            size_t len) {
  /* The API rejects empty text, so an empty result says so in words. */
  json_t *r = len ? json_pack("{s:s, s:s, s:s%}", "type", "tool_result", "tool_use_id", id,
                              "content", content, len)
                  : json_pack("{s:s, s:s, s:s}", "type", "tool_result", "tool_use_id", id,
                              "content", "(no output)");
  if (is_error) json_object_set_new(r, "is_error", json_true());
  json_array_append_new(t->tool_results, r);
}

/* Every tool_use needs its tool_result in the next message, even the ones a
 * cancel kept from running. */
static void turn_close_tool_round(session_turn *t) {
  for (size_t i = json_array_size(t->tool_results); i < json_array_size(t->tool_uses); i++) {
    const char *id = json_string_value(json_object_get(json_array_get(t->tool_uses, i), "id"));
    static const char msg[] = "not run: the turn was stopped first";
    turn_add_result(t, id, 1, msg, sizeof msg - 1);
  }
  session_add_user_content(t->s, t->tool_results);
  t->tool_results = NULL;
  json_decref(t->tool_uses);
  t->tool_uses = NULL;
}

/* The model hears what the gate did before the call (a forensics capture
 * a policy inserted, say) ahead of the call's own result. */
static void turn_on_action_done(void *ud, const action_outcome *o) {
  session_turn *t = ud;
  t->action = NULL;
  json_t *use = json_array_get(t->tool_uses, t->tool_index);
  const char *id = json_string_value(json_object_get(use, "id"));
  char *noted = NULL;
  if (o->note && asprintf(&noted, "[breakglass: %s]\n%.*s", o->note, (int)o->len, o->content) > 0)
    turn_add_result(t, id, o->is_error, noted, strlen(noted));
  else
    turn_add_result(t, id, o->is_error, o->content, o->len);
  free(noted);
  t->tool_index++;
  if (t->stop != TURN_ACTIVE) {
    turn_close_tool_round(t);
    turn_finish_if_stopped(t);
    return;
  }
  turn_run_next_tool(t);
}

static void turn_run_next_tool(session_turn *t) {
  if (t->tool_index >= json_array_size(t->tool_uses)) {
    turn_close_tool_round(t);
    turn_call_model(t);
    return;
  }
  json_t *use = json_array_get(t->tool_uses, t->tool_index);
  const char *id = json_string_value(json_object_get(use, "id"));
  const char *name = json_string_value(json_object_get(use, "name"));
  json_t *input = json_object_get(use, "input");
  /* -1: no such tool, which fails to run anyway. */
  int mutating = lua_host_tool_mutating(t->scripts, name ? name : "", input) == 1;
  action_call call = {.session = t->s,
                      .scripts = t->scripts,
                      .call_id = id ? id : "",
                      .tool = name ? name : "",
                      .input = input,
                      .mutating = mutating,
                      .source = "model",
                      .identity = t->identity};
  t->action = action_start(&call, &action_lua_runner, turn_on_action_done, t);
  if (!t->action) {
    static const char msg[] = "out of memory starting the call";
    action_outcome o = {.is_error = 1, .content = msg, .len = sizeof msg - 1};
    turn_on_action_done(t, &o);
  }
}

/* ---- start, cancel, time limit ---- */

static void turn_stop_now(session_turn *t, turn_stop why) {
  if (t->stop != TURN_ACTIVE) return;
  t->stop = why;
  if (t->call) model_call_cancel(t->call);
  if (t->action) action_cancel(t->action);
}

static void turn_on_deadline(uv_timer_t *timer) { turn_stop_now(timer->data, TURN_TIMED_OUT); }

static const char *turn_refusal_reason(const app *a) {
  if (!a->scripts) return "the Lua scripts are not loaded; see /readyz";
  if (!a->model)
    return "no model credential is configured: set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN "
           "(docs/api-key.md)";
  return NULL;
}

int session_turn_start(session *s, const char *prompt, const char *model, const char *identity,
                       char *err, size_t errlen) {
  app *a = s->app;
  if (s->turn) {
    snprintf(err, errlen, "a turn is already running in this session");
    return -1;
  }
  if (s->event_bytes > SESSION_MAX_EVENT_BYTES) {
    snprintf(err, errlen, "this session is full; start a new session");
    return -1;
  }
  if (journal_session_full(s, err, errlen) != 0) return -1;
  session_turn *t = calloc(1, sizeof *t);
  if (!t) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  t->s = s;
  t->model = strdup(model ? model : a->options.turn.model);
  t->identity = strdup(identity);
  t->started_ms = log_now_ms();
  uv_timer_init(a->loop, &t->deadline);
  uv_timer_init(a->loop, &t->relay);
  t->deadline.data = t->relay.data = t;
  t->open_handles = 2;
  buf_init(&t->deltas, SESSION_TEXT_EVENT_MAX_BYTES);
  t->deltas_redact.r = journal_store_redactor(t->s->app->journals);
  s->turn = t;
  s->status = SESSION_RUNNING;
  if (a->metrics) metric_inc(metric_series_of(a->metrics->turns_started, NULL));
  session_title_from_prompt(s, prompt);
  session_emit_kind(s, "user", json_pack("{s:s, s:s}", "text", prompt, "identity", identity));
  t->messages_at_start = json_array_size(s->messages);
  session_add_user_content(s, json_pack("[{s:s, s:s}]", "type", "text", "text", prompt));

  const char *refusal = turn_refusal_reason(a);
  if (refusal) {
    turn_fail(t, "not_configured", refusal);
    return 0;
  }
  t->scripts = a->scripts;
  lua_host_retain(t->scripts);
  char perr[1024];
  json_t *ctx = session_request_prompt_context(a, t->model);
  int rc = lua_host_system_prompt(t->scripts, ctx, &t->system_prompt, perr, sizeof perr);
  json_decref(ctx);
  if (rc != 0) {
    turn_fail(t, "script_error", perr);
    return 0;
  }
  uv_timer_start(&t->deadline, turn_on_deadline, (uint64_t)a->options.turn.turn_timeout_s * 1000,
                 0);
  turn_call_model(t);
  return 0;
}

int session_turn_cancel(session *s, const char *identity) {
  if (!s->turn || s->turn->stop != TURN_ACTIVE) return 0;
  log_info("session %s: turn cancelled by %s", s->id, identity);
  s->turn->cancelled_by = strdup(identity);
  turn_stop_now(s->turn, TURN_CANCELLED);
  return 1;
}

void session_turn_cancel_all(app *a) {
  for (session *s = a->sessions; s; s = s->next)
    if (s->turn) turn_stop_now(s->turn, TURN_CANCELLED);
}
