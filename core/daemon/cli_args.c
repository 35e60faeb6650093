#include "cli_args.h"

#include <stddef.h>
#include <string.h>

int cli_args_parse(int argc, char **argv, const char **path, const char *option, const char **value,
                   int *json) {
  for (int i = 0; i < argc; i++) {
    if (json && strcmp(argv[i], "--json") == 0)
      *json = 1;
    else if (option && strcmp(argv[i], option) == 0 && i + 1 < argc)
      *value = argv[++i];
    else if (strncmp(argv[i], "--", 2) != 0 && !*path)
      *path = argv[i];
    else
      return -1;
  }
  return *path ? 0 : -1;
}
