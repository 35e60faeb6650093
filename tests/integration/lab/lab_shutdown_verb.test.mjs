// SIGTERM never cuts a power verb already sent to the Proxmox host: the
// daemon answers new requests with 503 (/health stays up), lets the verb
// run to its end or its own time limit, records its outcome, and only then
// exits 0. With nothing on the host, it exits at once. Each test has a
// daemon of its own against one lab (the shipped rate_limit policy allows
// one cycle a minute per daemon). Runs as root (the lab does).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AUTH, startStack, turnEvents } from '../../lib/agent-stack.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { startLab } from '../../lib/lab.mjs';
import { argvOf } from '../../lib/processes.mjs';
import { waitFor } from '../../lib/page.mjs';
import { cycleReachesQm, journalRecordsUnder, recordsCycleDone } from '../../lib/verb-outcome.mjs';

const dir = fs.mkdtempSync(join(tmpdir(), 'lab-shutdown-verb-test-'));
// A wedged cycle: forensics (about 2 s), a clean stop that hangs for
// STOP_WAIT_S, the checked kill, a start. Long enough to stand out from
// VERB_LIMIT_S, a verb limit forensics fits in and the cycle does not.
const STOP_WAIT_S = 8;
const VERB_LIMIT_S = 5;
const CYCLE_LIMIT_MS = 90000;
// What the daemon may take past the verb's limit to stop.
const EXIT_SLACK_MS = 3000;
// SIGTERM with nothing on the host: the daemon used to exit at once.
const QUICK_EXIT_MS = 2000;
let lab;

before(async () => {
  lab = await startLab({ pveSettings: { stop_wait_seconds: String(STOP_WAIT_S) } });
});
after(() => {
  lab?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const stackEnv = (extra) => ({
  ...lab.env(),
  ...extra,
});

const cycleOnHost = () => cycleReachesQm(lab, CYCLE_LIMIT_MS);

// A daemon for one test. Whatever fails, nothing stays behind: an open
// stream or a live daemon would keep this file from ending.
async function withStack(name, env, fn) {
  const st = await startStack(join(dir, name), { scripts: 'shipped', env: stackEnv(env) });
  const streams = [];
  try {
    await fn(st, streams);
  } finally {
    lab.unwedge();
    for (const s of streams) await s.close();
    if (st.daemon.proc.exitCode === null && st.daemon.proc.signalCode === null) await st.daemon.kill9();
    await st.mock.close();
  }
}

// SIGTERM, then what the daemon answers while it drains.
async function terminateDuringVerb(st) {
  const t0 = Date.now();
  st.daemon.proc.kill('SIGTERM');
  await st.daemon.waitForLog(/waiting for 1 power verb on the Proxmox host to end/, 5000);
  const health = await st.health();
  assert.equal(health.status, 200, 'the liveness route stays up while the verb runs');
  const refused = await fetchJson(`${st.daemon.url}/api/sessions`, { headers: AUTH });
  assert.equal(refused.status, 503, refused.text);
  assert.match(refused.json.error, /shutting down/);
  const ready = await fetchJson(`${st.daemon.url}/readyz`);
  assert.equal(ready.status, 503, 'not ready while shutting down');
  return t0;
}

const button = (st, verb) => fetchJson(`${st.daemon.url}/api/pve/${verb}`,
  { method: 'POST', headers: AUTH, body: {}, timeoutMs: CYCLE_LIMIT_MS });

test('SIGTERM during a button cycle: the cycle ends, its result is recorded and answered, then exit 0', () =>
  withStack('button', {}, async (st) => {
    lab.wedge();
    assert.equal((await button(st, 'forensics')).status, 200);
    const onHost = cycleOnHost();
    const cycle = button(st, 'cycle');
    await onHost;
    await terminateDuringVerb(st);

    const answer = await cycle;
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json.exit_code, 0);
    assert.deepEqual(await st.daemon.stop('SIGTERM', CYCLE_LIMIT_MS), { code: 0, signal: null });
    assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
    assert.ok(journalRecordsUnder(st.daemon.dataDir).some(recordsCycleDone), 'the journal holds the outcome');
    // The outcome reached the log before the daemon stopped.
    const ran = st.daemon.log.findIndex((l) => /pve cycle asked by \S+: .*exit 0/.test(l));
    const stopped = st.daemon.log.findIndex((l) => / stopped$/.test(l));
    assert.ok(ran >= 0 && ran < stopped, st.daemon.log.join('\n'));
  }));

test('SIGTERM during a turn\'s cycle: the turn ends, the cycle runs to its end and its outcome is journaled, then exit 0', () =>
  withStack('turn', {}, async (st, streams) => {
    lab.wedge();
    const onHost = cycleOnHost();
    const { stream } = await st.startTurn([
      { toolUses: [{ name: 'pve', input: { verb: 'forensics' } }] },
      { toolUses: [{ name: 'pve', input: { verb: 'cycle' } }] },
      { text: 'not reached' },
    ], 'Cycle the devvm.');
    streams.push(stream);
    await onHost;
    await terminateDuringVerb(st);
    const events = await turnEvents(stream, 5000);
    assert.ok(events.some((e) => e.kind === 'cancelled'), JSON.stringify(events.map((e) => e.kind)));

    assert.deepEqual(await st.daemon.stop('SIGTERM', CYCLE_LIMIT_MS), { code: 0, signal: null });
    assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
    assert.ok(journalRecordsUnder(join(st.daemon.dataDir, 'sessions')).some(recordsCycleDone),
      'the session journal holds the outcome');
  }));

test('a verb that outlasts its own limit holds the shutdown no longer than that limit', async () => {
  const cyclesEnded = () => lab.pveLog().split('\n').filter((l) => /verb="cycle" result/.test(l)).length;
  const ended = cyclesEnded();
  try {
    await withStack('limit', { BREAKGLASS_PVE_VERB_TIMEOUT_SECONDS: String(VERB_LIMIT_S) }, async (st) => {
      lab.wedge();
      const onHost = cycleOnHost();
      const cycle = button(st, 'cycle');
      await onHost;
      const t0 = await terminateDuringVerb(st);
      const answer = await cycle;
      assert.equal(answer.status, 502, answer.text);
      assert.match(answer.json.error, new RegExp(`did not finish within ${VERB_LIMIT_S * 1000} ms`));
      assert.deepEqual(await st.daemon.stop('SIGTERM', CYCLE_LIMIT_MS), { code: 0, signal: null });
      const took = Date.now() - t0;
      assert.ok(took < VERB_LIMIT_S * 1000 + EXIT_SLACK_MS, `exited ${took} ms after SIGTERM`);
    });
  } finally {
    // breakglass-pve finishes the cycle on its own: the next test wants the VM up.
    await waitFor('the cycle to end on the host', () => cyclesEnded() > ended, CYCLE_LIMIT_MS);
  }
});

test('SIGTERM with only a devvm command running exits at once, cancelling it', () =>
  withStack('quick', {}, async (st, streams) => {
    const { stream } = await st.startTurn([
      { toolUses: [{ name: 'devvm_shell', input: { command: 'sleep 30' } }] },
      { text: 'not reached' },
    ], 'Sleep on the devvm.');
    streams.push(stream);
    await waitFor('sleep 30 to run on the devvm', () => lab.pids().some((pid) => argvOf(pid).join(' ') === 'sleep 30'), 10000);
    const t0 = Date.now();
    assert.deepEqual(await st.daemon.stop('SIGTERM', QUICK_EXIT_MS * 5), { code: 0, signal: null });
    assert.ok(Date.now() - t0 < QUICK_EXIT_MS, `exited ${Date.now() - t0} ms after SIGTERM`);
    assert.ok(!st.daemon.log.some((l) => /waiting for .* power verb/.test(l)));
  }));
