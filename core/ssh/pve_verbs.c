#include "pve_verbs.h"

#include <stdlib.h>
#include <string.h>

#include "pve_verb_list.h"
#include "ssh_transport.h"

typedef struct pve_verb {
  const char *name;
  int mutating;
} pve_verb;

/* breakglass-pve's own list (pve/shared/), in its order. */
#define PVE_VERB_ENTRY(id, name, mutating) {name, mutating},
static const pve_verb PVE_VERBS[] = {PVE_VERB_LIST(PVE_VERB_ENTRY)};
#undef PVE_VERB_ENTRY

#define PVE_VERB_COUNT (sizeof PVE_VERBS / sizeof PVE_VERBS[0])

static const pve_verb *pve_verb_find(const char *verb) {
  for (size_t i = 0; verb && i < PVE_VERB_COUNT; i++)
    if (strcmp(verb, PVE_VERBS[i].name) == 0) return &PVE_VERBS[i];
  return NULL;
}

int pve_verb_known(const char *verb) { return pve_verb_find(verb) != NULL; }

int pve_verb_mutating(const char *verb) {
  const pve_verb *v = pve_verb_find(verb);
  return v && v->mutating;
}

static int pve_verb_name_order(const void *a, const void *b) {
  return strcmp(((const pve_verb *)a)->name, ((const pve_verb *)b)->name);
}

json_t *pve_verbs_json(void) {
  pve_verb sorted[PVE_VERB_COUNT];
  memcpy(sorted, PVE_VERBS, sizeof sorted);
  qsort(sorted, PVE_VERB_COUNT, sizeof sorted[0], pve_verb_name_order);
  json_t *all = json_array(), *mutating = json_array();
  for (size_t i = 0; i < PVE_VERB_COUNT; i++) {
    json_array_append_new(all, json_string(sorted[i].name));
    if (sorted[i].mutating) json_array_append_new(mutating, json_string(sorted[i].name));
  }
  return json_pack("{s:o, s:o}", "verbs", all, "mutating", mutating);
}

unsigned pve_verb_exec_flags(const char *command) {
  return pve_verb_known(command) && pve_verb_mutating(command) ? SSH_EXEC_FINISH_ON_DRAIN : 0;
}

const char *pve_verb_standby_command(void) { return PVE_STANDBY_COMMAND; }

char *pve_verb_standby_frame(const char *command) {
  if (!pve_verb_known(command)) return NULL;
  size_t len = strlen(command);
  char *line = malloc(len + 2);
  if (!line) return NULL;
  memcpy(line, command, len);
  memcpy(line + len, "\n", 2);
  return line;
}
