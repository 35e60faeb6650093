// A child process run to its end without blocking the event loop, for
// tests that must keep serving (a mock, a lab host) while it runs.
import { spawn } from 'node:child_process';

/**
 * Runs cmd ...args with a killer after timeoutMs (SIGKILL; required: a
 * missing one would fire at once). Resolves with
 * {code, signal, status (code, or the signal's name), stdout, stderr
 * (decoded as encoding; '' for one that is not a pipe), ms, pid};
 * onSpawn(child) sees the process, to feed its stdin or kill it early.
 * stdio and detached are spawn's.
 */
export function runAsync(cmd, args, {
  cwd, env, stdio = ['ignore', 'pipe', 'pipe'], detached = false, timeoutMs, encoding = 'utf8', onSpawn,
} = {}) {
  if (!(timeoutMs > 0)) throw new TypeError(`runAsync ${cmd}: timeoutMs must be a positive number of ms`);
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd, env, stdio, detached });
    const out = [];
    const err = [];
    // A pipe's error ends it; 'close' still follows.
    child.stdout?.on('data', (d) => out.push(d));
    child.stdout?.on('error', () => {});
    child.stderr?.on('data', (d) => err.push(d));
    child.stderr?.on('error', () => {});
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        status: code ?? signal,
        stdout: Buffer.concat(out).toString(encoding),
        stderr: Buffer.concat(err).toString(encoding),
        ms: Date.now() - t0,
        pid: child.pid,
      });
    });
    onSpawn?.(child);
  });
}
