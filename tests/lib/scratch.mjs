// The temporary folders of a test file or a benchmark: made fresh, removed
// with everything in them when the process exits. Not in an after() hook:
// node:test runs root hooks in the order they were registered, so a
// folder made at load would go before the after() that stops the daemon
// writing into it; at exit every hook has run and every child has stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set();
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A new folder PREFIX-XXXXXX under the system's temporary folder. */
export function scratchDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  made.add(dir);
  return dir;
}
