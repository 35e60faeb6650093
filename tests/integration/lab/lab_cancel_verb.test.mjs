// Cancelling a turn never cuts a power verb in flight: the turn ends at
// once, the page is told the verb runs to its end, the verb still counts as
// in flight for the policies (another power verb is refused meanwhile), and
// on the host the cycle of a wedged VM completes (its checked kill and
// start) while the daemon logs the outcome. Runs as root (the lab does).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, turnEvents } from '../../lib/agent-stack.mjs';
import { waitFor } from '../../lib/page.mjs';
import { startLab } from '../../lib/lab.mjs';

const dir = fs.mkdtempSync(join(tmpdir(), 'lab-cancel-verb-test-'));
const CANCEL_LIMIT_MS = 3000;
const CYCLE_LIMIT_MS = 90000;
let lab;

before(async () => {
  lab = await startLab();
});
after(() => {
  lab?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a cancel during pve cycle ends the turn, says the verb runs on, and the cycle completes', async () => {
  const st = await startStack(dir, {
    scripts: 'shipped', env: lab.env(),
  });
  try {
    lab.wedge(); // the clean stop hangs: the cycle takes the lab's stop wait, then kills
    const { id, stream } = await st.startTurn([
      { toolUses: [{ name: 'pve', input: { verb: 'forensics' } }] },
      { toolUses: [{ name: 'pve', input: { verb: 'cycle' } }] },
      { text: 'not reached' },
    ], 'Cycle the devvm.');
    const cycle = await stream.waitFor((e) => e.data?.kind === 'tool' && e.data.input?.verb === 'cycle', CYCLE_LIMIT_MS);
    // The verb is on the host once its output starts: forensics comes first.
    await stream.waitFor((e) => e.data?.kind === 'tool_output' && e.data.call_id === cycle.data.call_id, CYCLE_LIMIT_MS);
    const from = st.daemon.log.length;
    const t0 = Date.now();
    const r = await st.cancel(id);
    assert.deepEqual(r.json, { cancelled: true });
    const events = await turnEvents(stream, CANCEL_LIMIT_MS);
    assert.ok(Date.now() - t0 < CANCEL_LIMIT_MS, `the turn ended ${Date.now() - t0} ms after the cancel`);
    const notice = events.find((e) => e.kind === 'notice');
    assert.ok(notice, JSON.stringify(events.map((e) => e.kind)));
    assert.match(notice.text, /runs to its end/);
    assert.ok(events.some((e) => e.kind === 'cancelled'));

    // Still in flight on the host: one_at_a_time refuses a reset from
    // another session.
    const other = await st.startTurn([
      { toolUses: [{ name: 'pve', input: { verb: 'reset' } }] },
      { text: 'Refused.' },
    ], 'Reset the devvm.');
    const refused = (await turnEvents(other.stream, CYCLE_LIMIT_MS)).find((e) => e.kind === 'tool_result');
    await other.stream.close();
    assert.equal(refused.is_error, true);
    assert.match(refused.content, /^refused by policy one_at_a_time: another mutating action is in flight: pve cycle/);

    // On the host the cycle goes on: checked kill, start, and a running VM.
    const CYCLE_DONE = /verb="cycle" result outcome=ok exit=0/;
    await waitFor('the cycle to finish on the host', () => CYCLE_DONE.test(lab.pveLog()), CYCLE_LIMIT_MS);
    assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
    await st.daemon.waitForLog(/pve cycle, left running after its turn was cancelled, ended: ran/, CYCLE_LIMIT_MS, from);
    await stream.close();
  } finally {
    lab.unwedge();
    await st.close();
  }
});
