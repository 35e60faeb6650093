// Search speed (issue 16, item 2: over 1,000 sessions of 200 events each,
// p50 <= 50 ms): a generated corpus (tests/lib/search-corpus.mjs), then
//   - breakglass search, cold (no index: built from the journals) and warm
//     (the index files beside them);
//   - the daemon: GET /api/sessions/search for random queries once its
//     index is built, with GET /health and GET /api/sessions of the same
//     daemon in the same run as baselines.
//
//   node bench/search-bench.mjs BIN [SESSIONS] [EVENTS] [QUERIES]
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { startDaemon } from '../tests/lib/daemon.mjs';
import { randomness, randomQuery, writeCorpus } from '../tests/lib/search-corpus.mjs';
import { scratchDir } from '../tests/lib/scratch.mjs';

const [bin, sessions = '1000', events = '200', queries = '200'] = process.argv.slice(2);
const TOKEN = 'bench-bearer-token';
const work = scratchDir('search-bench');

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(url) {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    http.get(url, { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let bytes = 0;
      res.on('data', (c) => { bytes += c.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    }).on('error', reject);
  });
}

const quantile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const line = (what, xs) => console.log(`${what.padEnd(44)} ${quantile(xs, 0.5).toFixed(2).padStart(9)} ${quantile(xs, 0.95).toFixed(2).padStart(9)} ${Math.max(...xs).toFixed(2).padStart(9)}`);

function timedCli(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, ['search', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`breakglass search: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const t0 = Date.now();
const sessionsDir = join(work, 'data', 'sessions');
writeCorpus(sessionsDir, Number(sessions), Number(events));
console.log(`corpus: ${sessions} sessions of about ${events} events each, written in ${Date.now() - t0} ms`);

const cold = timedCli([sessionsDir, 'docker', 'restart']);
const warm = [1, 2, 3].map(() => timedCli([sessionsDir, 'docker', 'restart']));

const daemon = await startDaemon({ dataDir: join(work, 'data'), bin, env: { API_BEARER_TOKEN: TOKEN, BREAKGLASS_MAX_SESSIONS: String(Number(sessions) * 2) } });
try {
  const first = await get(`${daemon.url}/api/sessions/search?q=docker`);
  if (first.status !== 200) throw new Error(`search answered ${first.status}`);
  const g = randomness(11);
  const search = [];
  const health = [];
  const list = [];
  let found = 0;
  for (let i = 0; i < Number(queries); i++) {
    const q = randomQuery(g);
    const r = await get(`${daemon.url}/api/sessions/search?${new URLSearchParams(q.params)}`);
    if (r.status !== 200) throw new Error(`search answered ${r.status}`);
    search.push(r.ms);
    found += r.bytes > 200;
    health.push((await get(`${daemon.url}/health`)).ms);
    if (i % 10 === 0) list.push((await get(`${daemon.url}/api/sessions`)).ms);
  }
  console.log(`${'what'.padEnd(44)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'max ms'.padStart(9)}`);
  line('GET /health (baseline: a round trip)', health);
  line(`GET /api/sessions (baseline: ${sessions} listed)`, list);
  line(`GET /api/sessions/search (${queries} queries)`, search);
  console.log(`first search (index built at start): ${first.ms.toFixed(1)} ms; ${found} of ${queries} queries found something`);
  console.log(`breakglass search, cold (index built): ${cold.toFixed(0)} ms; warm (index files): ${quantile(warm, 0.5).toFixed(0)} ms`);
} finally {
  await daemon.stop();
  agent.destroy();
}
