/* Validation of JSON values against the schema subset, and of schemas. */
#include "json_schema.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_path.h"
#include "limits_table.h"

typedef struct schema_ctx {
  json_path path;
  char *err;
  size_t errlen;
} schema_ctx;

static int schema_fail(schema_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int schema_fail(schema_ctx *c, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(c->err, c->errlen, "%s: %s", c->path.text, msg);
  return -1;
}

static void schema_ctx_init(schema_ctx *c, const char *root, char *err, size_t errlen) {
  json_path_clear(&c->path);
  c->err = err;
  c->errlen = errlen;
  json_path_push(&c->path, "%s", root);
}

static const char *const schema_types[] = {"object", "array",   "string", "integer",
                                           "number", "boolean", "null",   NULL};

static const char *value_type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "object";
  case JSON_ARRAY:
    return "array";
  case JSON_STRING:
    return "string";
  case JSON_INTEGER:
    return "integer";
  case JSON_REAL:
    return "number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "boolean";
  case JSON_NULL:
    return "null";
  }
  return "value";
}

static int type_matches(const json_t *v, const char *type) {
  if (strcmp(type, "number") == 0) return json_is_number(v);
  return strcmp(type, value_type_name(v)) == 0;
}

static const char *type_with_article(const char *type) {
  static const char *const phrases[][2] = {
      {"object", "an object"},   {"array", "an array"},  {"string", "a string"},
      {"integer", "an integer"}, {"number", "a number"}, {"boolean", "a boolean"},
      {"null", "null"},
  };
  for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++) {
    if (strcmp(phrases[i][0], type) == 0) return phrases[i][1];
  }
  return type;
}

/* Compact JSON of v, cut to fit out. */
static void show_json(const json_t *v, char *out, size_t outlen) {
  char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  snprintf(out, outlen, "%s", text ? text : "?");
  if (text && strlen(text) >= outlen && outlen > 4) memcpy(out + outlen - 4, "...", 4);
  free(text);
}

static void show_number(const json_t *v, char *out, size_t outlen) {
  if (json_is_integer(v))
    snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else
    snprintf(out, outlen, "%.15g", json_number_value(v));
}

/* <0, 0, >0 as a is below, equal to or above b; integers compare exactly. */
static int number_cmp(const json_t *a, const json_t *b) {
  if (json_is_integer(a) && json_is_integer(b)) {
    json_int_t x = json_integer_value(a), y = json_integer_value(b);
    return (x > y) - (x < y);
  }
  double x = json_number_value(a), y = json_number_value(b);
  return (x > y) - (x < y);
}

static size_t utf8_chars(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

/* --- validation ----------------------------------------------------------- */

static int validate_value(schema_ctx *c, const json_t *schema, const json_t *v);

static int validate_type(schema_ctx *c, const json_t *type, const json_t *v) {
  if (json_is_string(type)) {
    if (type_matches(v, json_string_value(type))) return 0;
    return schema_fail(c, "must be %s (got %s)", type_with_article(json_string_value(type)),
                       value_type_name(v));
  }
  char list[JSON_SCHEMA_SHOWN_MAX_BYTES] = "";
  size_t used = 0;
  size_t i;
  const json_t *t;
  json_array_foreach(type, i, t) {
    if (type_matches(v, json_string_value(t))) return 0;
    int n = snprintf(list + used, sizeof list - used, "%s%s", i > 0 ? ", " : "",
                     json_string_value(t));
    if (n > 0 && (size_t)n < sizeof list - used) used += (size_t)n;
  }
  return schema_fail(c, "must be one of: %s (got %s)", list, value_type_name(v));
}

static int validate_number(schema_ctx *c, const json_t *schema, const json_t *v) {
  char shown[64];
  const json_t *min = json_object_get(schema, "minimum");
  const json_t *max = json_object_get(schema, "maximum");
  if (min && number_cmp(v, min) < 0) {
    show_number(min, shown, sizeof shown);
    return schema_fail(c, "must be >= %s", shown);
  }
  if (max && number_cmp(v, max) > 0) {
    show_number(max, shown, sizeof shown);
    return schema_fail(c, "must be <= %s", shown);
  }
  return 0;
}

/* A string's length or an array's size n against the schema's bounds:
 * "must be at least 3 characters long", "must have at most 2 items". */
static int check_size(schema_ctx *c, const json_t *schema, json_int_t n, const char *min_key,
                      const char *max_key, const char *verb, const char *unit) {
  const json_t *min = json_object_get(schema, min_key);
  const json_t *max = json_object_get(schema, max_key);
  if (min && n < json_integer_value(min))
    return schema_fail(c, "must %s at least %" JSON_INTEGER_FORMAT " %s", verb,
                       json_integer_value(min), unit);
  if (max && n > json_integer_value(max))
    return schema_fail(c, "must %s at most %" JSON_INTEGER_FORMAT " %s", verb,
                       json_integer_value(max), unit);
  return 0;
}

static int validate_string(schema_ctx *c, const json_t *schema, const json_t *v) {
  json_int_t n = (json_int_t)utf8_chars(json_string_value(v), json_string_length(v));
  return check_size(c, schema, n, "minLength", "maxLength", "be", "characters long");
}

static int validate_array(schema_ctx *c, const json_t *schema, const json_t *v) {
  json_int_t n = (json_int_t)json_array_size(v);
  if (check_size(c, schema, n, "minItems", "maxItems", "have", "items") < 0) return -1;
  const json_t *items = json_object_get(schema, "items");
  if (!items) return 0;
  size_t i;
  const json_t *item;
  json_array_foreach(v, i, item) {
    size_t saved = json_path_push(&c->path, "[%zu]", i);
    int rc = validate_value(c, items, item);
    json_path_pop(&c->path, saved);
    if (rc < 0) return -1;
  }
  return 0;
}

static int key_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The property names of obj, sorted (a schema from a Lua table has them in
 * no particular order), joined with ", " and cut to fit out. */
static void list_keys(const json_t *obj, char *out, size_t outlen) {
  size_t n = json_object_size(obj);
  const char **keys = malloc((n > 0 ? n : 1) * sizeof *keys);
  size_t used = 0;
  out[0] = '\0';
  if (!keys) return;
  size_t i = 0;
  const char *key;
  const json_t *val;
  json_object_foreach((json_t *)obj, key, val) keys[i++] = key;
  qsort(keys, n, sizeof *keys, key_cmp);
  for (i = 0; i < n; i++) {
    int w = snprintf(out + used, outlen - used, "%s%s", i > 0 ? ", " : "", keys[i]);
    if (w < 0 || (size_t)w >= outlen - used) break;
    used += (size_t)w;
  }
  free(keys);
}

static int validate_object(schema_ctx *c, const json_t *schema, const json_t *v) {
  const json_t *required = json_object_get(schema, "required");
  const json_t *props = json_object_get(schema, "properties");
  const json_t *additional = json_object_get(schema, "additionalProperties");
  size_t i;
  const json_t *name;
  json_array_foreach(required, i, name) {
    if (!json_object_get(v, json_string_value(name))) {
      size_t saved = json_path_push(&c->path, ".%s", json_string_value(name));
      schema_fail(c, "is required");
      json_path_pop(&c->path, saved);
      return -1;
    }
  }
  for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
    const char *key = json_object_iter_key(it);
    size_t key_len = json_object_iter_key_len(it);
    const json_t *sub = props ? json_object_getn(props, key, key_len) : NULL;
    if (!sub && !json_is_false(additional)) continue;
    size_t saved = json_path_push(&c->path, ".%.*s", (int)(key_len < 64 ? key_len : 64), key);
    int rc;
    if (!sub) {
      char known[JSON_SCHEMA_SHOWN_MAX_BYTES] = "";
      if (props) list_keys(props, known, sizeof known);
      rc = schema_fail(c, "is not an allowed property (allowed: %s)",
                       known[0] != '\0' ? known : "none");
    } else {
      rc = validate_value(c, sub, json_object_iter_value(it));
    }
    json_path_pop(&c->path, saved);
    if (rc < 0) return -1;
  }
  return 0;
}

static int validate_value(schema_ctx *c, const json_t *schema, const json_t *v) {
  const json_t *type = json_object_get(schema, "type");
  if (type && validate_type(c, type, v) < 0) return -1;
  const json_t *choices = json_object_get(schema, "enum");
  if (choices) {
    size_t i;
    const json_t *choice;
    int found = 0;
    json_array_foreach(choices, i, choice) found = found || json_equal(choice, v);
    if (!found) {
      char shown[JSON_SCHEMA_SHOWN_MAX_BYTES];
      show_json(choices, shown, sizeof shown);
      return schema_fail(c, "must be one of %s", shown);
    }
  }
  if (json_is_number(v)) return validate_number(c, schema, v);
  if (json_is_string(v)) return validate_string(c, schema, v);
  if (json_is_array(v)) return validate_array(c, schema, v);
  if (json_is_object(v)) return validate_object(c, schema, v);
  return 0;
}

int json_schema_validate(const json_t *schema, const json_t *value, const char *root, char *err,
                         size_t errlen) {
  schema_ctx c;
  schema_ctx_init(&c, root, err, errlen);
  return validate_value(&c, schema, value);
}

/* --- checking a schema ---------------------------------------------------- */

static const char *const schema_keywords[] = {
    "type",        "properties", "required", "additionalProperties",
    "enum",        "minimum",    "maximum",  "minLength",
    "maxLength",   "items",      "minItems", "maxItems",
    "description", "title",      "default",  "examples",
    NULL,
};

static int is_known(const char *const *list, const char *s) {
  for (; *list; list++) {
    if (strcmp(*list, s) == 0) return 1;
  }
  return 0;
}

static int check_schema(schema_ctx *c, const json_t *schema, int depth);

static int check_type(schema_ctx *c, const json_t *type) {
  if (json_is_string(type)) {
    if (is_known(schema_types, json_string_value(type))) return 0;
    return schema_fail(c,
                       "unknown type \"%s\" (known: object, array, string, integer, number, "
                       "boolean, null)",
                       json_string_value(type));
  }
  if (!json_is_array(type) || json_array_size(type) == 0)
    return schema_fail(c, "must be a type name or a non-empty array of them");
  size_t i;
  const json_t *t;
  json_array_foreach(type, i, t) {
    size_t saved = json_path_push(&c->path, "[%zu]", i);
    int rc = json_is_string(t) ? check_type(c, t)
                               : schema_fail(c, "must be a type name (a string)");
    json_path_pop(&c->path, saved);
    if (rc < 0) return -1;
  }
  return 0;
}

/* An empty Lua table encodes as {}: say so where an array is expected. */
static int fail_not_array(schema_ctx *c, const json_t *v, const char *what) {
  if (json_is_object(v) && json_object_size(v) == 0)
    return schema_fail(c, "must be %s (an empty Lua table encodes as {}: leave the field out)",
                       what);
  return schema_fail(c, "must be %s", what);
}

static int check_keyword(schema_ctx *c, const char *key, const json_t *v, int depth) {
  if (strcmp(key, "type") == 0) return check_type(c, v);
  if (strcmp(key, "properties") == 0) {
    if (!json_is_object(v))
      return schema_fail(c, "must be an object mapping property names to schemas");
    const char *name;
    const json_t *sub;
    json_object_foreach((json_t *)v, name, sub) {
      size_t saved = json_path_push(&c->path, ".%s", name);
      int rc = check_schema(c, sub, depth + 1);
      json_path_pop(&c->path, saved);
      if (rc < 0) return -1;
    }
    return 0;
  }
  if (strcmp(key, "required") == 0) {
    if (!json_is_array(v)) return fail_not_array(c, v, "an array of property names");
    size_t i;
    const json_t *name;
    json_array_foreach(v, i, name) {
      if (!json_is_string(name)) return fail_not_array(c, v, "an array of property names");
    }
    return 0;
  }
  if (strcmp(key, "additionalProperties") == 0)
    return json_is_boolean(v) ? 0 : schema_fail(c, "must be true or false");
  if (strcmp(key, "enum") == 0)
    return json_is_array(v) && json_array_size(v) > 0
               ? 0
               : fail_not_array(c, v, "a non-empty array of allowed values");
  if (strcmp(key, "minimum") == 0 || strcmp(key, "maximum") == 0)
    return json_is_number(v) ? 0 : schema_fail(c, "must be a number");
  if (strcmp(key, "minLength") == 0 || strcmp(key, "maxLength") == 0 ||
      strcmp(key, "minItems") == 0 || strcmp(key, "maxItems") == 0)
    return json_is_integer(v) && json_integer_value(v) >= 0
               ? 0
               : schema_fail(c, "must be a non-negative integer");
  if (strcmp(key, "items") == 0) return check_schema(c, v, depth + 1);
  if (strcmp(key, "description") == 0 || strcmp(key, "title") == 0)
    return json_is_string(v) ? 0 : schema_fail(c, "must be a string");
  return 0; /* default, examples: any value */
}

static int check_schema(schema_ctx *c, const json_t *schema, int depth) {
  if (depth > JSON_SCHEMA_MAX_DEPTH_LEVELS)
    return schema_fail(c, "nested deeper than %d levels", JSON_SCHEMA_MAX_DEPTH_LEVELS);
  if (!json_is_object(schema)) return schema_fail(c, "must be a schema (an object)");
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)schema, key, v) {
    size_t saved = json_path_push(&c->path, ".%s", key);
    int rc = is_known(schema_keywords, key)
                 ? check_keyword(c, key, v, depth)
                 : schema_fail(c, "unknown keyword (supported: type, properties, required, "
                                  "additionalProperties, enum, minimum, maximum, minLength, "
                                  "maxLength, items, minItems, maxItems, description, title, "
                                  "default, examples)");
    json_path_pop(&c->path, saved);
    if (rc < 0) return -1;
  }
  return 0;
}

int json_schema_check(const json_t *schema, const char *root, char *err, size_t errlen) {
  schema_ctx c;
  schema_ctx_init(&c, root, err, errlen);
  if (check_schema(&c, schema, 0) < 0) return -1;
  const json_t *type = json_object_get(schema, "type");
  if (!json_is_string(type) || strcmp(json_string_value(type), "object") != 0) {
    size_t saved = json_path_push(&c.path, ".type");
    schema_fail(&c, "must be \"object\" (a tool takes an object of named inputs)");
    json_path_pop(&c.path, saved);
    return -1;
  }
  return 0;
}
