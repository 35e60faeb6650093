// Where a power verb is when a shutdown test pulls the plug, and whether
// its outcome was recorded, for the tests that stop the daemon during a
// cycle (lab_shutdown_verb, image).
import fs from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './page.mjs';

/**
 * Resolves once a cycle started after this call has reached the VM:
 * breakglass-pve asked qm to stop it (qm's log holds earlier calls too).
 */
export function cycleReachesQm(lab, timeoutMs) {
  const seen = lab.qmCalls().length;
  return waitFor('the cycle to reach qm',
    () => lab.qmCalls().slice(seen).some((c) => /^(shutdown|stop) /.test(c)), timeoutMs);
}

/** Every record of every journal under dir (sessions, buttons). */
export function journalRecordsUnder(dir) {
  const records = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) records.push(...journalRecordsUnder(path));
    else if (entry.name.endsWith('.jsonl')) {
      for (const line of fs.readFileSync(path, 'utf8').split('\n')) if (line) records.push(JSON.parse(line));
    }
  }
  return records;
}

/**
 * A record saying a cycle ran to exit 0: its tool_call (docs/journal.md),
 * which a press and an agent's call alike end with, also when the call
 * outlived a cancelled turn.
 */
export function recordsCycleDone(r) {
  return r.kind === 'tool_call' && r.input?.verb === 'cycle' && /^pve cycle: exit 0,/.test(r.result?.content ?? '');
}
