// A test client for server-sent event streams: the daemon's session stream
// (id / event / data frames and ": keepalive" comments) and, through
// SseParser, the mock API's streams. openStalledStream is a client that
// sends its GET and then never reads, for the slow-client tests.
// SseParser adapts the page's parser, so the framing is parsed in one place.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { SseParser as PageSseParser, SSE_MAX_BUFFER_CHARS } from '../../www/sse.mjs';

const DEFAULT_WAIT_MS = 5000;
const SUMMARY_DATA_CHARS = 200;

/**
 * The page's event-stream parser (www/sse.mjs: line ends in any form and
 * split anywhere, BOM, bounded lines) with the callback API the tests and
 * bench use. onEvent gets {id, event, data}: id is this event's "id:" field
 * or null, event defaults to "message", data is parsed as JSON when it
 * parses. onComment gets each comment's text, as the parser meets it, so
 * within one fed piece it may come before an event that preceded it.
 * feed throws SseParserError past SSE_MAX_BUFFER_CHARS.
 */
export class SseParser {
  #parser;

  constructor(onEvent, onComment = () => {}) {
    this.onEvent = onEvent;
    this.onComment = onComment;
    this.#parser = new PageSseParser(SSE_MAX_BUFFER_CHARS, (text) => this.onComment(text.trim()));
  }

  feed(text) {
    for (const { id, type, data } of this.#parser.push(text)) {
      let parsed = data;
      try {
        parsed = JSON.parse(data);
      } catch {
        // not JSON: keep the text
      }
      this.onEvent({ id, event: type, data: parsed });
    }
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
