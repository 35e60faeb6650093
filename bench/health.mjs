// /health under load: wrk (Debian's package; scripts/setup.sh installs it)
// with 64 kept-alive connections on 2 threads, for a fixed time; requests
// per second and wrk's latency percentiles.
import { spawnSync } from 'node:child_process';
import { startBench } from './lib/stack.mjs';

const CONNECTIONS = 64;
const THREADS = 2;

const ms = (value, unit) => Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];

export async function measureHealth({ bin, seconds }) {
  const found = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (found.error) throw new Error('wrk is not installed (scripts/setup.sh installs it: apt-get install wrk)');
  const b = await startBench({ bin });
  try {
    const r = spawnSync('wrk', ['-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--latency',
      `${b.daemon.url}/health`], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
    if (r.status !== 0) throw new Error(`wrk: ${r.stderr || r.stdout}`);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
    const pct = (p) => {
      const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(r.stdout);
      return m ? ms(m[1], m[2]) : NaN;
    };
    const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(r.stdout);
    return { rps, p50: pct(50), p99: pct(99), connections: CONNECTIONS, errors: errors ? errors[0] : null };
  } finally {
    await b.stop();
  }
}
