#include "pve_verbs.h"

#include <string.h>

typedef struct pve_verb {
  const char *name;
  int mutating;
} pve_verb;

/* Sorted by name. */
static const pve_verb PVE_VERBS[] = {
    {"cycle", 1}, {"forensics", 0}, {"reset", 1}, {"start", 1}, {"status", 0}, {"stop", 1},
};

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

json_t *pve_verbs_json(void) {
  json_t *all = json_array(), *mutating = json_array();
  for (size_t i = 0; i < PVE_VERB_COUNT; i++) {
    json_array_append_new(all, json_string(PVE_VERBS[i].name));
    if (PVE_VERBS[i].mutating) json_array_append_new(mutating, json_string(PVE_VERBS[i].name));
  }
  return json_pack("{s:o, s:o}", "verbs", all, "mutating", mutating);
}
