// A test client for server-sent event streams: the daemon's session stream
// (id / event / data frames and ": keepalive" comments) and, through
// SseParser, the mock API's streams. openStalledStream is a client that
// sends its GET and then never reads, for the slow-client tests.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';

const DEFAULT_WAIT_MS = 5000;
const SUMMARY_DATA_CHARS = 200;

/**
 * WHATWG event-stream parsing over decoded text fed in any pieces: lines end
 * in LF, CRLF or CR (a CR ending one piece and an LF starting the next are
 * one terminator); a blank line dispatches; an event without data is dropped.
 * onEvent gets {id, event, data}: id is this event's "id:" field or null,
 * event defaults to "message", data is parsed as JSON when it parses.
 */
export class SseParser {
  #pending = '';
  #afterCr = false;
  #id = null;
  #event = '';
  #data = [];

  constructor(onEvent, onComment = () => {}) {
    this.onEvent = onEvent;
    this.onComment = onComment;
  }

  feed(text) {
    let s = text;
    if (this.#afterCr && s.startsWith('\n')) s = s.slice(1);
    this.#afterCr = false;
    const buf = this.#pending + s;
    const eol = /\r\n|\r|\n/g;
    let start = 0;
    for (let m = eol.exec(buf); m; m = eol.exec(buf)) {
      if (m[0] === '\r' && eol.lastIndex === buf.length) this.#afterCr = true;
      this.#line(buf.slice(start, m.index));
      start = eol.lastIndex;
    }
    this.#pending = buf.slice(start);
  }

  #line(line) {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return this.onComment(line.slice(1).trim());
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id') this.#id = value;
  }

  #dispatch() {
    const [id, event, data] = [this.#id, this.#event || 'message', this.#data.join('\n')];
    const had = this.#data.length > 0;
    this.#id = null;
    this.#event = '';
    this.#data = [];
    if (!had) return;
    let parsed = data;
    try {
      parsed = JSON.parse(data);
    } catch {
      // not JSON: keep the text
    }
    this.onEvent({ id, event, data: parsed });
  }
}

function summarize(events) {
  return events.map((e) => `${e.id ?? '-'} ${e.event} ${JSON.stringify(e.data).slice(0, SUMMARY_DATA_CHARS)}`).join('\n');
}

/** True for an event whose name or data.kind is type. */
export const isType = (type) => (e) => e.event === type || e.data?.kind === type;

/**
 * GETs url as an event stream; resolves once the response head arrives.
 * For a non-200 answer the body text collects in `body`.
 */
export function openStream(url, { headers = {}, lastEventId } = {}) {
  const hub = new EventEmitter();
  const stream = {
    status: 0, headers: {}, events: [], comments: 0, body: '', ended: false, lastEventId: null,
  };
  let markClosed;
  stream.closed = new Promise((resolve) => { markClosed = resolve; });
  const end = (error) => {
    if (stream.ended) return;
    stream.ended = true;
    hub.emit('end');
    markClosed({ error: error ?? null });
  };
  const parser = new SseParser((e) => {
    stream.events.push(e);
    if (e.id !== null) stream.lastEventId = e.id;
    hub.emit('event');
  }, () => { stream.comments++; hub.emit('comment'); });

  const reqHeaders = { accept: 'text/event-stream', ...headers };
  if (lastEventId !== undefined && lastEventId !== null) reqHeaders['last-event-id'] = String(lastEventId);
  const req = http.request(url, { method: 'GET', headers: reqHeaders, agent: false });

  /** Resolves with the first event from index `from` on that matches. */
  stream.waitFor = (predicate, timeoutMs = DEFAULT_WAIT_MS, from = 0) => new Promise((resolve, reject) => {
    let timer;
    const finish = (fn, value) => {
      clearTimeout(timer);
      hub.off('event', check);
      hub.off('end', closedEarly);
      fn(value);
    };
    const fail = (why) => {
      const err = new Error(`sse-client: ${why}; events so far:\n${summarize(stream.events)}`);
      err.events = stream.events.slice();
      finish(reject, err);
    };
    function check() {
      const hit = stream.events.slice(from).find(predicate);
      if (hit) finish(resolve, hit);
      return hit;
    }
    function closedEarly() { fail('stream closed before a matching event'); }
    if (check()) return;
    if (stream.ended) return fail('stream already closed');
    timer = setTimeout(() => fail(`no matching event within ${timeoutMs} ms`), timeoutMs);
    hub.on('event', check);
    hub.on('end', closedEarly);
  });
  stream.waitForType = (type, timeoutMs, from) => stream.waitFor(isType(type), timeoutMs, from);
  stream.close = () => { req.destroy(); return stream.closed; };

  return new Promise((resolve, reject) => {
    req.on('error', (e) => {
      if (stream.status === 0) reject(e);
      end(e);
    });
    req.on('response', (res) => {
      stream.status = res.statusCode;
      stream.headers = res.headers;
      stream.pauseReading = () => res.pause();
      stream.resumeReading = () => res.resume();
      res.setEncoding('utf8');
      const sse = res.statusCode === 200 && /^text\/event-stream/.test(res.headers['content-type'] ?? '');
      res.on('data', (text) => (sse ? parser.feed(text) : (stream.body += text)));
      res.on('end', () => end());
      res.on('close', () => end());
      resolve(stream);
    });
    req.end();
  });
}

/**
 * Sends GET url with headers on a plain socket and never reads, so the
 * server's writes back up. drainUntilClosed() starts reading (discarding)
 * and resolves once the server has closed the connection.
 */
export function openStalledStream(url, headers = {}) {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  const openedAt = Date.now();
  socket.on('error', () => {}); // a reset counts as closed; 'close' follows
  const lines = [`GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Accept: text/event-stream'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  socket.pause();
  let bytesRead = 0;
  const closed = new Promise((resolve) => socket.on('close', () => resolve({ closedAfterMs: Date.now() - openedAt })));
  return {
    socket,
    closed,
    drainUntilClosed(timeoutMs = DEFAULT_WAIT_MS) {
      socket.on('data', (b) => { bytesRead += b.length; });
      socket.resume();
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`sse-client: stalled stream still open after draining ${bytesRead} bytes for ${timeoutMs} ms`)), timeoutMs);
      });
      return Promise.race([closed, timeout]).then((r) => ({ ...r, bytesRead })).finally(() => clearTimeout(timer));
    },
    close() { socket.destroy(); return closed; },
  };
}
