// Start → /health: from spawning `breakglass serve` (the shipped scripts,
// SSH and the model configured, as deployed) to its first answer on
// /health, asked every millisecond; the median of several fresh starts.
// Then the idle daemon's memory.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { scratchDir } from '../tests/lib/scratch.mjs';
import { memoryKib } from './lib/memory.mjs';
import { median } from './lib/stats.mjs';

const POLL_MS = 1;
const START_LIMIT_MS = 20000;
const IDLE_SETTLE_MS = 1000;

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  }).on('error', reject);
});

const healthy = (port) => new Promise((resolve) => {
  const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode === 200));
  });
  req.on('error', () => resolve(false));
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One start: {ms, proc}; the daemon is left running. */
async function startOnce(bin, env) {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(bin, ['serve'], {
    env: { PATH: process.env.PATH, ...env, BREAKGLASS_LISTEN: `127.0.0.1:${port}`,
      BREAKGLASS_DATA_DIR: scratchDir('bg-bench-start') },
    stdio: 'ignore',
  });
  for (;;) {
    if (await healthy(port)) return { ms: performance.now() - t0, proc };
    if (proc.exitCode !== null) throw new Error(`breakglass serve exited with ${proc.exitCode} before /health answered`);
    if (performance.now() - t0 > START_LIMIT_MS) throw new Error('no /health answer within 20 s');
    await sleep(POLL_MS);
  }
}

const stop = (proc) => new Promise((resolve) => { proc.once('exit', resolve); proc.kill('SIGTERM'); });

export async function measureStart({ bin, env, starts }) {
  const times = [];
  let last;
  for (let i = 0; i < starts; i++) {
    const run = await startOnce(bin, env);
    times.push(run.ms);
    if (last) await stop(last);
    last = run.proc;
  }
  await sleep(IDLE_SETTLE_MS);
  const memory = memoryKib(last.pid);
  await stop(last);
  return { startMs: median(times), startTimes: times, idle: memory };
}
