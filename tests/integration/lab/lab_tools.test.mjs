// The SSH tools through the real daemon, the scripted mock model and the
// lab's real sshd: devvm_shell's output and exit status, one connection
// for many commands, a wedged, a dead and a mis-pinned devvm, time limits,
// cancel, and a command that prints far more than the daemon keeps.
// Runs as root (the lab does).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkRssGrowth, rssKib, sampleRss, startStack, turnEvents } from '../../lib/agent-stack.mjs';
import { startLab } from '../../lib/lab.mjs';
import { processesWhere } from '../../lib/processes.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('lab-tools-test');

const CONNECT_TIMEOUT_S = 2;
// The bound for a wedged devvm, plus room for a loaded machine.
const WEDGED_LIMIT_MS = CONNECT_TIMEOUT_S * 1000 + 1000;
const REFUSED_LIMIT_MS = 1000;
const CANCEL_LIMIT_MS = 1000;
const SLACK_MS = 1000;
const PARALLEL_COMMANDS = 20;
const FLOOD_BYTES = 200 * 1000 * 1000;
// What the daemon may keep of one command: 1 MiB per stream, the events
// shown to the page (4 MiB) and the model's copy, with room to spare.
const FLOOD_KEPT_BYTES = 16 * 1024 * 1024;
const LONG_TURN_MS = 120000;
const REMOTE_WAIT_MS = 5000;
const POLL_MS = 100;

/**
 * A lab (startLab's options) and a daemon on it with the shipped scripts,
 * its data in dir/NAME; extraEnv(lab) adds to the daemon's settings.
 */
async function startLabStack(name, labOptions, extraEnv = () => ({})) {
  const lab = await startLab(labOptions);
  try {
    const env = { ...lab.env(), BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: String(CONNECT_TIMEOUT_S), ...extraEnv(lab) };
    return { lab, st: await startStack(join(dir, name), { scripts: 'shipped', env }) };
  } catch (e) {
    lab.stop();
    throw e;
  }
}

async function stopLabStack(lab, st) {
  await st?.close();
  lab?.stop();
}

const shell = (command, extra = {}) => ({ name: 'devvm_shell', input: { command, ...extra } });

// One turn whose model calls `uses` in one message and then ends; resolves
// with {events, results (tool_result events in call order), tools}.
async function runTools(st, uses, timeoutMs = LONG_TURN_MS) {
  const { stream, events } = await st.runTurn([{ toolUses: uses }, { text: 'Done.' }], { waitMs: timeoutMs });
  await stream.close();
  return {
    events,
    tools: events.filter((e) => e.kind === 'tool'),
    results: events.filter((e) => e.kind === 'tool_result'),
  };
}

const acceptedLogins = (lab) => (fs.readFileSync(join(lab.dir, 'devvm', 'sshd.log'), 'utf8')
  .match(/Accepted publickey for breakglass/g) ?? []).length;

// Processes whose command line holds `mark` (a unique argument).
const processesWith = (mark) => processesWhere((argv) => argv.includes(mark));

async function waitUntil(what, predicate, limitMs) {
  const until = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// A sleep whose argument no other process has: `sleep 30.<digits>`.
const uniqueSleep = () => `30.${crypto.randomInt(1e8, 1e9)}`;

describe('the SSH tools on the lab devvm', () => {
  let lab;
  let st;
  before(async () => { ({ lab, st } = await startLabStack('main')); });
  after(() => stopLabStack(lab, st));

  test('20 devvm_shell calls in one message share one connection and one login', async () => {
    const before = acceptedLogins(lab);
    const uses = Array.from({ length: PARALLEL_COMMANDS }, (_, i) => shell(`echo "$SSH_CONNECTION"; echo n=${i}`));
    const { results } = await runTools(st, uses);
    assert.equal(results.length, PARALLEL_COMMANDS);
    const connections = new Set();
    results.forEach((r, i) => {
      assert.equal(r.is_error, false, r.content);
      assert.match(r.content, /^exit status 0, /);
      assert.match(r.content, new RegExp(`^n=${i}$`, 'm'));
      connections.add(/^--- stdout ---\n(.*)$/m.exec(r.content)[1]);
    });
    assert.equal(connections.size, 1, `one TCP connection: ${[...connections].join(' | ')}`);
    assert.equal(acceptedLogins(lab) - before, 1, 'one publickey login in the devvm sshd log');
  });

  test('devvm_shell returns stdout, stderr and the exit status', async () => {
    const { results } = await runTools(st, [shell('echo out; echo err >&2; exit 3'), shell('sudo -n id -u')]);
    assert.equal(results[0].is_error, false, results[0].content);
    assert.match(results[0].content, /^exit status 3, \d+\.\d{3} s\n--- stdout ---\nout\n--- stderr ---\nerr\n$/);
    assert.match(results[1].content, /^exit status 0, .*\n--- stdout ---\n0\n$/, 'sudo works');
  });

  test('a command past its time limit is stopped, its partial output kept, the remote command gone', async () => {
    const nap = uniqueSleep();
    const { results } = await runTools(st, [shell(`echo partial; sleep ${nap}`, { timeout_s: 1 })]);
    const r = results[0];
    assert.equal(r.is_error, true);
    assert.match(r.content, /^timed out after 1\.\d s; the command was stopped\. Output so far:\n--- stdout ---\npartial\n/);
    assert.ok(r.duration_ms < 1000 + SLACK_MS * 2, `took ${r.duration_ms} ms`);
    await waitUntil(`no \`sleep ${nap}\` on the devvm`, () => processesWith(nap).length === 0, REMOTE_WAIT_MS);
  });

  test('cancel mid-command ends the turn within 1 s and the remote command goes', async () => {
    const nap = uniqueSleep();
    const { id, stream } = await st.startTurn([{ toolUses: [shell(`echo started; sleep ${nap}`)] }, { text: 'unused' }]);
    await stream.waitFor((e) => e.data?.kind === 'tool_output' && e.data.text.includes('started'), 20000);
    await waitUntil(`\`sleep ${nap}\` running on the devvm`, () => processesWith(nap).length === 1, REMOTE_WAIT_MS);
    const asked = Date.now();
    assert.equal((await st.cancel(id)).json.cancelled, true);
    const events = await turnEvents(stream, 10000);
    const tookMs = Date.now() - asked;
    assert.ok(tookMs < CANCEL_LIMIT_MS + SLACK_MS, `the turn ended ${tookMs} ms after the cancel`);
    const result = events.find((e) => e.kind === 'tool_result');
    assert.equal(result.is_error, true);
    assert.equal(events.at(-1).kind, 'turn_end');
    await stream.close();
    await waitUntil(`no \`sleep ${nap}\` on the devvm`, () => processesWith(nap).length === 0, REMOTE_WAIT_MS);
  });

  test('a command printing 200 MB leaves the daemon\'s memory bounded', async (t) => {
    const pid = st.daemon.proc.pid;
    const rssBefore = rssKib(pid);
    const rss = sampleRss(pid);
    let results;
    try {
      ({ results } = await runTools(st, [shell(`head -c ${FLOOD_BYTES} /dev/zero | tr '\\0' a; echo; echo tail-line`, { timeout_s: 300 })]));
    } finally {
      rss.stop();
    }
    const r = results[0];
    assert.equal(r.is_error, false, r.content.slice(0, 500));
    assert.match(r.content, /^exit status 0, /);
    const cut = /\[breakglass: (\d+) bytes cut here\]/.exec(r.content);
    assert.ok(cut, 'a marker says what was cut');
    assert.ok(Number(cut[1]) > FLOOD_BYTES - FLOOD_KEPT_BYTES, `cut ${cut[1]} bytes`);
    assert.match(r.content, /tail-line\n$/, 'the tail is kept');
    checkRssGrowth(t, pid, rss.peak() - rssBefore, FLOOD_KEPT_BYTES);
  });
});

describe('an unreachable devvm', () => {
  let lab;
  let st;
  // A daemon with no connection open yet: a shared connection opened
  // before the wedge would wait on its own limits instead.
  before(async () => { ({ lab, st } = await startLabStack('down')); });
  after(() => stopLabStack(lab, st));

  test('wedged: devvm_shell says "no SSH banner" within the connect limit + 1 s; devvm_probe names no_banner', async () => {
    lab.wedge();
    try {
      const { results } = await runTools(st, [shell('uptime'), { name: 'devvm_probe', input: {} }]);
      const [sh, probe] = results;
      assert.equal(sh.is_error, true);
      assert.match(sh.content, /no_banner/);
      assert.match(sh.content, /no SSH banner/);
      assert.ok(sh.duration_ms < WEDGED_LIMIT_MS, `devvm_shell took ${sh.duration_ms} ms`);
      assert.ok(sh.duration_ms >= CONNECT_TIMEOUT_S * 1000 - 100, `it waited for the banner (${sh.duration_ms} ms)`);
      assert.equal(probe.is_error, false, probe.content);
      const p = JSON.parse(probe.content);
      assert.equal(p.reachable, false);
      assert.equal(p.layer, 'no_banner');
      assert.match(p.meaning, /no SSH banner/);
      assert.ok(probe.duration_ms < WEDGED_LIMIT_MS, `devvm_probe took ${probe.duration_ms} ms`);
    } finally {
      lab.unwedge();
    }
  });

  test('sshd killed: devvm_shell says "connection refused" at once', async () => {
    lab.killDevvmSshd();
    try {
      const { results } = await runTools(st, [shell('uptime'), { name: 'devvm_probe', input: {} }]);
      const [sh, probe] = results;
      assert.equal(sh.is_error, true);
      assert.match(sh.content, /connect_refused/);
      assert.match(sh.content, /connection refused/i);
      assert.ok(sh.duration_ms < REFUSED_LIMIT_MS + SLACK_MS, `devvm_shell took ${sh.duration_ms} ms`);
      assert.equal(JSON.parse(probe.content).layer, 'connect_refused');
    } finally {
      await lab.startDevvmSshd();
    }
    const { results } = await runTools(st, [shell('echo back')]);
    assert.equal(results[0].is_error, false, `the devvm answers again: ${results[0].content}`);
  });

  test('wedged with a connection already open: devvm_shell still fails within the connect limit + 1 s', async () => {
    const warm = await runTools(st, [shell('echo warm')]);
    assert.equal(warm.results[0].is_error, false, warm.results[0].content);
    lab.wedge();
    try {
      const { results } = await runTools(st, [shell('uptime'), shell('uptime')]);
      for (const r of results) {
        assert.equal(r.is_error, true);
        assert.match(r.content, /no_banner/);
        assert.ok(r.duration_ms < WEDGED_LIMIT_MS, `devvm_shell took ${r.duration_ms} ms`);
      }
    } finally {
      lab.unwedge();
    }
  });
});

// Another key pinned for the devvm; the pve line stays right.
function pinOtherKey(lab) {
  const other = join(dir, 'other_host_key');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  const otherPub = fs.readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  const name = lab.devvm.port === 22 ? lab.devvm.host : `[${lab.devvm.host}]:${lab.devvm.port}`;
  const pinned = fs.readFileSync(lab.knownHostsPath, 'utf8').split('\n')
    .map((l) => (l.startsWith(`${name} `) ? `${name} ${otherPub}` : l)).join('\n');
  const knownHosts = join(dir, 'wrong_known_hosts');
  fs.writeFileSync(knownHosts, pinned);
  return { BREAKGLASS_KNOWN_HOSTS: knownHosts };
}

describe('a devvm whose host key is not the pinned one', () => {
  let lab;
  let st;
  before(async () => { ({ lab, st } = await startLabStack('hostkey', { wedgeable: false }, pinOtherKey)); });
  after(() => stopLabStack(lab, st));

  test('devvm_shell is refused and the tool_result shows the offered key\'s SHA256 fingerprint', async () => {
    const keygen = spawnSync('ssh-keygen', ['-l', '-f', join(lab.dir, 'devvm', 'ssh_host_ed25519_key.pub')], { encoding: 'utf8' });
    const fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(keygen.stdout)[0];
    const { results } = await runTools(st, [shell('uptime')]);
    assert.equal(results[0].is_error, true);
    assert.match(results[0].content, /hostkey_changed/);
    assert.ok(results[0].content.includes(fingerprint), `${fingerprint} in: ${results[0].content}`);
  });
});
