// No journal, no mutation, against the real lab: with every file write of
// the daemon failing (it runs under `ulimit -f 0`, SIGXFSZ ignored, so each
// write gets EFBIG), a cycle asked by the model and a cycle asked by the
// button are both refused with the reason, qm never runs a mutating
// command, and status still works. Runs as root (the lab does).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AUTH, startStack, turnEvents } from '../lib/agent-stack.mjs';
import { fetchJson } from '../lib/daemon.mjs';
import { startLab } from '../lib/lab.mjs';

const dir = fs.mkdtempSync(join(tmpdir(), 'lab-journal-refusal-test-'));
const TURN_LIMIT_MS = 60000;
// qm subcommands that change the VM; forensics only reads.
const MUTATING_QM = /^(stop|start|reset|shutdown|unlock)\b/;
let lab, st;

before(async () => {
  lab = await startLab();
  const bin = join(dir, 'breakglass-no-writes');
  fs.writeFileSync(bin, `#!/bin/sh\ntrap '' XFSZ\nulimit -f 0\nexec '${process.env.BREAKGLASS_BIN}' "$@"\n`, { mode: 0o755 });
  st = await startStack(join(dir, 'stack'), {
    bin,
    env: { ...lab.env(), BREAKGLASS_SCRIPTS_DIR: join(process.env.BREAKGLASS_SOURCE_DIR, 'lua') },
  });
});
after(async () => {
  await st?.close();
  lab?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the model asks for forensics then cycle: forensics runs, the cycle is refused, qm is not touched', async () => {
  const { stream } = await st.startTurn([
    { toolUses: [{ name: 'pve', input: { verb: 'forensics' } }, { name: 'pve', input: { verb: 'cycle' } }] },
    { text: 'The cycle was refused.' },
  ], 'Cycle the devvm.');
  const events = await turnEvents(stream, TURN_LIMIT_MS);
  await stream.close();
  const results = events.filter((e) => e.type === 'tool_result');
  assert.equal(results[0].is_error, false, results[0].content);
  const cycle = results.at(-1);
  assert.equal(cycle.is_error, true);
  assert.match(cycle.content, /not run: its intent could not be written to the journal/);
  assert.ok(events.some((e) => e.type === 'error' && e.error_type === 'journal'));
  assert.deepEqual(lab.qmCalls().filter((c) => MUTATING_QM.test(c)), []);
  assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
});

test('the cycle button is refused with the reason; the status button works', async () => {
  const cycle = await fetchJson(`${st.daemon.url}/api/pve/cycle`, { method: 'POST', headers: AUTH, body: {} });
  assert.equal(cycle.status, 503, cycle.text);
  assert.match(cycle.json.error, /journal/);
  assert.deepEqual(lab.qmCalls().filter((c) => MUTATING_QM.test(c)), []);
  const status = await fetchJson(`${st.daemon.url}/api/pve/status`, { method: 'POST', headers: AUTH, body: {} });
  assert.equal(status.status, 200, status.text);
  assert.match(status.json.stdout, /status: running/);
});
