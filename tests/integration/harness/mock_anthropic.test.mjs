// Tests of the mock Messages API itself (tests/lib/mock-anthropic.mjs and
// its CLI): every response form puts the documented bytes on the wire, and
// the request checks answer like the reference says the real API does.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeCA } from '../../lib/ca.mjs';
import { startMock, stampsIn } from '../../lib/mock-anthropic.mjs';
import { LAB_NO_PROBE_TEXT, LAB_SUMMARY_PREFIX } from '../../lib/mock-lab.mjs';
import { thinkingSignature } from '../../lib/mock-stream.mjs';
import { SseParser } from '../../lib/sse-client.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const LIB = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib');
const dir = scratchDir('mock-anthropic-test');
const pki = makeCA(dir);
const ca = readFileSync(pki.caCert);
const HEADERS = { 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
const body = (extra = {}) => ({
  model: 'claude-test', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'The devvm is down.' }], ...extra,
});

// POSTs and collects the whole answer; onEvent(e, req, events) sees each SSE event as it arrives.
function post(url, payload, { headers = HEADERS, path = '/v1/messages', onEvent } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}${path}`, { method: 'POST', headers, ca, agent: false }, (res) => {
      const out = { status: res.statusCode, headers: res.headers, text: '', events: [], times: [], chunks: 0, comments: 0 };
      const parser = new SseParser((e) => {
        out.events.push(e);
        out.times.push(Date.now());
        onEvent?.(e, req, out.events);
      }, () => { out.comments++; });
      res.setEncoding('utf8');
      res.on('data', (s) => { out.chunks++; out.text += s; parser.feed(s); });
      res.on('error', () => {});
      res.on('close', () => {
        out.complete = res.complete;
        try { out.json = JSON.parse(out.text); } catch { out.json = null; }
        resolve(out);
      });
    });
    req.on('error', reject);
    req.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
  });
}

const names = (r) => r.events.map((e) => e.event);
const deltas = (r, type) => r.events.filter((e) => e.data.delta?.type === type).map((e) => e.data.delta);

// The assistant content a client would rebuild from the events.
function assemble(events) {
  const content = [];
  const json = [];
  for (const { data } of events) {
    if (data.type === 'content_block_start') { content[data.index] = { ...data.content_block }; json[data.index] = ''; }
    if (data.type === 'content_block_delta') {
      const b = content[data.index];
      const d = data.delta;
      if (d.type === 'text_delta') b.text += d.text;
      if (d.type === 'thinking_delta') b.thinking += d.thinking;
      if (d.type === 'signature_delta') b.signature = d.signature;
      if (d.type === 'input_json_delta') json[data.index] += d.partial_json;
    }
    if (data.type === 'content_block_stop' && content[data.index].type === 'tool_use') {
      content[data.index].input = JSON.parse(json[data.index] || '{}');
    }
  }
  return { content, json };
}

describe('mock Messages API', () => {
  const mock = forSuite(() => startMock({ cert: pki.serverCert, key: pki.serverKey }));

  test('a text form streams the documented event sequence with usage and request-id', async () => {
    mock.setScript([{ text: 'The disk looks healthy, load is fine.' }]);
    const payload = body();
    const r = await post(mock.url, payload);
    const i = mock.requests.length - 1;
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/event-stream/);
    assert.equal(r.headers['request-id'], `req_mock_${i}`);
    assert.deepEqual(mock.requests[i].body, payload);
    assert.deepEqual(names(r).filter((n) => n !== 'ping'), [
      'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta',
      'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    assert.ok(names(r).includes('ping'));
    for (const e of r.events) assert.equal(e.event, e.data.type);
    const text = deltas(r, 'text_delta');
    assert.equal(text.map((d) => d.text).join(''), 'The disk looks healthy, load is fine.');
    assert.ok(text.every((d) => Array.from(d.text).length <= 8));
    const usage = r.events[0].data.message.usage;
    assert.equal(usage.input_tokens, Math.ceil(Buffer.byteLength(JSON.stringify(payload)) / 4));
    assert.equal(usage.cache_read_input_tokens, 0);
    assert.equal(usage.cache_creation_input_tokens, 0);
    const end = r.events.find((e) => e.event === 'message_delta').data;
    assert.deepEqual(end.delta, { stop_reason: 'end_turn', stop_sequence: null });
    assert.ok(end.usage.output_tokens > 1);
    assert.equal(r.events[0].data.message.model, 'claude-test');
  });

  test('deltaChars sets the text piece size', async () => {
    mock.setScript([{ text: 'abcdefgh', deltaChars: 3 }]);
    const r = await post(mock.url, body());
    assert.deepEqual(deltas(r, 'text_delta').map((d) => d.text), ['abc', 'def', 'gh']);
  });

  test('thinking comes first, with a signature_delta before its stop', async () => {
    mock.setScript([{ thinking: 'The user says the devvm is down.', text: 'Probing.' }]);
    const r = await post(mock.url, body());
    const starts = r.events.filter((e) => e.event === 'content_block_start').map((e) => e.data.content_block.type);
    assert.deepEqual(starts, ['thinking', 'text']);
    const block0 = r.events.filter((e) => e.data.index === 0).map((e) => e.data.delta?.type ?? e.event);
    assert.equal(block0.at(-2), 'signature_delta');
    assert.equal(block0.at(-1), 'content_block_stop');
    const { content } = assemble(r.events);
    assert.equal(content[0].thinking, 'The user says the devvm is down.');
    assert.equal(content[0].signature, thinkingSignature(content[0].thinking));
  });

  test('toolUses stream input as partial_json fragments starting with ""', async () => {
    const input = { cmd: 'uptime && df -h', timeout_s: 10 };
    mock.setScript([{ text: 'Checking load first.', toolUses: [{ name: 'ssh_exec', input }, { name: 'pve', input: { verb: 'status' }, id: 'toolu_given' }] }]);
    const r = await post(mock.url, body());
    const i = mock.requests.length - 1;
    const { content, json } = assemble(r.events);
    assert.deepEqual(content.map((b) => b.type), ['text', 'tool_use', 'tool_use']);
    assert.equal(content[1].id, `toolu_mock_${i}_0`);
    assert.deepEqual(content[1].input, input);
    assert.equal(content[2].id, 'toolu_given');
    assert.equal(json[1], JSON.stringify(input));
    const fragments = r.events.filter((e) => e.data.index === 1 && e.data.delta).map((e) => e.data.delta.partial_json);
    assert.equal(fragments[0], '');
    assert.ok(fragments.length > 3 && fragments.every((f) => f.length <= 7));
    assert.equal(r.events.find((e) => e.event === 'message_delta').data.delta.stop_reason, 'tool_use');
  });

  test('max_tokens with truncateToolInput ends inside a string and skips that block stop', async () => {
    mock.setScript([{ stopReason: 'max_tokens', truncateToolInput: true, toolUses: [{ name: 'ssh_exec', input: { cmd: 'journalctl -b -1 --no-pager' } }] }]);
    const r = await post(mock.url, body());
    const { json } = assemble(r.events);
    assert.throws(() => JSON.parse(json[0]));
    assert.match(json[0], /^\{"cmd":"journalctl/);
    assert.ok(!r.events.some((e) => e.event === 'content_block_stop'));
    assert.deepEqual(names(r).slice(-2), ['message_delta', 'message_stop']);
    assert.equal(r.events.at(-2).data.delta.stop_reason, 'max_tokens');
  });

  test('refusal carries stop_details; other stop reasons pass through', async () => {
    mock.setScript([
      { text: 'I will', stopReason: 'refusal' },
      { text: 'done', stopReason: 'stop_sequence', stopSequence: '###' },
      {},
    ]);
    const refusal = (await post(mock.url, body())).events.at(-2).data.delta;
    assert.deepEqual(refusal, { stop_reason: 'refusal', stop_sequence: null, stop_details: { type: 'refusal', category: null, explanation: null } });
    const stop = (await post(mock.url, body())).events.at(-2).data.delta;
    assert.deepEqual(stop, { stop_reason: 'stop_sequence', stop_sequence: '###' });
    const empty = await post(mock.url, body());
    assert.deepEqual(names(empty), ['message_start', 'message_delta', 'message_stop']);
  });

  test('status forms answer with a JSON error body and the given headers', async () => {
    mock.setScript([
      { status: 529, headers: { 'retry-after': '2', 'retry-after-ms': '1500' } },
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 400, errorType: 'invalid_request_error', message: 'prompt is too long' },
      { status: 413, body: '<html>413 Request Entity Too Large</html>' },
    ]);
    const overloaded = await post(mock.url, body());
    const i = mock.requests.length - 1;
    assert.equal(overloaded.status, 529);
    assert.equal(overloaded.headers['retry-after'], '2');
    assert.equal(overloaded.headers['retry-after-ms'], '1500');
    assert.deepEqual(overloaded.json, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: `req_mock_${i}` });
    assert.equal(overloaded.headers['request-id'], `req_mock_${i}`);
    const limited = await post(mock.url, body());
    assert.equal(limited.status, 429);
    assert.equal(limited.json.error.type, 'rate_limit_error');
    assert.equal(limited.headers['retry-after'], '7');
    const bad = await post(mock.url, body());
    assert.deepEqual(bad.json.error, { type: 'invalid_request_error', message: 'prompt is too long' });
    const html = await post(mock.url, body());
    assert.equal(html.status, 413);
    assert.match(html.headers['content-type'], /text\/html/);
    assert.equal(html.json, null);
  });

  test('streamError sends N events then an error event and closes', async () => {
    mock.setScript([{ text: 'Let me look at the journal first.', streamError: { type: 'overloaded_error', message: 'Overloaded' }, afterEvents: 3 },
      { streamError: { type: 'api_error', message: 'Internal server error' } }]);
    const r = await post(mock.url, body());
    assert.equal(r.status, 200);
    assert.deepEqual(names(r), ['message_start', 'content_block_start', 'ping', 'error']);
    assert.deepEqual(r.events[3].data, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    assert.equal(r.headers.connection, 'close');
    assert.ok(r.complete);
    const defaults = await post(mock.url, body());
    assert.deepEqual(names(defaults), ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'error']);
  });

  test('dropAfterEvents cuts the connection without message_stop', async () => {
    mock.setScript([{ text: 'partial answer here', dropAfterEvents: 4 }]);
    const r = await post(mock.url, body());
    const rec = await mock.waitForFinish(mock.requests.length - 1);
    assert.equal(r.events.length, 4);
    assert.ok(!r.complete, 'the response must end abruptly');
    assert.ok(!names(r).includes('message_stop'));
    assert.equal(rec.dropped, true);
    assert.equal(rec.clientAborted, false);
  });

  test('stallAfterEvents keeps the connection open and silent until the client leaves', async () => {
    const SILENCE_MS = 300;
    mock.setScript([{ text: 'stalling soon', stallAfterEvents: 2 }]);
    let seenAfter = -1;
    const r = await post(mock.url, body(), {
      onEvent: (e, req, events) => {
        if (events.length !== 2) return;
        setTimeout(() => { seenAfter = events.length; req.destroy(); }, SILENCE_MS);
      },
    });
    const rec = await mock.waitForFinish(mock.requests.length - 1);
    assert.equal(seenAfter, 2);
    assert.equal(r.events.length, 2);
    assert.ok(!r.complete);
    assert.equal(rec.clientAborted, true);
    assert.equal(rec.eventsSent, 2);
  });

  test('close() does not wait for a stalled response', async () => {
    const own = await startMock({ cert: pki.serverCert, key: pki.serverKey, script: [{ stallAfterEvents: 1 }] });
    const pending = post(own.url, body(), { onEvent: () => own.close() });
    const r = await pending;
    assert.equal(r.events.length, 1);
    assert.ok(!r.complete);
  });

  test('a client that leaves mid-stream is recorded as clientAborted', async () => {
    mock.setScript([{ text: 'a fairly long answer that trickles out slowly', eventDelayMs: 50 }, { text: 'short' }]);
    await post(mock.url, body(), { onEvent: (e, req, events) => { if (events.length === 3) req.destroy(); } });
    const aborted = await mock.waitForFinish(mock.requests.length - 1);
    assert.equal(aborted.clientAborted, true);
    assert.ok(aborted.eventsSent < 10);
    await post(mock.url, body());
    const whole = await mock.waitForFinish(mock.requests.length - 1);
    assert.equal(whole.clientAborted, false);
    assert.ok(whole.finishedAt >= whole.receivedAt);
  });

  test('delayMs holds the answer; eventDelayMs spaces the events', async () => {
    const DELAY_MS = 200;
    const EVENT_DELAY_MS = 40;
    mock.setScript([{ status: 529, delayMs: DELAY_MS }, { text: 'one two three four', deltaChars: 4, eventDelayMs: EVENT_DELAY_MS }]);
    const t0 = Date.now();
    await post(mock.url, body());
    assert.ok(Date.now() - t0 >= DELAY_MS * 0.9);
    const r = await post(mock.url, body());
    const firstText = r.times[names(r).indexOf('content_block_delta')];
    assert.ok(r.times.at(-1) - firstText >= 6 * EVENT_DELAY_MS * 0.9, 'text arrives before the end of the turn');
  });

  test('stampDeltas sends each text delta as the time it left; arrivedAt and endedAt time the exchange', async () => {
    const EVENT_DELAY_MS = 5;
    mock.setScript([{ text: 'x'.repeat(40), deltaChars: 8, eventDelayMs: EVENT_DELAY_MS, stampDeltas: true }]);
    const t0 = performance.now();
    const seen = [];
    const r = await post(mock.url, body(), {
      onEvent: (e) => { if (e.data.delta?.type === 'text_delta') seen.push([stampsIn(e.data.delta.text), performance.now()]); },
    });
    const rec = mock.requests.at(-1);
    assert.equal(r.status, 200);
    assert.equal(seen.length, 5);
    for (const [[stamp, ...more], arrived] of seen) {
      assert.deepEqual(more, [], 'one stamp a delta');
      assert.ok(stamp >= t0 && stamp <= arrived, `${t0} <= ${stamp} <= ${arrived}`);
    }
    const stamps = seen.map(([[stamp]]) => stamp);
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] - stamps[i - 1] >= EVENT_DELAY_MS * 0.9);
    assert.ok(t0 <= rec.arrivedAt && rec.arrivedAt <= stamps[0]);
    await mock.waitForFinish(rec.index);
    assert.ok(rec.endedAt >= stamps.at(-1));
  });

  test('chunkBytes, crlf and comments change the bytes, not the events', async () => {
    const form = { text: 'Ünïcode bytes split anywhere: ✓ 🚀', toolUses: [{ name: 't', input: { a: 'b' }, id: 'toolu_same' }] };
    mock.setScript([form, { ...form, chunkBytes: 1 }, { ...form, crlf: true }, { ...form, comments: true }]);
    const plain = await post(mock.url, body());
    const chunked = await post(mock.url, body());
    const crlf = await post(mock.url, body());
    const comments = await post(mock.url, body());
    const strip = (r) => r.events.map((e) => ({ ...e, data: { ...e.data, message: undefined } }));
    for (const r of [chunked, crlf, comments]) assert.deepEqual(strip(r), strip(plain));
    assert.ok(chunked.chunks > plain.text.length / 4, `1-byte writes arrive in many reads (${chunked.chunks})`);
    assert.ok(crlf.text.includes('\r\n') && !/[^\r]\n/.test(crlf.text));
    assert.ok(comments.text.startsWith(': keepalive\n\n'));
    assert.equal(comments.comments, plain.events.length + 1);
  });

  test('raw sends exactly the given bytes', async () => {
    const raw = 'event: message_start\r\ndata: {"type":"message_start"}\r\r: hi\n\nevent: mystery\ndata: x\n\n';
    mock.setScript([{ raw }]);
    const r = await post(mock.url, body());
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/event-stream/);
    assert.equal(r.text, raw);
  });

  test('the prompt cache imitation reads a prefix written by an earlier request', async () => {
    const system = [{ type: 'text', text: 'You are the breakglass agent. '.repeat(20), cache_control: { type: 'ephemeral' } }];
    const turn1 = [{ role: 'user', content: [{ type: 'text', text: 'The devvm is down.', cache_control: { type: 'ephemeral' } }] }];
    const turn2 = [{ role: 'user', content: [{ type: 'text', text: 'The devvm is down.' }] },
      { role: 'assistant', content: 'Checking.' },
      { role: 'user', content: [{ type: 'text', text: 'Any news?', cache_control: { type: 'ephemeral' } }] }];
    mock.setScript([{ text: 'a' }, { text: 'b' }, { text: 'c' }, { text: 'd' }]);
    const usage = async (b) => (await post(mock.url, b)).events[0].data.message.usage;
    const first = await usage(body({ system, messages: turn1 }));
    const second = await usage(body({ system, messages: turn2 }));
    const otherSystem = await usage(body({ system: [{ ...system[0], text: 'changed' }], messages: turn1 }));
    const unmarked = await usage(body());
    assert.ok(first.cache_creation_input_tokens > 0);
    assert.equal(first.cache_read_input_tokens, 0);
    assert.equal(first.cache_creation.ephemeral_5m_input_tokens, first.cache_creation_input_tokens);
    assert.equal(second.cache_read_input_tokens, first.cache_creation_input_tokens);
    assert.ok(second.cache_creation_input_tokens > 0);
    assert.equal(otherSystem.cache_read_input_tokens, 0);
    assert.equal(unmarked.cache_read_input_tokens + unmarked.cache_creation_input_tokens, 0);
  });

  test('the script runs out into the responder, then into a 500', async () => {
    const seen = [];
    mock.setScript([{ text: 'scripted' }]);
    mock.setResponder((b, i) => { seen.push(i); return { text: `responder ${b.messages.length}` }; });
    const a = await post(mock.url, body());
    const b = await post(mock.url, body());
    assert.equal(deltas(a, 'text_delta').map((d) => d.text).join(''), 'scripted');
    assert.equal(deltas(b, 'text_delta').map((d) => d.text).join(''), 'responder 1');
    assert.deepEqual(seen, [mock.requests.length - 1]);
    mock.setResponder(null);
    const c = await post(mock.url, body());
    assert.equal(c.status, 500);
    assert.deepEqual(c.json.error, { type: 'api_error', message: 'mock script exhausted' });
  });

  test('a bad form is a 500 that says why', async () => {
    mock.setScript([{ txet: 'oops' }, { truncateToolInput: true, text: 'no tools' }]);
    const misspelt = await post(mock.url, body());
    assert.equal(misspelt.status, 500);
    assert.match(misspelt.json.error.message, /bad response form.*txet/);
    const impossible = await post(mock.url, body());
    assert.equal(impossible.status, 500);
    assert.match(impossible.json.error.message, /truncateToolInput needs toolUses/);
  });

  test('waitForRequests resolves on arrival and rejects on timeout', async () => {
    mock.setScript([{ text: 'x' }]);
    const n = mock.requests.length + 1;
    const waiting = mock.waitForRequests(n, 5000);
    await post(mock.url, body());
    assert.equal((await waiting).length, n);
    await assert.rejects(mock.waitForRequests(n + 1, 50), /1 requests|requests so far/);
  });
});

describe('mock request checks', () => {
  const mock = forSuite(() => startMock({ cert: pki.serverCert, key: pki.serverKey }));

  const assistantCall = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'ssh_exec', input: { cmd: 'uptime' } }] };
  const cases = [
    ['no anthropic-version', { headers: { ...HEADERS, 'anthropic-version': undefined } }, 400, 'invalid_request_error', /anthropic-version/],
    ['unknown anthropic-version', { headers: { ...HEADERS, 'anthropic-version': '2020-01-01' } }, 400, 'invalid_request_error', /unknown version/],
    ['both credentials', { headers: { ...HEADERS, authorization: 'Bearer t' } }, 401, 'authentication_error', /exactly one credential/],
    ['no credential', { headers: { ...HEADERS, 'x-api-key': undefined } }, 401, 'authentication_error', /x-api-key header is required/],
    ['malformed Authorization', { headers: { ...HEADERS, 'x-api-key': undefined, authorization: 'Basic abc' } }, 401, 'authentication_error', /Bearer/],
    ['wrong content-type', { headers: { ...HEADERS, 'content-type': 'text/plain' } }, 400, 'invalid_request_error', /content-type/],
    ['invalid JSON', { raw: '{"model":' }, 400, 'invalid_request_error', /invalid JSON/],
    ['missing max_tokens', { body: body({ max_tokens: undefined }) }, 400, 'invalid_request_error', /^max_tokens: Field required$/],
    ['not streaming', { body: body({ stream: false }) }, 400, 'invalid_request_error', /stream/],
    ['temperature', { body: body({ temperature: 1 }) }, 400, 'invalid_request_error', /^temperature: /],
    ['top_k', { body: body({ top_k: 5 }) }, 400, 'invalid_request_error', /^top_k: /],
    ['bad tool name', { body: body({ tools: [{ name: 'ssh exec', input_schema: { type: 'object' } }] }) }, 400, 'invalid_request_error', /tools\.0\.custom\.name/],
    ['prefill', { body: body({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Sure' }] }) }, 400, 'invalid_request_error',
      /^This model does not support assistant message prefill\. The conversation must end with a user message\.$/],
    ['empty text block', { body: body({ messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }) }, 400, 'invalid_request_error', /text content blocks must be non-empty/],
    ['empty text in a tool_result', { body: body({ messages: [{ role: 'user', content: 'go' }, assistantCall,
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '' }] }] }] }) }, 400, 'invalid_request_error', /text content blocks must be non-empty/],
    ['empty content array', { body: body({ messages: [{ role: 'user', content: [] }] }) }, 400, 'invalid_request_error', /^messages\.0: all messages must have non-empty content/],
    ['tool_use without tool_result', { body: body({ messages: [{ role: 'user', content: 'go' }, assistantCall, { role: 'user', content: 'and?' }] }) }, 400, 'invalid_request_error',
      /^messages\.1: tool_use ids were found without tool_result blocks immediately after: toolu_1\. Each tool_use block must have a corresponding tool_result block in the next message\.$/],
    ['unmatched tool_result', { body: body({ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'x' }] }] }) }, 400, 'invalid_request_error',
      /^messages\.0\.content\.0: unexpected tool_use_id found in tool_result blocks: toolu_9\. Each tool_result block must have a corresponding tool_use block in the previous message\.$/],
    ['text before tool_result', { body: body({ messages: [{ role: 'user', content: 'go' }, assistantCall,
      { role: 'user', content: [{ type: 'text', text: 'here:' }, { type: 'tool_result', tool_use_id: 'toolu_1', content: 'up 3 days' }] }] }) }, 400, 'invalid_request_error', /must come before/],
    ['edited thinking', { body: body({ messages: [{ role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'edited', signature: thinkingSignature('original') }, assistantCall.content[0]] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] }] }) }, 400, 'invalid_request_error', /Invalid `signature`/],
    ['five cache breakpoints', { body: body({ system: [1, 2, 3, 4, 5].map((n) => ({ type: 'text', text: `s${n}`, cache_control: { type: 'ephemeral' } })) }) },
      400, 'invalid_request_error', /A maximum of 4 blocks with cache_control may be provided\. Found 5\./],
    ['unknown path', { path: '/v1/complete' }, 404, 'not_found_error', /not found/],
  ];

  for (const [name, req, status, type, message] of cases) {
    test(`rejects: ${name}`, async () => {
      mock.setScript([{ text: 'must not be consumed' }]);
      const headers = Object.fromEntries(Object.entries(req.headers ?? HEADERS).filter(([, v]) => v !== undefined));
      const r = await post(mock.url, req.raw ?? req.body ?? body(), { headers, path: req.path });
      assert.equal(r.status, status, r.text);
      assert.equal(r.json.error.type, type);
      assert.match(r.json.error.message, message);
      assert.equal(r.json.request_id, r.headers['request-id']);
      assert.equal(mock.requests.at(-1).rejected.status, status);
      const next = await post(mock.url, body());
      assert.equal(deltas(next, 'text_delta').map((d) => d.text).join(''), 'must not be consumed');
    });
  }

  test('a full tool loop with thinking echoed verbatim is accepted', async () => {
    mock.setScript([{ text: 'ok' }]);
    const thinking = { type: 'thinking', thinking: 'plan', signature: thinkingSignature('plan') };
    const r = await post(mock.url, body({ messages: [{ role: 'user', content: 'go' },
      { role: 'assistant', content: [thinking, assistantCall.content[0]] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'up 3 days' }, { type: 'text', text: 'more' }] }] }));
    assert.equal(r.status, 200, r.text);
  });

  test('expectKey, expectToken and requireOAuthBeta', async () => {
    const keyed = await startMock({ cert: pki.serverCert, key: pki.serverKey, expectKey: 'right', script: [{ text: 'hi' }] });
    const tokened = await startMock({ cert: pki.serverCert, key: pki.serverKey, expectToken: 'tok', requireOAuthBeta: true, script: [{ text: 'hi' }] });
    try {
      const wrongKey = await post(keyed.url, body(), { headers: { ...HEADERS, 'x-api-key': 'wrong' } });
      assert.equal(wrongKey.status, 401);
      assert.equal(wrongKey.json.error.type, 'authentication_error');
      assert.equal((await post(keyed.url, body(), { headers: { ...HEADERS, 'x-api-key': 'right' } })).status, 200);

      const bearer = { ...HEADERS, 'x-api-key': undefined, authorization: 'Bearer tok' };
      delete bearer['x-api-key'];
      const noBeta = await post(tokened.url, body(), { headers: bearer });
      assert.equal(noBeta.status, 401);
      assert.equal(noBeta.json.error.message, 'OAuth authentication is currently not supported.');
      const keyInstead = await post(tokened.url, body(), { headers: HEADERS });
      assert.equal(keyInstead.status, 401);
      const ok = await post(tokened.url, body(), { headers: { ...bearer, 'anthropic-beta': 'interleaved-thinking-2025-05-14,oauth-2025-04-20' } });
      assert.equal(ok.status, 200);
    } finally {
      await keyed.close();
      await tokened.close();
    }
  });
});

describe('mock count_tokens', () => {
  const mock = forSuite(() => startMock({ cert: pki.serverCert, key: pki.serverKey, expectKey: 'test-key' }));
  const PATH = '/v1/messages/count_tokens';
  const count = (payload = { model: 'claude-test', messages: [{ role: 'user', content: 'ping' }] }, headers = HEADERS) =>
    post(mock.url, payload, { headers, path: PATH });

  test('answers {"input_tokens": N}, recorded apart, taking nothing of the script', async () => {
    mock.setScript([{ text: 'kept for a Messages request' }]);
    const r = await count();
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json), ['input_tokens']);
    assert.ok(Number.isInteger(r.json.input_tokens) && r.json.input_tokens > 0);
    assert.match(r.headers['request-id'], /^req_mock_count_\d+$/);
    assert.equal(mock.requests.length, 0, 'not a Messages request');
    assert.equal(mock.countRequests.at(-1).body.model, 'claude-test');
    const next = await post(mock.url, body());
    assert.equal(deltas(next, 'text_delta').map((d) => d.text).join(''), 'kept for a Messages request');
  });

  const cases = [
    ['a wrong key', undefined, { ...HEADERS, 'x-api-key': 'wrong' }, 401, 'authentication_error', /invalid x-api-key/],
    ['no anthropic-version', undefined, { ...HEADERS, 'anthropic-version': undefined }, 400, 'invalid_request_error', /anthropic-version/],
    ['max_tokens, a generation setting', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, HEADERS, 400,
      'invalid_request_error', /^max_tokens: Extra inputs are not permitted$/],
    ['stream', { model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }, HEADERS, 400, 'invalid_request_error', /^stream: /],
    ['no model', { messages: [{ role: 'user', content: 'x' }] }, HEADERS, 400, 'invalid_request_error', /^model: Field required$/],
    ['no messages', { model: 'm', messages: [] }, HEADERS, 400, 'invalid_request_error', /at least one message/],
    ['an empty text block', { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, HEADERS, 400,
      'invalid_request_error', /non-empty/],
  ];
  for (const [name, payload, headers, status, type, message] of cases) {
    test(`rejects: ${name}`, async () => {
      const r = await count(payload, Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)));
      assert.equal(r.status, status, r.text);
      assert.equal(r.json.error.type, type);
      assert.match(r.json.error.message, message);
      assert.equal(r.json.request_id, r.headers['request-id']);
      assert.equal(mock.countRequests.at(-1).rejected.status, status);
    });
  }

  test('setCountTokens answers with an error, a delay or a dropped connection, until cleared', async () => {
    mock.setCountTokens({ status: 529 });
    const overloaded = await count();
    assert.equal(overloaded.status, 529);
    assert.deepEqual(overloaded.json.error, { type: 'overloaded_error', message: 'Overloaded' });
    mock.setCountTokens({ delayMs: 300 });
    const started = Date.now();
    assert.equal((await count()).status, 200);
    assert.ok(Date.now() - started >= 300);
    mock.setCountTokens({ drop: true });
    await assert.rejects(count(), /socket hang up|ECONNRESET/);
    mock.setCountTokens(null);
    assert.equal((await count()).status, 200);
    assert.throws(() => mock.setCountTokens({ text: 'no' }), /unknown count_tokens form key/);
  });
});

describe('mock CLI', () => {
  async function runCli(args) {
    const proc = spawn(process.execPath, [join(LIB, 'mock-anthropic-cli.mjs'), '--cert', pki.serverCert, '--key', pki.serverKey, ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    const lines = createInterface({ input: proc.stdout });
    const port = await new Promise((resolve, reject) => {
      lines.once('line', (l) => { const m = /^listening (\d+)$/.exec(l); if (m) resolve(Number(m[1])); else reject(new Error(l)); });
      proc.once('exit', () => reject(new Error('mock CLI exited before listening')));
    });
    return { url: `https://127.0.0.1:${port}`, stop: () => { proc.kill('SIGTERM'); return exited; } };
  }

  test('prints "listening PORT" and serves its script over TLS trusted by the generated CA', async () => {
    const scriptFile = join(dir, 'script.json');
    writeFileSync(scriptFile, JSON.stringify([{ text: 'from the script file' }]));
    const cli = await runCli(['--script', scriptFile]);
    try {
      const r = await post(cli.url, body());
      assert.equal(r.status, 200);
      assert.equal(deltas(r, 'text_delta').map((d) => d.text).join(''), 'from the script file');
    } finally {
      assert.deepEqual(await cli.stop(), { code: 0, signal: null });
    }
  });

  test('the lab scenario walks its plan through the offered tools', async () => {
    const cli = await runCli(['--scenario', 'lab']);
    const tools = [
      { name: 'devvm_probe', description: 'probe', input_schema: { type: 'object', properties: {} } },
      { name: 'pve', description: 'power', input_schema: { type: 'object', properties: { verb: { type: 'string', enum: ['status', 'forensics', 'cycle'] }, reason: { type: 'string' } }, required: ['verb', 'reason'] } },
      { name: 'wait_for_devvm', description: 'wait', input_schema: { type: 'object', properties: { timeout_s: { type: 'integer', minimum: 30 } }, required: ['timeout_s'] } },
    ];
    // Plays the client: echoes each assistant turn and answers its tool call.
    async function loop(offered, results) {
      const messages = [{ role: 'user', content: 'The devvm is not answering SSH.' }];
      const calls = [];
      for (;;) {
        const r = await post(cli.url, body({ tools: offered, messages }));
        assert.equal(r.status, 200, r.text);
        const { content } = assemble(r.events);
        const use = content.find((b) => b.type === 'tool_use');
        if (!use) return { calls, text: content.map((b) => b.text).join('') };
        calls.push([use.name, use.input]);
        messages.push({ role: 'assistant', content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: results[calls.length - 1] }] });
      }
    }
    try {
      const full = await loop(tools, ['no banner after 10 s', 'forensics saved', 'cycled', 'devvm is back\nuptime 0:01']);
      assert.deepEqual(full.calls, [
        ['devvm_probe', {}], ['pve', { verb: 'forensics', reason: 'lab' }], ['pve', { verb: 'cycle', reason: 'lab' }],
        ['wait_for_devvm', { timeout_s: 30 }]]);
      assert.equal(full.text, `${LAB_SUMMARY_PREFIX}"devvm is back"`);
      const noPve = await loop([tools[0], tools[2]], ['no banner', 'back']);
      assert.deepEqual(noPve.calls.map(([n]) => n), ['devvm_probe', 'wait_for_devvm']);
      const talkOnly = await loop([tools[1]], []);
      assert.deepEqual(talkOnly, { calls: [], text: LAB_NO_PROBE_TEXT });
    } finally {
      await cli.stop();
    }
  });
});
