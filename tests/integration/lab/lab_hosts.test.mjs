// The lab's hosts (tests/lib/lab.mjs) driven with the OpenSSH client: the
// devvm's sshd, the pve's sshd with the real breakglass-pve as forced
// command, and the fake VM whose state is the devvm's sshd. Runs once with
// network namespaces and once on loopback ports. Runs as root.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab } from '../../lib/lab.mjs';
import { isRunning, processEntry } from '../../lib/processes.mjs';
import { runAsync } from '../../lib/run-async.mjs';
import { forSuite } from '../../lib/suite.mjs';

const LAB_MJS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib/lab.mjs');
const SSH_LIMIT_MS = 30000;
const CYCLE_LIMIT_MS = 60000;
const TEST_LIMIT_MS = 120000;
const BENCH_NET = /^198\.(18|19)\.\d+\.\d+$/;

function netnsPermitted() {
  const name = `bg-lab-probe-${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', name]).status !== 0) return false;
  spawnSync('ip', ['netns', 'del', name]);
  return true;
}

function sshArgs(lab, h, extra = []) {
  return ['-F', '/dev/null', '-i', lab.keyPath, '-o', `UserKnownHostsFile=${lab.knownHostsPath}`,
    '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
    ...extra, '-p', String(h.port), `${h.user}@${h.host}`];
}

// Runs the OpenSSH client; `rawCommand` is a sh expression for the remote
// command (for bytes an argv string cannot carry). Resolves with exit code,
// output and time taken.
function ssh(lab, h, command, { extra = [], rawCommand, onSpawn } = {}) {
  const args = sshArgs(lab, h, extra);
  const [cmd, argv] = rawCommand
    ? ['/bin/sh', ['-c', `exec ssh "$@" "${rawCommand}"`, 'sh', ...args]]
    : ['ssh', command === undefined ? args : [...args, command]];
  return runAsync(cmd, argv, { timeoutMs: SSH_LIMIT_MS, encoding: 'latin1', onSpawn });
}

async function waitFor(what, predicate, limitMs = CYCLE_LIMIT_MS) {
  const until = Date.now() + limitMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const PROCESS_END_LIMIT_MS = 5000;

const netnsList = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
const results = (lab, verb) => lab.pveLog().split('\n').filter((l) => l.includes(` verb=${verb} result `));

async function assertDevvmAnswers(lab) {
  const r = await ssh(lab, lab.devvm, 'echo up', { extra: ['-o', 'ConnectTimeout=5'] });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'up\n');
}

const NETNS_OK = netnsPermitted();

for (const mode of ['netns', 'loopback']) {
  const skip = mode === 'netns' && !NETNS_OK ? '`ip netns add` is not permitted on this machine' : false;
  describe(`lab hosts over ${mode}`, { skip, timeout: 10 * TEST_LIMIT_MS }, () => {
    const lab = forSuite(() => startLab({ useNetns: mode === 'netns' }), (l) => l.stop());

    test('the hosts are where env() and known_hosts say', () => {
      const env = lab.env();
      assert.deepEqual(env, {
        BREAKGLASS_DEVVM_HOST: lab.devvm.host, BREAKGLASS_DEVVM_PORT: String(lab.devvm.port), BREAKGLASS_DEVVM_USER: 'breakglass',
        BREAKGLASS_PVE_HOST: lab.pve.host, BREAKGLASS_PVE_PORT: String(lab.pve.port), BREAKGLASS_PVE_USER: 'root',
        BREAKGLASS_KEY_PATH: lab.keyPath, BREAKGLASS_KNOWN_HOSTS: lab.knownHostsPath,
      });
      const known = fs.readFileSync(lab.knownHostsPath, 'utf8').trim().split('\n');
      if (mode === 'netns') {
        assert.match(lab.devvm.host, BENCH_NET);
        assert.match(lab.pve.host, BENCH_NET);
        assert.notEqual(lab.devvm.host, lab.pve.host);
        assert.deepEqual([lab.devvm.port, lab.pve.port], [22, 22]);
        assert.ok(netnsList().includes(lab.netns.devvm) && netnsList().includes(lab.netns.pve));
        assert.deepEqual(known.map((l) => l.split(' ')[0]), [lab.devvm.host, lab.pve.host]);
      } else {
        assert.equal(lab.netns, null);
        assert.deepEqual([lab.devvm.host, lab.pve.host], ['127.0.0.1', '127.0.0.1']);
        assert.notEqual(lab.devvm.port, lab.pve.port);
        assert.deepEqual(known.map((l) => l.split(' ')[0]), [`[127.0.0.1]:${lab.devvm.port}`, `[127.0.0.1]:${lab.pve.port}`]);
      }
      assert.ok(known.every((l) => / ssh-ed25519 AAAA\S+$/.test(l)), known.join('\n'));
      assert.equal(fs.statSync(lab.keyPath).mode & 0o777, 0o600);
    });

    test('the devvm runs a command with its output and exit status, and sudo -n works', async () => {
      const r = await ssh(lab, lab.devvm, 'echo hello; id -un; echo oops >&2; exit 7');
      assert.equal(r.code, 7, r.stderr);
      assert.equal(r.stdout, 'hello\nbreakglass\n');
      assert.equal(r.stderr, 'oops\n');
      const s = await ssh(lab, lab.devvm, 'sudo -n id -u');
      assert.equal(s.code, 0, s.stderr);
      assert.equal(s.stdout, '0\n');
    });

    test('the pve key only runs breakglass-pve: status, forensics, reset', async () => {
      const calls = lab.qmCalls().length;
      const st = await ssh(lab, lab.pve, 'status');
      assert.equal(st.code, 0, st.stderr);
      assert.equal(st.stdout, 'status: running\n');
      const fo = await ssh(lab, lab.pve, 'forensics');
      assert.equal(fo.code, 0, fo.stderr);
      assert.ok(fo.stdout.startsWith('=== breakglass-pve forensics: VM 102'), fo.stdout.slice(0, 200));
      const re = await ssh(lab, lab.pve, 'reset');
      assert.equal(re.code, 0, re.stderr);
      const made = lab.qmCalls().slice(calls);
      assert.equal(made[0], 'status 102');
      assert.ok(made.includes('reset 102'), made.join('\n'));
      const client = mode === 'netns' ? /client=198\.1[89]\.\d+\.\d+ / : /client=127\.0\.0\.1 /;
      assert.match(results(lab, '"status"').at(-1), client);
      assert.match(results(lab, '"reset"').at(-1), /outcome=ok exit=0/);
      assert.equal(lab.vmState().status, 'running');
    });

    test('inputs other than one verb are rejected through sshd, and qm never runs', async () => {
      const calls = lab.qmCalls().length;
      const rejectedBefore = (lab.pveLog().match(/ result outcome=REJECTED exit=2 /g) ?? []).length;
      const cases = [
        ['status; reboot'], ['STATUS'], ['status 103'], [''], [undefined], ['x'.repeat(10240)],
        [undefined, { rawCommand: "$(printf 'st\\377\\376tus')" }],
      ];
      for (const [command, opts] of cases) {
        const r = await ssh(lab, lab.pve, command, opts);
        const label = JSON.stringify(command ?? opts?.rawCommand ?? '(no command)').slice(0, 40);
        assert.equal(r.code, 2, `${label}: ${r.stderr}`);
        assert.match(r.stderr, /status/, label);
      }
      assert.deepEqual(lab.qmCalls().slice(calls), []);
      const log = lab.pveLog();
      assert.equal((log.match(/ result outcome=REJECTED exit=2 /g) ?? []).length - rejectedBefore, cases.length);
      assert.ok(log.includes('verb="st\\xff\\xfetus"'), 'the non-UTF-8 input, escaped, in the log');
      assert.ok(log.includes('verb=(unset)'), 'a shell request leaves SSH_ORIGINAL_COMMAND unset');
    });

    test('stop makes the devvm refuse connections; start brings it back', async () => {
      const stop = await ssh(lab, lab.pve, 'stop');
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(lab.vmState().status, 'stopped');
      assert.equal(lab.devvmSshdPid(), 0);
      const refused = await ssh(lab, lab.devvm, 'true', { extra: ['-o', 'ConnectTimeout=5'] });
      assert.equal(refused.code, 255);
      assert.match(refused.stderr, /Connection refused/);
      const start = await ssh(lab, lab.pve, 'start');
      assert.equal(start.code, 0, start.stderr);
      assert.equal(lab.vmState().status, 'running');
      await assertDevvmAnswers(lab);
    });

    test('a cycle of the wedged VM kills the frozen sshd and starts a fresh one', { timeout: TEST_LIMIT_MS }, async () => {
      const frozen = lab.wedge();
      assert.ok(frozen.length >= 1);
      assert.deepEqual(lab.vmState(), { status: 'running', mode: 'wedged' });
      // A session process that was already exiting may be gone by now.
      const states = frozen.map((pid) => processEntry(pid)?.state ?? 'gone');
      assert.equal(states[0], 'T', 'the listening sshd is stopped');
      assert.ok(states.every((st) => st === 'T' || st === 'Z' || st === 'gone'), states.join(' '));
      const hung = await ssh(lab, lab.devvm, 'true', { extra: ['-o', 'ConnectTimeout=2'] });
      assert.equal(hung.code, 255);
      assert.match(hung.stderr, /banner exchange/, 'TCP accepted, no banner');
      const cycle = await ssh(lab, lab.pve, 'cycle');
      assert.equal(cycle.code, 0, cycle.stderr);
      assert.match(lab.pveLog(), /verb="cycle" note: checked kill: sent SIGKILL/);
      assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
      for (const pid of frozen) assert.ok(!isRunning(pid), `frozen sshd process ${pid} still there`);
      await assertDevvmAnswers(lab);
    });

    test('a cycle carries on when the ssh client is killed in the middle', { timeout: TEST_LIMIT_MS }, async () => {
      lab.wedge();
      const cyclesBefore = results(lab, '"cycle"').length;
      const logBefore = lab.pveLog().length;
      let client;
      const run = ssh(lab, lab.pve, 'cycle', { onSpawn: (c) => { client = c; } });
      await waitFor('the cycle to run qm stop', () => lab.pveLog().slice(logBefore).includes('verb="cycle" run: qm stop 102'));
      client.kill('SIGKILL');
      const r = await run;
      assert.equal(r.signal, 'SIGKILL');
      await waitFor('the cycle to end', () => results(lab, '"cycle"').length > cyclesBefore);
      assert.match(results(lab, '"cycle"').at(-1), /outcome=ok exit=0/);
      assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
      await assertDevvmAnswers(lab);
    });

    test('wedge/unwedge and killDevvmSshd/startDevvmSshd act on the devvm alone', { timeout: TEST_LIMIT_MS }, async () => {
      lab.wedge();
      lab.unwedge();
      assert.equal(lab.vmState().mode, 'normal');
      await assertDevvmAnswers(lab);
      lab.killDevvmSshd();
      assert.equal(lab.devvmSshdPid(), 0);
      const refused = await ssh(lab, lab.devvm, 'true', { extra: ['-o', 'ConnectTimeout=5'] });
      assert.match(refused.stderr, /Connection refused/);
      assert.equal(lab.vmState().status, 'running', 'the VM itself still runs');
      await lab.startDevvmSshd();
      await assertDevvmAnswers(lab);
    });

    test('stop() ends every process and removes namespaces and the folder', async () => {
      const pids = lab.pids();
      const { dir, netns } = lab;
      assert.ok(pids.length >= 3, JSON.stringify(pids));
      lab.stop();
      // SIGKILL is sent by then; the kernel takes a moment to end a process.
      await waitFor('every lab process to end', () => pids.every((pid) => !isRunning(pid)), PROCESS_END_LIMIT_MS)
        .catch(() => {});
      for (const pid of pids) assert.ok(!isRunning(pid), `pid ${pid} survived stop()`);
      assert.equal(fs.existsSync(dir), false);
      if (!netns) return;
      assert.ok(!netnsList().includes(netns.devvm) && !netnsList().includes(netns.pve));
      const hostSide = lab.pve.host.replace(/\d+$/, (n) => String(Number(n) - 1));
      assert.ok(!spawnSync('ip', ['-o', '-4', 'addr'], { encoding: 'utf8' }).stdout.includes(` ${hostSide}/`),
        'the host side of the veths is gone');
    });
  });
}

test('a lab is cleaned up when its process exits without stop()', { timeout: TEST_LIMIT_MS }, () => {
  const script = `import { startLab } from '${LAB_MJS}';
    const lab = await startLab();
    console.log(JSON.stringify({ pids: lab.pids(), dir: lab.dir, netns: lab.netns }));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  const { pids, dir, netns } = JSON.parse(r.stdout);
  for (const pid of pids) assert.ok(!isRunning(pid), `pid ${pid} survived the exit`);
  assert.equal(fs.existsSync(dir), false);
  if (netns) assert.ok(!netnsList().includes(netns.devvm));
});

test('lab-cli prints the daemon env, serves until SIGTERM, then cleans up', { timeout: TEST_LIMIT_MS }, async () => {
  const cli = spawn(process.execPath, [path.join(path.dirname(LAB_MJS), 'lab-cli.mjs'), '--no-netns'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cli.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => cli.on('close', (code) => resolve(code)));
  await waitFor('ready', () => out.includes('ready\n'));
  const env = Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => l.split(/=(.*)/s).slice(0, 2)));
  assert.deepEqual(Object.keys(env).sort(), ['BREAKGLASS_DEVVM_HOST', 'BREAKGLASS_DEVVM_PORT', 'BREAKGLASS_DEVVM_USER',
    'BREAKGLASS_KEY_PATH', 'BREAKGLASS_KNOWN_HOSTS', 'BREAKGLASS_PVE_HOST', 'BREAKGLASS_PVE_PORT', 'BREAKGLASS_PVE_USER']);
  const lab = { keyPath: env.BREAKGLASS_KEY_PATH, knownHostsPath: env.BREAKGLASS_KNOWN_HOSTS };
  const pve = { host: env.BREAKGLASS_PVE_HOST, port: env.BREAKGLASS_PVE_PORT, user: env.BREAKGLASS_PVE_USER };
  const r = await ssh(lab, pve, 'status');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'status: running\n');
  cli.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(fs.existsSync(env.BREAKGLASS_KEY_PATH), false, 'the lab folder is gone');
  const gone = await ssh(lab, pve, 'status', { extra: ['-o', 'ConnectTimeout=5'] });
  assert.equal(gone.code, 255);
});
