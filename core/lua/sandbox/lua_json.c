/* JSON <-> Lua conversion and the json module scripts see. */
#include "lua_json.h"

#include <inttypes.h>
#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json_path.h"

/* json.null: the address of this byte, as a light userdata. */
static const char json_null_sentinel;

typedef struct json_enc {
  lua_State *L;
  size_t max_bytes;
  size_t text_bytes;                           /* what the encoded text would take so far */
  const void *open[LUA_JSON_MAX_DEPTH_LEVELS]; /* tables being encoded: cycle check */
  int depth;
  json_path path;
  char *err;
  size_t errlen;
  int failed;
} json_enc;

static void enc_fail(json_enc *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void enc_fail(json_enc *e, const char *fmt, ...) {
  if (e->failed) return;
  e->failed = 1;
  char msg[LUA_JSON_ERROR_MAX_BYTES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (e->path.len > 0)
    snprintf(e->err, e->errlen, "%s (at %s)", msg, e->path.text);
  else
    snprintf(e->err, e->errlen, "%s", msg);
}

/* Counts n more bytes of text; 0, or -1 once the cap is passed. */
static int enc_count(json_enc *e, size_t n) {
  e->text_bytes += n;
  if (e->text_bytes <= e->max_bytes) return 0;
  json_path_clear(&e->path); /* where the cap was passed says nothing useful */
  enc_fail(e, "output exceeds %zu bytes", e->max_bytes);
  return -1;
}

/* Fails for want of memory, unless e failed already (a passed cap or a
 * bad value inside also end here, and keep their message), and drops the
 * part built so far. NULL, for the caller to return. */
static json_t *enc_out_of_memory(json_enc *e, json_t *partial) {
  enc_fail(e, "out of memory");
  json_decref(partial);
  return NULL;
}

static json_t *enc_value(json_enc *e, int idx);

/* Sorts a table's keys into "array 1..n" or "object"; -1 on a bad key. */
static int enc_classify(json_enc *e, int idx, int *is_array, lua_Integer *count) {
  lua_State *L = e->L;
  lua_Integer n_int = 0, n_str = 0, max_key = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* table ... key value */
    lua_pop(L, 1);
    int kt = lua_type(L, -1);
    if (kt == LUA_TSTRING) {
      n_str++;
    } else if (kt == LUA_TNUMBER && lua_isinteger(L, -1)) {
      lua_Integer k = lua_tointeger(L, -1);
      n_int++;
      if (k < 1)
        max_key = LUA_MAXINTEGER;
      else if (k > max_key)
        max_key = k;
    } else {
      lua_pop(L, 1);
      enc_fail(e, "cannot encode a table key of type %s",
               kt == LUA_TNUMBER ? "float" : lua_typename(L, kt));
      return -1;
    }
    /* Each entry costs at least one byte of text: stop huge tables early. */
    if (enc_count(e, 1) < 0) {
      lua_pop(L, 1);
      return -1;
    }
  }
  if (n_int > 0 && n_str > 0) {
    enc_fail(e, "cannot encode a table with both integer and string keys");
    return -1;
  }
  if (n_int > 0 && max_key != n_int) {
    enc_fail(e, "cannot encode a table whose integer keys are not 1..n");
    return -1;
  }
  *is_array = n_int > 0;
  *count = n_int > 0 ? n_int : n_str;
  return 0;
}

static json_t *enc_array(json_enc *e, int idx, lua_Integer n) {
  lua_State *L = e->L;
  json_t *arr = json_array();
  if (!arr || enc_count(e, 2) < 0) return enc_out_of_memory(e, arr);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i); /* table ... value */
    size_t saved = json_path_push(&e->path, "[%" PRId64 "]", (int64_t)i);
    json_t *v = enc_value(e, lua_gettop(L));
    json_path_pop(&e->path, saved);
    lua_pop(L, 1);
    if (!v || json_array_append_new(arr, v) < 0) return enc_out_of_memory(e, arr);
  }
  return arr;
}

static json_t *enc_object(json_enc *e, int idx) {
  lua_State *L = e->L;
  json_t *obj = json_object();
  if (!obj || enc_count(e, 2) < 0) return enc_out_of_memory(e, obj);
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* table ... key value */
    size_t klen;
    const char *key = lua_tolstring(L, -2, &klen); /* a string: no conversion */
    size_t saved = json_path_push(&e->path, ".%.*s", (int)(klen < 40 ? klen : 40), key);
    json_t *v = enc_count(e, klen + 3) < 0 ? NULL : enc_value(e, lua_gettop(L));
    int rc = !v ? -1 : json_object_setn_new(obj, key, klen, v);
    if (v && rc < 0) enc_fail(e, "cannot encode a key that is not valid UTF-8");
    json_path_pop(&e->path, saved);
    lua_pop(L, 1);
    if (rc < 0) {
      lua_pop(L, 1);
      json_decref(obj);
      return NULL;
    }
  }
  return obj;
}

static json_t *enc_table(json_enc *e, int idx) {
  lua_State *L = e->L;
  const void *p = lua_topointer(L, idx);
  for (int i = 0; i < e->depth; i++) {
    if (e->open[i] == p) {
      enc_fail(e, "cannot encode a table that contains itself");
      return NULL;
    }
  }
  if (e->depth >= LUA_JSON_MAX_DEPTH_LEVELS) {
    enc_fail(e, "cannot encode nesting deeper than %d levels", LUA_JSON_MAX_DEPTH_LEVELS);
    return NULL;
  }
  if (!lua_checkstack(L, 4)) return enc_out_of_memory(e, NULL);
  int is_array;
  lua_Integer n;
  if (enc_classify(e, idx, &is_array, &n) < 0) return NULL;
  e->open[e->depth++] = p;
  json_t *v = is_array ? enc_array(e, idx, n) : enc_object(e, idx);
  e->depth--;
  return v;
}

static json_t *enc_number(json_enc *e, int idx) {
  char text[32];
  if (lua_isinteger(e->L, idx)) {
    lua_Integer i = lua_tointeger(e->L, idx);
    if (enc_count(e, (size_t)snprintf(text, sizeof text, "%" PRId64, (int64_t)i)) < 0) return NULL;
    return json_integer((json_int_t)i);
  }
  double d = lua_tonumber(e->L, idx);
  if (!isfinite(d)) {
    enc_fail(e, "cannot encode NaN or infinity");
    return NULL;
  }
  if (enc_count(e, (size_t)snprintf(text, sizeof text, "%.17g", d)) < 0) return NULL;
  return json_real(d);
}

static json_t *enc_value(json_enc *e, int idx) {
  lua_State *L = e->L;
  json_t *v = NULL;
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    v = enc_count(e, 4) < 0 ? NULL : json_null();
    break;
  case LUA_TBOOLEAN:
    v = enc_count(e, 5) < 0 ? NULL : json_boolean(lua_toboolean(L, idx));
    break;
  case LUA_TNUMBER:
    v = enc_number(e, idx);
    break;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (enc_count(e, len + 2) < 0) return NULL;
    v = json_stringn(s, len);
    if (!v) enc_fail(e, "cannot encode a string that is not valid UTF-8");
    break;
  }
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == &json_null_sentinel) {
      v = enc_count(e, 4) < 0 ? NULL : json_null();
      break;
    }
    enc_fail(e, "cannot encode a userdata");
    return NULL;
  case LUA_TTABLE:
    return enc_table(e, idx);
  default:
    enc_fail(e, "cannot encode a %s", luaL_typename(L, idx));
    return NULL;
  }
  if (!v) enc_fail(e, "out of memory");
  return v;
}

static void enc_init(json_enc *e, lua_State *L, size_t max_bytes, char *err, size_t errlen) {
  memset(e, 0, sizeof *e);
  e->L = L;
  e->max_bytes = max_bytes;
  e->err = err;
  e->errlen = errlen;
}

json_t *lua_json_from_lua(lua_State *L, int idx, size_t max_bytes, char *err, size_t errlen) {
  json_enc e;
  enc_init(&e, L, max_bytes, err, errlen);
  return enc_value(&e, lua_absindex(L, idx));
}

json_t *lua_json_array_from_lua(lua_State *L, int first, int last, size_t max_bytes, char *err,
                                size_t errlen) {
  json_enc e;
  enc_init(&e, L, max_bytes, err, errlen);
  json_t *arr = json_array();
  if (!arr || enc_count(&e, 2) < 0) {
    enc_fail(&e, "out of memory");
    json_decref(arr);
    return NULL;
  }
  for (int i = first; i <= last; i++) {
    size_t saved = json_path_push(&e.path, "argument %d", i - first + 1);
    json_t *v = enc_count(&e, 1) < 0 ? NULL : enc_value(&e, i);
    json_path_pop(&e.path, saved);
    if (!v || json_array_append_new(arr, v) < 0) {
      enc_fail(&e, "out of memory");
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

typedef struct json_sink {
  buf text;
  int over_cap;
} json_sink;

static int dump_append(const char *p, size_t n, void *data) {
  json_sink *sink = data;
  if (n > sink->text.max_bytes - sink->text.len) {
    sink->over_cap = 1;
    return -1;
  }
  return buf_append(&sink->text, p, n);
}

int lua_json_dump(const json_t *v, size_t max_bytes, char **out, size_t *outlen, char *err,
                  size_t errlen) {
  json_sink sink = {.over_cap = 0};
  buf_init(&sink.text, max_bytes);
  size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_REAL_PRECISION(17);
  if (json_dump_callback(v, dump_append, &sink, flags) < 0 || !sink.text.data) {
    if (sink.over_cap)
      snprintf(err, errlen, "output exceeds %zu bytes", max_bytes);
    else
      snprintf(err, errlen, "out of memory");
    buf_free(&sink.text);
    return -1;
  }
  *out = buf_steal(&sink.text, outlen);
  return 0;
}

/* depth: the arrays and objects around v. Each array or object is a level,
 * counted as the encoder counts tables: 64 nested ones pass, 65 do not. */
static void push_value(lua_State *L, const json_t *v, int depth) {
  if ((json_is_array(v) || json_is_object(v)) && depth >= LUA_JSON_MAX_DEPTH_LEVELS)
    luaL_error(L, "JSON nesting deeper than %d levels", LUA_JSON_MAX_DEPTH_LEVELS);
  luaL_checkstack(L, 3, "JSON nesting");
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    lua_createtable(L, 0, (int)json_object_size(v));
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
      lua_pushlstring(L, json_object_iter_key(it), json_object_iter_key_len(it));
      push_value(L, json_object_iter_value(it), depth + 1);
      lua_rawset(L, -3); /* object */
    }
    break;
  case JSON_ARRAY: {
    size_t n = json_array_size(v);
    lua_createtable(L, n < INT32_MAX ? (int)n : 0, 0);
    for (size_t i = 0; i < n; i++) {
      push_value(L, json_array_get(v, i), depth + 1);
      lua_rawseti(L, -2, (lua_Integer)i + 1); /* array */
    }
    break;
  }
  case JSON_STRING:
    lua_pushlstring(L, json_string_value(v), json_string_length(v));
    break;
  case JSON_INTEGER:
    lua_pushinteger(L, (lua_Integer)json_integer_value(v));
    break;
  case JSON_REAL:
    lua_pushnumber(L, json_real_value(v));
    break;
  case JSON_TRUE:
    lua_pushboolean(L, 1);
    break;
  case JSON_FALSE:
    lua_pushboolean(L, 0);
    break;
  case JSON_NULL:
    lua_pushlightuserdata(L, (void *)&json_null_sentinel);
    break;
  }
}

void lua_json_push(lua_State *L, const json_t *v) {
  if (!v)
    lua_pushlightuserdata(L, (void *)&json_null_sentinel);
  else
    push_value(L, v, 0);
}

/* C memory held across a call that may raise: the call runs protected so
 * the memory is freed before the error continues. */
typedef struct json_pending {
  const json_t *tree;
  const char *text;
  size_t len;
} json_pending;

static int json_push_pending(lua_State *L) {
  const json_pending *p = lua_touserdata(L, 1);
  if (p->tree)
    lua_json_push(L, p->tree);
  else
    lua_pushlstring(L, p->text, p->len);
  return 1;
}

static int json_run_pending(lua_State *L, json_pending *p) {
  lua_pushcfunction(L, json_push_pending);
  lua_pushlightuserdata(L, p);
  return lua_pcall(L, 1, 1, 0);
}

static int json_encode(lua_State *L) {
  size_t max_bytes = (size_t)lua_tointeger(L, lua_upvalueindex(1));
  char err[LUA_JSON_ERROR_MAX_BYTES];
  luaL_checkany(L, 1);
  json_t *v = lua_json_from_lua(L, 1, max_bytes, err, sizeof err);
  if (!v) return luaL_error(L, "json.encode: %s", err);
  char *text;
  size_t len;
  int rc = lua_json_dump(v, max_bytes, &text, &len, err, sizeof err);
  json_decref(v);
  if (rc < 0) return luaL_error(L, "json.encode: %s", err);
  json_pending p = {.text = text, .len = len};
  int status = json_run_pending(L, &p);
  free(text);
  if (status != LUA_OK) return lua_error(L);
  return 1;
}

static int json_decode(lua_State *L) {
  size_t max_bytes = (size_t)lua_tointeger(L, lua_upvalueindex(1));
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  if (len > max_bytes)
    return luaL_error(L, "json.decode: input exceeds %I bytes", (lua_Integer)max_bytes);
  json_error_t je;
  json_t *root = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
  if (!root)
    return luaL_error(L, "json.decode: %s at line %d column %d", je.text, je.line, je.column);
  json_pending p = {.tree = root};
  int status = json_run_pending(L, &p);
  json_decref(root);
  if (status != LUA_OK) return lua_error(L);
  return 1;
}

void lua_json_open(lua_State *L, size_t max_bytes) {
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)max_bytes);
  lua_pushcclosure(L, json_encode, 1);
  lua_setfield(L, -2, "encode");
  lua_pushinteger(L, (lua_Integer)max_bytes);
  lua_pushcclosure(L, json_decode, 1);
  lua_setfield(L, -2, "decode");
  lua_pushlightuserdata(L, (void *)&json_null_sentinel);
  lua_setfield(L, -2, "null");
}
