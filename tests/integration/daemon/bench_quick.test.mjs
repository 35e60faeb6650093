// bench/run.sh in its quick mode (a few iterations of everything), so that
// the benchmarks keep running as the daemon changes: every figure of the
// table comes out as a number beside its baseline, in the table and in the
// JSON, with the machine described. No timing is asserted: the figures of
// a quick run on a busy machine are not ones to judge by.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('bench-quick-test');
const RUN_LIMIT_MS = 240000;
const lab = process.getuid() === 0;

test('bench/run.sh --quick prints and writes every figure with its baseline', () => {
  const json = join(dir, 'bench.json');
  const build = dirname(process.env.BREAKGLASS_BIN);
  const r = spawnSync(join(process.env.BREAKGLASS_SOURCE_DIR, 'bench', 'run.sh'), [build, '--quick', '--json', json],
    { encoding: 'utf8', timeout: RUN_LIMIT_MS });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const out = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(out.quick, true);
  for (const k of ['cpu', 'cores', 'kernel', 'memory_mib', 'load_average']) assert.ok(out.machine[k], `machine.${k}`);
  const names = out.figures.map((f) => f.figure);
  const expected = [/^start → \/health/, /^idle RSS$/, /^idle private memory$/, /-message session$/,
    /^prompt → first text event/, /turns \(\d+ sessions kept\)$/, /^text relay latency p50$/, /^text relay latency p99$/,
    /SSE viewers: delivery p99$/, /SSE viewers: the loop's CPU$/, /^\/health with 64 kept-alive clients/,
    /^replay, \d+ calls$/, /^replay, time per call/, /^batch replay/];
  if (lab) expected.push(/^power verb status \(forced command that exits\) p50$/, /^power verb status \(breakglass-pve\) p50$/,
    /^devvm_shell true p50$/, /^devvm_shell true p99$/, /^devvm_shell stdout flood of [\d.]+ MB p50$/,
    /^devvm_shell stderr flood of [\d.]+ MB p50$/, /^devvm_shell stderr flood of [\d.]+ MB, slowest of \d+$/);
  for (const re of expected) assert.ok(names.some((n) => re.test(n)), `a figure matching ${re} in ${names.join('; ')}`);
  for (const f of out.figures) {
    assert.ok(Number.isFinite(f.value) && f.value >= 0, `${f.figure}: ${f.value}`);
    if (f.baseline !== null) assert.ok(Number.isFinite(f.ratio), `${f.figure}: ratio ${f.ratio}`);
    assert.ok(r.stdout.includes(f.figure), `the table shows ${f.figure}`);
  }
  assert.ok(out.checks.length >= (lab ? 7 : 3), JSON.stringify(out.checks));
  assert.match(r.stdout, /^machine: .+ cores, .+ MiB, Linux /m);
});
