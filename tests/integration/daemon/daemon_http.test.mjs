// The daemon's HTTP surface through the real binary on loopback: who may
// call /api (bearer token, the proxy's header only when configured, fail
// closed, cross-site refusal), health and readiness, the session list, the
// power-verb routes, the HTTP limits, static files, and a clean stop.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchJson, startDaemon, stopCleanly } from '../../lib/daemon.mjs';
import { rawRequest, slowRequest } from '../../lib/raw-http.mjs';
import { openStream } from '../../lib/sse-client.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('daemon-http-test');

const TOKEN = 'http-test-bearer-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const FAKE_ID = '0123456789abcdef0123456789abcdef';
// core/daemon/daemon.c: HTTP_MAX_HEADER_BYTES, HTTP_MAX_BODY_BYTES.
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;
const HEADER_TIMEOUT_S = 2;
// A slow client is cut off at the header timeout; the upper bound leaves
// room for a loaded machine (and a sanitizer build).
const SLOW_CLOSE_MIN_MS = HEADER_TIMEOUT_S * 1000 - 500;
const SLOW_CLOSE_MAX_MS = 5000;
const SLOW_BYTE_INTERVAL_MS = 1000;
const STOP_WITHIN_MS = 5000;
const TURN_WAIT_MS = 10000;
const CANARY = 'canary-outside-the-www-dir';
const INDEX_HTML = '<!doctype html><title>breakglass test page</title>\n';
const caughtUp = (e) => e.event === 'caught-up';

/** Every /api route with the method it takes; id is a session id. */
const routes = (id) => [
  { method: 'POST', path: '/api/session' },
  { method: 'GET', path: '/api/sessions' },
  { method: 'GET', path: `/api/session/${id}/stream` },
  { method: 'POST', path: `/api/session/${id}/prompt`, body: { prompt: 'hello' } },
  { method: 'POST', path: `/api/session/${id}/cancel` },
  { method: 'GET', path: '/api/pve/verbs' },
  { method: 'POST', path: '/api/pve/status' },
];

/** One request to route on d; POSTs carry a JSON body. */
function call(d, route, headers = {}) {
  const body = route.method === 'POST' ? (route.body ?? {}) : undefined;
  return fetchJson(`${d.url}${route.path}`, { method: route.method, headers, body });
}

function assertSecurityHeaders(headers, what) {
  const csp = headers['content-security-policy'] ?? '';
  assert.match(csp, /(^|;)\s*default-src 'self'\s*(;|$)/, `${what}: CSP ${csp}`);
  assert.match(csp, /(^|;)\s*frame-ancestors 'none'\s*(;|$)/, `${what}: CSP ${csp}`);
  // Today's web client sets style attributes; nothing else inline is let in.
  assert.match(csp, /(^|;)\s*style-src-attr 'unsafe-inline'\s*(;|$)/, `${what}: CSP ${csp}`);
  assert.doesNotMatch(csp, /script-src|style-src[^-]|style-src-elem/, `${what}: CSP ${csp}`);
  assert.equal(headers['x-content-type-options'], 'nosniff', what);
  assert.equal(headers['referrer-policy'], 'no-referrer', what);
}

function assert401(r, what) {
  assert.equal(r.status, 401, `${what}: ${r.status} ${r.text}`);
  assert.match(r.headers['content-type'], /^application\/json/, what);
  assert.equal(typeof r.json?.error, 'string', what);
  assert.match(r.headers['www-authenticate'] ?? '', /^Bearer\b/, what);
}

/** A loopback listener that only counts the connections it gets. */
function listenCounter() {
  let connections = 0;
  const sockets = new Set();
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.destroy();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      connections: () => connections,
      close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(r); }),
    }));
  });
}

async function newSession(d, headers = AUTH) {
  const r = await fetchJson(`${d.url}/api/session`, { method: 'POST', headers, body: {} });
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.session_id, /^[0-9a-f]{32}$/);
  return r.json.session_id;
}

/** A www dir with the three page types, a file outside it, and symlinks. */
function makeWww() {
  const www = join(dir, 'www');
  const outside = join(dir, 'outside');
  mkdirSync(www, { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(dir, 'secret.txt'), CANARY);
  writeFileSync(join(outside, 'secret.txt'), CANARY);
  writeFileSync(join(www, 'index.html'), INDEX_HTML);
  writeFileSync(join(www, 'app.mjs'), 'export const x = 1;\n');
  writeFileSync(join(www, 'app.css'), 'body { color: black; }\n');
  symlinkSync(join(dir, 'secret.txt'), join(www, 'leak.txt'));
  symlinkSync('../secret.txt', join(www, 'relative-leak.txt'));
  symlinkSync(outside, join(www, 'outdir'));
  symlinkSync('app.css', join(www, 'alias.css'));
  return www;
}

/**
 * A keep-alive connection that has had one answer and now sits idle;
 * closed resolves when the daemon closes it.
 */
function openIdleConnection(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const closed = new Promise((r) => socket.on('close', r));
    let text = '';
    socket.on('error', () => {}); // a reset is a close too; 'close' follows
    socket.on('data', (b) => {
      text += b.toString('latin1');
      const m = /Content-Length: (\d+)\r\n[^]*?\r\n\r\n/i.exec(text);
      if (m && text.length >= m.index + m[0].length + Number(m[1])) resolve({ closed });
    });
    socket.on('close', () => reject(new Error(`idle connection closed early: ${text}`)));
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

/** GET of a raw request target, bytes exactly as given. */
const rawGet = (port, target) => rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

describe('bearer-token daemon', () => {
  const d = forSuite(() => startDaemon({
    env: {
      API_BEARER_TOKEN: TOKEN,
      BREAKGLASS_WWW_DIR: makeWww(),
      BREAKGLASS_HTTP_HEADER_TIMEOUT_SECONDS: String(HEADER_TIMEOUT_S),
    },
  }), stopCleanly);

  test('every /api route: 401 JSON without credentials or with wrong ones, served with the token', async () => {
    const id = await newSession(d);
    const wrong = [
      {},
      { authorization: 'Bearer wrong-token' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
      { 'x-authentik-username': 'alice' },
    ];
    for (const route of [...routes(id), { method: 'GET', path: '/api' }, { method: 'GET', path: '/api/nope' }]) {
      for (const headers of wrong) {
        assert401(await call(d, route, headers), `${route.method} ${route.path} ${JSON.stringify(headers)}`);
      }
    }
    for (const route of routes(id)) {
      const what = `${route.method} ${route.path}`;
      if (route.path.endsWith('/stream')) {
        const s = await openStream(`${d.url}${route.path}`, { headers: AUTH });
        assert.equal(s.status, 200, what);
        await s.waitFor(caughtUp);
        await s.close();
        continue;
      }
      const r = await call(d, route, AUTH);
      assert.notEqual(r.status, 401, `${what}: ${r.text}`);
      assert.ok(r.status < 500 || route.path === '/api/pve/status', `${what}: ${r.status} ${r.text}`);
    }
  });

  test('the bearer scheme is case-insensitive and may be followed by several spaces', async () => {
    for (const authorization of [`bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer   ${TOKEN}`]) {
      const r = await fetchJson(`${d.url}/api/sessions`, { headers: { authorization } });
      assert.equal(r.status, 200, authorization);
    }
  });

  test('cross-site requests are 403; a bearer caller may post bodyless or in any type; same-origin ones served', async () => {
    const post = (headers) => fetchJson(`${d.url}/api/session`, { method: 'POST', headers: { ...AUTH, ...headers }, body: {} });
    for (const headers of [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: `http://127.0.0.1:${d.port}.evil.example` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ]) {
      const r = await post(headers);
      assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.text}`);
      assert.equal(typeof r.json.error, 'string');
    }
    const cross = await fetchJson(`${d.url}/api/sessions`, { headers: { ...AUTH, 'sec-fetch-site': 'cross-site' } });
    assert.equal(cross.status, 403, 'a cross-site read is refused too');

    // A browser cannot send an Authorization header cross-site without
    // CORS, which the daemon never answers: bearer callers are not the
    // form-post threat the JSON rule is for (today's clients post bodyless).
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const r = await fetchJson(`${d.url}/api/session`, { method: 'POST', headers: { ...AUTH, 'content-type': type }, body: '{}' });
      assert.equal(r.status, 200, `${type}: ${r.text}`);
    }
    const bare = await fetchJson(`${d.url}/api/session`, { method: 'POST', headers: AUTH });
    assert.equal(bare.status, 200, `a bearer POST without a content type, as curl -X POST sends it: ${bare.text}`);
    assert.match(bare.json.session_id, /^[0-9a-f]{32}$/);
    const cancel = await fetchJson(`${d.url}/api/session/${bare.json.session_id}/cancel`, { method: 'POST', headers: AUTH });
    assert.deepEqual(cancel.json, { cancelled: false });

    const same = await post({ origin: `http://127.0.0.1:${d.port}`, 'sec-fetch-site': 'same-origin' });
    assert.equal(same.status, 200, same.text);
    const charset = await post({ 'content-type': 'application/json; charset=utf-8' });
    assert.equal(charset.status, 200, charset.text);
  });

  test('GET /health answers without credentials; /readyz lists the tools', async () => {
    const h = await fetchJson(`${d.url}/health`);
    assert.equal(h.status, 200);
    assert.deepEqual(h.json, { status: 'ok', service: 'claude-breakglass' });
    const r = await fetchJson(`${d.url}/readyz`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ready, true);
    assert.ok(Array.isArray(r.json.tools) && r.json.tools.length > 0, r.text);
    assert.ok(r.json.tools.includes('devvm_shell'), r.text);
  });

  test('GET /api/sessions lists id, kind, title (the first prompt), created, last_activity and status', async () => {
    const prompted = await newSession(d);
    const stream = await openStream(`${d.url}/api/session/${prompted}/stream`, { headers: AUTH });
    const p = await fetchJson(`${d.url}/api/session/${prompted}/prompt`, {
      method: 'POST', headers: AUTH, body: { prompt: 'Is the devvm\nup?' },
    });
    assert.equal(p.status, 200, p.text);
    await stream.waitForType('turn_end', TURN_WAIT_MS);
    await stream.close();
    const second = await fetchJson(`${d.url}/api/session/${prompted}/prompt`, {
      method: 'POST', headers: AUTH, body: { prompt: 'A later prompt' },
    });
    assert.equal(second.status, 200, second.text);
    const idle = await newSession(d);

    const r = await fetchJson(`${d.url}/api/sessions`, { headers: AUTH });
    assert.equal(r.status, 200, r.text);
    const byId = new Map(r.json.sessions.map((s) => [s.id, s]));
    const a = byId.get(prompted);
    const b = byId.get(idle);
    assert.ok(a && b, r.text);
    for (const s of [a, b]) {
      assert.deepEqual(Object.keys(s).sort(), ['created', 'id', 'journal_bytes', 'kind', 'last_activity', 'mutating_calls', 'status', 'title', 'tool_calls', 'usage']);
      assert.equal(s.kind, 'chat');
      assert.ok(!Number.isNaN(Date.parse(s.created)), s.created);
      assert.ok(Date.parse(s.last_activity) >= Date.parse(s.created), JSON.stringify(s));
    }
    assert.equal(a.title, 'Is the devvm up?');
    assert.ok(Date.parse(a.last_activity) >= Date.parse(a.created), JSON.stringify(a));
    assert.equal(a.status, 'error', 'a turn without a model credential fails');
    assert.equal(b.title, null);
    assert.equal(b.status, 'idle');
  });

  test('GET /api/pve/verbs gives the sorted verbs, the mutating ones, and each one\'s state', async () => {
    const r = await fetchJson(`${d.url}/api/pve/verbs`, { headers: AUTH });
    assert.equal(r.status, 200, r.text);
    const { state, ...contract } = r.json;
    assert.deepEqual(contract, {
      verbs: ['cycle', 'forensics', 'reset', 'start', 'status', 'stop'],
      mutating: ['cycle', 'reset', 'start', 'stop'],
    });
    assert.deepEqual(Object.keys(state).sort(), contract.verbs);
    assert.equal(state.status.available, true);
    assert.equal(state.cycle.available, true, JSON.stringify(state.cycle));
    assert.deepEqual(state.cycle.first, { tool: 'pve', verb: 'forensics', policy: 'forensics_first' },
      'the shipped forensics_first would run a capture before a cycle');
  });

  test('POST /api/pve/status without BREAKGLASS_PVE_HOST says it is not configured', async () => {
    const r = await fetchJson(`${d.url}/api/pve/status`, { method: 'POST', headers: AUTH, body: {} });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.verb, 'status');
    assert.match(r.json.error, /not configured/);
    assert.match(r.json.error, /BREAKGLASS_PVE_HOST/);
  });

  test('headers over 16 KiB: 431; a body over 1 MiB: 413; exactly 1 MiB is read', async () => {
    const big = await rawRequest(d.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`);
    assert.equal(big.status, 431, big.raw.slice(0, 200));
    const many = Array.from({ length: 20 }, (_, i) => `X-Pad-${i}: ${'b'.repeat(1000)}\r\n`).join('');
    const split = await rawRequest(d.port, `GET /health HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
    assert.equal(split.status, 431, 'many headers adding up past the limit');

    const head = (len) => `POST /api/session HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n`
      + `Content-Type: application/json\r\nContent-Length: ${len}\r\n\r\n`;
    const over = await rawRequest(d.port, Buffer.concat([Buffer.from(head(MAX_BODY_BYTES + 1)), Buffer.alloc(MAX_BODY_BYTES + 1, 0x20)]));
    assert.equal(over.status, 413, over.raw.slice(0, 200));
    const chunk = `${(64 * 1024).toString(16)}\r\n${' '.repeat(64 * 1024)}\r\n`;
    const chunked = await rawRequest(d.port, `POST /api/session HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n`
      + `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(17)}0\r\n\r\n`);
    assert.equal(chunked.status, 413, 'a chunked body adding up past the limit');

    const pad = `{"pad":"${'c'.repeat(MAX_BODY_BYTES - 10)}"}`;
    assert.equal(pad.length, MAX_BODY_BYTES);
    const exact = await rawRequest(d.port, head(pad.length) + pad, { timeoutMs: 10000 });
    assert.equal(exact.status, 200, exact.raw.slice(0, 200));
  });

  test('a client sending its request head one byte a second is cut off at the header timeout', async () => {
    const r = await slowRequest(d.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ${'s'.repeat(30)}\r\n\r\n`, SLOW_BYTE_INTERVAL_MS, { timeoutMs: 20000 });
    assert.ok(r.closedAfterMs >= SLOW_CLOSE_MIN_MS && r.closedAfterMs <= SLOW_CLOSE_MAX_MS,
      `closed after ${r.closedAfterMs} ms and ${r.bytesSent} bytes`);
    assert.notEqual(r.response?.status, 200);
  });

  test('path traversal, raw or percent-encoded, is 404', async () => {
    const targets = [
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/%2E%2E%2Fetc%2Fpasswd',
      '/..%2f..%2fetc/passwd',
      `/${'../'.repeat(12)}etc/passwd`,
      `/${'%2e%2e%2f'.repeat(12)}etc/passwd`,
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E%2Fsecret.txt',
      '/..%2fsecret.txt',
      '/.%2e/secret.txt',
      '/outdir/../../secret.txt',
      '/..\\secret.txt',
      '/%5c..%5csecret.txt',
      '/index.html%00.css',
    ];
    for (const target of targets) {
      const r = await rawGet(d.port, target);
      assert.equal(r.status, 404, `${target}: ${r.raw.slice(0, 200)}`);
      assert.ok(!r.body.includes(CANARY) && !r.body.includes('root:'), target);
    }
  });

  test('a symlink inside the www dir that leads out of it is 404; one that stays inside is served', async () => {
    for (const path of ['/leak.txt', '/relative-leak.txt', '/outdir/secret.txt']) {
      const r = await rawGet(d.port, path);
      assert.equal(r.status, 404, `${path}: ${r.raw.slice(0, 200)}`);
      assert.ok(!r.body.includes(CANARY), path);
    }
    const inside = await fetchJson(`${d.url}/alias.css`);
    assert.equal(inside.status, 200);
    assert.match(inside.text, /color: black/);
  });

  test('static files: / is index.html as text/html, .mjs text/javascript, .css text/css', async () => {
    const index = await fetchJson(`${d.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers['content-type'], /^text\/html\b/);
    assert.equal(index.text, INDEX_HTML);
    const direct = await fetchJson(`${d.url}/index.html`);
    assert.equal(direct.text, INDEX_HTML);
    const mjs = await fetchJson(`${d.url}/app.mjs`);
    assert.equal(mjs.status, 200);
    assert.match(mjs.headers['content-type'], /^text\/javascript\b/);
    const css = await fetchJson(`${d.url}/app.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers['content-type'], /^text\/css\b/);
    assert.equal((await fetchJson(`${d.url}/missing.js`)).status, 404);
  });

  test('every response carries the CSP, nosniff and no-referrer headers', async () => {
    const answers = {
      'health 200': await fetchJson(`${d.url}/health`),
      'static 200': await fetchJson(`${d.url}/app.css`),
      'api 200': await fetchJson(`${d.url}/api/sessions`, { headers: AUTH }),
      'api 401': await fetchJson(`${d.url}/api/sessions`),
      'api 403': await fetchJson(`${d.url}/api/sessions`, { headers: { ...AUTH, 'sec-fetch-site': 'cross-site' } }),
      'api 400': await fetchJson(`${d.url}/api/pve/reboot`, { method: 'POST', headers: AUTH }),
      'static 404': await fetchJson(`${d.url}/nope.html`),
      'traversal 404': await rawGet(d.port, '/%2e%2e/secret.txt'),
      'headers 431': await rawRequest(d.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`),
      'body 413': await rawRequest(d.port, `POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`
        + `Content-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`),
    };
    const expected = { 'api 401': 401, 'api 403': 403, 'api 400': 400, 'static 404': 404, 'traversal 404': 404, 'headers 431': 431, 'body 413': 413 };
    for (const [what, r] of Object.entries(answers)) {
      assert.equal(r.status, expected[what] ?? 200, what);
      assertSecurityHeaders(r.headers, what);
    }
  });

  test('after all of that the daemon still answers /health', async () => {
    const h = await fetchJson(`${d.url}/health`);
    assert.equal(h.status, 200);
    assert.equal(d.sanitizerReport(), null);
  });
});

describe('behind the auth proxy (BREAKGLASS_TRUSTED_USER_HEADER)', () => {
  let d;
  let pve;
  const ALICE = { 'x-authentik-username': 'alice' };
  before(async () => {
    pve = await listenCounter();
    d = await startDaemon({
      env: {
        API_BEARER_TOKEN: TOKEN,
        BREAKGLASS_TRUSTED_USER_HEADER: 'X-authentik-username',
        BREAKGLASS_PVE_HOST: '127.0.0.1',
        BREAKGLASS_PVE_PORT: String(pve.port),
      },
    });
  });
  after(async () => {
    await stopCleanly(d);
    await pve.close();
  });

  test('the header is accepted on every route and names the user in the prompt\'s user event', async () => {
    const id = await newSession(d, ALICE);
    for (const route of routes(id).filter((r) => !r.path.endsWith('/stream'))) {
      const r = await call(d, route, ALICE);
      assert.notEqual(r.status, 401, `${route.method} ${route.path}: ${r.text}`);
    }
    const stream = await openStream(`${d.url}/api/session/${id}/stream`, { headers: ALICE });
    assert.equal(stream.status, 200);
    await stream.waitFor(caughtUp);
    await stream.waitForType('turn_end', TURN_WAIT_MS); // of the route loop's prompt
    const mark = stream.events.length;
    const p = await fetchJson(`${d.url}/api/session/${id}/prompt`, { method: 'POST', headers: ALICE, body: { prompt: 'who am I?' } });
    assert.equal(p.status, 200, p.text);
    const user = await stream.waitFor((e) => e.data?.kind === 'user' && e.data.text === 'who am I?', TURN_WAIT_MS, mark);
    assert.equal(user.data.identity, 'user:alice');
    await stream.waitFor((e) => e.data?.kind === 'turn_end' && Number(e.id) > Number(user.id), TURN_WAIT_MS);
    await stream.close();
  });

  test('proxy-authenticated state changes must be same-origin JSON: form posts 415, cross-site 403', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      const r = await fetchJson(`${d.url}/api/session`, { method: 'POST', headers: { ...ALICE, 'content-type': type }, body: '{}' });
      assert.equal(r.status, 415, `${type}: ${r.text}`);
    }
    const bare = await fetchJson(`${d.url}/api/session`, { method: 'POST', headers: ALICE });
    assert.equal(bare.status, 415, 'a POST without a content type');
    const cross = await fetchJson(`${d.url}/api/session`, { method: 'POST', headers: { ...ALICE, origin: 'https://evil.example' }, body: {} });
    assert.equal(cross.status, 403, cross.text);
    const json = await fetchJson(`${d.url}/api/session`, { method: 'POST', headers: ALICE, body: {} });
    assert.equal(json.status, 200, json.text);
  });

  test('an empty header is no identity; the bearer token still works', async () => {
    assert401(await fetchJson(`${d.url}/api/sessions`, { headers: { 'x-authentik-username': '' } }), 'empty header');
    assert.equal((await fetchJson(`${d.url}/api/sessions`, { headers: AUTH })).status, 200);
  });

  test('POST /api/pve/{verb} outside the allow-list is 400 with no connection to the Proxmox host', async () => {
    for (const target of ['/api/pve/reboot', '/api/pve/STATUS', '/api/pve/status%20reboot', '/api/pve/status;reboot', '/api/pve/', '/api/pve/status/x']) {
      const r = await fetchJson(`${d.url}${target}`, { method: 'POST', headers: ALICE, body: {} });
      assert.equal(r.status, 400, `${target}: ${r.text}`);
      assert.equal(r.json.rejected, true, target);
      assert.match(r.json.error, /status/, 'the message names the allowed verbs');
    }
    assert.equal(pve.connections(), 0);
  });
});

describe('no API_BEARER_TOKEN and no trusted header', () => {
  const d = forSuite(() => startDaemon({ env: { API_BEARER_TOKEN: '' } }), stopCleanly);

  test('everything under /api is 401 (fail closed); /health is still served', async () => {
    const attempts = [{}, { authorization: 'Bearer ' }, { authorization: 'Bearer' }, { authorization: 'Bearer undefined' },
      { 'x-authentik-username': 'alice' }];
    for (const route of [...routes(FAKE_ID), { method: 'GET', path: '/api/nope' }]) {
      for (const headers of attempts) assert401(await call(d, route, headers), `${route.method} ${route.path} ${JSON.stringify(headers)}`);
    }
    const raw = await rawRequest(d.port, `GET /api/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \r\n\r\n`);
    assert.equal(raw.status, 401);
    assert.equal((await fetchJson(`${d.url}/health`)).status, 200);
  });
});

describe('a broken scripts dir', () => {
  let d;
  before(async () => {
    d = await startDaemon({
      env: { BREAKGLASS_SCRIPTS_DIR: join(process.env.BREAKGLASS_SOURCE_DIR, 'tests', 'fixtures', 'lua', 'broken') },
    });
  });
  after(async () => {
    await stopCleanly(d);
  });

  test('/readyz is 503 naming file:line; /health is still 200', async () => {
    const r = await fetchJson(`${d.url}/readyz`);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.ready, false);
    assert.match(r.json.error, /tools\/a_syntax\.lua:3: /);
    const h = await fetchJson(`${d.url}/health`);
    assert.equal(h.status, 200);
    assert.deepEqual(h.json, { status: 'ok', service: 'claude-breakglass' });
  });
});

describe('graceful shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    test(`${signal} with an attached event stream and an idle keep-alive connection: exit 0 within a few seconds`, async () => {
      const d = await startDaemon({ env: { API_BEARER_TOKEN: TOKEN } });
      const id = await newSession(d);
      const stream = await openStream(`${d.url}/api/session/${id}/stream`, { headers: AUTH });
      await stream.waitFor(caughtUp);
      const idle = await openIdleConnection(d.port);
      const startedAt = Date.now();
      const stopped = d.stop(signal);
      const exitAfterMs = await d.exited.then(() => Date.now() - startedAt);
      assert.deepEqual(await stopped, { code: 0, signal: null });
      assert.ok(exitAfterMs < STOP_WITHIN_MS, `exited after ${exitAfterMs} ms`);
      assert.deepEqual(await stream.closed, { error: null });
      await idle.closed;
    });
  }
});
