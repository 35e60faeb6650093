#include "session_request.h"

#include <string.h>

static json_t *cache_mark(void) { return json_pack("{s:s}", "type", "ephemeral"); }

/* Thinking blocks cannot carry a cache mark; every other block can. */
static void mark_last_block(json_t *messages) {
  size_t n = json_array_size(messages);
  if (!n) return;
  json_t *content = json_object_get(json_array_get(messages, n - 1), "content");
  size_t m = json_array_size(content);
  if (!m) return;
  json_t *block = json_array_get(content, m - 1);
  const char *type = json_string_value(json_object_get(block, "type"));
  if (type && strcmp(type, "thinking") && strcmp(type, "redacted_thinking"))
    json_object_set_new(block, "cache_control", cache_mark());
}

json_t *session_request_build(const session *s, const lua_host *scripts, const char *system_prompt,
                              const char *model) {
  json_t *messages = json_deep_copy(s->messages);
  json_t *tools = lua_host_tools_json(scripts);
  json_t *system = json_pack("[{s:s, s:s, s:o}]", "type", "text", "text", system_prompt,
                             "cache_control", cache_mark());
  if (!messages || !tools || !system) {
    json_decref(messages);
    json_decref(tools);
    json_decref(system);
    return NULL;
  }
  mark_last_block(messages);
  size_t ntools = json_array_size(tools);
  if (ntools) json_object_set_new(json_array_get(tools, ntools - 1), "cache_control", cache_mark());
  json_t *req = json_pack("{s:s, s:I, s:o}", "model", model, "max_tokens",
                          (json_int_t)s->app->options.turn.max_tokens, "system", system);
  if (!req) {
    json_decref(messages);
    json_decref(tools);
    return NULL;
  }
  if (ntools)
    json_object_set_new(req, "tools", tools);
  else
    json_decref(tools);
  json_object_set_new(req, "messages", messages);
  return req;
}

static json_t *target_json(const agent_target *t) {
  return json_pack("{s:b, s:s?, s:s?}", "configured", t->host != NULL, "host", t->host, "user",
                   t->user);
}

json_t *session_request_prompt_context(const app *a, const char *model) {
  return json_pack("{s:s, s:o, s:o}", "model", model, "devvm", target_json(&a->options.ssh.devvm),
                   "pve", target_json(&a->options.ssh.pve));
}
