// breakglass-pve, the forced command on the Proxmox host, run directly with
// the environment sshd would give it, against tests/lab/fake-qm.
//
// Env: BREAKGLASS_PVE_BIN (default <source>/build/breakglass-pve),
// BREAKGLASS_SOURCE_DIR (default: this repository). Runs as root: the
// config, log and lock must be root's, and qm refuses anyone else.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasOption, isRunning, processesWhere } from '../../lib/processes.mjs';
import { runAsync } from '../../lib/run-async.mjs';

const SOURCE_DIR =
  process.env.BREAKGLASS_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = process.env.BREAKGLASS_PVE_BIN || path.join(SOURCE_DIR, 'build', 'breakglass-pve');
const FAKE_QM = path.join(SOURCE_DIR, 'tests', 'lab', 'fake-qm');
const CLIENT_IP = '192.0.2.7';
const ALLOWED = 'status|forensics|reset|stop|start|cycle';
const FORENSICS_HEADER = '=== breakglass-pve forensics: VM 102';
const RUN_LIMIT_MS = 120000;

const labs = [];
const strays = [];

after(() => {
  for (const lab of labs) {
    for (const pid of dummiesOf(lab)) killQuietly(pid);
    fs.rmSync(lab.dir, { recursive: true, force: true });
  }
  for (const pid of strays) killQuietly(pid);
});

// Every dummy QEMU of a lab, found by its cmdline: a failing test may have
// left one that its pid file no longer names.
function dummiesOf(lab) {
  return processesWhere((argv) => hasOption(argv, '-fake-state', lab.state));
}

function killQuietly(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const DEFAULT_SETTINGS = {
  step_timeout_seconds: '2',
  stop_wait_seconds: '3',
  lock_wait_seconds: '30',
  verb_timeout_seconds: '60',
  diskstats_interval_ms: '50',
};

const DEFAULT_DELAYS = {
  FAKE_QM_QMP_DELAY_MS: '100',
  FAKE_QM_RESET_DELAY_MS: '300',
  FAKE_QM_MONITOR_DELAY_MS: '300',
};

// A fake VM 102 and a breakglass-pve config pointing at it, in a fresh
// directory. qm is a wrapper that records its environment and stdin/fd 3/4,
// sets the fake's variables (breakglass-pve scrubs its own) and runs it.
function makeLab({ settings = {}, delays = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgpve-'));
  const state = path.join(dir, 'state');
  const piddir = path.join(dir, 'run');
  const fakeEnv = { FAKE_QM_STATE: state, FAKE_QM_PIDDIR: piddir, ...DEFAULT_DELAYS, ...delays };
  const exports = Object.entries(fakeEnv).map(([k, v]) => `export ${k}='${v}'`).join('\n');
  const qm = path.join(dir, 'qm');
  fs.writeFileSync(qm, `#!/bin/sh
env > '${dir}/qm-env'
readlink /proc/$$/fd/0 /proc/$$/fd/3 /proc/$$/fd/4 > '${dir}/qm-fds' 2>/dev/null
${exports}
exec /usr/bin/node '${FAKE_QM}' "$@"
`, { mode: 0o755 });
  runFake(fakeEnv, ['--fake-init']);
  const lab = {
    dir,
    state,
    piddir,
    qm,
    fakeEnv,
    config: path.join(dir, 'breakglass-pve.conf'),
    log: path.join(dir, 'breakglass-pve.log'),
    lock: path.join(dir, 'breakglass-pve.lock'),
    setMode: (mode) => fs.writeFileSync(path.join(state, 'mode'), `${mode}\n`),
    calls: () => readLines(path.join(state, 'calls.log')).map((l) => l.slice(l.indexOf(' ') + 1)),
    logText: () => (fs.existsSync(lab.log) ? fs.readFileSync(lab.log, 'latin1') : ''),
    records: () => parseLog(lab.logText()),
    vmPid: () => {
      try {
        const pid = Number(fs.readFileSync(path.join(piddir, '102.pid'), 'utf8').trim());
        return pid && isRunning(pid) ? pid : 0;
      } catch {
        return 0;
      }
    },
    start: () => runFake({ ...fakeEnv, FAKE_QM_START_DELAY_MS: '0' }, ['start', '102']),
    clearCalls: () => fs.writeFileSync(path.join(state, 'calls.log'), ''),
  };
  writeConfig(lab, {
    qm,
    log: lab.log,
    lock: lab.lock,
    pid_file_dir: piddir,
    ...DEFAULT_SETTINGS,
    ...settings,
  });
  labs.push(lab);
  return lab;
}

function writeConfig(lab, settings) {
  const text = '# written by pve_forced_command.test.mjs\n\n' +
    Object.entries(settings).map(([k, v]) => `${k} = ${v}\n`).join('');
  fs.writeFileSync(lab.config, text, { mode: 0o600 });
  fs.chmodSync(lab.config, 0o600);
}

// Runs the fake directly (not through breakglass-pve) to set a scene.
function runFake(env, args) {
  const r = spawnSync('/usr/bin/node', [FAKE_QM, ...args], { env: { ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, `fake-qm ${args.join(' ')}: ${r.stderr}`);
}

function readLines(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

const HEADER = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) breakglass-pve\[(\d+)\] client=(\S+) verb=("(?:[^"\\]|\\.)*"|\(unset\))( verb_cut_from_bytes=\d+)? (.*)$/;

// Records: a header line and its "  | " body lines. Any other line fails.
function parseLog(text) {
  const records = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('  | ')) {
      assert.ok(records.length > 0, 'a body line before any header');
      records.at(-1).body.push(line.slice(4));
      continue;
    }
    const m = HEADER.exec(line);
    assert.ok(m, `not a header line: ${JSON.stringify(line)}`);
    records.push({ line, time: m[1], pid: Number(m[2]), client: m[3], verb: m[4], cut: m[5], event: m[6], body: [] });
  }
  return records;
}

function sshEnv(input, extra = {}) {
  const env = { PATH: '/usr/bin:/bin', HOME: '/root', SSH_CLIENT: `${CLIENT_IP} 50022 22`, ...extra };
  if (input !== undefined) env.SSH_ORIGINAL_COMMAND = input;
  return env;
}

// Runs breakglass-pve as sshd would (through command when given). Resolves
// with exit code, signal, stdout, stderr, the time taken and its pid.
function runPve(lab, input, { env = {}, stdio = 'pipe', args, onSpawn, command } = {}) {
  const argv = args ?? ['--config', lab.config];
  const opts = { stdio, timeoutMs: RUN_LIMIT_MS, encoding: 'latin1', onSpawn };
  return command
    ? runAsync(command[0], [...command.slice(1), BIN, ...argv], { ...opts, env: sshEnv(undefined, env) })
    : runAsync(BIN, argv, { ...opts, env: sshEnv(input, env), detached: true });
}

async function waitFor(what, predicate, limitMs = 30000) {
  const until = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const resultOf = (records) => records.filter((r) => r.event.startsWith('result '));
const indexOfEvent = (records, prefix) => records.findIndex((r) => r.event.startsWith(prefix));

test('status runs `qm status 102` with a scrubbed environment, /dev/null stdin and no stray fds', async () => {
  const lab = makeLab();
  const leaked = fs.openSync(lab.config, 'r');
  const r = await runPve(lab, 'status', {
    env: { LC_PVE_TICKET: 'secret-ticket', LANG: 'de_DE.UTF-8' },
    stdio: ['pipe', 'pipe', 'pipe', leaked, leaked],
  });
  fs.closeSync(leaked);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'status: stopped\n');
  assert.deepEqual(lab.calls(), ['status 102']);
  const qmEnv = fs.readFileSync(path.join(lab.dir, 'qm-env'), 'utf8');
  assert.doesNotMatch(qmEnv, /LC_PVE_TICKET|SSH_|LANG=|HOME=/);
  assert.match(qmEnv, /^PATH=\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/m);
  assert.equal(fs.readFileSync(path.join(lab.dir, 'qm-fds'), 'utf8'), '/dev/null\n');
  const records = lab.records();
  const [result] = resultOf(records);
  assert.equal(result.client, CLIENT_IP);
  assert.equal(result.verb, '"status"');
  assert.match(result.event, /^result outcome=ok exit=0 duration_ms=\d+$/);
  assert.equal(records.find((x) => x.event.startsWith('done: qm status 102')).body[0], 'status: stopped');
});

test('forensics prints every section and logs the same capture', async () => {
  const lab = makeLab();
  lab.start();
  const pid = lab.vmPid();
  lab.clearCalls();
  const r = await runPve(lab, 'forensics');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith(FORENSICS_HEADER), r.stdout.slice(0, 200));
  for (const section of ['=== qm status --verbose ===', '=== qm config ===', '=== qm pending ===',
    '=== qm agent ping ===', '=== qm monitor: info status, info block-jobs, info block ===',
    '=== host uptime and load', '=== host memory', '=== host /proc/diskstats, sample 1 ===',
    '=== host /proc/diskstats, sample 2 (50 ms later) ===', '=== QEMU process', '=== end of forensics ==='])
    assert.ok(r.stdout.includes(section), `missing ${section}`);
  assert.match(r.stdout, /qmpstatus: running/);
  assert.match(r.stdout, /VM status: running/);
  assert.ok(r.stdout.includes(`pid ${pid}, VM 102's QEMU: yes`), r.stdout);
  assert.match(r.stdout, /^State:\s+S \(sleeping\)$/m);
  assert.match(r.stdout, /^VmRSS:/m);
  assert.match(r.stdout, /^stack: /m);
  assert.match(r.stdout, /^--- thread \d+$/m);
  assert.deepEqual(lab.calls(), ['status 102 --verbose', 'config 102', 'pending 102', 'agent 102 ping', 'monitor 102']);
  const records = lab.records();
  const forensics = records.find((x) => x.event.startsWith('forensics '));
  assert.match(forensics.event, /^forensics bytes=\d+ cut=no$/);
  assert.equal(forensics.body[0], r.stdout.split('\n')[0]);
  assert.ok(forensics.body.includes('=== qm config ==='));
  assert.match(resultOf(records)[0].event, /^result outcome=ok exit=0 /);
});

test('forensics stops at max_forensics_bytes and says so', async () => {
  const lab = makeLab({ settings: { max_forensics_bytes: '4096' } });
  lab.start();
  const r = await runPve(lab, 'forensics');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes('[output cut here: limit of 4096 bytes reached]'), r.stdout.slice(-300));
  assert.ok(r.stdout.length <= 4096 + 100, `stdout is ${r.stdout.length} bytes`);
  const forensics = lab.records().find((x) => x.event.startsWith('forensics '));
  assert.match(forensics.event, /cut=yes$/);
});

test('a wedged forensics step is killed at step_timeout_seconds and the capture goes on', async () => {
  const lab = makeLab({ settings: { step_timeout_seconds: '1' }, delays: { FAKE_QM_MONITOR_DELAY_MS: '20000' } });
  lab.start();
  lab.setMode('wedged');
  const r = await runPve(lab, 'forensics');
  assert.equal(r.code, 0, r.stderr);
  const monitor = r.stdout.slice(r.stdout.indexOf('=== qm monitor'), r.stdout.indexOf('=== host uptime'));
  assert.match(monitor, /\[timed out after \d+ ms; process group killed\]/);
  assert.match(r.stdout, /=== qm agent ping ===\nQEMU guest agent is not running\n\[exit code 255\]/);
  assert.ok(r.stdout.includes('=== end of forensics ==='));
  assert.ok(r.ms < 15000, `took ${r.ms} ms`);
});

// Every mutating verb: forensics on stdout first, logged (and qm's read-only
// calls made) before the action, then the action.
async function checkForensicsFirst(lab, verb, r) {
  assert.ok(r.stdout.startsWith(FORENSICS_HEADER), `${verb} stdout starts with ${r.stdout.slice(0, 80)}`);
  const records = lab.records();
  const forensics = indexOfEvent(records, 'forensics ');
  const intent = indexOfEvent(records, `run: qm ${verb === 'cycle' ? 'stop' : verb} 102`);
  assert.ok(forensics >= 0 && intent > forensics, `forensics ${forensics} before intent ${intent}`);
  assert.ok(records[forensics].body.includes('=== qm config ==='));
  const calls = lab.calls();
  const action = calls.indexOf(`${verb === 'cycle' ? 'stop' : verb} 102`);
  assert.ok(action > calls.indexOf('config 102') && calls.indexOf('config 102') > calls.indexOf('status 102 --verbose'),
    `calls out of order: ${calls}`);
  assert.ok(calls.indexOf('status 102 --verbose') === 0, `first call: ${calls[0]}`);
}

test('start, reset and stop act on the VM after forensics', async () => {
  const lab = makeLab();
  let r = await runPve(lab, 'start');
  assert.equal(r.code, 0, r.stderr);
  await checkForensicsFirst(lab, 'start', r);
  const pid = lab.vmPid();
  assert.ok(pid, 'VM running after start');
  assert.ok(r.stdout.includes('=== qm start 102 ===\n[qm start: exit code 0]\n'));

  fs.writeFileSync(lab.log, '');
  lab.clearCalls();
  r = await runPve(lab, 'reset');
  assert.equal(r.code, 0, r.stderr);
  await checkForensicsFirst(lab, 'reset', r);
  assert.equal(readLines(path.join(lab.state, 'resets')).length, 1);
  assert.equal(lab.vmPid(), pid, 'a reset keeps the QEMU process');

  fs.writeFileSync(lab.log, '');
  lab.clearCalls();
  r = await runPve(lab, 'stop');
  assert.equal(r.code, 0, r.stderr);
  await checkForensicsFirst(lab, 'stop', r);
  assert.equal(lab.vmPid(), 0);
  assert.equal(isRunning(pid), false);
  const records = lab.records();
  assert.ok(indexOfEvent(records, 'done: qm stop 102: exit code 0') > indexOfEvent(records, 'run: qm stop 102'));
  assert.match(resultOf(records)[0].event, /^result outcome=ok exit=0 duration_ms=\d+$/);
});

test("qm's exit code 255 becomes exit 1, with qm's code in the message", async () => {
  const lab = makeLab();
  const r = await runPve(lab, 'reset');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /qm reset 102 failed: exit code 255/);
  assert.ok(r.stdout.includes('VM 102 not running'));
  assert.match(resultOf(lab.records())[0].event, /^result outcome=failed exit=1 /);
});

const REJECTED = [
  ['status; reboot', '"status; reboot"'],
  ['STATUS', '"STATUS"'],
  ['status 103', '"status 103"'],
  ['', '""'],
  [undefined, '(unset)'],
  ['status\n', '"status\\x0a"'],
  [' status', '" status"'],
  ['sta\ttus', '"sta\\x09tus"'],
  ['cycle"\\', '"cycle\\x22\\x5c"'],
  ['A'.repeat(10240), `"${'A'.repeat(64)}"`, ' verb_cut_from_bytes=10240'],
];

test('anything but one bare verb is rejected, logged and never reaches qm', async () => {
  const lab = makeLab();
  for (const [input, logged, cut] of REJECTED) {
    fs.writeFileSync(lab.log, '');
    const r = await runPve(lab, input);
    assert.equal(r.code, 2, `input ${JSON.stringify(input)?.slice(0, 40)}`);
    assert.ok(r.stderr.includes(ALLOWED), r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(lab.calls(), []);
    const records = lab.records();
    assert.equal(records.length, 1, lab.logText());
    assert.equal(records[0].client, CLIENT_IP);
    assert.equal(records[0].verb, logged);
    assert.equal(records[0].cut, cut);
    assert.match(records[0].event, /^result outcome=REJECTED exit=2 duration_ms=\d+$/);
  }
});

test('non-UTF-8 input is rejected and logged escaped', async () => {
  const lab = makeLab();
  // Node cannot put raw bytes in an environment; printf in sh can.
  const r = await runPve(lab, undefined, {
    command: ['/bin/sh', '-c', 'SSH_ORIGINAL_COMMAND="$(printf \'st\\377at\\001us\')" exec "$0" "$@"'],
  });
  assert.equal(r.code, 2);
  assert.deepEqual(lab.calls(), []);
  const [record] = lab.records();
  assert.equal(record.verb, '"st\\xffat\\x01us"');
  assert.match(record.event, /^result outcome=REJECTED exit=2 /);
});

// Standby (pve/standby.h): started ahead of the press with the command
// "standby", breakglass-pve takes its verb as one line on stdin and checks
// it exactly as it checks SSH_ORIGINAL_COMMAND.
const standby = (lab, stdinText, options = {}) => runPve(lab, 'standby', {
  ...options,
  onSpawn: (child) => setTimeout(() => child.stdin.end(stdinText), options.delayMs ?? 0),
});

test('standby runs the verb that arrives on stdin, as if sshd had passed it', async () => {
  const lab = makeLab();
  const r = await standby(lab, 'status\n', { delayMs: 200 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'status: stopped\n');
  assert.deepEqual(lab.calls(), ['status 102']);
  assert.equal(fs.readFileSync(path.join(lab.dir, 'qm-fds'), 'utf8'), '/dev/null\n');
  const [result] = resultOf(lab.records());
  assert.equal(result.client, CLIENT_IP);
  assert.equal(result.verb, '"status"');
  // Its time counts from the line, not from the start of the wait.
  const ms = Number(/duration_ms=(\d+)$/.exec(result.event)[1]);
  assert.ok(ms < r.ms - 150, `duration_ms=${ms} of ${r.ms} ms`);
});

test('a standby nobody uses ends quietly: no qm, no record', async () => {
  const lab = makeLab();
  for (const input of ['', 'status']) {
    const r = await standby(lab, input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '');
  }
  assert.deepEqual(lab.calls(), []);
  assert.equal(lab.logText(), '');
});

test("a standby's line is held to the verb list byte for byte", async () => {
  const lab = makeLab();
  const lines = [['standby\n', '"standby"'], ['status; reboot\n', '"status; reboot"'],
    ['status \n', '"status "'], ['status\r\n', '"status\\x0d"'], ['\n', '""'],
    [`${'A'.repeat(10240)}\n`, `"${'A'.repeat(64)}"`, ' verb_cut_from_bytes=65']];
  for (const [input, logged, cut] of lines) {
    fs.writeFileSync(lab.log, '');
    const r = await standby(lab, input);
    assert.equal(r.code, 2, `input ${JSON.stringify(input).slice(0, 40)}: ${r.stderr}`);
    assert.ok(r.stderr.includes(ALLOWED), r.stderr);
    const [record] = lab.records();
    assert.equal(record.verb, logged);
    assert.equal(record.cut, cut);
    assert.match(record.event, /^result outcome=REJECTED exit=2 /);
  }
  assert.deepEqual(lab.calls(), []);
});

test('a standby reads its line and nothing after it', async () => {
  const lab = makeLab();
  const r = await standby(lab, 'status\nreset\n');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lab.calls(), ['status 102']);
});

// Appends a line to the lab's config; returns its line number.
function appendConfig(lab, line) {
  const next = fs.readFileSync(lab.config, 'utf8').split('\n').length;
  fs.appendFileSync(lab.config, `${line}\n`);
  return next;
}

test('an unsafe or invalid config is refused before anything runs', async () => {
  const cases = [
    ['group-writable', (lab) => fs.chmodSync(lab.config, 0o620), /writable by group or others/],
    ['world-writable', (lab) => fs.chmodSync(lab.config, 0o602), /writable by group or others/],
    ['not root-owned', (lab) => fs.chownSync(lab.config, 1000, 0), /not owned by root/],
    ['a symlink', (lab) => {
      fs.renameSync(lab.config, `${lab.config}.real`);
      fs.symlinkSync(`${lab.config}.real`, lab.config);
    }, /symbolic link/],
    ['a directory', (lab) => {
      fs.rmSync(lab.config);
      fs.mkdirSync(lab.config);
    }, /not a regular file/],
    ['missing', (lab) => fs.rmSync(lab.config), /cannot open/],
    ['unknown key', (lab) => new RegExp(`line ${appendConfig(lab, 'frobnicate = 1')}: unknown key 'frobnicate'`)],
    ['bad vmid', (lab) => new RegExp(`line ${appendConfig(lab, 'vmid=10x')}: bad value for 'vmid'`)],
    ['vmid out of range', (lab) => appendConfig(lab, 'vmid=99') && /bad value for 'vmid' \(want digits only, 100\.\.999999999\)/],
    ['duplicate key', (lab) => new RegExp(`line ${appendConfig(lab, 'lock_wait_seconds=3')}: key 'lock_wait_seconds' given twice`)],
    ['no =', (lab) => new RegExp(`line ${appendConfig(lab, 'vmid 102')}: expected key=value`)],
    ['negative number', (lab) => appendConfig(lab, 'max_forensics_bytes=-1') && /bad value for 'max_forensics_bytes'/],
  ];
  for (const [name, spoil, fixedMessage] of cases) {
    const lab = makeLab();
    const message = spoil(lab) ?? fixedMessage;
    const r = await runPve(lab, 'cycle');
    assert.equal(r.code, 4, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
    assert.deepEqual(lab.calls(), [], name);
    assert.equal(fs.existsSync(lab.log), false, `${name}: log written`);
  }
});

test('a relative path value and stray arguments are refused', async () => {
  const lab = makeLab();
  let text = fs.readFileSync(lab.config, 'utf8').replace(/^qm = .*$/m, 'qm = qm');
  fs.writeFileSync(lab.config, text);
  let r = await runPve(lab, 'status');
  assert.equal(r.code, 4);
  assert.match(r.stderr, /line \d+: bad value for 'qm' \(want an absolute path/);
  text = text.replace(/^qm = qm$/m, `qm = ${lab.qm}`);
  fs.writeFileSync(lab.config, text);
  r = await runPve(lab, 'status', { args: ['--config', lab.config, 'extra'] });
  assert.equal(r.code, 4);
  assert.match(r.stderr, /usage/);
  assert.deepEqual(lab.calls(), []);
});

test('an unsafe lock file is refused without acting', async () => {
  const lab = makeLab();
  fs.writeFileSync(lab.lock, '', { mode: 0o644 });
  fs.chmodSync(lab.lock, 0o644);
  const r = await runPve(lab, 'reset');
  assert.equal(r.code, 4);
  assert.match(r.stderr, /accessible to group or others/);
  assert.deepEqual(lab.calls(), []);
  assert.match(resultOf(lab.records())[0].event, /^result outcome=config-error exit=4 /);
});

test('a log that others may write is refused with exit 6, before anything runs', async () => {
  const lab = makeLab();
  fs.writeFileSync(lab.log, '');
  fs.chmodSync(lab.log, 0o664);
  const r = await runPve(lab, 'cycle');
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /log: .* is writable by group or others; refusing it/);
  assert.deepEqual(lab.calls(), []);
  assert.equal(lab.logText(), '');
});

// Checks that no two requests' records alternate in the log.
function assertNotInterleaved(records) {
  const order = [];
  for (const r of records) if (order.at(-1) !== r.pid) order.push(r.pid);
  assert.equal(new Set(order).size, order.length, `records alternate between pids: ${order}`);
}

test('a second mutating verb waits for the lock, then runs; records do not interleave', async () => {
  const lab = makeLab({ delays: { FAKE_QM_START_DELAY_MS: '1500' } });
  lab.start();
  lab.clearCalls();
  const first = runPve(lab, 'cycle');
  await waitFor('the first cycle to hold the lock', () => lab.calls().length > 0);
  const second = await runPve(lab, 'cycle');
  const one = await first;
  assert.equal(one.code, 0, one.stderr);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /another mutating verb is running; waiting up to 30 s/);
  const records = lab.records();
  assertNotInterleaved(records);
  assert.equal(resultOf(records).length, 2);
  assert.equal(records[0].pid, one.pid, 'the first cycle logs first');
  assert.equal(lab.calls().filter((c) => c === 'start 102').length, 2);
  assert.ok(lab.vmPid());
});

test('a second mutating verb gives up after lock_wait_seconds with exit 3', async () => {
  const lab = makeLab({ settings: { lock_wait_seconds: '1' }, delays: { FAKE_QM_START_DELAY_MS: '3000' } });
  lab.start();
  lab.clearCalls();
  const first = runPve(lab, 'cycle');
  await waitFor('the first cycle to hold the lock', () => lab.calls().length > 0);
  const second = await runPve(lab, 'reset');
  assert.equal(second.code, 3, second.stderr);
  assert.match(second.stderr, /another mutating verb holds .*; gave up after 1 s/);
  assert.equal(second.stdout, '');
  assert.ok(second.ms < 5000, `busy took ${second.ms} ms`);
  const one = await first;
  assert.equal(one.code, 0, one.stderr);
  const records = lab.records();
  const busy = records.filter((r) => r.pid === second.pid);
  assert.equal(busy.length, 1);
  assert.match(busy[0].event, /^result outcome=busy exit=3 /);
  assert.equal(lab.calls().filter((c) => c === 'config 102').length, 1, 'only the first ran forensics');
  assert.equal(lab.calls().includes('reset 102'), false);
});

test('a wedged VM whose clean stop hangs is killed after the cmdline check and started afresh', async () => {
  const lab = makeLab({ settings: { step_timeout_seconds: '1', stop_wait_seconds: '2' }, delays: { FAKE_QM_MONITOR_DELAY_MS: '10000' } });
  lab.start();
  const oldPid = lab.vmPid();
  lab.setMode('wedged');
  lab.clearCalls();
  const r = await runPve(lab, 'cycle');
  assert.equal(r.code, 0, r.stderr);
  await checkForensicsFirst(lab, 'cycle', r);
  const newPid = lab.vmPid();
  assert.ok(newPid && newPid !== oldPid, `old ${oldPid}, new ${newPid}`);
  assert.equal(isRunning(oldPid), false);
  const calls = lab.calls();
  const stop = calls.indexOf('stop 102');
  const poll = calls.indexOf('status 102', stop);
  const unlock = calls.indexOf('unlock 102');
  const start = calls.indexOf('start 102');
  assert.ok(stop < poll && poll < unlock && unlock < start, calls.join(', '));
  const events = lab.records().map((x) => x.event);
  assert.ok(events.some((e) => /^done: qm stop 102: timed out after \d+ ms; process group killed$/.test(e)), events.join('\n'));
  assert.ok(events.includes(`note: checked kill: sent SIGKILL to VM 102's QEMU, pid ${oldPid}; it exited`), events.join('\n'));
  assert.ok(events.indexOf('run: checked SIGKILL of the process in ' + path.join(lab.piddir, '102.pid')) <
    events.findIndex((e) => e.startsWith('note: checked kill')));
});

test('the checked kill refuses a pid whose cmdline is not VM 102\'s QEMU', async () => {
  const lab = makeLab({ settings: { step_timeout_seconds: '1', stop_wait_seconds: '1' } });
  const stranger = spawn('/bin/sleep', ['300'], { detached: true, stdio: 'ignore' });
  strays.push(stranger.pid);
  fs.mkdirSync(lab.piddir, { recursive: true });
  fs.writeFileSync(path.join(lab.piddir, '102.pid'), `${stranger.pid}\n`);
  lab.setMode('wedged');
  const r = await runPve(lab, 'cycle');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`pid ${stranger.pid} is not VM 102's QEMU`));
  assert.ok(isRunning(stranger.pid), 'the stranger survived');
  assert.equal(lab.calls().includes('start 102'), false);
  assert.equal(lab.calls().includes('unlock 102'), false);
  assert.match(resultOf(lab.records())[0].event, /^result outcome=failed exit=1 /);
});

test('a cycle finishes when the client goes away mid-way', async () => {
  const lab = makeLab({ delays: { FAKE_QM_STOP_DELAY_MS: '500', FAKE_QM_START_DELAY_MS: '1000' } });
  lab.start();
  const oldPid = lab.vmPid();
  const r = await runPve(lab, 'cycle', {
    onSpawn: (child) => child.stdout.once('data', () => {
      child.stdout.destroy();
      child.stderr.destroy();
    }),
  });
  assert.equal(r.signal, null, 'not killed by SIGPIPE');
  assert.equal(r.code, 0);
  const newPid = lab.vmPid();
  assert.ok(newPid && newPid !== oldPid);
  const records = lab.records();
  assert.ok(indexOfEvent(records, 'done: qm start 102: exit code 0') > 0);
  assert.match(resultOf(records)[0].event, /^result outcome=ok exit=0 /);
});

test("a hang-up of the session's process group neither stops the cycle nor its qm children", async () => {
  const lab = makeLab({ delays: { FAKE_QM_STOP_DELAY_MS: '500', FAKE_QM_START_DELAY_MS: '1000' } });
  lab.start();
  const oldPid = lab.vmPid();
  let hangups;
  const r = await runPve(lab, 'cycle', {
    onSpawn: (child) => {
      hangups = setInterval(() => {
        try {
          process.kill(-child.pid, 'SIGHUP');
        } catch {
          clearInterval(hangups);
        }
      }, 50);
    },
  });
  clearInterval(hangups);
  assert.equal(r.signal, null);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!/killed by signal/.test(r.stdout), r.stdout.slice(-500));
  const newPid = lab.vmPid();
  assert.ok(newPid && newPid !== oldPid);
});

test('verb_timeout_seconds bounds a whole verb: exit 5', async () => {
  const lab = makeLab({
    settings: { step_timeout_seconds: '1', verb_timeout_seconds: '5' },
    delays: { FAKE_QM_RESET_DELAY_MS: '60000', FAKE_QM_MONITOR_DELAY_MS: '10000' },
  });
  lab.start();
  lab.setMode('wedged');
  const r = await runPve(lab, 'reset');
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /verb_timeout_seconds reached/);
  assert.ok(r.ms < 15000, `took ${r.ms} ms`);
  assert.ok(lab.calls().includes('reset 102'), 'forensics left time for the reset');
  const records = lab.records();
  assert.ok(records.some((x) => /^done: qm reset 102: timed out after \d+ ms; process group killed$/.test(x.event)));
  assert.match(resultOf(records)[0].event, /^result outcome=timeout exit=5 /);
});
