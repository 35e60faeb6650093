// A session viewer as cheap as a viewer can be, for many at once: a raw
// socket that splits the stream into frames and finds the mock's delta
// stamps (<t:MS>) in the text_delta frames, with no JSON parsing, so that a
// hundred of them in this process measure the daemon's fan-out rather than
// Node's. (The whole text repeats in the message's text event: those are
// not deliveries of a delta.)
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const STAMP = /<t:([0-9.]+)>/g;

/** Resolves once caught up: {turnEnd(): promise of the next turn_end, close()}. */
export function openStampViewer(url, headers, onStamp) {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  const lines = [`GET ${u.pathname} HTTP/1.1`, `Host: ${u.host}`, 'Accept: text/event-stream',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  socket.setEncoding('utf8');
  socket.on('error', () => {});
  let pending = '';
  let ends = [];
  let attached;
  const caughtUp = new Promise((resolve) => { attached = resolve; });
  socket.on('data', (chunk) => {
    const at = performance.now();
    const frames = (pending + chunk).split('\n\n');
    pending = frames.pop();
    for (const frame of frames) {
      if (frame.includes('"kind":"text_delta"')) {
        for (const m of frame.matchAll(STAMP)) onStamp(at - Number(m[1]));
      } else if (frame.includes('"kind":"turn_end"')) {
        for (const end of ends) end();
        ends = [];
      } else if (frame.includes('event: caught-up')) {
        attached();
      }
    }
  });
  return caughtUp.then(() => ({
    turnEnd: () => new Promise((resolve) => ends.push(resolve)),
    close: () => socket.destroy(),
  }));
}
