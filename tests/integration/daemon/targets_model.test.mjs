// The model API in GET /api/targets, probed actively: one count_tokens
// request (no tokens spent, no Messages request) with the daemon's own
// credential and model, at most once a minute however often the page asks;
// each way it fails named by its layer (refused, the key refused,
// overloaded, no answer in time); a real call newer than the probe counts
// instead.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { API_KEY, AUTH, startStack } from '../../lib/agent-stack.mjs';
import { fetchJson, freePort } from '../../lib/daemon.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('targets-model-test');
// The probe's limit: the model's connect limit plus 5 s for the answer.
const CONNECT_LIMIT_S = 2;
const ANSWER_LIMIT_MS = 20000;
let n = 0;

async function withStack(env, fn) {
  const st = await startStack(join(dir, `s${n++}`), {
    env: { BREAKGLASS_MODEL_CONNECT_TIMEOUT_SECONDS: String(CONNECT_LIMIT_S), BREAKGLASS_MODEL_MAX_RETRIES: '0', ...env },
  });
  try {
    await fn(st);
  } finally {
    await st.close();
  }
}

async function model(st, query = '') {
  const r = await fetchJson(`${st.daemon.url}/api/targets${query}`, { headers: AUTH, timeoutMs: ANSWER_LIMIT_MS });
  assert.equal(r.status, 200, r.text);
  return r.json.model;
}

test('an answering API: up, from one count_tokens request that spends no tokens, at most once a minute', async () => {
  await withStack({}, async (st) => {
    const m = await model(st);
    assert.deepEqual([m.configured, m.ok, m.layer, m.source], [true, true, 'none', 'probe'], JSON.stringify(m));
    assert.ok(Number.isFinite(Date.parse(m.checked_at)));
    assert.ok(Number.isInteger(m.total_ms));
    assert.equal(st.mock.requests.length, 0, 'no Messages request: nothing spent');
    assert.equal(st.mock.countRequests.length, 1);
    const req = st.mock.countRequests[0];
    assert.equal(req.headers['x-api-key'], API_KEY);
    assert.equal(req.headers['anthropic-version'], '2023-06-01');
    assert.equal(req.body.model, 'claude-sonnet-4-5');
    assert.equal(req.status, 200);
    // The page polls, and refreshes: the API is still asked once.
    for (const q of ['', '?refresh=1', '?refresh=1']) {
      assert.equal((await model(st, q)).checked_at, m.checked_at);
    }
    assert.equal(st.mock.countRequests.length, 1, 'at most once a minute');
  });
});

test('refused connections: connect_refused, at once, before any prompt', async () => {
  await withStack({ ANTHROPIC_BASE_URL: `https://127.0.0.1:${await freePort()}` }, async (st) => {
    const started = Date.now();
    const m = await model(st);
    assert.deepEqual([m.ok, m.layer], [false, 'connect_refused'], JSON.stringify(m));
    assert.match(m.message, /refused the connection/);
    assert.ok(Date.now() - started < ANSWER_LIMIT_MS);
  });
});

test('errors of the API are named: the key refused, overloaded, no answer in time', async () => {
  await withStack({ ANTHROPIC_API_KEY: 'not-the-key' }, async (st) => {
    const m = await model(st);
    assert.deepEqual([m.ok, m.layer, m.http_status, m.error_type], [false, 'auth_refused', 401, 'authentication_error'], JSON.stringify(m));
    assert.match(m.request_id, /^req_mock_count_0$/);
    assert.match(m.message, /invalid x-api-key/);
    assert.doesNotMatch(JSON.stringify(m), /not-the-key/, 'the credential is never echoed');
  });
  await withStack({}, async (st) => {
    st.mock.setCountTokens({ status: 529 });
    const m = await model(st);
    assert.deepEqual([m.ok, m.layer, m.http_status], [false, 'overloaded', 529], JSON.stringify(m));
  });
  await withStack({}, async (st) => {
    st.mock.setCountTokens({ delayMs: 10000 });
    const started = Date.now();
    const m = await model(st);
    assert.deepEqual([m.ok, m.layer], [false, 'timeout'], JSON.stringify(m));
    const took = Date.now() - started;
    assert.ok(took >= 4000 && took < ANSWER_LIMIT_MS, `answered after ${took} ms`);
  });
});

test('a real call newer than the probe is what the model row says', async () => {
  await withStack({}, async (st) => {
    assert.equal((await model(st)).source, 'probe');
    const { stream } = await st.runTurn([{ status: 500 }]);
    await stream.close();
    const m = await model(st);
    assert.deepEqual([m.ok, m.source, m.http_status], [false, 'call', 500], JSON.stringify(m));
    assert.ok(Number.isFinite(Date.parse(m.last_call_at)));
    assert.equal(st.mock.countRequests.length, 1, 'no new probe within the minute');
  });
});
