/* A JSON Schema subset for tool inputs.
 *
 * Keywords: type (object, array, string, integer, number, boolean, null, or
 * an array of these), properties, required, additionalProperties (true or
 * false), enum, minimum, maximum, minLength, maxLength (in characters),
 * items, minItems, maxItems; description, title, default and examples are
 * accepted and ignored. A model reads the first error, so it says which
 * field and why: "input.timeout_s: must be <= 600".
 */
#ifndef BG_JSON_SCHEMA_H
#define BG_JSON_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "limits_table.h"

/* 0 when value conforms; -1 with err filled otherwise. root names the value
 * in messages ("input"). The schema must have passed json_schema_check. */
int json_schema_validate(const json_t *schema, const json_t *value, const char *root, char *err,
                         size_t errlen);

/* 0 when schema is one a tool may declare: an object schema with type
 * "object", known keywords only, each well-typed. -1 with err filled
 * otherwise; root names the schema in messages ("input_schema"). */
int json_schema_check(const json_t *schema, const char *root, char *err, size_t errlen);

#endif
