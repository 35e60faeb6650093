// Exact bytes to an HTTP/1.1 server over a plain socket, for tests of request
// parsing, limits, pipelining and slow clients. The responses are parsed
// here (status line, headers, Content-Length or chunked bodies); a body with
// neither ends when the connection closes.
import net from 'node:net';

const DEFAULT_TIMEOUT_MS = 5000;
const SLOW_DEFAULT_TIMEOUT_MS = 60000;
const HEAD_END = '\r\n\r\n';

function parseHead(text) {
  const [statusLine, ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new Error(`raw-http: bad status line ${JSON.stringify(statusLine)}`);
  const headers = {};
  const rawHeaders = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    rawHeaders.push([name, value]);
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(m[1]), statusText: m[2] ?? '', headers, rawHeaders };
}

// Body of a chunked message starting at `at`: {body, end} or null if incomplete.
function readChunked(buf, at) {
  const parts = [];
  let pos = at;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return null;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('raw-http: bad chunk size line');
    if (size === 0) { // the CRLF after "0" starts the (usually empty) trailer block
      const trailerEnd = buf.indexOf(HEAD_END, eol);
      return trailerEnd < 0 ? null : { body: Buffer.concat(parts), end: trailerEnd + 4 };
    }
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

/** Every response in buf; the last one has complete:false if cut short. */
export function parseResponses(buf, closed) {
  const out = [];
  let at = 0;
  while (at < buf.length) {
    const headEnd = buf.indexOf(HEAD_END, at);
    if (headEnd < 0) break;
    const res = parseHead(buf.subarray(at, headEnd).toString('latin1'));
    const bodyAt = headEnd + 4;
    let body = null;
    let end = bodyAt;
    if (res.status < 200 || res.status === 204 || res.status === 304) {
      body = Buffer.alloc(0);
    } else if (/chunked/i.test(res.headers['transfer-encoding'] ?? '')) {
      const c = readChunked(buf, bodyAt);
      if (c) ({ body, end } = c);
    } else if (res.headers['content-length'] !== undefined) {
      end = bodyAt + Number(res.headers['content-length']);
      if (buf.length >= end) body = buf.subarray(bodyAt, end);
    } else if (closed) {
      end = buf.length;
      body = buf.subarray(bodyAt);
    }
    if (body === null) {
      out.push({ ...res, body: buf.subarray(bodyAt).toString('utf8'), complete: false });
      break;
    }
    if (res.status >= 200) out.push({ ...res, body: body.toString('utf8'), complete: true });
    at = end;
  }
  return out;
}

/**
 * Sends bytes to 127.0.0.1:port and resolves when `responses` complete
 * responses arrived (and, with waitForClose, the server closed), when the
 * server closed, or at timeoutMs (timedOut: true). halfClose ends our side
 * after sending. Result: the first response's {status, headers, body}, plus
 * {responses, closed, reset, timedOut, raw}.
 */
export function rawRequest(port, bytes, {
  timeoutMs = DEFAULT_TIMEOUT_MS, responses = 1, waitForClose = false, halfClose = false,
} = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let closed = false;
    let reset = false;
    let settled = false;
    const settle = (timedOut) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      try {
        const all = parseResponses(buf, closed);
        const first = all[0] ?? { status: null, headers: {}, body: '' };
        resolve({
          status: first.status, headers: first.headers, body: first.body,
          responses: all, closed, reset, timedOut, raw: buf.toString('latin1'),
        });
      } catch (e) {
        reject(e);
      }
    };
    const check = () => {
      let done;
      try {
        done = parseResponses(buf, closed).filter((r) => r.complete).length;
      } catch {
        return settle(false); // a malformed answer: settle reports it
      }
      if (closed || (done >= responses && !waitForClose)) settle(false);
    };
    const timer = setTimeout(() => settle(true), timeoutMs);
    socket.on('data', (b) => { buf = Buffer.concat([buf, b]); check(); });
    socket.on('error', (e) => { if (e.code === 'ECONNRESET' || e.code === 'EPIPE') reset = true; });
    socket.on('close', () => { closed = true; check(); });
    socket.write(bytes);
    if (halfClose) socket.end();
  });
}

/**
 * Sends text one byte every intervalMs and resolves once the server closes
 * the connection: {closedAfterMs, bytesSent, response} (the first response
 * it sent, or null). Rejects if the server is still open after timeoutMs.
 */
export function slowRequest(port, text, intervalMs, { timeoutMs = SLOW_DEFAULT_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(text);
    const socket = net.connect(port, '127.0.0.1');
    const startedAt = Date.now();
    let buf = Buffer.alloc(0);
    let bytesSent = 0;
    let ticker = null;
    const timer = setTimeout(() => {
      clearInterval(ticker);
      socket.destroy();
      reject(new Error(`raw-http: server still open after ${timeoutMs} ms and ${bytesSent} bytes`));
    }, timeoutMs);
    socket.on('connect', () => {
      ticker = setInterval(() => {
        if (bytesSent >= bytes.length || socket.destroyed) return clearInterval(ticker);
        socket.write(bytes.subarray(bytesSent, bytesSent + 1));
        bytesSent++;
      }, intervalMs);
    });
    socket.on('data', (b) => { buf = Buffer.concat([buf, b]); });
    socket.on('error', () => {}); // a reset is a close too; 'close' follows
    socket.on('close', () => {
      clearInterval(ticker);
      clearTimeout(timer);
      try {
        resolve({ closedAfterMs: Date.now() - startedAt, bytesSent, response: parseResponses(buf, true)[0] ?? null });
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * Holds `connections` sockets open to 127.0.0.1:port, socket i sending
 * heads[i % heads.length] and then one byte at a time, bytesPerSecond in all
 * (round robin over the open ones): a slow-body (or slow-head) attack. A
 * socket the server closes is opened again after reconnectMs, so the
 * pressure stays. stop() closes them all and returns the stats:
 * {opened, closedByServer, bytesSent, statuses: {status: count of answers}}.
 */
export function trickleFlood(port, { connections, heads, bytesPerSecond, reconnectMs = 250 }) {
  const TICK_MS = 100;
  const stats = { opened: 0, closedByServer: 0, bytesSent: 0, statuses: {} };
  const sockets = [];
  const timers = new Set();
  let stopped = false;
  const open = (i) => {
    if (stopped) return;
    const socket = net.connect(port, '127.0.0.1');
    stats.opened++;
    sockets[i] = socket;
    let first = '';
    socket.on('connect', () => { socket.write(heads[i % heads.length]); });
    socket.on('data', (b) => {
      if (first.length >= 12) return;
      first += b.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(first);
      if (m) stats.statuses[m[1]] = (stats.statuses[m[1]] ?? 0) + 1;
    });
    socket.on('error', () => {}); // a reset is a close too; 'close' follows
    socket.on('close', () => {
      if (stopped) return;
      stats.closedByServer++;
      const t = setTimeout(() => { timers.delete(t); open(i); }, reconnectMs);
      timers.add(t);
    });
  };
  for (let i = 0; i < connections; i++) open(i);
  const perTick = Math.max(1, Math.round((bytesPerSecond * TICK_MS) / 1000));
  let next = 0;
  const ticker = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      for (let tries = 0; tries < connections; tries++) {
        const s = sockets[next];
        next = (next + 1) % connections;
        if (s && !s.connecting && !s.destroyed && s.writable) {
          s.write('x');
          stats.bytesSent++;
          break;
        }
      }
    }
  }, TICK_MS);
  return {
    stats,
    stop() {
      stopped = true;
      clearInterval(ticker);
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s?.destroy();
      return stats;
    },
  };
}
