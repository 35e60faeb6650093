// Secrets stay put (DESIGN.md invariants 4 and 10) on the ways to the page
// that are not events: each of these answers once carried a secret to
// anyone holding a session, found from outside.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { API_KEY, BEARER, startStack } from '../../lib/agent-stack.mjs';

const dir = mkdtempSync(join(tmpdir(), 'secret-exits-test-'));
const SECRETS = [API_KEY, BEARER];
let st;

before(async () => { st = await startStack(dir); });
after(async () => {
  await st?.close();
  rmSync(dir, { recursive: true, force: true });
});

function assertNoSecret(text, where) {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} holds ${s}: ${text}`);
}

// First in the file: the model is probed at most once a minute.
test('a model API that quotes the credential it refused: /api/targets shows the quote redacted', async () => {
  st.mock.setCountTokens({ status: 401, errorType: 'authentication_error',
    message: `invalid x-api-key ${API_KEY} (bearer ${BEARER})` });
  const r = await st.get('/api/targets?refresh=1');
  assert.equal(r.status, 200, r.text);
  assert.equal(st.mock.countRequests.length, 1);
  assertNoSecret(r.text, '/api/targets');
  assert.equal(r.json.model.layer, 'auth_refused');
  assert.equal(r.json.model.message,
    'HTTP 401 authentication_error: invalid x-api-key [redacted] (bearer [redacted])');
});

test('a prompt quoting the bearer token and the API key: its title in /api/sessions is redacted, live and after a restart', async () => {
  st.mock.setScript([{ text: 'Noted.' }]);
  const id = await st.newSession();
  const prompt = `the token ${BEARER} and the key ${API_KEY} stopped working`;
  const expected = 'the token [redacted] and the key [redacted] stopped working';
  assert.equal((await st.prompt(id, prompt)).status, 200);
  const titleOf = async () => {
    const r = await st.get('/api/sessions');
    assert.equal(r.status, 200, r.text);
    assertNoSecret(r.text, '/api/sessions');
    return r.json.sessions.find((s) => s.id === id).title;
  };
  assert.equal(await titleOf(), expected);
  await st.restart();
  assert.equal(await titleOf(), expected);
});
