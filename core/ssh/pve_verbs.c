#include "pve_verbs.h"

#include <stdlib.h>
#include <string.h>

#include "pve_verb_list.h"

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
