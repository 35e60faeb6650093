// `breakglass check [DIR]`: the offline validation operators and CI run
// before a ConfigMap edit goes live. Each broken set is the shipped lua/ set
// with one file broken; check must exit 1 and name that file and line (or
// just the file where no line applies). The shipped set itself exits 0.
// Libraries (lib/, tools/lib/, policy/lib/ and require): a broken one is
// named with its line, a name that would leave lib/ or a missing file fails
// the script that requires it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { LUA_MEMORY_MB, brokenEdits } from '../../lib/broken-scripts.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const BIN = process.env.BREAKGLASS_BIN;
const SOURCE = process.env.BREAKGLASS_SOURCE_DIR;
const INHERITED_ENV = ['PATH', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'];
const RUN_TIMEOUT_MS = 30000;

const root = scratchDir('scripts-check-test');

/** Runs `breakglass check ...args` with only PATH and sanitizer options (plus env). */
function check(args, env = {}, cwd = root) {
  const full = {};
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) full[k] = process.env[k];
  Object.assign(full, env);
  const r = spawnSync(BIN, ['check', ...args], { env: full, cwd, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  assert.equal(r.error, undefined, `check ${args.join(' ')}: ${r.error}`);
  return r;
}

const lines = (text) => text.split('\n').filter((l) => l !== '');

let sets = 0;
/** A copy of the shipped lua/ set in a fresh folder, with files replaced or added. */
function brokenSet(files) {
  const dir = join(root, `set-${sets++}`);
  cpSync(join(SOURCE, 'lua'), dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

// One broken file each: what to write, and the one line check must print.
const BROKEN = [
  ...brokenEdits({ file: 'tools/devvm_shell.lua', name: 'devvm_shell' }, { file: 'tools/pve.lua', name: 'pve' }),
  {
    what: 'an error in a policy at load',
    files: { 'policy/zz_broken.lua': 'local policy = {}\nerror("this policy is not finished")\nreturn policy\n' },
    line: /^policy\/zz_broken\.lua:2: this policy is not finished$/,
  },
];

// The line of confirm_destructive.lua that requires the shell library.
const requireLine = readFileSync(join(SOURCE, 'lua', 'policy', 'confirm_destructive.lua'), 'utf8')
  .split('\n').findIndex((l) => l.includes('require("shell")')) + 1;

describe('breakglass check', () => {
  test('the shipped set exits 0, by relative and absolute path and from BREAKGLASS_SCRIPTS_DIR', () => {
    for (const r of [check(['lua'], {}, SOURCE), check([join(SOURCE, 'lua')]),
      check([], { BREAKGLASS_SCRIPTS_DIR: join(SOURCE, 'lua') })]) {
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /scripts are valid/);
      assert.equal(r.stderr, '');
    }
  });

  for (const b of BROKEN) {
    test(`${b.what}: exit 1 and one line naming the file (and line)`, () => {
      const dir = brokenSet(b.files);
      const r = check([dir], { BREAKGLASS_LUA_MEMORY_MB: LUA_MEMORY_MB });
      assert.equal(r.status, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.equal(r.stdout, '');
      const got = lines(r.stderr);
      assert.equal(got.length, 1, r.stderr);
      assert.match(got[0], b.line);
    });
  }

  // Operators tune the shipped policies by the settings at the top of each
  // file; their self_tests must hold for any sensible value.
  const TUNINGS = [
    ['forensics_first.lua', 'MAX_AGE_MS', ['60 * 1000', '5 * 1000', '60 * 60 * 1000']],
    ['rate_limit.lua', 'MAX_MUTATING', ['1', '10']],
    ['rate_limit.lua', 'WINDOW_MS', ['2 * 1000', '60 * 60 * 1000']],
    ['rate_limit.lua', 'CYCLE_GAP_MS', ['0', '500', '10 * 60 * 1000']],
    ['confirm_destructive.lua', 'confirm_power_verbs', ['true']],
  ];
  for (const [file, name, values] of TUNINGS) {
    test(`policy/${file} loads with ${name} set to ${values.join(', ')}`, () => {
      const text = readFileSync(join(SOURCE, 'lua', 'policy', file), 'utf8');
      const re = new RegExp(`^local ${name} = .*$`, 'm');
      assert.match(text, re);
      for (const v of values) {
        const r = check([brokenSet({ [`policy/${file}`]: text.replace(re, `local ${name} = ${v}`) })]);
        assert.equal(r.status, 0, `${name} = ${v}: ${r.stderr}`);
      }
    });
  }

  test('a broken library: its own file and line, and the policy that requires it', () => {
    const r = check([brokenSet({ 'policy/lib/shell.lua': 'local M = {}\nM.x = = 1\nreturn M\n' })]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(lines(r.stderr), [
      "policy/lib/shell.lua:2: unexpected symbol near '='",
      `policy/confirm_destructive.lua:${requireLine}: require "shell": policy/lib/shell.lua:2: unexpected symbol near '='`,
    ]);
  });

  // require compiled its library with Lua's own loader, outside the
  // entry's deadline: this library held check (and a reload, which loads
  // the same way) for 45 s under a 500 ms limit.
  test('a library the compiler takes quadratic time over stops at the time limit', () => {
    const started = Date.now();
    const r = check([brokenSet({
      'tools/lib/slow.lua': `return ${'a and '.repeat(150000)}a\n`,
      'tools/zz_slow.lua': 'local slow = require("slow")\nreturn {name = "zz_slow", description = "x", '
        + 'input_schema = {type = "object"}, handler = function() return "x" end}\n',
    })], { BREAKGLASS_LUA_CALL_TIMEOUT_MS: '500' });
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(lines(r.stderr), [
      'tools/lib/slow.lua: time limit (500 ms) exceeded while compiling',
      'tools/zz_slow.lua:1: time limit (500 ms) exceeded in require',
    ]);
    assert.ok(Date.now() - started < 10000, `check took ${Date.now() - started} ms`);
  });

  test('a broken library no script requires is still reported', () => {
    const r = check([brokenSet({ 'tools/lib/unused.lua': 'return {\n' })]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(lines(r.stderr), ['tools/lib/unused.lua:2: unexpected symbol near <eof>']);
  });

  // One policy file that requires name, with a before that returns nothing.
  const requiring = (name) => `local lib = require(${JSON.stringify(name)})
return {name = "zz_lib", description = "uses a library", before = function() return nil end}
`;

  for (const [name, message] of [
    ['../x', 'require "../x": not a library name: use 1-64 letters, digits or \'_\' (require("x") loads policy/lib/x.lua)'],
    ['/etc/passwd', 'require "/etc/passwd": not a library name: use 1-64 letters, digits or \'_\' (require("x") loads policy/lib/x.lua)'],
    ['lib.shell', 'require "lib.shell": not a library name: use 1-64 letters, digits or \'_\' (require("x") loads policy/lib/x.lua)'],
    ['', 'require "": not a library name: use 1-64 letters, digits or \'_\' (require("x") loads policy/lib/x.lua)'],
    ['x'.repeat(65), 'require: a library name is at most 64 characters'],
    ['nope', 'require "nope": cannot open policy/lib/nope.lua: No such file or directory'],
  ]) {
    test(`require(${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}...` : name)}) fails the policy's load with a clear message`, () => {
      const r = check([brokenSet({ 'policy/zz_lib.lua': requiring(name) })]);
      assert.equal(r.status, 1, r.stderr);
      assert.deepEqual(lines(r.stderr), [`policy/zz_lib.lua:1: ${message}`]);
    });
  }

  test('require: a library loads once per state, in the script\'s environment, only while the file loads', () => {
    const dir = brokenSet({
      'policy/lib/counter.lua': 'loads = (loads or 0) + 1\nreturn {loads = function() return loads end, name = ...}\n',
      'policy/lib/nothing.lua': 'local x = 1\n',
      'policy/lib/a_cycle.lua': 'return require("b_cycle")\n',
      'policy/lib/b_cycle.lua': 'return require("a_cycle")\n',
      'policy/zz_lib.lua': `local counter = require("counter")
assert(require("counter") == counter, "cached")
assert(counter.loads() == 1 and loads == 1, "run once, with the file's globals")
assert(counter.name == "counter", "called with its name")
assert(require("nothing") == true, "a library that returns nothing")
local ok, err = pcall(require, "a_cycle")
assert(not ok and err:find('require "a_cycle": the library requires itself', 1, true), err)
local policy = {name = "zz_lib", description = "uses a library"}
function policy.before()
  assert(require("counter") == counter)
  return nil
end
function policy.self_test(t)
  assert(require("counter") == counter, "loaded in the self_test's own state too")
  local ok2, err2 = pcall(require, "nothing_else")
  assert(not ok2 and err2:find("libraries load only while the file itself loads", 1, true), err2)
end
return policy
`,
    });
    const r = check([dir]);
    assert.equal(r.status, 0, r.stderr);
  });

  test('library files are not loaded as policies, and a name require cannot take is reported', () => {
    const r = check([brokenSet({ 'policy/lib/not-a-name.lua': 'return {}\n' })]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(lines(r.stderr), ["policy/lib/not-a-name.lua: not a library name: require takes 1-64 letters, digits or '_'"]);
  });

  test('two broken files: one line each, in load order', () => {
    const dir = brokenSet({
      'prompt.lua': 'return 42\n',
      'tools/pve.lua': 'return {\n',
    });
    const r = check([dir]);
    assert.equal(r.status, 1, r.stderr);
    const got = lines(r.stderr);
    assert.equal(got.length, 2, r.stderr);
    assert.match(got[0], /^prompt\.lua: must return a string or a function\(context\) \(got number\)$/);
    assert.match(got[1], /^tools\/pve\.lua:2: /);
  });

  test('an empty folder and a missing one: exit 1 with a clear message', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const r = check([empty]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(lines(r.stderr), ['prompt.lua: cannot open: No such file or directory']);

    const missing = check([join(root, 'no-such-folder')]);
    assert.equal(missing.status, 1, missing.stderr);
    assert.deepEqual(lines(missing.stderr), [`${join(root, 'no-such-folder')}: cannot open: No such file or directory`]);
  });
});

