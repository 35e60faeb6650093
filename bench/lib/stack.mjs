// The daemon as the benchmarks run it: the build's binary, the shipped
// scripts (lua/) and page (www/), the mock Messages API over TLS, and the
// lab's hosts when given; HTTP on one kept-alive connection, as a page
// holds one; viewers that note when each event arrived.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { API_KEY, startModel as startModelSide } from '../../tests/lib/agent-stack.mjs';
import { startDaemon } from '../../tests/lib/daemon.mjs';
import { SseParser } from '../../tests/lib/sse-client.mjs';

export const TOKEN = 'bench-bearer-token-0123456789abcdef';
export const AUTH = { authorization: `Bearer ${TOKEN}` };
const REQUEST_LIMIT_MS = 120000;

/**
 * The tests' model side (CA in dir/pki, the mock over TLS); set what it
 * answers with mock.setResponder. ca and headers let a benchmark call the
 * mock directly, env points a daemon at it.
 */
export async function startModel(dir) {
  const { pki, mock, env } = await startModelSide(dir);
  return {
    mock,
    ca: readFileSync(pki.caCert),
    headers: { 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    env,
  };
}

/** A daemon of bin with env (the model's, the lab's, limits). */
export async function startBench({ bin, env = {}, dataDir }) {
  const daemon = await startDaemon({
    bin, dataDir,
    env: { API_BEARER_TOKEN: TOKEN, ...env },
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  /** One API request on the kept-alive connection: {status, json, ms}. */
  const call = (method, path, body) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { ...AUTH, ...(payload ? { 'content-type': 'application/json' } : {}) };
    const req = http.request(`${daemon.url}${path}`, { method, agent, headers, timeout: REQUEST_LIMIT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s) => { text += s; });
      res.on('end', () => {
        const ms = performance.now() - t0;
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text, ms });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_LIMIT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
  return {
    daemon,
    pid: daemon.proc.pid,
    call,
    newSession: async () => (await call('POST', '/api/session')).json.session_id,
    prompt: (id, text) => call('POST', `/api/session/${id}/prompt`, { prompt: text }),
    viewer: (id) => openViewer(`${daemon.url}/api/session/${id}/stream`),
    stop: async () => { agent.destroy(); await daemon.stop(); },
  };
}

/**
 * A session's event stream that calls each listener with (event data,
 * arrival time) as events arrive; waitFor(kind) resolves at the next event
 * of that kind. Resolves once caught up with what the session already had.
 */
export function openViewer(url) {
  const listeners = new Set();
  let attached;
  const caughtUp = new Promise((resolve) => { attached = resolve; });
  const req = http.request(url, { headers: { ...AUTH, accept: 'text/event-stream' }, agent: false });
  const parser = new SseParser((e) => {
    const at = performance.now();
    if (e.event === 'caught-up') attached();
    else for (const fn of [...listeners]) fn(e.data, at);
  });
  const viewer = {
    listen: (fn) => { listeners.add(fn); return () => listeners.delete(fn); },
    waitFor: (kind, timeoutMs = REQUEST_LIMIT_MS) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new Error(`no ${kind} event in ${timeoutMs} ms`)); }, timeoutMs);
      const off = viewer.listen((data, at) => {
        if (data?.kind !== kind) return;
        clearTimeout(timer);
        off();
        resolve({ data, at });
      });
    }),
    close: () => req.destroy(),
  };
  return new Promise((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`stream ${url}: ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (text) => parser.feed(text));
      res.on('error', () => {});
      caughtUp.then(() => resolve(viewer));
    });
    req.end();
  });
}
