// Writes the named seeds of fuzz_http_server into a folder (by default
// tests/fuzz/corpus/http_server): node tests/fuzz/http_server_seeds.mjs [DIR].
// The input format is fuzz_http_server.c's: byte 0 picks the limits, byte 1
// counts the steps at the end of the input, and the bytes between are what
// the clients send; a step is a byte (client = byte % 4, action = byte / 4),
// a send taking the next bytes. Campaigns add hash-named inputs beside these.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// fuzz_write_bytes in fuzz_http_server.c: action i < 48 sends this many bytes.
const WRITE_BYTES = [
  1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32,
  40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
  640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
];
const CLIENTS = 4;
const HALF_CLOSE = 48;
const RESET = 56;
const WAIT = 60;
// fuzz_limits: bits 0-1 the timeout that is 0 ms (none, body, idle, head), bit 2 small limits.
const PROFILE = { roomy: 0, bodyTimeout: 1, idleTimeout: 2, headTimeout: 3, small: 4 };

/** Steps sending text as client's writes of at most piece bytes each: {steps, data}. */
function send(client, text, piece = Infinity) {
  let data = Buffer.from(text, 'latin1');
  const steps = [];
  const parts = [];
  while (data.length > 0) {
    const want = Math.min(piece, data.length);
    const action = WRITE_BYTES.findLastIndex((n) => n <= want);
    const n = WRITE_BYTES[action];
    steps.push(action * CLIENTS + client);
    parts.push(data.subarray(0, n));
    data = data.subarray(n);
  }
  return { steps, data: Buffer.concat(parts) };
}
const only = (step) => ({ steps: [step], data: Buffer.alloc(0) });
const halfClose = (client) => only(HALF_CLOSE * CLIENTS + client);
const reset = (client) => only(RESET * CLIENTS + client);
const wait = () => only(WAIT * CLIENTS);
function seed(profile, ...parts) {
  const steps = parts.flatMap((p) => p.steps);
  if (steps.length > 255) throw new Error(`${steps.length} steps: at most 255`);
  return Buffer.concat([Buffer.from([profile, steps.length]), ...parts.map((p) => p.data), Buffer.from(steps)]);
}

const AUTH = 'Authorization: Bearer fuzz-token\r\n';
const JSON_TYPE = 'Content-Type: application/json\r\n';
const SID = `${'0'.repeat(31)}1`; // the stand-in's first session id
const get = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`;
const post = (path, body, extra = AUTH) => `POST ${path} HTTP/1.1\r\nHost: h\r\n${extra}${JSON_TYPE}Content-Length: ${body.length}\r\n\r\n${body}`;

const seeds = {
  health: seed(PROFILE.roomy, send(0, get('/health'))),
  static_pipelined: seed(PROFILE.roomy, send(0, get('/') + `HEAD /app.mjs HTTP/1.1\r\nHost: h\r\n\r\n` + get('/escape')
    + get('/%2e%2e/secret.txt') + get('/index.html', 'If-None-Match: "x"\r\n')
    + 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi' + get('/readyz', 'Connection: close\r\n'))),
  api_routes: seed(PROFILE.roomy, send(0, post('/api/session', '{}') + post(`/api/session/${SID}/prompt`, '{"prompt":"x"}')
    + post(`/api/session/${SID}/prompt`, '{"prompt":"y","model":"m"}') + post(`/api/session/${SID}/cancel`, '{}')
    + post(`/api/session/${SID}/confirm`, '{"call_id":"decided","approve":true}') + get(`/api/session/${SID}/journal`, AUTH)
    + get('/api/targets', AUTH) + post('/api/pve/status', '{}') + get('/api/sessions', AUTH)
    + get(`/api/session/${SID}/stream`, `${AUTH}Last-Event-ID: 3\r\n`), 640)),
  api_stream_open: seed(PROFILE.roomy, send(0, post('/api/session', '{}')), send(1, get(`/api/session/${SID}/stream`, 'X-Fuzz-User: alice\r\n'))),
  chunked_trailers: seed(PROFILE.roomy, send(0, `POST /api/session HTTP/1.1\r\nHost: h\r\n${AUTH}${JSON_TYPE}Transfer-Encoding: chunked\r\n\r\n`, 40),
    send(0, '1;ext=1\r\n{\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n', 3)),
  unauthenticated_body: seed(PROFILE.roomy, send(0, `POST /api/session HTTP/1.1\r\nHost: h\r\n${JSON_TYPE}Content-Length: 100\r\n\r\n`),
    send(0, '{"a":1}'), send(1, get('/api/sessions', 'Authorization: Bearer wrong\r\n'))),
  proxy_header: seed(PROFILE.roomy, send(0, post('/api/session', '{}', 'X-Fuzz-User: alice\r\nOrigin: https://evil.example\r\n')),
    send(1, 'POST /api/session HTTP/1.1\r\nHost: h\r\nx-fuzz-user: bob\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}'
      + post('/api/session', '{}', 'x-fuzz-user: bob\r\nSec-Fetch-Site: same-origin\r\n'))),
  slots: seed(PROFILE.small, send(0, 'GET /hea'), send(1, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 50\r\n\r\nab'),
    send(3, 'GET /health HTTP/1.1\r\n'), send(2, get('/health')), send(0, 'lth HTTP/1.1\r\nHost: h\r\n\r\n'),
    send(3, 'Host: h\r\nX-Fuzz-User: u\r\n\r\n')),
  body_deadline: seed(PROFILE.bodyTimeout, send(0, post('/api/session', '{"prompt"}').slice(0, -2)), wait(), send(0, '}'), send(1, get('/health'))),
  idle_deadline: seed(PROFILE.idleTimeout, send(0, get('/health')), wait(), send(0, get('/health'))),
  head_deadline: seed(PROFILE.headTimeout, send(0, get('/health')), wait()),
  http10_chunked: seed(PROFILE.roomy, send(0, `POST /api/session HTTP/1.0\r\nHost: h\r\n${AUTH}${JSON_TYPE}Connection: keep-alive\r\n`
    + 'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')),
  refusals: seed(PROFILE.small, send(0, 'GET /health HTTP/1.1\r\n\r\n'), reset(0), send(0, get('/health', 'Host: b\r\n')), reset(0),
    send(1, get('/', `X-Big: ${'a'.repeat(600)}\r\n`)), send(2, post('/api/session', `{"p":"${'b'.repeat(300)}"}`)), reset(2),
    send(2, 'POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx')),
  half_close: seed(PROFILE.roomy, send(0, get('/index.html')), halfClose(0), send(1, post('/api/session', '{}')), halfClose(1)),
};

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'corpus', 'http_server');
mkdirSync(dir, { recursive: true });
for (const [name, bytes] of Object.entries(seeds)) writeFileSync(join(dir, name), bytes);
console.log(`${Object.keys(seeds).length} seeds in ${dir}`);
