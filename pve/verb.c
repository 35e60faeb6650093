#include "verb.h"

#include <string.h>

typedef struct verb_entry {
  const char *name;
  pve_verb verb;
  bool mutating;
} verb_entry;

static const verb_entry verbs[] = {
    {"status", PVE_VERB_STATUS, false}, {"forensics", PVE_VERB_FORENSICS, false},
    {"reset", PVE_VERB_RESET, true},    {"stop", PVE_VERB_STOP, true},
    {"start", PVE_VERB_START, true},    {"cycle", PVE_VERB_CYCLE, true},
};

#define VERB_COUNT (sizeof(verbs) / sizeof(verbs[0]))

int pve_verb_parse(const char *input, size_t len, pve_verb *out) {
  if (input == NULL || len == 0 || len > PVE_VERB_MAX_BYTES) return -1;
  for (size_t i = 0; i < VERB_COUNT; i++) {
    if (strlen(verbs[i].name) == len && memcmp(verbs[i].name, input, len) == 0) {
      *out = verbs[i].verb;
      return 0;
    }
  }
  return -1;
}

const char *pve_verb_name(pve_verb verb) {
  for (size_t i = 0; i < VERB_COUNT; i++)
    if (verbs[i].verb == verb) return verbs[i].name;
  return "?";
}

bool pve_verb_is_mutating(pve_verb verb) {
  for (size_t i = 0; i < VERB_COUNT; i++)
    if (verbs[i].verb == verb) return verbs[i].mutating;
  return true;
}
