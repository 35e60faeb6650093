// One layout of the C files (.clang-format): on a scratch copy of the
// folders scripts/check-format.sh reads, --fix lays them out and the check
// then passes; one line laid out otherwise fails it, naming the file and
// the line, and --fix mends it. (ctest's layout.format runs the check on
// the tree itself.)
//
// Env: BREAKGLASS_SOURCE_DIR.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../../lib/scratch.mjs';

const SOURCE_DIR =
  process.env.BREAKGLASS_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CHECK = path.join(SOURCE_DIR, 'scripts', 'check-format.sh');
const CHECK_TIMEOUT_MS = 60000;

const scratch = scratchDir('bg-format');

for (const part of ['.clang-format', 'core', 'pve', 'tests/unit', 'tests/fuzz', 'tests/lib-c']) {
  fs.cpSync(path.join(SOURCE_DIR, part), path.join(scratch, part), { recursive: true });
}

function run(...args) {
  const r = spawnSync(CHECK, [...args, scratch], { encoding: 'utf8', timeout: CHECK_TIMEOUT_MS });
  assert.equal(r.error, undefined, String(r.error));
  return r;
}

test('after --fix the check passes', () => {
  assert.equal(run('--fix').status, 0);
  const r = run();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /check-format: \d+ files as \.clang-format lays them out/);
});

test('one line laid out otherwise fails the check, naming file and line; --fix mends it', () => {
  const file = path.join(scratch, 'core', 'base', 'buf.c');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith('#include')) + 1;
  lines.splice(at, 0, 'static int   badly_laid_out ( void ) {return 0;}');
  fs.writeFileSync(file, lines.join('\n'));
  const r = run();
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, new RegExp(`core/base/buf\\.c:${at + 1}:\\d+: error: code should be clang-formatted`));
  assert.match(r.stderr, /scripts\/check-format\.sh --fix rewrites them/);
  assert.equal(run('--fix').status, 0);
  assert.equal(run().status, 0);
});
