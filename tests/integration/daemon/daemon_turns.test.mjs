// The agent loop end to end through the real daemon and the mock Messages
// API over TLS: a text turn, tool turns, the prompt route's answers, text
// streaming while the model still writes, the Lua limits inside a turn, and
// a daemon without a model credential.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API_KEY, checkRssGrowth, rssKib, sampleRss, startStack, textOf, turnEvents, typesOf } from '../../lib/agent-stack.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('daemon-turns-test');

const LUA_MEMORY_MB = 16;
const LUA_INSTRUCTIONS = 1000000;
const LUA_CALL_TIMEOUT_MS = 500;
const LUA_HOST_JSON_MAX_BYTES = 1048576; // core/lua/lua_limits.h

const SYSTEM_PROMPT = 'You are breakglass under test. Model claude-sonnet-4-5; devvm configured: false.';

describe('agent turns', () => {
  const st = forSuite(() => startStack(join(dir, 'main'), {
    env: {
      BREAKGLASS_LUA_MEMORY_MB: String(LUA_MEMORY_MB),
      BREAKGLASS_LUA_INSTRUCTIONS: String(LUA_INSTRUCTIONS),
      BREAKGLASS_LUA_CALL_TIMEOUT_MS: String(LUA_CALL_TIMEOUT_MS),
    },
  }));

  test('a text-only turn: user, text deltas, usage, the whole block, result, turn_end; a well-formed request', async () => {
    const answer = 'The devvm answers on SSH and its load is normal.';
    const { stream, first, events } = await st.runTurn([{ text: answer, deltaChars: 6 }], { prompt: 'How is the devvm?' });
    const types = typesOf(events);
    // The deltas of one read of the stream go out as one event: how many
    // there are depends on how the bytes arrived, never fewer than one.
    const deltas = types.filter((t) => t === 'text_delta').length;
    assert.ok(deltas >= 1, `text deltas, got ${deltas}`);
    assert.deepEqual(types, ['user', ...Array(deltas).fill('text_delta'), 'usage', 'text', 'result', 'turn_end']);
    assert.equal(events.filter((e) => e.kind === 'text_delta').map((e) => e.text).join(''), answer);
    assert.equal(events[0].text, 'How is the devvm?');
    assert.equal(textOf(events), answer);
    const result = events.at(-2);
    assert.equal(result.is_error, false);
    assert.equal(result.result, answer);
    assert.equal(typeof result.duration_ms, 'number');
    const usage = events.find((e) => e.kind === 'usage');
    assert.ok(usage.call.input_tokens + usage.call.cache_creation_input_tokens > 0);
    assert.equal(usage.request_id, `req_mock_${first}`);
    const ids = stream.events.filter((e) => e.id !== null).map((e) => Number(e.id));
    assert.deepEqual(ids, ids.map((_, i) => i + 1), 'event ids run 1, 2, 3, ...');

    assert.equal(st.mock.requests.length, first + 1);
    const req = st.mock.requests[first];
    assert.equal(req.rejected, null);
    assert.equal(req.headers['x-api-key'], API_KEY);
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.headers['anthropic-version'], '2023-06-01');
    const body = req.body;
    for (const p of ['temperature', 'top_p', 'top_k']) assert.equal(p in body, false, p);
    assert.equal(body.stream, true);
    assert.equal(body.model, 'claude-sonnet-4-5');
    assert.deepEqual(body.system, [{ type: 'text', text: SYSTEM_PROMPT, cache_control: { type: 'ephemeral' } }]);
    assert.deepEqual(body.tools.at(-1).cache_control, { type: 'ephemeral' });
    assert.ok(body.tools.some((t) => t.name === 'echo'));
    assert.deepEqual(body.messages, [
      { role: 'user', content: [{ type: 'text', text: 'How is the devvm?', cache_control: { type: 'ephemeral' } }] },
    ]);
    await stream.close();
  });

  test('a tool turn: tool, tool_output, tool_result, then the result goes back to the model', async () => {
    const { id, stream, first, events } = await st.runTurn([
      { text: 'Let me check.', toolUses: [{ name: 'echo', input: { text: 'ping' } }] },
      { text: 'The echo tool said ping.' },
    ]);
    const callId = `toolu_mock_${first}_0`;
    assert.deepEqual(typesOf(events).filter((t) => t !== 'text' && t !== 'text_delta'),
      ['user', 'usage', 'tool', 'tool_output', 'tool_result', 'usage', 'result', 'turn_end']);
    const tool = events.find((e) => e.kind === 'tool');
    assert.equal(tool.call_id, callId);
    assert.equal(tool.name, 'echo');
    assert.deepEqual(tool.input, { text: 'ping' });
    assert.equal(tool.mutating, false);
    const output = events.find((e) => e.kind === 'tool_output');
    assert.equal(output.call_id, callId);
    assert.equal(output.text, 'ran');
    const result = events.find((e) => e.kind === 'tool_result');
    assert.equal(result.call_id, callId);
    assert.equal(result.is_error, false);
    const echoed = JSON.parse(result.content);
    assert.equal(echoed.echo, 'ping');
    assert.equal(echoed.call, callId);
    assert.equal(echoed.session, id);
    assert.equal(echoed.who, 'bearer');
    assert.equal(events.at(-2).result, 'The echo tool said ping.');
    assert.equal(events.at(-2).is_error, false);

    assert.equal(st.mock.requests.length, first + 2);
    const second = st.mock.requests[first + 1];
    assert.equal(second.rejected, null);
    const msgs = second.body.messages;
    assert.equal(msgs.length, 3);
    assert.equal(msgs[1].role, 'assistant');
    assert.deepEqual(msgs[1].content.map((b) => b.type), ['text', 'tool_use']);
    assert.equal(msgs[1].content[1].id, callId);
    assert.deepEqual(msgs[1].content[1].input, { text: 'ping' });
    assert.equal(msgs[2].role, 'user');
    assert.equal(msgs[2].content.length, 1);
    const back = msgs[2].content[0];
    assert.equal(back.type, 'tool_result');
    assert.equal(back.tool_use_id, callId);
    assert.equal(back.content, result.content);
    assert.equal(back.is_error, undefined);
    assert.deepEqual(back.cache_control, { type: 'ephemeral' });
    await stream.close();
  });

  test('two tool_use blocks run in order and their results go back in one user message', async () => {
    // nap first: were the calls run side by side, echo would finish first.
    const { stream, first, events } = await st.runTurn([
      { toolUses: [{ name: 'nap', input: { ms: 200 } }, { name: 'echo', input: { text: 'second' } }] },
      { text: 'Both ran.' },
    ]);
    const [napId, echoId] = [`toolu_mock_${first}_0`, `toolu_mock_${first}_1`];
    const steps = events.filter((e) => e.kind.startsWith('tool')).map((e) => `${e.kind} ${e.call_id}`);
    assert.deepEqual(steps, [
      `tool ${napId}`, `tool_result ${napId}`, `tool ${echoId}`, `tool_output ${echoId}`, `tool_result ${echoId}`,
    ]);
    assert.equal(events.find((e) => e.kind === 'tool_result').content, 'slept 200');
    assert.equal(st.mock.requests.length, first + 2);
    const msgs = st.mock.requests[first + 1].body.messages;
    assert.equal(msgs.length, 3, 'one user message carries both results');
    assert.deepEqual(msgs[2].content.map((b) => [b.type, b.tool_use_id]),
      [['tool_result', napId], ['tool_result', echoId]]);
    assert.equal(events.at(-2).result, 'Both ran.');
    await stream.close();
  });

  test('prompt route: 409 while a turn runs, 422 for an empty prompt, 404 for an unknown session', async () => {
    const { id, stream, first } = await st.startTurn([
      { toolUses: [{ name: 'nap', input: { ms: 30000 } }] },
    ]);
    await stream.waitForType('tool', 10000);
    const busy = await st.prompt(id, 'And another thing');
    assert.equal(busy.status, 409, busy.text);
    assert.match(busy.json.error, /already running/);
    assert.equal((await st.cancel(id)).json.cancelled, true);
    const events = await turnEvents(stream);
    assert.equal(events.filter((e) => e.kind === 'user').length, 1, 'the refused prompt left no event');
    assert.equal(st.mock.requests.length, first + 1);

    for (const prompt of ['', '  \n\t']) {
      const r = await st.prompt(id, prompt);
      assert.equal(r.status, 422, `${JSON.stringify(prompt)}: ${r.text}`);
    }
    const noPrompt = await st.post(`/api/session/${id}/prompt`, { model: 'x' });
    assert.equal(noPrompt.status, 422);

    const unknown = 'f'.repeat(32);
    assert.equal((await st.prompt(unknown, 'hello')).status, 404);
    assert.equal((await st.cancel(unknown)).status, 404);
    const s = await st.attach(unknown);
    assert.equal(s.status, 404);
    await s.close();
    await stream.close();
  });

  test('text reaches the stream while the model is still sending', async () => {
    const answer = 'Checking the devvm, slowly.';
    const { stream, first } = await st.startTurn([{ text: answer, deltaChars: 4, eventDelayMs: 100 }]);
    await stream.waitForType('text_delta', 10000);
    const req = st.mock.requests[first];
    assert.equal(req.finishedAt, null, 'the mock is still streaming');
    assert.equal(stream.events.some((e) => e.data?.kind === 'result'), false);
    const events = await turnEvents(stream);
    assert.equal(textOf(events), answer);
    await stream.close();
  });

  describe('Lua limits inside a turn', () => {
    const cases = [
      ['spin', /^tools\/c_spin\.lua:\d+: instruction limit \(1000000\) exceeded$/],
      ['bomb', new RegExp(`^tools/d_bomb\\.lua:\\d+: memory limit \\(${LUA_MEMORY_MB} MiB\\) exceeded$`)],
      ['regex', new RegExp(`^tools/e_regex\\.lua:\\d+: time limit \\(${LUA_CALL_TIMEOUT_MS} ms\\) exceeded in string\\.find$`)],
      ['big', new RegExp(`^tools/f_big\\.lua:\\d+: json\\.encode: output exceeds ${LUA_HOST_JSON_MAX_BYTES} bytes$`)],
    ];
    let rssBefore;
    let rss;
    before(() => {
      rssBefore = rssKib(st.daemon.proc.pid);
      rss = sampleRss(st.daemon.proc.pid);
    });
    after(() => rss.stop());

    for (const [tool, expected] of cases) {
      test(`${tool}: an error tool_result naming the limit and file:line, and the turn goes on`, async () => {
        const { stream, first, events } = await st.runTurn([
          { toolUses: [{ name: tool, input: {} }] },
          { text: `The ${tool} tool hit a limit.` },
        ]);
        const result = events.find((e) => e.kind === 'tool_result');
        assert.equal(result.is_error, true);
        assert.match(result.content, expected);
        assert.equal(st.mock.requests.length, first + 2, 'the model was called again');
        const back = st.mock.requests[first + 1].body.messages.at(-1).content[0];
        assert.equal(back.tool_use_id, result.call_id);
        assert.equal(back.is_error, true);
        assert.equal(back.content, result.content);
        assert.equal(events.at(-2).is_error, false);
        assert.equal(events.at(-2).result, `The ${tool} tool hit a limit.`);
        await stream.close();
      });
    }

    test('afterwards the daemon still serves /health, in bounded memory', async (t) => {
      const h = await st.health();
      assert.equal(h.status, 200);
      assert.deepEqual(h.json, { status: 'ok', service: 'claude-breakglass' });
      // One Lua state at its memory cap, at most.
      rss.stop();
      checkRssGrowth(t, st.daemon.proc.pid, rss.peak() - rssBefore, LUA_MEMORY_MB * 1024 * 1024);
    });
  });
});

describe('a daemon without a model credential', () => {
  const st = forSuite(() => startStack(join(dir, 'nokey'), { env: { ANTHROPIC_API_KEY: undefined } }));

  test('a prompt ends its turn with an error that points to docs/api-key.md; /health works', async () => {
    const { stream, events } = await st.runTurn([{ text: 'never asked' }]);
    assert.deepEqual(typesOf(events), ['user', 'error', 'result', 'turn_end']);
    assert.match(events[1].error, /no model credential/);
    assert.match(events[1].error, /docs\/api-key\.md/);
    assert.equal(events[2].is_error, true);
    assert.equal(st.mock.requests.length, 0);
    const h = await st.health();
    assert.equal(h.status, 200);
    assert.equal(h.json.status, 'ok');
    await stream.close();
  });

  test('SIGTERM stops it cleanly', async () => {
    assert.deepEqual(await st.daemon.stop('SIGTERM', 3000), { code: 0, signal: null });
  });
});

describe('SIGTERM while turns run', () => {
  const st = forSuite(() => startStack(join(dir, 'sigterm')));

  test('the daemon cancels them and exits cleanly', async () => {
    st.mock.setResponder((body) => (body.messages.length === 1 && body.messages[0].content[0].text === 'nap'
      ? { toolUses: [{ name: 'nap', input: { ms: 30000 } }] }
      : { text: 'A slow answer that is still being written at shutdown.', deltaChars: 2, eventDelayMs: 200 }));
    const a = await st.startTurn([], 'nap');
    const b = await st.startTurn([], 'talk');
    await Promise.all([a.stream.waitForType('tool', 10000), b.stream.waitForType('text_delta', 10000)]);
    const t0 = Date.now();
    assert.deepEqual(await st.daemon.stop('SIGTERM', 5000), { code: 0, signal: null });
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    await Promise.all([a.stream.closed, b.stream.closed]);
  });
});
