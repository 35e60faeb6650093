/* breakglass verify JOURNAL|DIR [--key FILE] [--json]: checks journals'
 * hash chains offline (docs/journal.md, "Integrity"). Exit 0 when every
 * journal is intact or unchained (written before chains), 1 when one is
 * broken (naming the session, the record and what happened to it), 2 when
 * one cannot be read. A folder is every session journal in it, checked
 * against the sessions index beside them (index/sessions.jsonl). The key
 * is --key, else BREAKGLASS_JOURNAL_HMAC_KEY_PATH; without one the links
 * are checked and the macs are not. */
#ifndef BG_VERIFY_CLI_H
#define BG_VERIFY_CLI_H

int verify_main(int argc, char **argv);

#endif
