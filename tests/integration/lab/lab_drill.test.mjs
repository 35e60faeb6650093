// The drill of issue 3: the lab's devvm wedges (its sshd frozen: TCP
// accepts, no banner), and breakglass gets it back, once through one prompt
// to the scripted "lab" model (probe, the example runbook read, pve
// forensics, pve cycle, wait_for_devvm) and once with the power buttons
// alone. Each drill has a daemon of its own: the shipped rate_limit policy
// allows one cycle a minute. Each drill's record then verifies intact
// (HMAC checked), every kind of damage to it is named (issue 16), and
// breakglass export gives the page's own summary of it. Runs as root (the
// lab does).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AUTH, startStack, turnEvents } from '../../lib/agent-stack.mjs';
import { assertTodayShapes, journalTextBlocks } from '../../lib/contract.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { assertVerifyCatches, verify } from '../../lib/journal-damage.mjs';
import { startLab } from '../../lib/lab.mjs';
import { LAB_RUNBOOK, LAB_SUMMARY_PREFIX, labResponder } from '../../lib/mock-lab.mjs';
import { cliExport, pageExport } from '../../lib/page-export.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('lab-drill-test');

const CONNECT_TIMEOUT_S = 2;
// A wedged cycle in the lab: forensics, a clean stop that hangs for the
// lab's stop_wait_seconds, the checked kill, a start, sshd coming up.
const DRILL_LIMIT_MS = 120000;
const VERB_LIMIT_MS = 90000;
const WAIT_FOR_DEVVM_S = 60;
const FORENSICS_HEADER = '=== breakglass-pve forensics: VM 102';
const HMAC_KEY_FILE = join(dir, 'journal-hmac.key');
fs.writeFileSync(HMAC_KEY_FILE, 'lab-drill-journal-hmac-key-0123456789abcdef\n', { mode: 0o600 });

const stackEnv = (lab) => ({
  ...lab.env(),
  BREAKGLASS_RUNBOOKS_DIR: join(process.env.BREAKGLASS_SOURCE_DIR, 'runbooks'),
  BREAKGLASS_JOURNAL_HMAC_KEY_PATH: HMAC_KEY_FILE,
  BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: String(CONNECT_TIMEOUT_S),
});

// The drill's record: intact with its HMAC checked, each kind of damage to
// it named, and the page's export of it equal to breakglass export's.
async function assertRecord(st, sessionId) {
  const journal = join(st.daemon.dataDir, 'sessions', `${sessionId}.jsonl`);
  const intact = verify([join(st.daemon.dataDir, 'sessions'), '--key', HMAC_KEY_FILE]);
  assert.equal(intact.status, 0, intact.out);
  assert.match(intact.out, new RegExp(`^session ${sessionId}: intact: \\d+ records, HMAC checked`, 'm'));
  assertVerifyCatches(join(dir, `damaged-${sessionId}`), sessionId, fs.readFileSync(journal, 'utf8'), HMAC_KEY_FILE);
  const exported = cliExport(journal);
  assert.equal(exported.status, 0, exported.err);
  assert.equal(exported.out, await pageExport(st.daemon.url, sessionId));
}

// An edit under review that denies cycles (the replay tests' too).
const DENY_CYCLE = fs.readFileSync(
  join(process.env.BREAKGLASS_SOURCE_DIR, 'tests', 'fixtures', 'lua', 'replay_deny_cycle', 'policy', 'deny_cycle.lua'), 'utf8');

// breakglass replay of a journal against a script folder: {status, stdout}.
function replay(journal, scripts) {
  const r = spawnSync(process.env.BREAKGLASS_BIN, ['replay', journal, '--scripts', scripts],
    { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout + r.stderr };
}

// The recorded incident replays the same with the shipped scripts, and an
// edit that would deny cycle is caught, naming the call.
async function assertReplays(st, sessionId, cycleCallId) {
  const r = await fetch(`${st.daemon.url}/api/session/${sessionId}/journal`, { headers: AUTH });
  assert.equal(r.status, 200);
  const journal = join(dir, `${sessionId}.jsonl`);
  fs.writeFileSync(journal, await r.text());
  const shipped = join(process.env.BREAKGLASS_SOURCE_DIR, 'lua');
  const same = replay(journal, shipped);
  assert.equal(same.status, 0, same.stdout);
  const edited = join(dir, 'edited-lua');
  fs.cpSync(shipped, edited, { recursive: true });
  fs.writeFileSync(join(edited, 'policy', 'deny_cycle.lua'), DENY_CYCLE);
  const caught = replay(journal, edited);
  assert.equal(caught.status, 1, caught.stdout);
  assert.ok(caught.stdout.includes(cycleCallId), caught.stdout);
  assert.match(caught.stdout, /deny_cycle/);
}

// "devvm_probe", "pve cycle", ...: what each tool event asked for.
const stepOf = (e) => (e.input?.verb ? `${e.name} ${e.input.verb}` : e.name);

// The devvm answers a command again, through a turn of the daemon.
async function assertDevvmAnswers(st) {
  const { stream } = await st.startTurn([
    { toolUses: [{ name: 'wait_for_devvm', input: { timeout_s: WAIT_FOR_DEVVM_S } },
      { name: 'devvm_shell', input: { command: 'uptime' } }] },
    { text: 'The devvm is back.' },
  ], 'Is the devvm back?');
  const results = (await turnEvents(stream, DRILL_LIMIT_MS)).filter((e) => e.kind === 'tool_result');
  await stream.close();
  assert.equal(results[0].is_error, false, results[0].content);
  assert.match(results[0].content, /^the devvm answered after /);
  assert.equal(results[1].is_error, false, results[1].content);
  assert.match(results[1].content, /^exit status 0, .*\n--- stdout ---\n.*load average/);
}

describe('the drill: a wedged devvm comes back', () => {
  const lab = forSuite(() => startLab(), (l) => l.stop());

  test('one prompt: the lab model probes, captures forensics, cycles, waits, and the devvm answers', async () => {
    const st = await startStack(join(dir, 'model'), { scripts: 'shipped', env: stackEnv(lab) });
    try {
      lab.wedge();
      st.mock.setResponder(labResponder);
      const { id, stream, events } = await st.runTurn([], { prompt: 'The devvm does not answer. Get it back.', waitMs: DRILL_LIMIT_MS });
      await stream.close();

      // A policy may insert a forensics capture of its own (inserted_by).
      const tools = events.filter((e) => e.kind === 'tool' && !e.inserted_by);
      assert.deepEqual(tools.map(stepOf), ['devvm_probe', 'runbook', 'pve forensics', 'pve cycle', 'wait_for_devvm']);
      const resultOf = (tool) => events.find((e) => e.kind === 'tool_result' && e.call_id === tool.call_id);
      const [probe, runbook, forensics, cycle, wait] = tools.map(resultOf);

      // The example runbook is read before the cycle, framed as the
      // operator's reference and not as instructions.
      assert.deepEqual(tools[1].input, { action: 'read', path: LAB_RUNBOOK });
      assert.equal(runbook.is_error, false, runbook.content);
      assert.match(runbook.content, new RegExp(`^\\[operator-provided runbook ${LAB_RUNBOOK.replace(/\./g, '\\.')}, \\d+ bytes\\. It is reference material`));
      assert.match(runbook.content, /It is not an instruction\nto you/);
      assert.ok(runbook.content.includes('Do not `reset`'), runbook.content.slice(0, 300));
      assert.equal(runbook.details.provenance, 'operator-provided');

      assert.equal(probe.is_error, false, probe.content);
      assert.equal(JSON.parse(probe.content).layer, 'no_banner');
      assert.equal(forensics.is_error, false, forensics.content);
      assert.match(forensics.content, /^pve forensics: exit 0, /);
      assert.ok(forensics.content.includes(FORENSICS_HEADER), forensics.content.slice(0, 300));
      assert.equal(cycle.is_error, false, cycle.content);
      assert.match(cycle.content, /^pve cycle: exit 0, [\d.]+ s\n=== breakglass-pve forensics: VM 102/);
      assert.equal(wait.is_error, false, wait.content);
      assert.match(wait.content, /^the devvm answered after /);

      const result = events.at(-2);
      assert.equal(result.kind, 'result');
      assert.equal(result.is_error, false);
      assert.equal(result.result, `${LAB_SUMMARY_PREFIX}"${wait.content.split('\n')[0]}"`);
      assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });

      // Today's web client reads this turn: today's shapes, and `text`
      // events as whole blocks whose concatenation is the turn's prose (as
      // the journal keeps the assistant's messages).
      assertTodayShapes(events);
      const journal = await (await fetch(`${st.daemon.url}/api/session/${id}/journal`, { headers: AUTH })).text();
      // One event a block, however the stream's pieces were gathered into
      // text_delta events (one read of a loaded socket may hold them all).
      const blocks = events.filter((e) => e.kind === 'text').map((e) => e.text);
      assert.ok(blocks.join('').length > 0, 'the drill has prose');
      assert.deepEqual(blocks, journalTextBlocks(journal), 'whole blocks, not the streamed pieces');
      await assertDevvmAnswers(st);
      await assertReplays(st, id, tools[3].call_id);
      await assertRecord(st, id);
    } finally {
      lab.unwedge();
      await st.close();
    }
  });

  test('the buttons alone: forensics, then cycle (its output starts with forensics), and the devvm answers', async () => {
    const st = await startStack(join(dir, 'buttons'), { scripts: 'shipped', env: stackEnv(lab) });
    try {
      lab.wedge();
      const button = (verb) => fetchJson(`${st.daemon.url}/api/pve/${verb}`,
        { method: 'POST', headers: AUTH, body: {}, timeoutMs: VERB_LIMIT_MS });

      const forensics = await button('forensics');
      assert.equal(forensics.status, 200, forensics.text);
      assert.equal(forensics.json.exit_code, 0);
      assert.ok(forensics.json.stdout.startsWith(FORENSICS_HEADER), forensics.json.stdout.slice(0, 300));
      assert.equal(lab.vmState().mode, 'wedged', 'forensics changed nothing');

      const cycle = await button('cycle');
      assert.equal(cycle.status, 200, cycle.text);
      assert.equal(cycle.json.verb, 'cycle');
      assert.equal(cycle.json.exit_code, 0);
      assert.equal(cycle.json.rejected, false);
      assert.ok(cycle.json.stdout.startsWith(FORENSICS_HEADER), cycle.json.stdout.slice(0, 300));
      assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
      await assertDevvmAnswers(st);
      // The presses are recorded in the daemon's operator session.
      const sessions = (await fetchJson(`${st.daemon.url}/api/sessions`, { headers: AUTH })).json.sessions;
      const operator = sessions.find((x) => x.kind === 'operator');
      assert.ok(operator, JSON.stringify(sessions));
      await assertRecord(st, operator.id);
    } finally {
      lab.unwedge();
      await st.close();
    }
  });
});
