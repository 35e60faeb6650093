#include "verb.h"

#include <string.h>

typedef struct verb_entry {
  const char *name;
  pve_verb verb;
  bool mutating;
} verb_entry;

#define VERB_ENTRY(id, name, mutating) {name, PVE_VERB_##id, mutating},
static const verb_entry verbs[] = {PVE_VERB_LIST(VERB_ENTRY)};
#undef VERB_ENTRY

#define VERB_COUNT (sizeof(verbs) / sizeof(verbs[0]))

/* Each name after a '|'; pve_verb_allowed skips the first one. */
#define VERB_ALLOWED_PART(id, name, mutating) "|" name
static const char verbs_allowed[] = PVE_VERB_LIST(VERB_ALLOWED_PART);
#undef VERB_ALLOWED_PART

int pve_verb_parse(const char *input, size_t len, pve_verb *out) {
  if (!input || len == 0 || len > PVE_VERB_MAX_BYTES) return -1;
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

const char *pve_verb_allowed(void) { return verbs_allowed + 1; }
