// Attacks on the HTTP request path that reach the daemon before any
// credential is checked: each was found from outside and failed once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fetchJson, startDaemon } from '../lib/daemon.mjs';
import { rawRequest } from '../lib/raw-http.mjs';

const TOKEN = 'hardening-test-bearer-token';

describe('request framing before authentication', () => {
  let d;
  before(async () => { d = await startDaemon({ env: { API_BEARER_TOKEN: TOKEN } }); });
  after(async () => { await d?.stop(); });

  test('a chunked POST with 40 trailer lines of 300 bytes is answered and the daemon stays up', async () => {
    const trailers = Array.from({ length: 40 }, (_, i) => `X-Trailer-${i}: ${'t'.repeat(300)}\r\n`).join('');
    const r = await rawRequest(d.port, 'POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
      + `Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n${trailers}\r\n`);
    assert.equal(r.status, 401, r.raw.slice(0, 200));
    const small = await rawRequest(d.port, 'POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
      + `Authorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n`);
    assert.equal(small.status, 200, `small trailers are dropped and the request served: ${small.raw.slice(0, 200)}`);
    assert.equal((await fetchJson(`${d.url}/health`)).status, 200);
    assert.equal(d.sanitizerReport(), null);
  });
});
