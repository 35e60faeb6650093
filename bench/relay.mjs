// Text on its way to the page: the mock stamps each text delta as it sends
// it (stampDeltas), and a viewer of the session notes when each stamp
// arrives; the baseline reads the same stream straight from the mock, so
// the difference is the daemon's relay (TLS in, redaction, the journal,
// SSE out). Then many viewers of one session: the slowest deliveries, and
// how much of a core the daemon's loop spends while it fans out.
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { stampsIn } from '../tests/lib/mock-anthropic.mjs';
import { SseParser } from '../tests/lib/sse-client.mjs';
import { loopCpuSeconds } from './lib/memory.mjs';
import { median, p99 } from './lib/stats.mjs';
import { openStampViewer } from './lib/stamp-viewer.mjs';
import { AUTH, startBench } from './lib/stack.mjs';

const DELTA_GAP_MS = 2;
const streamForm = (deltas) => ({ text: 'x'.repeat(8 * deltas), deltaChars: 8, eventDelayMs: DELTA_GAP_MS,
  stampDeltas: true });

/** Latencies (ms) of the stamps a viewer receives until the turn ends. */
function collect(viewer, out) {
  return viewer.listen((data, at) => {
    if (data?.kind === 'text_delta') for (const t of stampsIn(data.text)) out.push(at - t);
  });
}

/** The same stream read from the mock directly: latencies (ms). */
function direct(model, deltas) {
  model.mock.setResponder(() => streamForm(deltas));
  const body = JSON.stringify({ model: 'claude-bench', max_tokens: 1024, stream: true,
    messages: [{ role: 'user', content: 'stream' }] });
  return new Promise((resolve, reject) => {
    const out = [];
    const parser = new SseParser((e) => {
      const at = performance.now();
      if (e.data?.delta?.type === 'text_delta') for (const t of stampsIn(e.data.delta.text)) out.push(at - t);
    });
    const req = https.request(`${model.mock.url}/v1/messages`, { method: 'POST', headers: model.headers, ca: model.ca,
      agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (s) => parser.feed(s));
      res.on('end', () => resolve(out));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One turn streaming deltas to n viewers: latencies and the loop's CPU share. */
async function fanOut(b, model, n, deltas) {
  model.mock.setResponder(() => streamForm(deltas));
  const id = await b.newSession();
  const latencies = [];
  let first = null;
  const onStamp = (ms) => {
    if (first === null) first = { cpu: loopCpuSeconds(b.pid), at: performance.now() };
    latencies.push(ms);
  };
  const url = `${b.daemon.url}/api/session/${id}/stream`;
  const viewers = await Promise.all(Array.from({ length: n }, () => openStampViewer(url, AUTH, onStamp)));
  const ends = viewers.map((v) => v.turnEnd());
  await b.prompt(id, 'stream to everyone');
  await Promise.all(ends);
  const share = (loopCpuSeconds(b.pid) - first.cpu) / ((performance.now() - first.at) / 1000);
  for (const v of viewers) v.close();
  return { p50: median(latencies), p99: p99(latencies), count: latencies.length, loopCpu: share };
}

export async function measureRelay({ bin, model, turns, deltas, viewers }) {
  const b = await startBench({ bin, env: model.env });
  try {
    const relayed = [];
    const baseline = [];
    for (let i = 0; i < turns; i++) {
      model.mock.setResponder(() => streamForm(deltas));
      const id = await b.newSession();
      const viewer = await b.viewer(id);
      collect(viewer, relayed);
      const end = viewer.waitFor('turn_end');
      await b.prompt(id, 'stream');
      await end;
      viewer.close();
      baseline.push(...await direct(model, deltas));
    }
    const one = await fanOut(b, model, 1, deltas);
    const many = await fanOut(b, model, viewers, deltas);
    return {
      relay: { p50: median(relayed), p99: p99(relayed), count: relayed.length },
      direct: { p50: median(baseline), p99: p99(baseline), count: baseline.length },
      one, many,
    };
  } finally {
    await b.stop();
  }
}
