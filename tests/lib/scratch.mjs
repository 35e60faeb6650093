// The temporary folders of a test file or a benchmark: made fresh, removed
// with everything in them when the process exits. Not in an after() hook:
// node:test runs root hooks in the order they were registered, so a
// folder made at load would go before the after() that stops the daemon
// writing into it; at exit every hook has run and every child has stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

// A daemon killed by another 'exit' hook (daemon.mjs, lab.mjs) a moment
// ago may still be writing: rmSync retries a folder that was not empty.
const REMOVE_RETRIES = 5;
// SIGINT is ^C; SIGTERM, what stops a run from outside.
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM'];

const made = new Set();
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: REMOVE_RETRIES });
});

// A process ended by a signal runs no 'exit' hook, and the folders stay.
// With no other handler, the signal ends the process here, as it would have
// (status 128 + its number), through process.exit, so that every 'exit'
// hook runs: these folders, and the harness's daemons and labs. A process
// with a handler of its own is that handler's to end (a CLI that closes
// its server first): when it exits, the hooks run then.
for (const signal of ENDING_SIGNALS) {
  process.on(signal, () => {
    if (process.listenerCount(signal) === 1) process.exit(128 + constants.signals[signal]);
  });
}

/** A new folder PREFIX-XXXXXX under the system's temporary folder. */
export function scratchDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  made.add(dir);
  return dir;
}
