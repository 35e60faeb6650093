#include "export_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "config.h"
#include "incident.h"
#include "journal_events.h"
#include "journal_files.h"
#include "journal_key.h"
#include "limits_table.h"

static int usage(void) {
  fprintf(stderr, "usage: breakglass export JOURNAL [--format md|txt|json]\n");
  return 2;
}

/* The session id: the journal's name, else the session event's. */
static void export_session_id(const char *path, const json_t *events, char *id, size_t idlen) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (journal_files_is_session(base)) {
    snprintf(id, idlen, "%.32s", base);
    return;
  }
  const char *named = json_string_value(json_object_get(json_array_get(events, 0), "session_id"));
  snprintf(id, idlen, "%s", named ? named : "");
}

int export_main(int argc, char **argv) {
  const char *path = NULL, *format = "md";
  if (cli_args_parse(argc, argv, &path, "--format", &format, NULL) != 0) return usage();
  incident_format f = strcmp(format, "md") == 0     ? INCIDENT_MD
                      : strcmp(format, "txt") == 0  ? INCIDENT_TXT
                      : strcmp(format, "json") == 0 ? INCIDENT_JSON
                                                    : (incident_format)-1;
  if ((int)f < 0) return usage();
  bg_config c;
  char err[1024], *data = NULL, *raw = NULL;
  if (config_load(&c, 0, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "breakglass: %s\n", err);
    return 2;
  }
  journal_chain_key key = {0};
  unsigned char *key_bytes = NULL;
  size_t len, raw_len;
  int rc = 2;
  if (c.journal_hmac_key_path && journal_key_read(c.journal_hmac_key_path, &key_bytes, &key.len,
                                                  &raw, &raw_len, err, sizeof err) != 0) {
    fprintf(stderr, "breakglass export: %s\n", err);
  } else if (journal_files_read(path, EXPORT_MAX_JOURNAL_BYTES, &data, &len, err, sizeof err) !=
             0) {
    fprintf(stderr, "breakglass export: %s\n", err);
  } else {
    key.bytes = key_bytes;
    journal_verifier v;
    journal_verifier_init(&v, &key);
    json_t *events = journal_events_load(data, len, &v);
    if (v.broken)
      fprintf(stderr,
              "breakglass export: %s: the chain is broken at record %llu (line %zu): %s; "
              "exported up to it, as the daemon serves it\n",
              path, v.break_record, v.break_line, v.why);
    char id[128];
    export_session_id(path, events, id, sizeof id);
    incident *in = events ? incident_build(events, id) : NULL;
    buf out;
    buf_init(&out, EXPORT_MAX_OUTPUT_BYTES);
    if (in) incident_write(in, f, &out);
    if (in && fwrite(out.data ? out.data : "", 1, out.len, stdout) == out.len)
      rc = 0;
    else
      fprintf(stderr, "breakglass export: out of memory\n");
    buf_free(&out);
    incident_free(in);
    json_decref(events);
  }
  free(data);
  free(raw);
  free(key_bytes);
  config_free(&c);
  return rc;
}
