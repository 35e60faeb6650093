// bench/run.sh BUILD_DIR [--quick] [--json FILE]: every figure of
// docs/benchmarks.md in one run, each beside its baseline and the ratio,
// printed as a table and written as JSON with the machine it ran on.
// --quick runs each with a few iterations (the test that keeps this from
// rotting); its figures are not the ones to quote.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { measureHealth } from './health.mjs';
import { describeMachine } from './lib/machine.mjs';
import { round } from './lib/stats.mjs';
import { startModel } from './lib/stack.mjs';
import { measureRelay } from './relay.mjs';
import { measureReplay } from './replay.mjs';
import { measureSsh } from './ssh.mjs';
import { measureSshFlood } from './ssh-flood.mjs';
import { measureStart } from './start.mjs';
import { measureLongSession, measureManyTurns } from './turns.mjs';

const SOURCE = resolve(new URL('..', import.meta.url).pathname);
const FULL = {
  starts: 10, messages: 200, perSession: 10, maxSessions: 10, turns: 1000, relayTurns: 5, deltas: 200,
  viewers: 100, wrkSeconds: 5, sshSamples: 200, replaySmall: 1000, replayLarge: 10000, sessions: 100,
  perSessionCalls: 100, replayRuns: 3, floodRounds: 5, floodBytes: 30000000,
};
const QUICK = {
  starts: 2, messages: 10, perSession: 2, maxSessions: 2, turns: 12, relayTurns: 1, deltas: 20, viewers: 10,
  wrkSeconds: 1, sshSamples: 3, replaySmall: 100, replayLarge: 1000, sessions: 5, perSessionCalls: 20,
  replayRuns: 1, floodRounds: 1, floodBytes: 4000000,
};
// Issue 13's table: today's Python service, and breakglass when the issue
// was filed (its figures, not measured in this run).
const PYTHON = { startMs: 258, idleRssMib: 33.5, firstTextMs: 691, peakRssMib: 336, verbFreshMs: 256 };
const ISSUE13 = { privateMib: 1.7, replaySmallS: 0.154, replayLargeS: 13.5 };

const MIB = 1024;

const SECTIONS = ['start', 'session', 'turns', 'relay', 'health', 'ssh', 'flood', 'replay'];

function parseArgs(argv) {
  const args = { quick: false, json: null, build: null, only: SECTIONS };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') args.quick = true;
    else if (argv[i] === '--json') args.json = argv[++i];
    else if (argv[i] === '--only') args.only = argv[++i].split(',');
    else if (!args.build && !argv[i].startsWith('--')) args.build = argv[i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!args.build) throw new Error('usage: bench/run.sh BUILD_DIR [--quick] [--json FILE] [--only SECTION,...]');
  const unknown = args.only.filter((s) => !SECTIONS.includes(s));
  if (unknown.length) throw new Error(`--only: unknown ${unknown.join(', ')} (sections: ${SECTIONS.join(', ')})`);
  args.build = resolve(args.build);
  args.json ??= join(args.build, 'bench.json');
  return args;
}

const progress = (what) => process.stderr.write(`bench: ${what}\n`);

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const p = args.quick ? QUICK : FULL;
  const bin = join(args.build, 'breakglass');
  const pveBin = join(args.build, 'breakglass-pve');
  if (!existsSync(bin)) throw new Error(`no ${bin}: build first (scripts/build.sh ${args.build})`);
  process.env.BREAKGLASS_SOURCE_DIR ??= SOURCE;
  process.env.BREAKGLASS_BIN ??= bin;
  process.env.BREAKGLASS_PVE_BIN ??= pveBin;
  const lab = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-'));
  const machine = describeMachine(args.build, SOURCE);
  const model = await startModel(dir);
  const raw = {};
  try {
    const env = { ...model.env, BREAKGLASS_SCRIPTS_DIR: join(SOURCE, 'lua'), BREAKGLASS_WWW_DIR: join(SOURCE, 'www') };
    const want = (s) => args.only.includes(s);
    if (want('start')) {
      progress(`start → /health, ${p.starts} starts`);
      raw.start = await measureStart({ bin, env, starts: p.starts });
    }
    if (want('session')) {
      progress(`a session of ${p.messages} messages`);
      raw.session = await measureLongSession({ bin, model, messages: p.messages });
    }
    if (want('turns')) {
      progress(`${p.turns} turns, sessions of ${p.perSession}, ${p.maxSessions} kept`);
      raw.turns = await measureManyTurns({ bin, model, perSession: p.perSession, maxSessions: p.maxSessions,
        turns: p.turns });
    }
    if (want('relay')) {
      progress(`text relay, ${p.viewers} viewers`);
      raw.relay = await measureRelay({ bin, model, turns: p.relayTurns, deltas: p.deltas, viewers: p.viewers });
    }
    if (want('health')) {
      progress(`/health under wrk, ${p.wrkSeconds} s`);
      raw.health = await measureHealth({ bin, seconds: p.wrkSeconds });
    }
    if (want('ssh') && lab) {
      progress(`SSH against OpenSSH, ${p.sshSamples} each, forced command that exits`);
      raw.sshExit = await measureSsh({ bin, pveBin, model, samples: p.sshSamples, setup: 'exit' });
      progress(`SSH against OpenSSH, ${p.sshSamples} each, breakglass-pve and devvm_shell`);
      raw.ssh = await measureSsh({ bin, pveBin, model, samples: p.sshSamples, setup: 'pve' });
    } else if (want('ssh')) {
      progress('SSH figures skipped: the lab needs root');
    }
    if (want('flood') && lab) {
      progress(`SSH output floods of ${p.floodBytes} bytes, stdout and stderr, ${p.floodRounds} each`);
      raw.sshFlood = await measureSshFlood({ bin, model, rounds: p.floodRounds, bytes: p.floodBytes });
    } else if (want('flood')) {
      progress('SSH flood figures skipped: the lab needs root');
    }
    if (want('replay')) {
      progress('replay');
      raw.replay = measureReplay({ bin, scripts: join(SOURCE, 'lua'), dir, small: p.replaySmall, large: p.replayLarge,
        sessions: p.sessions, perSession: p.perSessionCalls, runs: p.replayRuns });
    }
  } finally {
    await model.mock.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const figures = tabulate(raw, p);
  const checks = mustShow(raw, p);
  print(machine, args.quick, figures, checks);
  writeFileSync(args.json, `${JSON.stringify({ machine, quick: args.quick, parameters: p, figures, checks, raw }, null, 2)}\n`);
  process.stderr.write(`bench: written to ${args.json}\n`);
}

/** The table: {figure, value, unit, baseline, baselineIs, ratio}. */
function tabulate(raw, p) {
  const rows = [];
  const row = (figure, value, unit, baseline, baselineIs, digits = 2) => rows.push({
    figure, value: round(value, digits), unit, baseline: baseline === null ? null : round(baseline, digits), baselineIs,
    ratio: baseline ? round(value / baseline, 3) : null,
  });
  const { start, session, turns, relay, health, sshExit, ssh, sshFlood, replay } = raw;
  const same = 'same run';
  if (start) {
    row(`start → /health (median of ${p.starts})`, start.startMs, 'ms', PYTHON.startMs, 'Python service (issue 13)');
    row('idle RSS', start.idle.rss / MIB, 'MiB', PYTHON.idleRssMib, 'Python service (issue 13)');
    row('idle private memory', start.idle.private / MIB, 'MiB', ISSUE13.privateMib, 'breakglass at issue 13');
  }
  if (session) {
    row(`RSS after a ${p.messages}-message session`, session.memory.rss / MIB, 'MiB', PYTHON.peakRssMib,
      'Python service, peak over 50 turns (issue 13)');
    row('prompt → first text event (median)', session.firstTextMs, 'ms', PYTHON.firstTextMs, 'Python service (issue 13)');
  }
  if (turns) {
    row(`RSS after ${p.turns} turns (${p.maxSessions} sessions kept)`, turns.atEnd.rss / MIB, 'MiB',
      turns.atFull.rss / MIB, `RSS after ${turns.fullTurns} turns, ${same}`);
  }
  if (relay) {
    row('text relay latency p50', relay.relay.p50, 'ms', relay.direct.p50, `read straight from the mock, ${same}`, 3);
    row('text relay latency p99', relay.relay.p99, 'ms', relay.direct.p99, `read straight from the mock, ${same}`, 3);
    row(`${p.viewers} SSE viewers: delivery p99`, relay.many.p99, 'ms', relay.one.p99, `1 viewer, ${same}`, 3);
    row(`${p.viewers} SSE viewers: the loop's CPU`, relay.many.loopCpu * 100, '% of a core', relay.one.loopCpu * 100,
      `1 viewer, ${same}`, 1);
  }
  if (health) row(`/health with ${health.connections} kept-alive clients (wrk)`, health.rps, 'requests/s', null, '—', 0);
  const master = `ssh -S ControlMaster, ${same}`;
  const fresh = `fresh ssh, ${same}`;
  if (sshExit) {
    const what = 'power verb status (forced command that exits)';
    row(`${what} p50`, sshExit.verb.p50, 'ms', sshExit.verbMaster.p50, master);
    row(`${what} p99`, sshExit.verb.p99, 'ms', sshExit.verbMaster.p99, master);
    row(`${what} p50`, sshExit.verb.p50, 'ms', sshExit.verbFresh.p50, fresh);
  }
  if (ssh) {
    const what = 'power verb status (breakglass-pve)';
    row(`${what} p50`, ssh.verb.p50, 'ms', ssh.verbMaster.p50, master);
    row(`${what} p99`, ssh.verb.p99, 'ms', ssh.verbMaster.p99, master);
    row(`${what} p50`, ssh.verb.p50, 'ms', ssh.verbFresh.p50, fresh);
    row(`${what} p50`, ssh.verb.p50, 'ms', PYTHON.verbFreshMs, 'Python service, fresh ssh (issue 13)');
    row('devvm_shell true p50', ssh.shell.p50, 'ms', ssh.shellMaster.p50, master);
    row('devvm_shell true p99', ssh.shell.p99, 'ms', ssh.shellMaster.p99, master);
    row('devvm_shell true p50', ssh.shell.p50, 'ms', ssh.shellFresh.p50, fresh);
  }
  if (sshFlood) {
    const what = (stream) => `devvm_shell ${stream} flood of ${p.floodBytes / 1e6} MB`;
    for (const stream of ['stdout', 'stderr'])
      row(`${what(stream)} p50`, sshFlood[stream].p50, 'MB/s', sshFlood[`${stream}Master`].p50, master, 1);
    row(`${what('stderr')}, slowest of ${p.floodRounds}`, sshFlood.stderr.slowest, 'MB/s', sshFlood.stdout.slowest,
      `stdout's slowest, ${same}`, 1);
  }
  if (replay) {
    row(`replay, ${p.replaySmall} calls`, replay.few.wall, 's', p.replaySmall === 1000 ? ISSUE13.replaySmallS : null,
      'breakglass at issue 13', 3);
    row(`replay, ${p.replayLarge} calls`, replay.many.wall, 's', p.replayLarge === 10000 ? ISSUE13.replayLargeS : null,
      'breakglass at issue 13', 3);
    row(`replay, ${p.replayLarge} calls, CPU`, replay.many.cpu, 's', null, '—', 3);
    row(`replay, time per call at ${p.replayLarge}`, replay.perCallLarge.cpu * 1e6, 'µs CPU',
      replay.perCallSmall.cpu * 1e6, `time per call at ${p.replaySmall}, ${same}`, 1);
    row(`batch replay, ${p.sessions} sessions of ${p.perSessionCalls} calls`, replay.folder.wall, 's', replay.many.wall,
      `one session of ${p.replayLarge} calls, ${same}`, 3);
  }
  return rows;
}

/** Issue 13's "must show" lines, as measured in this run. */
function mustShow(raw, p) {
  const checks = [];
  const check = (what, ok, detail) => checks.push({ what, ok, detail });
  const { ssh, sshExit, sshFlood, replay, turns } = raw;
  if (sshExit) check('power verb p50 ≤ ½ ControlMaster p50 (forced command that exits)', sshExit.verb.p50 <= sshExit.verbMaster.p50 / 2,
    `${round(sshExit.verb.p50)} ms vs ${round(sshExit.verbMaster.p50)} ms`);
  if (ssh) {
    check('power verb p50 ≤ ½ ControlMaster p50 (breakglass-pve)', ssh.verb.p50 <= ssh.verbMaster.p50 / 2,
      `${round(ssh.verb.p50)} ms vs ${round(ssh.verbMaster.p50)} ms`);
    check('devvm_shell true p50 ≤ ½ ControlMaster p50', ssh.shell.p50 <= ssh.shellMaster.p50 / 2,
      `${round(ssh.shell.p50)} ms vs ${round(ssh.shellMaster.p50)} ms`);
  }
  if (sshFlood) {
    // A stall waits for a keepalive's reply (15 s): 10-50 times slower.
    check('slowest stderr flood ≥ ¼ of the stdout flood p50 (no stall)',
      sshFlood.stderr.slowest >= sshFlood.stdout.p50 / 4,
      `${round(sshFlood.stderr.slowest, 1)} MB/s vs ${round(sshFlood.stdout.p50, 1)} MB/s`);
  }
  if (replay) {
    check(`replay of ${p.replayLarge} calls ≤ 1 s`, replay.many.wall <= 1,
      `${round(replay.many.wall, 3)} s wall, ${round(replay.many.cpu, 3)} s CPU`);
    const ratio = replay.perCallLarge.cpu / replay.perCallSmall.cpu;
    check(`time per call at ${p.replayLarge} ≤ 1.5 × at ${p.replaySmall}`, ratio <= 1.5, `${round(ratio, 2)}×`);
  }
  if (turns) {
    const grew = (turns.atEnd.rss - turns.atFull.rss) / MIB;
    check(`RSS after ${p.turns} turns within 2 MB of after ${turns.fullTurns}`, grew <= 2, `${round(grew)} MiB`);
  }
  return checks;
}

function print(machine, quick, figures, checks) {
  const out = [];
  out.push(`breakglass benchmarks${quick ? ' (quick: few iterations, figures not to quote)' : ''}`);
  out.push(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_mib} MiB, ${machine.kernel}, `
    + `load ${machine.load_average.join(' ')}; build ${machine.build.type}${machine.build.sanitizers ? ' with sanitizers' : ''}`
    + `${machine.commit ? `, commit ${machine.commit}` : ''}`);
  out.push('');
  const cells = [['figure', 'breakglass', 'baseline', 'ratio', 'baseline is']];
  for (const f of figures) {
    const v = (x) => (x === null ? '—' : `${x} ${f.unit}`);
    cells.push([f.figure, v(f.value), v(f.baseline), f.ratio === null ? '—' : `${f.ratio}`, f.baselineIs]);
  }
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  for (const r of cells) out.push(r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  out.push('');
  for (const c of checks) out.push(`${c.ok ? 'yes' : 'NO '}  ${c.what}: ${c.detail}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.stack ?? e}\n`);
  process.exit(1);
});
