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
