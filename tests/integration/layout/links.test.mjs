// scripts/check-links.mjs on object files built here: two files that call
// each other fail it, named with their loop (the shape lua_ctx.c and
// lua_tool_call.c had); the same two with the lower one calling back
// through a function pointer it is handed, or a plain chain, pass. (ctest's
// layout.links runs the check on the build's own core/ objects.)
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
const CHECK = path.join(SOURCE_DIR, 'scripts', 'check-links.mjs');
const TIMEOUT_MS = 60000;

const scratch = scratchDir('bg-links');

/** Compiles files ({name: source}) to objects laid out as CMake does, under scratch/name. */
function objects(name, files) {
  const dir = path.join(scratch, name);
  const out = path.join(dir, 'CMakeFiles', 'bg_x.dir', 'x');
  fs.mkdirSync(out, { recursive: true });
  for (const [file, source] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, file), source);
    const r = spawnSync('cc', ['-c', '-o', path.join(out, `${file}.o`), path.join(dir, file)],
      { encoding: 'utf8', timeout: TIMEOUT_MS });
    assert.equal(r.status, 0, r.stderr);
  }
  return dir;
}

function check(dir) {
  const r = spawnSync(process.execPath, [CHECK, dir], { encoding: 'utf8', timeout: TIMEOUT_MS });
  assert.equal(r.error, undefined, String(r.error));
  return r;
}

test('two files that call each other fail the check, named with their loop', () => {
  const r = check(objects('loop', {
    'ctx.c': 'void call_op_begin(void);\nvoid ctx_push(void) { call_op_begin(); }\n',
    'call.c': 'void ctx_push(void);\nvoid call_op_begin(void) {}\nvoid call_start(void) { ctx_push(); }\n',
  }));
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /^call cycle between x\/call\.c, x\/ctx\.c \(x\/call\.c -> x\/ctx\.c -> x\/call\.c\)$/m);
});

test('a loop round three files fails the check too', () => {
  const r = check(objects('three', {
    'a.c': 'void b(void);\nvoid a(void) { b(); }\n',
    'b.c': 'void c(void);\nvoid b(void) { c(); }\n',
    'c.c': 'void a(void);\nvoid c(void) { a(); }\n',
  }));
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /call cycle between x\/a\.c, x\/b\.c, x\/c\.c \(x\/a\.c -> x\/b\.c -> x\/c\.c -> x\/a\.c\)/);
});

test('the lower file calling back through a pointer it is handed passes, as a chain does', () => {
  const r = check(objects('pointer', {
    'op.c': 'void op_complete(void (*kick)(void)) { kick(); }\n',
    'call.c': 'void op_complete(void (*kick)(void));\nstatic void kick(void) {}\n' +
      'void call_run(void) { op_complete(kick); }\n',
    'top.c': 'void call_run(void);\nint main(void) { call_run(); return 0; }\n',
  }));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^check-links: 3 object files under .*, no call cycle$/m);
});

test('a folder with no object file is an error, not a pass', () => {
  const dir = path.join(scratch, 'empty');
  fs.mkdirSync(dir);
  const r = check(dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^check-links: no object file under /);
});
