/* Checking a journal's chain (journal_chain.h), a line at a time: bytes
 * in, verdict out. No I/O: recovery, `breakglass verify` and the fuzzer
 * share it.
 *
 * Lines before the first header are unchained (journals written before
 * chains existed load and verify as "unchained"). From a header on, every
 * line must carry the next number and a link that follows the one before;
 * a header that says "hmac": true makes every link carry a mac, checked
 * when the key is given. The first line that does not is the break; the
 * lines after it (at most JOURNAL_VERIFY_LOOKAHEAD_LINES) name what
 * happened to it: changed, removed, inserted, reordered or truncated. The
 * verifier reads one line at a time and keeps no line, so it checks a
 * journal of any size in constant memory.
 */
#ifndef BG_JOURNAL_VERIFY_H
#define BG_JOURNAL_VERIFY_H

#include <stddef.h>

#include "journal_chain.h"
#include "limits_table.h"

typedef enum journal_damage {
  JOURNAL_DAMAGE_NONE,
  JOURNAL_DAMAGE_CHANGED,
  JOURNAL_DAMAGE_REMOVED,
  JOURNAL_DAMAGE_INSERTED,
  JOURNAL_DAMAGE_REORDERED,
  JOURNAL_DAMAGE_TRUNCATED,
} journal_damage;

typedef struct journal_verifier {
  journal_chain_key key; /* len 0: macs are not checked */
  /* Where the chain stands. */
  int chained; /* a header has been read */
  int hmac;    /* links carry a mac from here on */
  unsigned char head[JOURNAL_CHAIN_HASH_BYTES];
  unsigned long long seq; /* the last record's number */
  size_t lines;           /* lines read */
  size_t unchained_lines; /* lines before the first header */
  unsigned long long macs_checked;
  unsigned long long unauthenticated;            /* linked records without a mac */
  unsigned char first[JOURNAL_CHAIN_HASH_BYTES]; /* the last fresh header's link */
  char name[80];                                 /* the journal its header names */
  /* A record whose link the caller wants (a checkpoint of the sessions
   * index): want_seq, and whether it was seen with which link. */
  unsigned long long want_seq;
  int want_found;
  unsigned char want_hash[JOURNAL_CHAIN_HASH_BYTES];
  /* The first break: where it is (break_line, from the line that broke
   * the chain on), and what happened there (damage, why; NONE while the
   * lines after it are still being read to tell). */
  int broken;
  journal_damage damage;
  size_t break_line;
  unsigned long long break_record;
  char why[256];
  /* While telling: what the break line held, and what is looked for. */
  int deciding; /* lines after the break still wanted */
  int linked;   /* the break line had chain fields */
  unsigned long long break_seq;
} journal_verifier;

/* key may be NULL. */
void journal_verifier_init(journal_verifier *v, const journal_chain_key *key);
/* The next whole line (without its newline). Returns 0 while the chain
 * holds, -1 from the line that breaks it on. After a break, keep feeding
 * lines while v->deciding (they are read, not trusted) and then call
 * journal_verifier_end: damage and why name the break. */
int journal_verifier_line(journal_verifier *v, const char *line, size_t len);
/* The file ends with a line without its newline (len bytes). */
void journal_verifier_torn(journal_verifier *v, size_t len);
/* The file ended: a break still being told is named from what was read. */
void journal_verifier_end(journal_verifier *v);

const char *journal_damage_name(journal_damage d);

/* The whole of data, as `breakglass verify` reads a file: 0 when the
 * chain holds to the end, -1 at the first break (named). */
int journal_verify_bytes(journal_verifier *v, const char *data, size_t len);

#endif
