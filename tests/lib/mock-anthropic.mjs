// A scripted mock of the Anthropic Messages API (POST /v1/messages, streamed)
// over TLS, for tests of the model client and the agent loop. Each accepted
// request takes the next response form from the script, then from the
// responder function; README.md lists the forms. Requests are checked like
// the real API (mock-validate.mjs) and recorded with how their answer ended.
// POST /v1/messages/count_tokens, which spends no tokens, answers
// {"input_tokens": N} or the error set by setCountTokens, and is recorded
// apart (countRequests), so that a daemon's probes never take a scripted
// answer or shift the indexes of the Messages requests.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { PromptCache } from './mock-cache.mjs';
import { buildMessageEvents, encodeEvent, encodePreamble } from './mock-stream.mjs';
import { checkBody, checkCountBody, checkHeaders } from './mock-validate.mjs';

const MAX_BODY_BYTES = 32 * 1024 * 1024; // the API's request limit (413 above it)
const DEFAULT_STREAM_ERROR_AFTER_EVENTS = 4; // message_start, block start, ping, one delta
const DEFAULT_WAIT_MS = 5000;
const BYTES_PER_TOKEN = 4; // as mock-cache.mjs counts usage
// What a stream that errors, drops or stalls was saying, when the form gives nothing.
const CUT_STREAM_DEFAULT_TEXT = 'Let me look into that for you.';
const ORGANIZATION_ID = '0badc0de-0000-4000-8000-000000000000';

const ERROR_TYPE_BY_STATUS = {
  400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error',
  403: 'permission_error', 404: 'not_found_error', 408: 'timeout_error', 409: 'conflict_error',
  413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 504: 'timeout_error',
  529: 'overloaded_error',
};
const DEFAULT_MESSAGE_BY_TYPE = {
  overloaded_error: 'Overloaded',
  rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit',
  api_error: 'Internal server error',
  timeout_error: 'Request timed out',
};

const FORM_KEYS = new Set([
  'text', 'thinking', 'redactedThinking', 'toolUses', 'stopReason', 'stopSequence', 'truncateToolInput',
  'deltaChars', 'jsonChars', 'status', 'errorType', 'message', 'body', 'headers', 'raw', 'streamError',
  'afterEvents', 'dropAfterEvents', 'stallAfterEvents', 'delayMs', 'eventDelayMs', 'chunkBytes', 'crlf',
  'comments', 'stampDeltas',
]);

const COUNT_FORM_KEYS = new Set(['status', 'errorType', 'message', 'delayMs', 'drop']);

const pem = (v) => (String(v).includes('-----BEGIN') ? v : readFileSync(v));

/** The text a stamped delta carries: when it was sent, on this process's
 * performance clock (ms, µs precision). */
export const deltaStamp = () => `<t:${performance.now().toFixed(3)}>`;
/** Every stamp in a text, as numbers. */
export const stampsIn = (text) => [...String(text).matchAll(/<t:([0-9.]+)>/g)].map((m) => Number(m[1]));

function errorOf(form) {
  const type = form.errorType ?? ERROR_TYPE_BY_STATUS[form.status] ?? (form.status >= 500 ? 'api_error' : 'invalid_request_error');
  return { status: form.status, type, message: form.message ?? DEFAULT_MESSAGE_BY_TYPE[type] ?? `mock ${form.status}` };
}

// Resolves true once the chunk reached the socket, false if the connection is gone.
function writeChunk(res, chunk) {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = () => resolve(false);
    res.once('close', onClose);
    res.write(chunk, (err) => { res.off('close', onClose); resolve(!err); });
  });
}

async function writeBytes(res, text, chunkBytes) {
  const bytes = Buffer.from(text);
  if (!chunkBytes) return writeChunk(res, bytes);
  for (let i = 0; i < bytes.length; i += chunkBytes) {
    if (!await writeChunk(res, bytes.subarray(i, i + chunkBytes))) return false;
  }
  return true;
}

/**
 * Starts the mock. opts: cert, key (paths or PEM), script (array of forms),
 * port, host, expectKey, expectToken, requireOAuthBeta.
 */
export async function startMock({ cert, key, script = [], port = 0, host = '127.0.0.1', ...authOpts }) {
  const requests = [];
  const finished = [];
  const events = new EventEmitter();
  const timers = new Set();
  const cache = new PromptCache();
  const countRequests = [];
  let countForm = null;
  let queue = [...script];
  let responder = null;
  let closing = false;

  const sleep = (ms) => new Promise((resolve) => {
    const t = setTimeout(() => { timers.delete(t); resolve(); }, ms);
    timers.add(t);
  });
  // A timer counts from the loop's cached clock, which lags the real one
  // by however long the loop has been busy: "ms after `since`" by the real
  // clock takes as many timers as it takes.
  const sleepSince = async (since, ms) => {
    for (let left = ms; left > 0; left = since + ms - performance.now()) await sleep(Math.ceil(left));
  };

  async function nextForm(rec) {
    if (queue.length > 0) return queue.shift();
    if (responder) return responder(rec.body, rec.index);
    return { status: 500, errorType: 'api_error', message: 'mock script exhausted' };
  }

  function sendError(res, rec, err, rawBody) {
    const body = rawBody ?? JSON.stringify({
      type: 'error', error: { type: err.type, message: err.message }, request_id: res.getHeader('request-id'),
    });
    rec.status = err.status;
    res.writeHead(err.status, STATUS_CODES[err.status] ?? (err.status === 529 ? 'Overloaded' : 'Unknown'), {
      'content-type': rawBody === undefined ? 'application/json' : 'text/html',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  async function sendRaw(res, rec, form) {
    rec.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    if (await writeBytes(res, form.raw, form.chunkBytes)) res.end();
  }

  async function sendStream(res, rec, form) {
    const ending = form.streamError ? 'error' : form.dropAfterEvents !== undefined ? 'drop'
      : form.stallAfterEvents !== undefined ? 'stall' : 'complete';
    const empty = !form.text && !form.thinking && !form.redactedThinking && !form.toolUses?.length;
    const message = ending !== 'complete' && empty ? { ...form, text: CUT_STREAM_DEFAULT_TEXT } : form;
    let all;
    try {
      all = buildMessageEvents(message, {
        model: rec.body.model,
        messageId: `msg_mock_${rec.index}`,
        toolIdPrefix: `toolu_mock_${rec.index}`,
        usage: cache.usage(rec.body, rec.bodyBytes),
      });
    } catch (e) {
      return sendError(res, rec, { status: 500, type: 'api_error', message: `mock: bad response form: ${e.message}` });
    }
    const count = { error: form.afterEvents ?? DEFAULT_STREAM_ERROR_AFTER_EVENTS, drop: form.dropAfterEvents,
      stall: form.stallAfterEvents, complete: all.length }[ending];

    rec.status = 200;
    const headers = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
    if (ending === 'error') headers.connection = 'close';
    res.writeHead(200, headers);
    res.flushHeaders();
    if (!await writeBytes(res, encodePreamble(form), form.chunkBytes)) return;
    let sentAt = 0;
    for (const ev of all.slice(0, count)) {
      if (rec.eventsSent > 0 && form.eventDelayMs) await sleepSince(sentAt, form.eventDelayMs);
      sentAt = performance.now();
      if (form.stampDeltas && ev.data.delta?.type === 'text_delta') ev.data.delta.text = deltaStamp();
      if (!await writeBytes(res, encodeEvent(ev, form), form.chunkBytes)) return;
      rec.eventsSent++;
    }
    if (ending === 'error') {
      const error = { type: 'error', error: { type: form.streamError.type, message: form.streamError.message } };
      if (await writeBytes(res, encodeEvent({ event: 'error', data: error }, form), form.chunkBytes)) res.end();
    } else if (ending === 'drop') {
      rec.dropped = true;
      res.socket.destroy();
    } else if (ending === 'complete') {
      res.end(() => { rec.endedAt = performance.now(); });
    }
  }

  async function answer(req, res, rec) {
    const path = new URL(req.url, 'https://mock').pathname;
    const rejection = rec.bodyBytes > MAX_BODY_BYTES
      ? { status: 413, type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' }
      : req.method !== 'POST' || path !== '/v1/messages'
        ? { status: 404, type: 'not_found_error', message: `${req.method} ${path}: not found` }
        : checkHeaders(req.headers, authOpts)
          ?? (rec.body === null ? { status: 400, type: 'invalid_request_error', message: 'body: invalid JSON' } : checkBody(rec.body));
    if (rejection) {
      rec.rejected = rejection;
      return sendError(res, rec, rejection);
    }

    let form;
    try {
      form = await nextForm(rec);
      const unknown = Object.keys(form).filter((k) => !FORM_KEYS.has(k));
      if (unknown.length > 0) throw new Error(`unknown response form key(s): ${unknown.join(', ')}`);
    } catch (e) {
      form = { status: 500, errorType: 'api_error', message: `mock: bad response form: ${e.message}` };
    }
    rec.response = form;
    if (form.delayMs) await sleep(form.delayMs);
    if (res.destroyed) return;
    for (const [name, value] of Object.entries(form.headers ?? {})) res.setHeader(name, value);
    if (form.raw !== undefined) return sendRaw(res, rec, form);
    if (form.status !== undefined) return sendError(res, rec, errorOf(form), form.body);
    return sendStream(res, rec, form);
  }

  // count_tokens: the same header checks, its own body checks, then the
  // set form (an error, a delay, a dropped connection) or the count.
  async function answerCount(req, res, rec) {
    const rejection = rec.bodyBytes > MAX_BODY_BYTES
      ? { status: 413, type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' }
      : checkHeaders(req.headers, authOpts)
        ?? (rec.body === null ? { status: 400, type: 'invalid_request_error', message: 'body: invalid JSON' } : checkCountBody(rec.body));
    if (rejection) {
      rec.rejected = rejection;
      return sendError(res, rec, rejection);
    }
    const form = countForm ?? {};
    if (form.delayMs) await sleep(form.delayMs);
    if (res.destroyed) return;
    if (form.drop) {
      rec.dropped = true;
      res.socket.destroy();
      return;
    }
    if (form.status !== undefined) return sendError(res, rec, errorOf(form));
    // Counted like the usage of a Messages request, and cached by nothing.
    const body = JSON.stringify({ input_tokens: Math.ceil(rec.bodyBytes / BYTES_PER_TOKEN) });
    rec.status = 200;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function handle(req, res) {
    const rec = {
      index: -1, method: req.method, path: req.url, headers: req.headers, body: null, bodyBytes: 0,
      receivedAt: Date.now(), arrivedAt: performance.now(), status: null, rejected: null, response: null,
      eventsSent: 0, endedAt: null, finishedAt: null, clientAborted: false, dropped: false,
    };
    let finish;
    const done = new Promise((resolve) => { finish = resolve; });
    res.on('close', () => {
      if (!res.writableFinished && !rec.dropped && !closing) rec.clientAborted = true;
      rec.finishedAt = Date.now();
      finish(rec);
    });
    const chunks = [];
    try {
      for await (const c of req) {
        rec.bodyBytes += c.length;
        if (rec.bodyBytes <= MAX_BODY_BYTES) chunks.push(c);
      }
    } catch {
      return; // the client went away while sending
    }
    try {
      rec.body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      rec.body = null;
    }
    if (req.method === 'POST' && new URL(req.url, 'https://mock').pathname === '/v1/messages/count_tokens') {
      rec.index = countRequests.length;
      countRequests.push(rec);
      res.setHeader('request-id', `req_mock_count_${rec.index}`);
      res.setHeader('anthropic-organization-id', ORGANIZATION_ID);
      events.emit('request');
      await answerCount(req, res, rec);
      return;
    }
    rec.index = requests.length;
    requests.push(rec);
    finished.push(done);
    res.setHeader('request-id', `req_mock_${rec.index}`);
    res.setHeader('anthropic-organization-id', ORGANIZATION_ID);
    events.emit('request');
    await answer(req, res, rec);
  }

  const server = https.createServer({ cert: pem(cert), key: pem(key), ALPNProtocols: ['http/1.1'] }, (req, res) => {
    handle(req, res).catch((e) => {
      console.error('mock-anthropic: handler failed:', e);
      res.destroy();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const boundPort = server.address().port;

  function waitUntil(ready, what, timeoutMs) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = ready();
        if (value === undefined) return false;
        clearTimeout(timer);
        events.off('request', check);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        events.off('request', check);
        reject(new Error(`mock-anthropic: ${what} not seen within ${timeoutMs} ms (${requests.length} requests so far)`));
      }, timeoutMs);
      if (!check()) events.on('request', check);
    });
  }

  return {
    port: boundPort,
    url: `https://127.0.0.1:${boundPort}`,
    requests,
    countRequests,
    push: (...forms) => { queue.push(...forms); },
    /** How count_tokens answers from now on: null (the count) or a form of COUNT_FORM_KEYS. */
    setCountTokens: (form) => {
      const unknown = Object.keys(form ?? {}).filter((k) => !COUNT_FORM_KEYS.has(k));
      if (unknown.length > 0) throw new Error(`mock-anthropic: unknown count_tokens form key(s): ${unknown.join(', ')}`);
      countForm = form;
    },
    setScript: (forms) => { queue = [...forms]; },
    setResponder: (fn) => { responder = fn; },
    /** Resolves with requests once n have arrived (bodies read). */
    waitForRequests: (n, timeoutMs = DEFAULT_WAIT_MS) =>
      waitUntil(() => (requests.length >= n ? requests : undefined), `${n} requests`, timeoutMs),
    /** Resolves with requests[i] once its connection or response has ended. */
    waitForFinish: async (i, timeoutMs = DEFAULT_WAIT_MS) => {
      const start = Date.now();
      await waitUntil(() => (finished[i] ? true : undefined), `request ${i}`, timeoutMs);
      const left = Math.max(0, timeoutMs - (Date.now() - start));
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`mock-anthropic: request ${i} still open after ${timeoutMs} ms`)), left);
      });
      try {
        return await Promise.race([finished[i], timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      return closed;
    },
  };
}
