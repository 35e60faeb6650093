// The walls between core/'s folders (core/edges.txt) hold: on a scratch
// copy of core/ and pve/ with one bad line added, scripts/check-includes.mjs
// fails naming the file and line (an include across a wall, a header that
// does not exist, an include cycle, the settings' config.h included
// outside core/base and core/daemon, directly or through another header),
// and the build of the http library fails on an include of the agent's
// session.h, where the same copy without it builds. (ctest's
// layout.includes runs the check on the tree itself.)
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
const CHECK = path.join(SOURCE_DIR, 'scripts', 'check-includes.mjs');
const CHECK_TIMEOUT_MS = 30000;
const BUILD_TIMEOUT_MS = 300000;

const scratch = scratchDir('bg-layout');

/** A copy of the folders the check (and the build) read, under scratch/name. */
function copyTree(name, withBuildFiles = false) {
  const dir = path.join(scratch, name);
  for (const part of ['core', 'pve', ...(withBuildFiles ? ['CMakeLists.txt'] : [])]) {
    fs.cpSync(path.join(SOURCE_DIR, part), path.join(dir, part), { recursive: true });
  }
  return dir;
}

/** Adds line after the first #include of file (relative to dir); its line number. */
function addInclude(dir, file, line) {
  const full = path.join(dir, file);
  const lines = fs.readFileSync(full, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith('#include')) + 1;
  lines.splice(at, 0, line);
  fs.writeFileSync(full, lines.join('\n'));
  return at + 1;
}

function check(dir) {
  const r = spawnSync(process.execPath, [CHECK, dir], { encoding: 'utf8', timeout: CHECK_TIMEOUT_MS });
  assert.equal(r.error, undefined, String(r.error));
  return r;
}

/**
 * Runs the check on the copy scratch/name with include added to file,
 * asserting that it fails: {dir, line (the include's), errors (its trimmed stderr)}.
 */
function checkFails(name, file, include) {
  const dir = copyTree(name);
  const line = addInclude(dir, file, include);
  const r = check(dir);
  assert.equal(r.status, 1, r.stderr);
  return { dir, line, errors: r.stderr.trim() };
}

test('the check passes the tree as it is', () => {
  const r = check(copyTree('clean'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /keep to the \d+ folders of core\/edges\.txt/);
});

test('an include across a wall fails the check, naming the file and line', () => {
  const { line, errors } = checkFails('wall', 'core/http/http_server.c', '#include "session.h"');
  assert.equal(errors, `core/http/http_server.c:${line}: includes "session.h" from core/agent, ` +
    'which core/http may not use (core/edges.txt: core/http may use core/base core/http)');
});

test('a quoted include of no header in the repository fails the check', () => {
  const { line, errors } = checkFails('missing', 'core/base/buf.c', '#include "nosuch.h"');
  assert.equal(errors, `core/base/buf.c:${line}: includes "nosuch.h", which is no header of core/ or pve/`);
});

test('an include cycle inside one folder fails the check, with its loop', () => {
  // http_server.c includes the parser, whose .c includes http_path.h.
  const { errors } = checkFails('cycle', 'core/http/http_path.c', '#include "http_server.h"');
  assert.equal(errors, 'include cycle between core/http/http_path, core/http/http_request_parser, ' +
    'core/http/http_server (core/http/http_path -> core/http/http_server -> ' +
    'core/http/http_request_parser -> core/http/http_path)');
});

test('config.h included outside core/base and core/daemon fails the check', () => {
  const { line, errors } = checkFails('config', 'core/agent/session_turn.c', '#include "config.h"');
  assert.equal(errors, `core/agent/session_turn.c:${line}: includes core/base/config.h, which ` +
    'only core/base core/daemon may include (core/edges.txt)');
});

test('config.h reached through another folder\'s header fails the check where that header is included', () => {
  // journal_store.h is a core/journal header that core/agent's files and
  // the daemon's include: each include outside the two folders is named.
  const { dir, errors } = checkFails('config-through', 'core/journal/journal_store.h', '#include "config.h"');
  const lines = errors.split('\n');
  assert.ok(lines.length > 1, errors);
  for (const l of lines) assert.match(l, /: includes core\/base\/config\.h.*, which only core\/base core\/daemon may include/);
  assert.ok(lines.some((l) => /^core\/journal\/journal_store\.h:\d+: includes core\/base\/config\.h, /.test(l)), errors);
  const sessionPrune = fs.readFileSync(path.join(dir, 'core/agent/session_prune.c'), 'utf8').split('\n');
  const at = sessionPrune.indexOf('#include "journal_store.h"') + 1;
  assert.ok(lines.includes(`core/agent/session_prune.c:${at}: includes core/base/config.h (through ` +
    'core/journal/journal_store.h), which only core/base core/daemon may include (core/edges.txt)'), errors);
  // The daemon may: it fills the options from the settings.
  assert.ok(!lines.some((l) => l.startsWith('core/daemon/')), errors);
});

test('the build of the http library fails on an include of the agent\'s header', () => {
  const dir = copyTree('build', true);
  const build = path.join(dir, 'out');
  const cmake = (args) => spawnSync('cmake', args, { encoding: 'utf8', timeout: BUILD_TIMEOUT_MS });
  let r = cmake(['-S', dir, '-B', build, '-DBREAKGLASS_TESTS=OFF', '-DBREAKGLASS_WERROR=ON']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  r = cmake(['--build', build, '--target', 'bg_http', '-j2']);
  assert.equal(r.status, 0, `the copy builds as it is: ${r.stdout}${r.stderr}`);
  const line = addInclude(dir, 'core/http/http_server.c', '#include "session.h"');
  r = cmake(['--build', build, '--target', 'bg_http', '-j2']);
  assert.notEqual(r.status, 0, 'the build refuses the include');
  assert.match(r.stdout + r.stderr,
    new RegExp(`core/http/http_server\\.c:${line}:\\d+: fatal error: session\\.h: No such file or directory`));
});
