#include "limits_print.h"

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "limits_table.h"

typedef struct limit_row {
  const char *name;
  unsigned long long value;
  const char *unit;
  const char *what;
} limit_row;

#define LIMIT_ROW(name, unit, what) {#name, (unsigned long long)(name), unit, what},

static const limit_row base_rows[] = {BASE_LIMITS(LIMIT_ROW)};
static const limit_row http_rows[] = {HTTP_LIMITS(LIMIT_ROW)};
static const limit_row model_rows[] = {MODEL_LIMITS(LIMIT_ROW)};
static const limit_row ssh_rows[] = {SSH_LIMITS(LIMIT_ROW)};
static const limit_row journal_rows[] = {JOURNAL_LIMITS(LIMIT_ROW)};
static const limit_row sandbox_rows[] = {SANDBOX_LIMITS(LIMIT_ROW)};
static const limit_row lua_rows[] = {LUA_LIMITS(LIMIT_ROW)};
static const limit_row gate_rows[] = {GATE_LIMITS(LIMIT_ROW)};
static const limit_row agent_rows[] = {AGENT_LIMITS(LIMIT_ROW)};
static const limit_row api_rows[] = {API_LIMITS(LIMIT_ROW)};
static const limit_row daemon_rows[] = {DAEMON_LIMITS(LIMIT_ROW)};

typedef struct limit_group {
  const char *header;
  const limit_row *rows;
  size_t count;
} limit_group;

#define LIMIT_GROUP(header, rows)                                                                  \
  { header, rows, sizeof rows / sizeof rows[0] }

/* In the order of core/base/limits_table.h: a heading a folder of core/. */
static const limit_group limit_groups[] = {
    LIMIT_GROUP("core/base", base_rows),       LIMIT_GROUP("core/http", http_rows),
    LIMIT_GROUP("core/model", model_rows),     LIMIT_GROUP("core/ssh", ssh_rows),
    LIMIT_GROUP("core/journal", journal_rows), LIMIT_GROUP("core/lua/sandbox", sandbox_rows),
    LIMIT_GROUP("core/lua", lua_rows),         LIMIT_GROUP("core/agent/gate", gate_rows),
    LIMIT_GROUP("core/agent", agent_rows),     LIMIT_GROUP("core/api", api_rows),
    LIMIT_GROUP("core/daemon", daemon_rows),
};

void limits_print(void) {
  printf("Limits compiled in (name, value and unit, what it bounds):\n");
  for (size_t g = 0; g < sizeof limit_groups / sizeof limit_groups[0]; g++) {
    const limit_group *group = &limit_groups[g];
    printf("\n%s:\n", group->header);
    for (size_t i = 0; i < group->count; i++) {
      const limit_row *r = &group->rows[i];
      printf("  %-40s %12llu %-12s %s\n", r->name, r->value, r->unit, r->what);
    }
  }
  printf("\nSettings' defaults (the environment variable or its --flag "
         "overrides each):\n");
  config_print_limits();
}
