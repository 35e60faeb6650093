// A session's event stream, kept attached: fetch() with a body reader (so
// the Authorization header can be sent), resumed with Last-Event-ID after a
// drop, with backoff between attempts and an idle limit that notices a
// connection which went silent without closing (a hung daemon, a dead
// proxy): nothing, not even a keepalive, for twice the keepalive interval
// the server names in caught-up.

import { SseParser } from './sse.mjs';

// Until the server has named its keepalive interval (its default is 20 s).
export const STREAM_IDLE_TIMEOUT_MS = 60_000;
// Silence for this many keepalive intervals means the connection is dead.
export const STREAM_IDLE_KEEPALIVES = 2;
// Bounds on what a server may ask for, so a bad value cannot make the page
// give up at once or never.
const STREAM_IDLE_MIN_MS = 2_000;
const STREAM_IDLE_MAX_MS = 600_000;
export const STREAM_BACKOFF_FIRST_MS = 500;
export const STREAM_BACKOFF_MAX_MS = 15_000;

// Delay before reconnect attempt n (0-based): doubling from the first
// delay up to the cap, minus up to 25 % jitter so many tabs do not return
// in step.
export function backoffDelayMs(attempt, random = Math.random) {
  const base = Math.min(STREAM_BACKOFF_MAX_MS, STREAM_BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 16));
  return Math.round(base * (1 - 0.25 * random()));
}

// callbacks:
//   onEvent(event)         a daemon event (parsed JSON with "kind" and "id")
//   onCaughtUp()           replay is complete; what follows is live
//   onState(state, info)   'connecting' | 'replaying' | 'live' |
//                          'reconnecting' ({delayMs, reason, attempt:
//                          failed attempts in a row})
//   onFatal(reason)        'unauthorized' | 'not_found'; the stream stops
//   headers()              extra request headers (the bearer token)
export class EventStream {
  constructor(url, callbacks) {
    this.url = url;
    this.cb = callbacks;
    this.lastEventId = null; // the resume point, as the server wrote it
    this.lastSeq = -1;       // the same as a number, to drop repeats
    this.attempt = 0;
    this.stopped = false;
    this.controller = null;
    this.abortReason = '';
    this.idleTimer = null;
    this.idleMs = STREAM_IDLE_TIMEOUT_MS;
    this.sleepTimer = null;
    this.wake = null;
  }

  start() {
    this.run();
  }

  stop() {
    this.stopped = true;
    this.interrupt('stopped');
  }

  // After the browser comes back online: skip the rest of the backoff.
  reconnectNow() {
    if (this.stopped) return;
    this.attempt = 0;
    if (this.wake) this.wake();
  }

  interrupt(reason) {
    if (this.controller) {
      this.abortReason = reason;
      this.controller.abort();
    }
    if (this.wake) this.wake();
  }

  async run() {
    let first = true;
    while (!this.stopped) {
      this.cb.onState(first ? 'connecting' : 'reconnecting', { delayMs: 0, reason: '', attempt: this.attempt });
      first = false;
      let reason;
      try {
        reason = await this.attachOnce();
      } catch (err) {
        reason = this.abortReason === 'idle'
          ? `no data for ${Math.round(this.idleMs / 1000)} s`
          : err.message || String(err);
      } finally {
        clearTimeout(this.idleTimer);
        this.controller = null;
        this.abortReason = '';
      }
      if (this.stopped || reason === null) return;
      const delayMs = backoffDelayMs(this.attempt++);
      this.cb.onState('reconnecting', { delayMs, reason, attempt: this.attempt });
      await this.sleep(delayMs);
    }
  }

  // One connection, start to end. Returns why it ended (a reconnect
  // follows), or null when it must not be retried.
  async attachOnce() {
    const controller = new AbortController();
    this.controller = controller;
    this.armIdle();
    const headers = { Accept: 'text/event-stream', ...this.cb.headers() };
    if (this.lastEventId !== null) headers['Last-Event-ID'] = this.lastEventId;
    const res = await fetch(this.url, { headers, signal: controller.signal, cache: 'no-store' });
    if (res.status === 401 || res.status === 403) {
      this.stopped = true;
      this.cb.onFatal('unauthorized');
      return null;
    }
    if (res.status === 404) {
      this.stopped = true;
      this.cb.onFatal('not_found');
      return null;
    }
    if (!res.ok || !res.body) return `the server answered ${res.status}`;
    this.cb.onState('replaying', {});
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'the server closed the stream';
      this.armIdle();
      for (const frame of parser.push(decoder.decode(value, { stream: true }))) {
        if (this.stopped) return null;
        this.take(frame);
      }
    }
  }

  take(frame) {
    if (frame.type === 'caught-up') {
      this.learnKeepalive(frame.data);
      this.armIdle();
      this.attempt = 0;
      this.cb.onState('live', {});
      this.cb.onCaughtUp();
      return;
    }
    if (frame.type !== 'message') return;
    const seq = /^[0-9]+$/.test(frame.lastEventId) ? Number(frame.lastEventId) : NaN;
    if (!Number.isNaN(seq)) {
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
    }
    if (frame.lastEventId !== '') this.lastEventId = frame.lastEventId;
    let event;
    try {
      event = JSON.parse(frame.data);
    } catch {
      return;
    }
    if (event !== null && typeof event === 'object' && typeof event.kind === 'string') {
      this.cb.onEvent(event);
    }
  }

  // caught-up's {keepalive_ms}: from then on, and on every reconnect, the
  // stream is dead after STREAM_IDLE_KEEPALIVES intervals of silence.
  learnKeepalive(data) {
    let keepalive = NaN;
    try {
      keepalive = Number(JSON.parse(data).keepalive_ms);
    } catch {
      return;
    }
    if (Number.isFinite(keepalive) && keepalive > 0) {
      this.idleMs = Math.min(STREAM_IDLE_MAX_MS, Math.max(STREAM_IDLE_MIN_MS, STREAM_IDLE_KEEPALIVES * keepalive));
    }
  }

  armIdle() {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.interrupt('idle'), this.idleMs);
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(this.sleepTimer);
        this.wake = null;
        resolve();
      };
      this.wake = done;
      this.sleepTimer = setTimeout(done, ms);
    });
  }
}
