// breakglass-pve as a program of its own: pve/ copied out of the repository
// builds with only a C compiler and libc, the binary links nothing but
// libc, and no file under pve/ reaches a header outside it.
//
// Env: BREAKGLASS_PVE_BIN (the project's build of it), BREAKGLASS_BIN (the
// daemon, whose libraries show that the link check sees them),
// BREAKGLASS_SANITIZE (1 in a sanitizer build, whose runtimes every
// program there links), BREAKGLASS_SOURCE_DIR. Runs as root: the config
// and log breakglass-pve reads must be root's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../../lib/scratch.mjs';

const SOURCE_DIR =
  process.env.BREAKGLASS_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PVE_DIR = path.join(SOURCE_DIR, 'pve');
const PVE_BIN = process.env.BREAKGLASS_PVE_BIN || path.join(SOURCE_DIR, 'build', 'breakglass-pve');
const DAEMON_BIN = process.env.BREAKGLASS_BIN || path.join(SOURCE_DIR, 'build', 'breakglass');
const SANITIZED = process.env.BREAKGLASS_SANITIZE === '1';
const BUILD_TIMEOUT_MS = 300000;
const RUN_TIMEOUT_MS = 30000;
const ALLOWED = 'status|forensics|reset|stop|start|cycle';
// Debian's packages for libc's headers, the kernel's, and the compiler's own
// (stddef.h, stdbool.h, ...): everything a C compiler and libc bring.
const LIBC_AND_COMPILER_PACKAGES = /^(libc6-dev|linux-libc-dev|libgcc-\d+-dev|libclang-common-\d+-dev)(:[a-z0-9]+)?$/;

const scratch = scratchDir('bgpve-alone');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, ...opts });
  assert.equal(r.error, undefined, `${cmd} ${args.join(' ')}: ${r.error}`);
  return r;
}

/** The shared libraries an ELF file names as NEEDED, as readelf reports them. */
function neededLibs(file) {
  const r = run('readelf', ['--dynamic', '--wide', file]);
  assert.equal(r.status, 0, `readelf ${file}: ${r.stderr}`);
  return [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]).sort();
}

function sourceFiles(dir) {
  return fs.readdirSync(dir, { recursive: true })
    .filter((f) => /\.[ch]$/.test(f))
    .map((f) => path.join(dir, f))
    .sort();
}

// Every header of the repository's C folders, by the names an angle include
// could reach it with (relative to its folder, or to any folder above it).
function repositoryHeaderNames() {
  const names = new Set();
  for (const top of ['core', 'pve']) {
    for (const file of sourceFiles(path.join(SOURCE_DIR, top)).filter((f) => f.endsWith('.h'))) {
      const parts = path.relative(SOURCE_DIR, file).split(path.sep);
      for (let i = 1; i < parts.length; i++) names.add(parts.slice(i).join('/'));
    }
  }
  return names;
}

/**
 * Problems with the #include lines of the C files under root: a quoted one
 * must name a file inside root, relative to the including file (no -I is
 * needed, none can leak); an angle one must be a system header, not one of
 * the repository's.
 */
function includeProblems(root, repoHeaders) {
  const problems = [];
  for (const file of sourceFiles(root)) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const m = /^\s*#\s*include\s*([<"])([^>"]+)[>"]/.exec(line);
      if (!m) return;
      const where = `${path.relative(root, file)}:${i + 1}: ${m[2]}`;
      if (m[1] === '"') {
        const target = path.resolve(path.dirname(file), m[2]);
        const inside = !path.relative(root, target).startsWith('..');
        if (!inside) problems.push(`${where} is outside ${root}`);
        else if (!fs.existsSync(target)) problems.push(`${where} does not exist`);
      } else if (repoHeaders.has(m[2])) {
        problems.push(`${where} is a header of this repository, not the system's`);
      }
    });
  }
  return problems;
}

/** The files the build of breakglass-pve read, from the compiler's dependency files. */
function headersRead(buildDir) {
  const objects = path.join(buildDir, 'CMakeFiles', 'breakglass-pve.dir');
  const depFiles = fs.readdirSync(objects, { recursive: true })
    .filter((f) => f.endsWith('.o.d'))
    .map((f) => path.join(objects, f));
  const read = new Set();
  for (const f of depFiles) {
    const text = fs.readFileSync(f, 'utf8');
    const deps = text.slice(text.indexOf(': ') + 2).replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
    for (const d of deps) read.add(path.normalize(path.isAbsolute(d) ? d : path.join(buildDir, d)));
  }
  return { depFiles, read: [...read].sort() };
}

/** Which Debian package owns each path (dpkg -S); unowned paths map to null. */
function owners(paths) {
  const r = run('dpkg', ['-S', ...paths]);
  const owner = new Map(paths.map((p) => [p, null]));
  for (const line of r.stdout.split('\n')) {
    const at = line.lastIndexOf(': /');
    if (at < 0 || line.startsWith('diversion ')) continue;
    const file = line.slice(at + 2);
    if (owner.has(file)) owner.set(file, line.slice(0, at).split(', '));
  }
  return owner;
}

test("the project's breakglass-pve links libc and nothing else", () => {
  const daemon = neededLibs(DAEMON_BIN);
  assert.ok(daemon.some((lib) => lib.startsWith('libjansson')), `the check sees the daemon's libraries: ${daemon}`);
  // A sanitizer build links its runtimes into every program; nothing else.
  const sanitizerRuntime = (lib) => SANITIZED && /^lib(asan|ubsan)\.so\.\d+$/.test(lib);
  const libs = neededLibs(PVE_BIN).filter((lib) => !sanitizerRuntime(lib));
  assert.deepEqual(libs, ['libc.so.6'], `${PVE_BIN} NEEDED: ${neededLibs(PVE_BIN)}`);
});

test('pve/ copied out alone builds with only a C compiler and libc; its binary links only libc and rejects an unknown verb', () => {
  const src = path.join(scratch, 'pve');
  const build = path.join(scratch, 'build');
  fs.cpSync(PVE_DIR, src, { recursive: true });
  // No pkg-config module can be found: a pkg_check_modules(... REQUIRED)
  // for jansson, libuv or lua would stop the configure here.
  const noModules = path.join(scratch, 'no-pkg-config');
  fs.mkdirSync(noModules);
  const env = { ...process.env, PKG_CONFIG_LIBDIR: noModules, PKG_CONFIG_PATH: noModules };
  const configure = run('cmake', ['-S', src, '-B', build, '-DBREAKGLASS_WERROR=ON'], { env, timeout: BUILD_TIMEOUT_MS });
  assert.equal(configure.status, 0, `configure:\n${configure.stdout}\n${configure.stderr}`);
  const compile = run('cmake', ['--build', build, '-j2'], { env, timeout: BUILD_TIMEOUT_MS });
  assert.equal(compile.status, 0, `build:\n${compile.stdout}\n${compile.stderr}`);
  const bin = path.join(build, 'breakglass-pve');
  assert.deepEqual(neededLibs(bin), ['libc.so.6']);

  // Every header the compiler read is pve/'s own, libc's, the kernel's or
  // the compiler's.
  const { depFiles, read } = headersRead(build);
  const sources = sourceFiles(src).filter((f) => f.endsWith('.c'));
  assert.equal(depFiles.length, sources.length, `one dependency file per source: ${depFiles}`);
  const outside = read.filter((f) => path.relative(src, f).startsWith('..'));
  assert.ok(outside.some((f) => f.endsWith('/stdio.h')), `the dependency files list system headers: ${outside}`);
  const foreign = [...owners(outside)]
    .filter(([, pkgs]) => !pkgs || !pkgs.every((p) => LIBC_AND_COMPILER_PACKAGES.test(p)))
    .map(([file, pkgs]) => `${file} (${pkgs ? pkgs.join(', ') : 'no package'})`);
  assert.deepEqual(foreign, [], 'headers from outside pve/, libc and the compiler');

  // The binary works: an unknown verb is refused as always, and logged.
  const conf = path.join(scratch, 'breakglass-pve.conf');
  const log = path.join(scratch, 'breakglass-pve.log');
  fs.writeFileSync(conf, `qm = /bin/false\nlog = ${log}\nlock = ${path.join(scratch, 'breakglass-pve.lock')}\n`, { mode: 0o600 });
  const r = run(bin, ['--config', conf], {
    env: { PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'reboot', SSH_CLIENT: '192.0.2.7 50022 22' },
  });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `breakglass-pve: rejected: the command must be exactly one of ${ALLOWED}\n`);
  assert.match(fs.readFileSync(log, 'latin1'), / client=192\.0\.2\.7 verb="reboot" result outcome=REJECTED exit=2 /);
});

test('no file under pve/ includes a header from outside pve/, and the shared verb list includes nothing', () => {
  const repoHeaders = repositoryHeaderNames();
  assert.deepEqual(includeProblems(PVE_DIR, repoHeaders), []);
  const shared = sourceFiles(path.join(PVE_DIR, 'shared'));
  assert.ok(shared.length > 0, 'pve/shared/ holds the verb list');
  for (const file of shared) assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /#\s*include/, file);

  // The check itself finds each kind of crossing.
  const bad = path.join(scratch, 'bad');
  fs.mkdirSync(path.join(bad, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(bad, 'own.h'), '');
  fs.writeFileSync(path.join(bad, 'sub', 'a.c'), [
    '#include <stdio.h>', '#include "../own.h"', '#include "../../core/base/buf.h"', '#include "gone.h"',
    '#include <buf.h>', '#  include <shared/pve_verb_list.h>', '',
  ].join('\n'));
  assert.deepEqual(includeProblems(bad, repoHeaders).map((p) => p.split(': ')[1].split(' ')[0]),
    ['../../core/base/buf.h', 'gone.h', 'buf.h', 'shared/pve_verb_list.h']);
});
