// Replies far larger than a client's queue (issue 11): the Messages API
// allows outputs of tens of MiB, and no event of a turn may outgrow what a
// client can be sent, or every client is dropped before turn_end, and every
// later attach at the same frame. A reply's memory cost stays a small
// multiple of its size.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sampleRss, startStack, turnEvents, underAddressSanitizer } from '../../lib/agent-stack.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('big-reply-test');

const MIB = 1024 * 1024;
const TURN_LIMIT_MS = 120000;
// What a real stream's text deltas carry at most, roughly.
const DELTA_CHARS = 512;

/** n bytes of prose, different every line so nothing compresses it away. */
function prose(n) {
  const lines = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const line = `line ${i}: the devvm's disk queue was ${(i * 7919) % 1000} deep at that moment.\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('').slice(0, n);
}

describe('a reply bigger than a client queue', () => {
  const st = forSuite(() => startStack(join(dir, 'stack')));

  test('a 20 MiB reply reaches every client up to turn_end, and a client attaching later', async () => {
    const answer = prose(20 * MIB);
    const { id, stream } = await st.startTurn([{ text: answer, deltaChars: DELTA_CHARS }], 'Tell me everything.');
    const late = await st.attach(id);
    const events = await turnEvents(stream, TURN_LIMIT_MS);
    await late.waitForType('turn_end', TURN_LIMIT_MS);
    const blocks = events.filter((e) => e.kind === 'text').map((e) => e.text).join('');
    assert.equal(blocks.length, answer.length);
    assert.ok(blocks === answer, 'the blocks are the answer');
    const result = events.at(-2);
    assert.equal(result.kind, 'result');
    assert.equal(result.is_error, false);
    await stream.close();
    await late.close();

    const after = await st.attach(id);
    await after.waitForType('turn_end', TURN_LIMIT_MS);
    const replayed = after.events.filter((e) => e.data?.kind === 'text').map((e) => e.data.text).join('');
    assert.ok(replayed === answer, 'a client attaching after the turn gets the whole answer');
    await after.close();
  });

  test('two concurrent 30 MiB replies stay under 256 MiB of resident memory', async (t) => {
    // A daemon of its own: what the 20 MiB session above keeps is not
    // this test's.
    const own = await startStack(join(dir, 'concurrent'));
    t.after(() => own.close());
    if (underAddressSanitizer(own.daemon.proc.pid)) {
      t.skip('RSS says little under AddressSanitizer');
      return;
    }
    const answer = prose(30 * MIB);
    const rss = sampleRss(own.daemon.proc.pid);
    try {
      const turns = [];
      for (let i = 0; i < 2; i++) {
        own.mock.push({ text: answer, deltaChars: DELTA_CHARS });
        const sid = await own.newSession();
        const s = await own.attach(sid);
        await s.waitFor((e) => e.event === 'caught-up');
        assert.equal((await own.prompt(sid, `reply ${i}`)).status, 200);
        turns.push({ s, done: turnEvents(s, TURN_LIMIT_MS) });
      }
      for (const { s, done } of turns) {
        const events = await done;
        assert.equal(events.at(-2).is_error, false);
        await s.close();
      }
    } finally {
      rss.stop();
    }
    const peakMiB = rss.peak() / 1024;
    t.diagnostic(`peak RSS ${peakMiB.toFixed(1)} MiB`);
    assert.ok(peakMiB < 256, `peak RSS ${peakMiB.toFixed(1)} MiB`);
  });
});
