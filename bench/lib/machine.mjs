// What the figures were measured on: CPU, cores, memory, kernel, load, and
// the build (its type and whether a sanitizer is in it: a sanitizer build
// is several times slower and its memory says little).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

function cmakeCache(buildDir, key) {
  const file = join(buildDir, 'CMakeCache.txt');
  if (!existsSync(file)) return null;
  const m = new RegExp(`^${key}:[A-Z]+=(.*)$`, 'm').exec(readFileSync(file, 'utf8'));
  return m ? m[1] : null;
}

export function describeMachine(buildDir, sourceDir) {
  const git = spawnSync('git', ['-C', sourceDir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory_mib: Math.round(os.totalmem() / 2 ** 20),
    kernel: `${os.type()} ${os.release()}`,
    load_average: os.loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
    build: {
      dir: buildDir,
      // CMakeLists.txt sets RelWithDebInfo when the cache names none.
      type: cmakeCache(buildDir, 'CMAKE_BUILD_TYPE') || 'RelWithDebInfo',
      sanitizers: cmakeCache(buildDir, 'BREAKGLASS_SANITIZE') === 'ON',
    },
    commit: git.status === 0 ? git.stdout.trim() : null,
  };
}
