/* Where in a JSON value an error is: "input.args[2].name", built as a
 * walk descends and cut back as it returns. Long paths are truncated, never
 * overflowed. */
#ifndef BG_JSON_PATH_H
#define BG_JSON_PATH_H

#include <stddef.h>

#include "limits_table.h"

typedef struct json_path {
  char text[JSON_PATH_MAX_BYTES];
  size_t len;
} json_path;

void json_path_clear(json_path *p);
/* Appends a step; returns the length to give json_path_pop afterwards. */
size_t json_path_push(json_path *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void json_path_pop(json_path *p, size_t saved);

#endif
