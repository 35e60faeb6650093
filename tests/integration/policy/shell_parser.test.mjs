// The shell parser policies use (lua/policy/lib/shell*.lua), tested through
// the binary: tests/fixtures/lua/shell_parser holds policies whose
// self_tests are the parser's cases (quoting, escaping, nesting, wrappers,
// what it cannot see through, its bounds); `breakglass check` on them with
// the shipped library must pass. A case that expects something else must
// fail the check, naming its file and line, or the cases would prove nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scratchDir } from '../../lib/scratch.mjs';

const SOURCE = process.env.BREAKGLASS_SOURCE_DIR;
const RUN_TIMEOUT_MS = 30000;

const root = scratchDir('shell-parser-test');

/** The fixture cases with the shipped parser (lib/shell*.lua), plus extra files. */
function caseSet(name, extra = {}) {
  const dir = join(root, name);
  const lib = join(SOURCE, 'lua', 'policy', 'lib');
  cpSync(join(SOURCE, 'tests', 'fixtures', 'lua', 'shell_parser'), dir, { recursive: true });
  for (const f of readdirSync(lib).filter((n) => n.startsWith('shell'))) {
    copyFileSync(join(lib, f), join(dir, 'policy', 'lib', f));
  }
  for (const [rel, text] of Object.entries(extra)) writeFileSync(join(dir, rel), text);
  return dir;
}

function check(dir) {
  const r = spawnSync(process.env.BREAKGLASS_BIN, ['check', dir], {
    encoding: 'utf8', timeout: RUN_TIMEOUT_MS,
    env: { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? '' },
  });
  assert.equal(r.error, undefined, String(r.error));
  return r;
}

test('every parser case holds, run by the binary under the default limits', () => {
  const r = check(caseSet('cases'));
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /scripts are valid/);
});

test('a case that expects what the parser does not see fails, naming its file and line', () => {
  const wrong = `local expect = require("expect")
return {name = "zz_wrong", description = "a case that is wrong", before = function() end,
  self_test = function() expect("sudo -u root reboot", {commands = {"reboot"}}) end}
`;
  const r = check(caseSet('wrong', { 'policy/zz_wrong.lua': wrong }));
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^policy\/zz_wrong\.lua:3: commands of "sudo -u root reboot":\n {2}got {2}reboot via sudo\n {2}want reboot \(in self_test\)\n$/);
});
