// The session event stream through the real daemon: replay on attach and
// caught-up, Last-Event-ID resumption, keepalive comments, and a client
// that never reads while a tool floods output.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AUTH, checkRssGrowth, rssKib, sampleRss, startStack, turnEvents } from '../../lib/agent-stack.mjs';
import { openStalledStream } from '../../lib/sse-client.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('daemon-stream-test');

const KEEPALIVE_S = 1;
// core/daemon/daemon.c: HTTP_MAX_STREAM_BUFFER_BYTES.
const STREAM_BUFFER_BYTES = 4 * 1024 * 1024;
// core/agent/session_turn.c: SESSION_MAX_TOOL_OUTPUT_BYTES; core/agent/session.h:
// SESSION_MAX_EVENT_BYTES.
const TOOL_OUTPUT_MAX_BYTES = 8 * 1024 * 1024;
const SESSION_MAX_EVENT_BYTES = 64 * 1024 * 1024;
const FLOOD_CHUNK_BYTES = 64 * 1024;
// Three calls, each with as much output as one call may show: 24 MiB in
// all, well past the stream buffer.
const FLOOD_CALLS = 3;
const FLOOD_CHUNKS = TOOL_OUTPUT_MAX_BYTES / FLOOD_CHUNK_BYTES;
const FLOOD_CALL_BYTES = FLOOD_CHUNKS * FLOOD_CHUNK_BYTES;
const FLOOD_WAIT_MS = 60000;
// core/agent/session_stream.c: SSE_MAX_STALLED_TICKS keepalive intervals, and a
// margin for a loaded machine.
const STALL_LET_GO_MS = 3 * KEEPALIVE_S * 1000 + 10000;

const caughtUp = (e) => e.event === 'caught-up';
const ids = (events) => events.filter((e) => e.id !== null).map((e) => Number(e.id));

describe('session event stream', () => {
  const st = forSuite(() => startStack(join(dir, 'stack'), { env: { BREAKGLASS_SSE_KEEPALIVE_SECONDS: String(KEEPALIVE_S) } }));

  test('attaching after events exist replays them all (the deltas as their blocks), then caught-up, then live events', async () => {
    const { id, stream } = await st.runTurn([{ toolUses: [{ name: 'echo', input: { text: 'a' } }] }, { text: 'Done.' }]);
    const live = stream.events.filter((e) => !caughtUp(e));

    const late = await st.attach(id);
    const marker = await late.waitFor(caughtUp);
    // How often a quiet stream gets a keepalive: the page's liveness limit.
    assert.deepEqual(marker.data, { keepalive_ms: KEEPALIVE_S * 1000 });
    const replayed = late.events.slice(0, late.events.indexOf(marker));
    // The text blocks stand in for the deltas that streamed them.
    assert.deepEqual(replayed, live.filter((e) => e.data?.kind !== 'text_delta'));
    assert.ok(live.some((e) => e.data?.kind === 'text_delta'), 'there were deltas to replace');

    st.mock.setScript([{ text: 'Second.' }]);
    const [lateMark, mark] = [late.events.length, stream.events.length];
    assert.equal((await st.prompt(id, 'Again')).status, 200);
    await turnEvents(late, undefined, lateMark);
    await turnEvents(stream, undefined, mark);
    assert.deepEqual(late.events.slice(lateMark), stream.events.slice(mark),
      'the late client then sees what the first one sees');
    await late.close();
    await stream.close();
  });

  test('Last-Event-ID: N resumes with exactly the events after N', async () => {
    const { id, stream } = await st.startTurn([
      { text: 'Slowly, so that a client can come back in the middle.', deltaChars: 3, eventDelayMs: 40 },
    ]);
    await stream.waitFor((e) => e.data?.kind === 'text_delta');
    const n = Number(stream.lastEventId);
    const resumed = await st.attach(id, { lastEventId: n });
    await turnEvents(stream);
    await resumed.waitForType('turn_end', 10000);
    const marker = resumed.events.findIndex(caughtUp);
    assert.ok(marker >= 0);
    const all = stream.events.filter((e) => !caughtUp(e));
    assert.deepEqual(resumed.events.filter((e) => !caughtUp(e)), all.filter((e) => Number(e.id) > n));
    assert.ok(ids(resumed.events.slice(0, marker)).every((i) => i > n));

    const last = Number(all.at(-1).id);
    const fromEnd = await st.attach(id, { lastEventId: last });
    await fromEnd.waitFor(caughtUp);
    assert.deepEqual(fromEnd.events.map((e) => e.event), ['caught-up'], 'nothing to replay after the last id');
    await Promise.all([resumed.close(), fromEnd.close(), stream.close()]);
  });

  test('a turn goes on without its client, which comes back for the rest', async () => {
    const answer = 'Written while nobody is watching.';
    const { id, stream } = await st.startTurn([{ text: answer, deltaChars: 3, eventDelayMs: 40 }]);
    await stream.waitForType('text_delta', 10000);
    await stream.close();
    const seen = Number(stream.lastEventId);
    const back = await st.attach(id, { lastEventId: seen });
    await back.waitForType('turn_end', 10000);
    assert.ok(ids(back.events).every((i) => i > seen));
    const texts = stream.events.concat(back.events).filter((e) => e.data?.kind === 'text').map((e) => e.data.text);
    assert.equal(texts.join(''), answer);
    assert.equal(back.events.find((e) => e.data?.kind === 'result').data.result, answer);
    await back.close();
  });

  test('an idle stream gets keepalive comments', async () => {
    const id = await st.newSession();
    const s = await st.attach(id);
    await s.waitFor(caughtUp);
    const t0 = Date.now();
    while (s.comments < 2 && Date.now() - t0 < 6000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(s.comments >= 2, `${s.comments} keepalive comments in ${Date.now() - t0} ms`);
    assert.equal(s.events.length, 2, 'the session event and caught-up only');
    await s.close();
  });

  test('a client that never reads does not hold up another one during a flood of tool output', async (t) => {
    const pid = st.daemon.proc.pid;
    const rssBefore = rssKib(pid);
    const flood = { name: 'flood', input: { chunks: FLOOD_CHUNKS, chunk_bytes: FLOOD_CHUNK_BYTES, pause_ms: 1 } };
    st.mock.setScript([{ toolUses: Array(FLOOD_CALLS).fill(flood) }, { text: 'Flood over.' }]);
    const id = await st.newSession();
    const stalled = openStalledStream(st.streamUrl(id), AUTH);
    const reader = await st.attach(id);
    await reader.waitFor(caughtUp);
    const logFrom = st.daemon.log.length;
    const rss = sampleRss(pid);
    try {
      assert.equal((await st.prompt(id, 'Flood the stream')).status, 200);
      const events = await turnEvents(reader, FLOOD_WAIT_MS);
      const outputs = events.filter((e) => e.kind === 'tool_output');
      assert.equal(outputs.length, FLOOD_CALLS * FLOOD_CHUNKS);
      assert.ok(outputs.every((e) => e.text.length === FLOOD_CHUNK_BYTES && !e.cut));
      const results = events.filter((e) => e.kind === 'tool_result');
      assert.deepEqual(results.map((e) => e.content), Array(FLOOD_CALLS).fill(`flooded ${FLOOD_CALL_BYTES} bytes`));
      assert.equal(events.at(-2).result, 'Flood over.');
      assert.deepEqual(ids(reader.events), reader.events.filter((e) => e.id !== null).map((_, i) => i + 1),
        'no event missing, none twice');
    } finally {
      rss.stop();
    }
    // It holds a paced share, not the flood, and is let go once it has
    // taken nothing for a few keepalive intervals.
    await st.daemon.waitForLog(/let go of an SSE client that stopped taking its events/, STALL_LET_GO_MS, logFrom);
    const drained = await stalled.drainUntilClosed(10000);
    assert.ok(drained.bytesRead < FLOOD_CALLS * FLOOD_CALL_BYTES, `the stalled client got ${drained.bytesRead} bytes`);
    assert.equal((await st.health()).status, 200);
    // The events kept (the flood once) plus one paced client's share.
    checkRssGrowth(t, pid, rss.peak() - rssBefore, FLOOD_CALLS * FLOOD_CALL_BYTES + STREAM_BUFFER_BYTES);
    await reader.close();
  });

  test('one tool call shows at most SESSION_MAX_TOOL_OUTPUT_BYTES of output, then a note', async (t) => {
    const pid = st.daemon.proc.pid;
    const rssBefore = rssKib(pid);
    const chunks = (TOOL_OUTPUT_MAX_BYTES / FLOOD_CHUNK_BYTES) * 6;
    const input = { chunks, chunk_bytes: FLOOD_CHUNK_BYTES, pause_ms: 1 };
    const { stream } = await st.startTurn([{ toolUses: [{ name: 'flood', input }] }, { text: 'Cut.' }]);
    const rss = sampleRss(pid);
    let events;
    try {
      events = await turnEvents(stream, FLOOD_WAIT_MS);
    } finally {
      rss.stop();
    }
    const outputs = events.filter((e) => e.kind === 'tool_output');
    const shown = outputs.filter((e) => !e.cut);
    assert.equal(shown.reduce((n, e) => n + e.text.length, 0), TOOL_OUTPUT_MAX_BYTES);
    assert.equal(outputs.length, shown.length + 1);
    const note = outputs.at(-1);
    assert.equal(note.cut, true);
    assert.match(note.text, /the rest of the output is not shown: it passed 8 MiB/);
    assert.equal(events.find((e) => e.kind === 'tool_result').content, `flooded ${chunks * FLOOD_CHUNK_BYTES} bytes`);
    assert.equal(events.at(-2).result, 'Cut.');
    checkRssGrowth(t, pid, rss.peak() - rssBefore, TOOL_OUTPUT_MAX_BYTES);
    await stream.close();
  });

  // 64 MiB of events can outrun a reader on a loaded machine: the daemon
  // then drops it by design, and it comes back with Last-Event-ID, as the
  // page does. Collects the turn across such drops.
  async function turnEventsResuming(id, first, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    const seen = [];
    let stream = first;
    for (;;) {
      const ended = stream.waitForType('turn_end', Math.max(1, deadline - Date.now())).then(() => true, () => false);
      const done = await ended;
      for (const e of stream.events) if (e.id && (!seen.length || +e.id > +seen.at(-1).id)) seen.push(e);
      if (done) break;
      if (Date.now() > deadline) throw new Error('turn did not end in time');
      await stream.close();
      stream = await st.attach(id, { lastEventId: seen.at(-1).id });
    }
    await stream.close();
    const start = seen.findIndex((e) => e.data.kind === 'user');
    const end = seen.findIndex((e, i) => i > start && e.data.kind === 'turn_end');
    return seen.slice(start, end + 1).map((e) => e.data);
  }

  test('a session stops showing tool output at SESSION_MAX_EVENT_BYTES and then refuses new turns', async (t) => {
    const pid = st.daemon.proc.pid;
    const rssBefore = rssKib(pid);
    const chunk = 256 * 1024;
    const flood = { name: 'flood', input: { chunks: TOOL_OUTPUT_MAX_BYTES / chunk, chunk_bytes: chunk, pause_ms: 1 } };
    const calls = SESSION_MAX_EVENT_BYTES / TOOL_OUTPUT_MAX_BYTES + 2;
    const { id, stream } = await st.startTurn([{ toolUses: Array(calls).fill(flood) }, { text: 'Full.' }]);
    const rss = sampleRss(pid);
    let events;
    try {
      events = await turnEventsResuming(id, stream, FLOOD_WAIT_MS);
    } finally {
      rss.stop();
    }
    const outputs = events.filter((e) => e.kind === 'tool_output');
    const firstCut = outputs.findIndex((e) => e.cut);
    assert.ok(firstCut > 0);
    assert.match(outputs[firstCut].text, /the rest of the output is not shown: this session holds 64 MiB/);
    const shown = outputs.slice(0, firstCut).reduce((n, e) => n + e.text.length, 0);
    assert.ok(shown > SESSION_MAX_EVENT_BYTES - TOOL_OUTPUT_MAX_BYTES && shown <= SESSION_MAX_EVENT_BYTES, `${shown} bytes shown`);
    const later = outputs.slice(firstCut + 1);
    assert.ok(later.length > 0 && later.every((e) => e.cut), 'later calls show only their note');
    assert.equal(events.filter((e) => e.kind === 'tool_result').length, calls, 'every call still ran');
    assert.equal(events.at(-2).result, 'Full.');
    const next = await st.prompt(id, 'One more?');
    assert.equal(next.status, 503);
    assert.match(next.json.error, /session is full/);
    checkRssGrowth(t, pid, rss.peak() - rssBefore, SESSION_MAX_EVENT_BYTES + TOOL_OUTPUT_MAX_BYTES);

    // Replay is paced to the reader: the whole 64 MiB (four times the
    // stream buffer) comes on one connection, every event once, in order.
    const logFrom = st.daemon.log.length;
    const whole = await st.attach(id);
    await whole.waitFor(caughtUp, FLOOD_WAIT_MS);
    const got = ids(whole.events);
    assert.ok(got.every((id, i) => i === 0 || id > got[i - 1]), 'every event once, in order');
    const outputCount = events.filter((e) => e.kind === 'tool_output').length;
    assert.ok(got.length > outputCount, `${got.length} events replayed, ${outputCount} of them tool output`);
    assert.ok(!st.daemon.log.slice(logFrom).some((l) => /dropping stream|let go of an SSE client/.test(l)),
      'the replaying client was not dropped');
    await whole.close();

    // One that stops taking its replay is let go after a few keepalive
    // intervals, not kept forever; it would come back with Last-Event-ID.
    const stalledFrom = st.daemon.log.length;
    const stalled = openStalledStream(st.streamUrl(id), AUTH);
    await st.daemon.waitForLog(/let go of an SSE client that stopped taking its events/, 20 * KEEPALIVE_S * 1000, stalledFrom);
    const drained = await stalled.drainUntilClosed(FLOOD_WAIT_MS);
    assert.ok(drained.bytesRead < SESSION_MAX_EVENT_BYTES, `the stalled client got ${drained.bytesRead} bytes`);
  });
});
