// No journal, no action, against the real lab (DESIGN.md invariant 2): with
// every file write of the daemon failing (it runs under `ulimit -f 0`,
// SIGXFSZ ignored, so each write gets EFBIG), nothing that reaches the
// devvm or the Proxmox host runs: not a cycle or a forensics capture asked
// by the model, not a devvm_shell command, not a button, not even status.
// qm never runs a mutating command and the devvm is unchanged. Runs as root
// (the lab does).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AUTH, startStack } from '../../lib/agent-stack.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { startLab } from '../../lib/lab.mjs';

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
    scripts: 'shipped', env: lab.env(),
  });
});
after(async () => {
  await st?.close();
  lab?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the model asks for forensics then cycle: both refused with the reason, qm is not touched', async () => {
  const { stream, events } = await st.runTurn([
    { toolUses: [{ name: 'pve', input: { verb: 'forensics' } }, { name: 'pve', input: { verb: 'cycle' } }] },
    { text: 'Both were refused.' },
  ], { prompt: 'Cycle the devvm.', waitMs: TURN_LIMIT_MS });
  await stream.close();
  const results = events.filter((e) => e.kind === 'tool_result');
  const [forensics, inserted, cycle] = results;
  assert.equal(results.length, 3, JSON.stringify(results));
  for (const r of [forensics, inserted]) {
    assert.equal(r.is_error, true);
    assert.match(r.content, /^not run: its intent could not be written to the journal/);
  }
  assert.match(inserted.call_id, /\.first1$/, 'the forensics capture the policy inserted');
  assert.equal(cycle.is_error, true);
  assert.match(cycle.content, /^not run: pve forensics, which policy forensics_first asked to run first, did not run: its intent could not be written/);
  assert.ok(events.some((e) => e.kind === 'error' && e.error_type === 'journal'));
  assert.deepEqual(lab.qmCalls().filter((c) => MUTATING_QM.test(c)), []);
  assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
});

test('a devvm_shell command is refused and does not run: the devvm is unchanged', async () => {
  const marker = join(tmpdir(), `bg-journal-refusal-${crypto.randomBytes(6).toString('hex')}`);
  const { stream, events } = await st.runTurn([
    { toolUses: [{ name: 'devvm_shell', input: { command: `touch ${marker}` } }] },
    { text: 'It was refused.' },
  ], { prompt: 'Touch a file.', waitMs: TURN_LIMIT_MS });
  await stream.close();
  const result = events.find((e) => e.kind === 'tool_result');
  assert.equal(result.is_error, true);
  assert.match(result.content, /not run: its intent could not be written to the journal/);
  assert.equal(fs.existsSync(marker), false, 'the command never reached the devvm');
});

test('the buttons are refused with the reason, status included', async () => {
  for (const verb of ['cycle', 'status']) {
    const r = await fetchJson(`${st.daemon.url}/api/pve/${verb}`, { method: 'POST', headers: AUTH, body: {} });
    assert.equal(r.status, 503, r.text);
    assert.match(r.json.error, /journal/);
  }
  assert.deepEqual(lab.qmCalls().filter((c) => MUTATING_QM.test(c)), []);
});
