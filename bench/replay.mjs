// breakglass replay of generated journals (bench/replay-journal.mjs: as the
// daemon writes them, nothing to report against lua/): 1,000 and 10,000
// calls in one session, and a folder of sessions replayed together. Each
// figure is the fastest of a few runs, wall and CPU (user + system), timed
// by bash's `time`; the time per call is the replay less the replay of a
// session with no calls, divided by the calls.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HERE = new URL('.', import.meta.url).pathname;

function generate(dir, calls, sessions) {
  const script = join(HERE, 'replay-journal.mjs');
  if (sessions) {
    const out = join(dir, `folder-${sessions}x${calls}`);
    mkdirSync(out, { recursive: true });
    const r = spawnSync(process.execPath, [script, String(calls), '--sessions', String(sessions), '--out', out]);
    if (r.status !== 0) throw new Error(`replay-journal: ${r.stderr}`);
    return out;
  }
  const file = join(dir, `${'c'.repeat(8)}${String(calls).padStart(24, '0')}.jsonl`);
  const r = spawnSync(process.execPath, [script, String(calls)], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`replay-journal: ${r.stderr}`);
  writeFileSync(file, r.stdout);
  return file;
}

/** {wall, cpu} seconds of the fastest of runs, and what replay said. */
function timeReplay(bin, target, scripts, runs) {
  let best = null;
  for (let i = 0; i < runs; i++) {
    const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%R %U %S"; { time "$@" > /dev/null; } 2>&1', 'bash',
      bin, 'replay', target, '--scripts', scripts], { encoding: 'utf8' });
    const [wall, user, sys] = r.stdout.trim().split('\n').at(-1).split(' ').map(Number);
    if (!Number.isFinite(wall)) throw new Error(`replay ${target}: ${r.stdout}${r.stderr}`);
    if (!best || wall < best.wall) best = { wall, cpu: user + sys };
  }
  const check = spawnSync(bin, ['replay', target, '--scripts', scripts], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (check.status !== 0) throw new Error(`replay ${target} exited ${check.status}: ${check.stderr}`);
  return { ...best, summary: check.stdout.trim().split('\n').at(-1) };
}

export function measureReplay({ bin, scripts, dir, small, large, sessions, perSession, runs }) {
  const empty = timeReplay(bin, generate(dir, 0), scripts, runs);
  const few = timeReplay(bin, generate(dir, small), scripts, runs);
  const many = timeReplay(bin, generate(dir, large), scripts, runs);
  const folder = timeReplay(bin, generate(dir, perSession, sessions), scripts, runs);
  const perCall = (r, calls) => ({ wall: (r.wall - empty.wall) / calls, cpu: (r.cpu - empty.cpu) / calls });
  return { empty, few, many, folder, small, large, sessions, perSession,
    perCallSmall: perCall(few, small), perCallLarge: perCall(many, large) };
}
