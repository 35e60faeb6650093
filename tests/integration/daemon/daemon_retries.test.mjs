// The agent loop when the Messages API misbehaves (overload, rate limits,
// a refused key, dropped, stalled and failing streams), and cancelling a
// turn in the middle of a model call or a tool call.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startStack, textOf, turnEvents, typesOf } from '../../lib/agent-stack.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('daemon-retries-test');

const IDLE_TIMEOUT_S = 1;
// Above the 2 s retry-after the rate-limit test asks for, so it is not cut.
const MAX_RETRY_DELAY_S = 3;
const CANCEL_WITHIN_MS = 1000;

// The part of a turn's events after its last retry (or all of them).
const afterLastRetry = (events) => events.slice(events.findLastIndex((e) => e.kind === 'retry') + 1);

describe('model call failures and cancels', () => {
  const st = forSuite(() => startStack(join(dir, 'stack'), {
    env: {
      BREAKGLASS_MODEL_IDLE_TIMEOUT_SECONDS: String(IDLE_TIMEOUT_S),
      BREAKGLASS_MODEL_MAX_RETRY_DELAY_SECONDS: String(MAX_RETRY_DELAY_S),
    },
  }));

  test('529, 529, then success: two retry events and a completed turn', async () => {
    const { stream, first, events } = await st.runTurn([{ status: 529 }, { status: 529 }, { text: 'Third time lucky.' }]);
    const retries = events.filter((e) => e.kind === 'retry');
    assert.equal(retries.length, 2);
    retries.forEach((r, i) => {
      assert.equal(r.attempt, i + 1);
      assert.equal(r.http_status, 529);
      assert.equal(r.error_type, 'overloaded_error');
      assert.equal(r.request_id, `req_mock_${first + i}`);
      assert.ok(r.delay_ms > 0 && r.delay_ms <= MAX_RETRY_DELAY_S * 1000, `delay ${r.delay_ms}`);
    });
    assert.equal(events.at(-2).is_error, false);
    assert.equal(events.at(-2).result, 'Third time lucky.');
    assert.equal(st.mock.requests.length, first + 3);
    const bodies = st.mock.requests.slice(first).map((r) => JSON.stringify(r.body));
    assert.equal(new Set(bodies).size, 1, 'every attempt sends the same request');
    await stream.close();
  });

  test('429 with retry-after: 2 waits about two seconds before the next attempt', async () => {
    const { stream, first, events } = await st.runTurn([
      { status: 429, headers: { 'retry-after': '2' } },
      { text: 'Rate limit passed.' },
    ]);
    const retry = events.find((e) => e.kind === 'retry');
    assert.equal(retry.delay_ms, 2000);
    assert.equal(retry.error_type, 'rate_limit_error');
    const [a, b] = st.mock.requests.slice(first);
    const gap = b.receivedAt - a.finishedAt;
    assert.ok(gap >= 1500 && gap < 6000, `waited ${gap} ms`);
    assert.equal(events.at(-2).result, 'Rate limit passed.');
    await stream.close();
  });

  test('401: one error event naming authentication_error and the request id, no retry', async () => {
    const { stream, first, events } = await st.runTurn([{ status: 401, message: 'invalid x-api-key' }, { text: 'never' }]);
    assert.deepEqual(typesOf(events), ['user', 'error', 'result', 'turn_end']);
    const err = events[1];
    assert.equal(err.error_type, 'authentication_error');
    assert.equal(err.request_id, `req_mock_${first}`);
    assert.equal(err.http_status, 401);
    assert.match(err.error, /invalid x-api-key/);
    assert.equal(events[2].is_error, true);
    assert.equal(st.mock.requests.length, first + 1);
    await stream.close();
  });

  test('a connection dropped mid-stream is retried and the turn completes', async () => {
    const { stream, first, events } = await st.runTurn([
      { text: 'This answer will be cut off by a dropped connection.', dropAfterEvents: 6 },
      { text: 'Answer after the drop.' },
    ]);
    const i = events.findIndex((e) => e.kind === 'retry');
    assert.ok(i > 0, 'a retry event');
    assert.ok(events.slice(0, i).some((e) => e.kind === 'text_delta'), 'text arrived before the drop');
    assert.equal(events[i].error_type, 'stream_error');
    assert.equal(st.mock.requests[first].dropped, true);
    assert.equal(textOf(afterLastRetry(events)), 'Answer after the drop.');
    assert.equal(events.at(-2).result, 'Answer after the drop.');
    assert.equal(events.at(-2).is_error, false);
    await stream.close();
  });

  test('a stalled stream hits the idle limit and is retried', async () => {
    const { stream, first, events } = await st.runTurn([{ stallAfterEvents: 4 }, { text: 'Answer after the stall.' }]);
    const retries = events.filter((e) => e.kind === 'retry');
    assert.equal(retries.length, 1);
    assert.equal(retries[0].error_type, 'idle_timeout');
    assert.match(retries[0].error, new RegExp(`no data from the Messages API for ${IDLE_TIMEOUT_S * 1000} ms`));
    const stalled = await st.mock.waitForFinish(first);
    assert.equal(stalled.clientAborted, true);
    const silent = st.mock.requests[first + 1].receivedAt - stalled.receivedAt;
    assert.ok(silent >= IDLE_TIMEOUT_S * 1000 * 0.9, `retried after ${silent} ms`);
    assert.equal(events.at(-2).result, 'Answer after the stall.');
    await stream.close();
  });

  test('an overloaded error event in the middle of a stream is retried', async () => {
    const { stream, first, events } = await st.runTurn([
      { text: 'Half an answer, then the stream fails.', streamError: { type: 'overloaded_error', message: 'Overloaded' }, afterEvents: 5 },
      { text: 'The whole answer.' },
    ]);
    const retries = events.filter((e) => e.kind === 'retry');
    assert.equal(retries.length, 1);
    assert.equal(retries[0].error_type, 'overloaded_error');
    assert.equal(retries[0].error, 'Overloaded');
    assert.equal(st.mock.requests.length, first + 2);
    assert.equal(textOf(afterLastRetry(events)), 'The whole answer.');
    assert.equal(events.at(-2).result, 'The whole answer.');
    await stream.close();
  });

  test('cancel during a model stream ends the turn at once and aborts the request', async () => {
    const { id, stream, first } = await st.startTurn([
      { text: 'A long and slow answer that the operator will not wait for.', deltaChars: 2, eventDelayMs: 200 },
    ]);
    await stream.waitForType('text_delta', 10000);
    const from = stream.events.length;
    const t0 = Date.now();
    const r = await st.cancel(id);
    assert.deepEqual(r.json, { cancelled: true });
    await stream.waitForType('turn_end', CANCEL_WITHIN_MS, from);
    assert.ok(Date.now() - t0 < CANCEL_WITHIN_MS);
    const events = await turnEvents(stream);
    assert.deepEqual(typesOf(events).filter((t) => t !== 'text_delta'), ['user', 'cancelled', 'result', 'turn_end']);
    assert.equal(events.find((e) => e.kind === 'cancelled').identity, 'bearer', 'who cancelled is kept');
    assert.equal(events.at(-2).is_error, true);
    const req = await st.mock.waitForFinish(first);
    assert.equal(req.clientAborted, true);
    assert.equal((await st.cancel(id)).json.cancelled, false, 'nothing left to cancel');

    // The session goes on: the next prompt makes a request the API accepts.
    st.mock.setScript([{ text: 'Here now.' }]);
    const again = stream.events.length;
    assert.equal((await st.prompt(id, 'Still there?')).status, 200);
    const next = await turnEvents(stream, undefined, again);
    assert.equal(next.at(-2).result, 'Here now.');
    assert.equal(st.mock.requests[first + 1].rejected, null);
    await stream.close();
  });

  test('cancel during a tool call ends the turn at once; the call gets an error result', async () => {
    const { id, stream, first } = await st.startTurn([{ toolUses: [{ name: 'nap', input: { ms: 30000 } }] }]);
    await stream.waitForType('tool', 10000);
    const from = stream.events.length;
    const t0 = Date.now();
    assert.deepEqual((await st.cancel(id)).json, { cancelled: true });
    await stream.waitForType('turn_end', CANCEL_WITHIN_MS, from);
    assert.ok(Date.now() - t0 < CANCEL_WITHIN_MS);
    const events = await turnEvents(stream);
    assert.deepEqual(typesOf(events), ['user', 'usage', 'tool', 'tool_result', 'cancelled', 'result', 'turn_end']);
    assert.equal(events[3].is_error, true);
    assert.equal(events[5].is_error, true);
    assert.equal(st.mock.requests.length, first + 1, 'no model call after the cancel');

    // The cancelled call still has its tool_result, so the API takes the next request.
    st.mock.setScript([{ text: 'Nap interrupted.' }]);
    const again = stream.events.length;
    assert.equal((await st.prompt(id, 'What happened?')).status, 200);
    const next = await turnEvents(stream, undefined, again);
    assert.equal(next.at(-2).result, 'Nap interrupted.');
    const req = st.mock.requests[first + 1];
    assert.equal(req.rejected, null);
    const user = req.body.messages.at(-1);
    assert.deepEqual(user.content.map((b) => b.type), ['tool_result', 'text']);
    assert.equal(user.content[0].tool_use_id, events[2].call_id);
    assert.equal(user.content[0].is_error, true);
    await stream.close();
  });
});

describe('the turn time limit', () => {
  const TURN_TIMEOUT_S = 1;
  const st = forSuite(() => startStack(join(dir, 'timeout'), { env: { BREAKGLASS_TURN_TIMEOUT_SECONDS: String(TURN_TIMEOUT_S) } }));

  test('a turn past BREAKGLASS_TURN_TIMEOUT_SECONDS ends with an error, its tool call stopped', async () => {
    const t0 = Date.now();
    const { stream, first, events } = await st.runTurn([{ toolUses: [{ name: 'nap', input: { ms: 30000 } }] }], { waitMs: 10000 });
    const took = Date.now() - t0;
    assert.ok(took >= TURN_TIMEOUT_S * 1000 * 0.9 && took < TURN_TIMEOUT_S * 1000 + 3000, `took ${took} ms`);
    assert.deepEqual(typesOf(events), ['user', 'usage', 'tool', 'tool_result', 'error', 'result', 'turn_end']);
    assert.equal(events[3].is_error, true);
    assert.equal(events[4].error_type, 'turn_timeout');
    assert.match(events[4].error, new RegExp(`time limit of ${TURN_TIMEOUT_S} s`));
    assert.equal(events[5].is_error, true);
    assert.equal(st.mock.requests.length, first + 1);
    await stream.close();
  });
});
