/* The JSON Schema subset: validation messages and schema checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "json_schema.h"

static json_t *parse(const char *text) {
  json_error_t je;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
  if (v == NULL) fail_msg("bad test JSON %s: %s", text, je.text);
  return v;
}

static const char restart_schema[] =
    "{\"type\": \"object\", \"additionalProperties\": false,"
    " \"required\": [\"host\", \"timeout_s\"],"
    " \"properties\": {"
    "   \"host\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 4,"
    "              \"description\": \"which host\"},"
    "   \"timeout_s\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 600},"
    "   \"ratio\": {\"type\": \"number\", \"minimum\": 0.25, \"maximum\": 1},"
    "   \"verb\": {\"enum\": [\"status\", \"reset\"]},"
    "   \"note\": {\"type\": [\"string\", \"null\"]},"
    "   \"tags\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": 2,"
    "              \"items\": {\"type\": \"string\"}},"
    "   \"opts\": {\"type\": \"object\", \"properties\": {\"deep\": {\"type\": \"boolean\"}}}"
    " }}";

/* Validates input against the restart schema; "" when valid. */
static void expect_validation(const char *input, const char *want) {
  json_t *schema = parse(restart_schema);
  char err[512];
  assert_int_equal(json_schema_check(schema, "input_schema", err, sizeof err), 0);
  json_t *v = parse(input);
  int rc = json_schema_validate(schema, v, "input", err, sizeof err);
  if (want[0] == '\0') {
    if (rc != 0) fail_msg("%s: unexpected error %s", input, err);
  } else {
    assert_int_equal(rc, -1);
    if (strcmp(err, want) != 0) fail_msg("%s:\n  want %s\n  got  %s", input, want, err);
  }
  json_decref(v);
  json_decref(schema);
}

static void test_schema_valid_inputs(void **state) {
  (void)state;
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 600}", "");
  expect_validation("{\"host\": \"d\xc3\xa9vm\", \"timeout_s\": 1, \"ratio\": 1,"
                    " \"verb\": \"reset\", \"note\": null, \"tags\": [\"a\", \"b\"],"
                    " \"opts\": {\"deep\": true, \"extra\": 1}}",
                    "");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 5, \"ratio\": 0.25}", "");
}

static void test_schema_messages(void **state) {
  (void)state;
  expect_validation("[]", "input: must be an object (got array)");
  expect_validation("{\"host\": \"dev\"}", "input.timeout_s: is required");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 601}", "input.timeout_s: must be <= 600");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 0}", "input.timeout_s: must be >= 1");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 1.5}",
                    "input.timeout_s: must be an integer (got number)");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": \"5\"}",
                    "input.timeout_s: must be an integer (got string)");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 5, \"ratio\": 0.2}",
                    "input.ratio: must be >= 0.25");
  expect_validation("{\"host\": \"\", \"timeout_s\": 5}",
                    "input.host: must be at least 1 characters long");
  expect_validation("{\"host\": \"d\xc3\xa9vmx\", \"timeout_s\": 5}",
                    "input.host: must be at most 4 characters long");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 5, \"verb\": \"stop\"}",
                    "input.verb: must be one of [\"status\",\"reset\"]");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 5, \"note\": 3}",
                    "input.note: must be one of: string, null (got integer)");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 5, \"tags\": []}",
                    "input.tags: must have at least 1 items");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 5, \"tags\": [\"a\", \"b\", \"c\"]}",
                    "input.tags: must have at most 2 items");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 5, \"tags\": [\"a\", 7]}",
                    "input.tags[1]: must be a string (got integer)");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 5, \"opts\": {\"deep\": 1}}",
                    "input.opts.deep: must be a boolean (got integer)");
  expect_validation("{\"host\": \"dev\", \"timeout_s\": 5, \"force\": true}",
                    "input.force: is not an allowed property (allowed: host, note, opts, ratio, "
                    "tags, timeout_s, verb)");
}

/* Large integers compare exactly, not through doubles. */
static void test_schema_exact_integer_bounds(void **state) {
  (void)state;
  json_t *schema = parse("{\"type\": \"integer\", \"maximum\": 9007199254740992}");
  json_t *over = parse("9007199254740993");
  char err[256];
  assert_int_equal(json_schema_validate(schema, over, "input", err, sizeof err), -1);
  assert_string_equal(err, "input: must be <= 9007199254740992");
  json_decref(over);
  json_decref(schema);
}

static void expect_schema_check(const char *schema_text, const char *want) {
  json_t *schema = parse(schema_text);
  char err[512];
  int rc = json_schema_check(schema, "input_schema", err, sizeof err);
  if (want[0] == '\0') {
    if (rc != 0) fail_msg("%s: unexpected error %s", schema_text, err);
  } else {
    assert_int_equal(rc, -1);
    if (strstr(err, want) != err) fail_msg("%s:\n  want %s...\n  got  %s", schema_text, want, err);
  }
  json_decref(schema);
}

static void test_schema_checks(void **state) {
  (void)state;
  expect_schema_check("{\"type\": \"object\"}", "");
  expect_schema_check(
      "{\"type\": \"object\", \"properties\": {}, \"title\": \"t\", \"default\": {},"
      " \"examples\": [{}]}",
      "");
  expect_schema_check("[]", "input_schema: must be a schema (an object)");
  expect_schema_check("{}", "input_schema.type: must be \"object\"");
  expect_schema_check("{\"type\": \"string\"}", "input_schema.type: must be \"object\"");
  expect_schema_check("{\"type\": \"object\", \"format\": \"x\"}",
                      "input_schema.format: unknown keyword (supported: type,");
  expect_schema_check("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"text\"}}}",
                      "input_schema.properties.a.type: unknown type \"text\"");
  expect_schema_check("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": []}}}",
                      "input_schema.properties.a.type: must be a type name or a non-empty array");
  expect_schema_check(
      "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": [\"string\", 1]}}}",
      "input_schema.properties.a.type[1]: must be a type name (a string)");
  expect_schema_check("{\"type\": \"object\", \"properties\": []}",
                      "input_schema.properties: must be an object mapping");
  expect_schema_check(
      "{\"type\": \"object\", \"required\": {}}",
      "input_schema.required: must be an array of property names (an empty Lua table "
      "encodes as {}: leave the field out)");
  expect_schema_check("{\"type\": \"object\", \"required\": [1]}",
                      "input_schema.required: must be an array of property names");
  expect_schema_check("{\"type\": \"object\", \"additionalProperties\": {}}",
                      "input_schema.additionalProperties: must be true or false");
  expect_schema_check("{\"type\": \"object\", \"properties\": {\"a\": {\"enum\": []}}}",
                      "input_schema.properties.a.enum: must be a non-empty array");
  expect_schema_check("{\"type\": \"object\", \"properties\": {\"a\": {\"maximum\": \"1\"}}}",
                      "input_schema.properties.a.maximum: must be a number");
  expect_schema_check("{\"type\": \"object\", \"properties\": {\"a\": {\"maxLength\": -1}}}",
                      "input_schema.properties.a.maxLength: must be a non-negative integer");
  expect_schema_check(
      "{\"type\": \"object\", \"properties\": {\"a\": {\"items\": {\"minItems\": 1.5}}}}",
      "input_schema.properties.a.items.minItems: must be a non-negative integer");
  expect_schema_check("{\"type\": \"object\", \"description\": 5}",
                      "input_schema.description: must be a string");
}

static void test_schema_depth_cap(void **state) {
  (void)state;
  char text[4096] = "{\"type\": \"object\"";
  for (int i = 0; i <= JSON_SCHEMA_MAX_DEPTH_LEVELS; i++)
    strcat(text, ", \"items\": {\"type\": \"array\"");
  for (int i = 0; i <= JSON_SCHEMA_MAX_DEPTH_LEVELS + 1; i++) strcat(text, "}");
  json_t *schema = parse(text);
  char err[512];
  assert_int_equal(json_schema_check(schema, "s", err, sizeof err), -1);
  assert_non_null(strstr(err, "nested deeper than 32 levels"));
  json_decref(schema);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema_valid_inputs),
      cmocka_unit_test(test_schema_messages),
      cmocka_unit_test(test_schema_exact_integer_bounds),
      cmocka_unit_test(test_schema_checks),
      cmocka_unit_test(test_schema_depth_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
