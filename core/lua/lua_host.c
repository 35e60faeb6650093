/* Loading a script set (prompt, tools, policies), the tools' table, the
 * system prompt, the set's reference count, and synchronous entries into a
 * script (a tool's mutating function, policy hooks). */
#include "lua_host.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json_schema.h"
#include "limits_table.h"
#include "log.h"
#include "lua_ctx.h"
#include "lua_host_entry.h"
#include "lua_host_internal.h"
#include "lua_json.h"
#include "lua_policy.h"
#include "lua_require.h"
#include "lua_script_file.h"

/* What went wrong while loading a set: one "file: message" line each. */
typedef struct load_report {
  buf text; /* capped at the caller's errlen; lines past it are dropped */
  int problems;
} load_report;

static void report(load_report *errs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(load_report *errs, const char *fmt, ...) {
  char line[LUA_HOST_ERROR_MAX_BYTES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (errs->problems++ > 0) buf_append_str(&errs->text, "\n");
  buf_append_str(&errs->text, line);
}

static void report_line(void *ud, const char *line) { report(ud, "%s", line); }

static lua_sandbox_limits host_sandbox_limits(const lua_host *h) {
  lua_sandbox_limits l = {
      .memory_bytes = h->limits.memory_bytes,
      .budget = h->limits.budget,
      .instructions = h->limits.instructions,
      .entry_timeout_ms = h->limits.call_timeout_ms,
      .max_json_bytes = h->limits.max_json_bytes,
  };
  return l;
}

/* Reads dir/rel whole; NULL with a report line on failure. */
static char *read_script(const char *dir, const char *rel, size_t *len, load_report *errs) {
  char path[4096], why[256];
  char *text;
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  int rc = lua_script_read(path, LUA_HOST_SCRIPT_MAX_BYTES, &text, len, why, sizeof why);
  if (rc == -1)
    report(errs, "%s: cannot open: %s", rel, why);
  else if (rc < 0)
    report(errs, "%s: %s", rel, why);
  return text;
}

typedef struct script_value {
  lua_State *co;
  int nres;
  int ref;
  int type;
} script_value;

/* Protected: keeps the chunk's first result in the registry. */
static int script_keep_value(lua_State *L) {
  script_value *v = lua_touserdata(L, 1);
  if (v->nres == 0) {
    lua_pushnil(L);
  } else {
    lua_settop(v->co, lua_gettop(v->co) - v->nres + 1);
    lua_xmove(v->co, L, 1);
  }
  v->type = lua_type(L, -1);
  v->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* Loads dir/rel into a new sandbox and runs its chunk under the limits.
 * On success *sb holds the state and *ref the chunk's first result. */
static int run_script(const lua_host *h, const char *dir, const char *rel, lua_sandbox **sb,
                      script_value *v, load_report *errs) {
  char err[LUA_HOST_ERROR_MAX_BYTES];
  size_t len;
  char *text = read_script(dir, rel, &len, errs);
  if (!text) return -1;
  lua_sandbox_limits limits = host_sandbox_limits(h);
  int co_ref = LUA_NOREF;
  int rc = -1;
  *sb = NULL;
  memset(v, 0, sizeof *v);
  if (lua_sandbox_new(sb, rel, &limits, err, sizeof err) < 0 ||
      lua_require_open(*sb, dir, rel, err, sizeof err) < 0 ||
      !(v->co = lua_sandbox_thread_new(*sb, &co_ref, err, sizeof err)) ||
      lua_sandbox_load(*sb, v->co, text, len, err, sizeof err) < 0)
    goto out;
  int status = lua_sandbox_resume(*sb, v->co, 0, &v->nres, err, sizeof err);
  if (status == LUA_YIELD) snprintf(err, sizeof err, "%s: the chunk yielded", rel);
  if (status != LUA_OK || lua_sandbox_protect(*sb, script_keep_value, v, err, sizeof err) < 0)
    goto out;
  lua_require_seal(*sb);
  rc = 0;
out:
  free(text);
  if (*sb) {
    lua_sandbox_thread_drop(*sb, co_ref);
    lua_sandbox_collect(*sb);
  }
  if (rc < 0) {
    report(errs, "%s", err);
    lua_sandbox_free(*sb);
    *sb = NULL;
  }
  return rc;
}

static void load_prompt(lua_host *h, const char *dir, load_report *errs) {
  script_value v;
  if (run_script(h, dir, "prompt.lua", &h->prompt_sb, &v, errs) < 0) return;
  h->prompt_ref = v.ref;
  if (v.type == LUA_TFUNCTION) return;
  if (v.type != LUA_TSTRING) {
    report(errs, "prompt.lua: must return a string or a function(context) (got %s)",
           lua_typename(lua_sandbox_state(h->prompt_sb), v.type));
    return;
  }
  lua_State *L = lua_sandbox_state(h->prompt_sb);
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->prompt_ref);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  if (len > LUA_HOST_PROMPT_MAX_BYTES)
    report(errs, "prompt.lua: the prompt is %zu bytes, over the limit of %d", len,
           LUA_HOST_PROMPT_MAX_BYTES);
  else if (!(h->prompt_text = strndup(s, len)))
    report(errs, "prompt.lua: out of memory");
  lua_pop(L, 1);
}

/* --- tools ---------------------------------------------------------------- */

static const char *const tool_fields[] = {"name",     "description", "input_schema",
                                          "mutating", "handler",     NULL};

typedef struct tool_read {
  lua_host_tool *tool;
  int table_ref;
  size_t max_json_bytes;
  char err[LUA_HOST_ERROR_MAX_BYTES];
} tool_read;

/* Pushes field f of the tool table (at 1) and returns its type; raw
 * access, so that no script code runs outside a resume. */
static int tool_field(lua_State *L, const char *f) {
  lua_pushstring(L, f);
  return lua_rawget(L, 1);
}

static int tool_read_fields(lua_State *L, tool_read *r) {
  lua_host_tool *t = r->tool;
  int name_type = tool_field(L, "name");
  size_t len = lua_rawlen(L, -1);
  if (name_type != LUA_TSTRING || !lua_host_name_ok(lua_tostring(L, -1), len)) {
    snprintf(r->err, sizeof r->err, "name: must be a string of 1-%d letters, digits, '_' or '-'",
             LUA_HOST_NAME_MAX_CHARS);
    return -1;
  }
  t->name = strdup(lua_tostring(L, -1));
  if (tool_field(L, "description") != LUA_TSTRING || lua_rawlen(L, -1) == 0) {
    snprintf(r->err, sizeof r->err, "description: must be a non-empty string");
    return -1;
  }
  t->description = strndup(lua_tostring(L, -1), lua_rawlen(L, -1));
  if (tool_field(L, "input_schema") != LUA_TTABLE) {
    snprintf(r->err, sizeof r->err,
             "input_schema: must be a table (a JSON schema with type "
             "\"object\")");
    return -1;
  }
  char jerr[LUA_JSON_ERROR_MAX_BYTES];
  t->schema = lua_json_from_lua(L, -1, r->max_json_bytes, jerr, sizeof jerr);
  if (!t->schema) {
    snprintf(r->err, sizeof r->err, "input_schema: %s", jerr);
    return -1;
  }
  if (json_schema_check(t->schema, "input_schema", r->err, sizeof r->err) < 0) return -1;
  int mt = tool_field(L, "mutating");
  if (mt == LUA_TFUNCTION) {
    t->mutating_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else if (mt == LUA_TNIL || mt == LUA_TBOOLEAN) {
    t->mutating = lua_toboolean(L, -1);
  } else {
    snprintf(r->err, sizeof r->err, "mutating: must be true, false or a function(input)");
    return -1;
  }
  if (tool_field(L, "handler") != LUA_TFUNCTION) {
    snprintf(r->err, sizeof r->err, "handler: must be a function(ctx, input)");
    return -1;
  }
  t->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (!t->name || !t->description) return luaL_error(L, "out of memory");
  return 0;
}

/* Protected: the tool table's fields into r->tool; a problem goes to r->err. */
static int tool_read_table(lua_State *L) {
  tool_read *r = lua_touserdata(L, 1);
  lua_settop(L, 0);
  if (lua_rawgeti(L, LUA_REGISTRYINDEX, r->table_ref) != LUA_TTABLE) {
    snprintf(r->err, sizeof r->err, "must return a table describing the tool (got %s)",
             luaL_typename(L, 1));
    return 0;
  }
  if (lua_host_unknown_field(L, tool_fields, r->err, sizeof r->err)) return 0;
  tool_read_fields(L, r);
  return 0;
}

static void tool_free(lua_host_tool *t) {
  free(t->name);
  free(t->description);
  json_decref(t->schema);
  lua_sandbox_free(t->sb);
  memset(t, 0, sizeof *t);
}

static void load_tool(lua_host *h, const char *dir, const char *rel, load_report *errs) {
  lua_host_tool t = {.handler_ref = LUA_NOREF, .mutating_ref = LUA_NOREF};
  script_value v;
  if (run_script(h, dir, rel, &t.sb, &v, errs) < 0) return;
  tool_read r = {.tool = &t, .table_ref = v.ref, .max_json_bytes = h->limits.max_json_bytes};
  char err[LUA_HOST_ERROR_MAX_BYTES];
  if (lua_sandbox_protect(t.sb, tool_read_table, &r, err, sizeof err) < 0) {
    report(errs, "%s", err);
  } else if (r.err[0] != '\0') {
    report(errs, "%s: %s", rel, r.err);
  } else {
    const lua_host_tool *same = lua_host_tool_find(h, t.name);
    if (same) {
      report(errs, "%s: tool name \"%s\" is already used by %s", rel, t.name,
             lua_sandbox_name(same->sb));
      tool_free(&t);
      return;
    }
    lua_host_tool *grown = realloc(h->tools, (h->tool_count + 1) * sizeof *grown);
    if (grown) {
      h->tools = grown;
      h->tools[h->tool_count++] = t;
      return;
    }
    report(errs, "%s: out of memory", rel);
  }
  tool_free(&t);
}

/* --- policies --------------------------------------------------------------- */

static const lua_host_policy policy_empty = {
    .before_ref = LUA_NOREF, .after_ref = LUA_NOREF, .self_test_ref = LUA_NOREF};

/* Loads dir/rel into p and checks its table; 0, or -1 reported. */
static int policy_load(lua_host *h, const char *dir, const char *rel, lua_host_policy *p,
                       load_report *errs) {
  script_value v;
  char err[LUA_HOST_ERROR_MAX_BYTES];
  *p = policy_empty;
  if (run_script(h, dir, rel, &p->sb, &v, errs) < 0) return -1;
  if (lua_policy_read(p, v.ref, err, sizeof err) < 0) {
    report(errs, "%s: %s", rel, err);
    lua_policy_free(p);
    return -1;
  }
  return 0;
}

/* A policy with a self_test is loaded twice: the test runs in the first
 * state, which is then dropped, so that what the test leaves in its globals
 * never reaches real calls; the second, fresh state serves them. The first
 * is gone before the second is made: a set never holds more than one state
 * a file (lua_host_state_count). */
static void load_policy(lua_host *h, const char *dir, const char *rel, load_report *errs) {
  lua_host_policy p;
  if (policy_load(h, dir, rel, &p, errs) < 0) return;
  for (size_t i = 0; i < h->policy_count; i++) {
    if (strcmp(h->policies[i].name, p.name) == 0) {
      report(errs, "%s: policy name \"%s\" is already used by %s", rel, p.name,
             lua_sandbox_name(h->policies[i].sb));
      lua_policy_free(&p);
      return;
    }
  }
  if (p.self_test_ref != LUA_NOREF) {
    char err[LUA_HOST_ERROR_MAX_BYTES];
    int rc = lua_policy_self_test(h, &p, err, sizeof err);
    lua_policy_free(&p);
    if (rc < 0) {
      report(errs, "%s", err);
      return;
    }
    if (policy_load(h, dir, rel, &p, errs) < 0) return;
  }
  lua_host_policy *grown = realloc(h->policies, (h->policy_count + 1) * sizeof *grown);
  if (!grown) {
    report(errs, "%s: out of memory", rel);
    lua_policy_free(&p);
    return;
  }
  h->policies = grown;
  h->policies[h->policy_count++] = p;
}

/* Loads every *.lua in dir/sub in file-name order; no folder means none. */
static void load_folder(lua_host *h, const char *dir, const char *sub, load_report *errs,
                        void (*load)(lua_host *, const char *, const char *, load_report *)) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  struct dirent **names;
  int n = lua_script_list(path, &names);
  if (n < 0) {
    if (errno != ENOENT) report(errs, "%s/: cannot list: %s", sub, strerror(errno));
    return;
  }
  for (int i = 0; i < n; i++) {
    char rel[512];
    snprintf(rel, sizeof rel, "%s/%s", sub, names[i]->d_name);
    load(h, dir, rel, errs);
    free(names[i]);
  }
  free(names);
}

size_t lua_host_state_count(const char *scripts_dir) {
  static const char *const folders[] = {"tools", "policy"};
  size_t n = 1; /* prompt.lua */
  for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", scripts_dir, folders[i]);
    struct dirent **names;
    int found = lua_script_list(path, &names);
    if (found < 0) continue; /* no folder: no files */
    for (int k = 0; k < found; k++) free(names[k]);
    free(names);
    n += (size_t)found;
  }
  return n;
}

static void host_destroy(lua_host *h) {
  for (size_t i = 0; i < h->tool_count; i++) tool_free(&h->tools[i]);
  free(h->tools);
  for (size_t i = 0; i < h->policy_count; i++) lua_policy_free(&h->policies[i]);
  free(h->policies);
  lua_sandbox_free(h->prompt_sb);
  free(h->prompt_text);
  for (size_t i = 0; i < h->service_count; i++) free((char *)h->services[i].name);
  free(h->services);
  free(h);
}

static int service_name_ok(const char *s) {
  if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return 0;
  for (; *s != '\0'; s++) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return 0;
  }
  return 1;
}

static void host_copy_services(lua_host *h, const lua_host_options *o, load_report *errs) {
  if (o->service_count == 0) return;
  h->services = calloc(o->service_count, sizeof *h->services);
  if (!h->services) {
    report(errs, "services: out of memory");
    return;
  }
  for (size_t i = 0; i < o->service_count; i++) {
    const char *name = o->services[i].name;
    if (!service_name_ok(name) || lua_ctx_name_reserved(name)) {
      report(errs, "service \"%s\": not a usable ctx field name", name ? name : "");
      continue;
    }
    for (size_t j = 0; j < h->service_count; j++) {
      if (strcmp(h->services[j].name, name) == 0)
        report(errs, "service \"%s\": registered twice", name);
    }
    h->services[h->service_count] = o->services[i];
    h->services[h->service_count].name = strdup(name);
    if (!h->services[h->service_count].name)
      report(errs, "services: out of memory");
    else
      h->service_count++;
  }
}

static void host_check_limits(const lua_host_limits *l, load_report *errs) {
  if (l->memory_bytes == 0 || l->instructions == 0 || l->call_timeout_ms == 0 ||
      l->tool_timeout_ms == 0 || l->max_json_bytes == 0 || l->max_result_bytes == 0)
    report(errs, "limits: every Lua limit must be greater than 0");
}

int lua_host_load(lua_host **out, uv_loop_t *loop, const lua_host_options *o, char *err,
                  size_t errlen) {
  load_report errs = {.problems = 0};
  buf_init(&errs.text, errlen > 0 ? errlen - 1 : 0);
  lua_host *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  h->refs = 1;
  h->loop = loop;
  h->limits = o->limits;
  h->prompt_ref = LUA_NOREF;
  host_check_limits(&h->limits, &errs);
  host_copy_services(h, o, &errs);
  if (errs.problems == 0) {
    lua_sandbox_limits limits = host_sandbox_limits(h);
    lua_require_check(o->scripts_dir, &limits, report_line, &errs);
    load_prompt(h, o->scripts_dir, &errs);
    load_folder(h, o->scripts_dir, "tools", &errs, load_tool);
    load_folder(h, o->scripts_dir, "policy", &errs, load_policy);
  }
  if (errs.problems > 0) {
    snprintf(err, errlen, "%s", buf_cstr(&errs.text));
    buf_free(&errs.text);
    host_destroy(h);
    return -1;
  }
  buf_free(&errs.text);
  *out = h;
  return 0;
}

void lua_host_retain(lua_host *h) { h->refs++; }

void lua_host_release(lua_host *h) {
  if (h && --h->refs == 0) host_destroy(h);
}

/* --- the prompt ------------------------------------------------------------ */

typedef struct prompt_call {
  const lua_host *h;
  lua_State *co;
  const json_t *context;
} prompt_call;

/* Protected: the prompt function and its context onto the coroutine. */
static int prompt_setup(lua_State *L) {
  prompt_call *p = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, p->h->prompt_ref);
  lua_json_push(L, p->context);
  lua_xmove(L, p->co, 2); /* co: function context */
  return 0;
}

int lua_host_system_prompt(lua_host *h, const json_t *context, char **out, char *err,
                           size_t errlen) {
  if (h->prompt_text) {
    *out = strdup(h->prompt_text);
    if (!*out) snprintf(err, errlen, "out of memory");
    return *out ? 0 : -1;
  }
  lua_sandbox *sb = h->prompt_sb;
  json_t *empty = !context ? json_object() : NULL;
  prompt_call p = {.h = h, .context = context ? context : empty};
  int co_ref = LUA_NOREF;
  int nres = 0;
  int rc = -1;
  p.co = lua_sandbox_thread_new(sb, &co_ref, err, errlen);
  if (!p.co || lua_sandbox_protect(sb, prompt_setup, &p, err, errlen) < 0) goto out;
  int status = lua_sandbox_resume(sb, p.co, 1, &nres, err, errlen);
  if (status == LUA_YIELD) snprintf(err, errlen, "prompt.lua: the prompt function yielded");
  if (status != LUA_OK) goto out;
  size_t len;
  if (nres < 1 || lua_type(p.co, -nres) != LUA_TSTRING) {
    snprintf(err, errlen, "prompt.lua: the prompt function must return a string");
    goto out;
  }
  const char *s = lua_tolstring(p.co, -nres, &len);
  if (len > LUA_HOST_PROMPT_MAX_BYTES) {
    snprintf(err, errlen, "prompt.lua: the prompt is %zu bytes, over the limit of %d", len,
             LUA_HOST_PROMPT_MAX_BYTES);
    goto out;
  }
  *out = strndup(s, len);
  if (!*out)
    snprintf(err, errlen, "out of memory");
  else
    rc = 0;
out:
  json_decref(empty);
  lua_sandbox_thread_drop(sb, co_ref);
  lua_sandbox_collect(sb);
  return rc;
}

/* --- the tools' table ------------------------------------------------------ */

json_t *lua_host_tools_json(const lua_host *h) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < h->tool_count; i++) {
    const lua_host_tool *t = &h->tools[i];
    json_t *entry = json_pack("{s:s, s:s, s:o}", "name", t->name, "description", t->description,
                              "input_schema", json_deep_copy(t->schema));
    if (!entry || json_array_append_new(arr, entry) < 0) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

/* --- mutating ---------------------------------------------------------------- */

typedef struct mutating_args {
  const lua_host_tool *tool;
  const json_t *input;
} mutating_args;

static int mutating_push(lua_State *L, void *ud) {
  const mutating_args *a = ud;
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->tool->mutating_ref);
  lua_json_push(L, a->input);
  return 1;
}

/* A function's answer; anything but a boolean counts as mutating. */
static int mutating_call(const lua_host *h, const lua_host_tool *t, const json_t *input) {
  json_t *empty = !input ? json_object() : NULL;
  mutating_args a = {.tool = t, .input = input ? input : empty};
  char err[LUA_HOST_ERROR_MAX_BYTES];
  json_t *r = NULL;
  int mutating = 1;
  if (lua_host_entry_run(t->sb, mutating_push, &a, h->limits.max_json_bytes, &r, err, sizeof err) <
      0)
    log_warn("lua %s: mutating(input) failed, counted as mutating: %s", lua_sandbox_name(t->sb),
             err);
  else if (!json_is_boolean(r))
    log_warn("lua %s: mutating(input) must return true or false, counted as mutating",
             lua_sandbox_name(t->sb));
  else
    mutating = json_is_true(r);
  json_decref(r);
  json_decref(empty);
  lua_sandbox_collect(t->sb);
  return mutating;
}

int lua_host_has_tool(const lua_host *h, const char *name) {
  return lua_host_tool_find(h, name) != NULL;
}

int lua_host_tool_mutating(const lua_host *h, const char *name, const json_t *input) {
  const lua_host_tool *t = lua_host_tool_find(h, name);
  if (!t) return -1;
  return t->mutating_ref == LUA_NOREF ? t->mutating : mutating_call(h, t, input);
}
