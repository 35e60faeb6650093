// Runs the breakglass daemon for an integration test: a clean environment,
// a port picked by the kernel, every output line kept, and a stop that ends
// with SIGKILL if the daemon does not exit in time.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { scratchDir } from './scratch.mjs';

const LISTEN_TIMEOUT_MS = 10000;
const STOP_GRACE_MS = 10000;
const DEFAULT_WAIT_MS = 5000;
const FETCH_TIMEOUT_MS = 10000;
const LISTENING_LINE = /listening on (\S+):(\d+)/;
// Besides PATH, only what a sanitizer build needs is inherited.
const INHERITED_ENV = ['PATH', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'];
// The first line of a sanitizer build's report (ASan, LSan at exit, UBSan).
const SANITIZER_REPORT = /ERROR: AddressSanitizer|LeakSanitizer|runtime error:/;
// After exit, how long the last output may take to come through the pipes.
const OUTPUT_DRAIN_MS = 2000;

// A test file that dies early must not leave daemons behind.
const running = new Set();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

function daemonEnv(env, dataDir) {
  const out = { BREAKGLASS_LISTEN: '127.0.0.1:0', BREAKGLASS_DATA_DIR: dataDir };
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) out[k] = process.env[k];
  const src = process.env.BREAKGLASS_SOURCE_DIR;
  if (src) {
    out.BREAKGLASS_SCRIPTS_DIR = join(src, 'lua');
    out.BREAKGLASS_WWW_DIR = join(src, 'www');
  }
  Object.assign(out, env);
  for (const [k, v] of Object.entries(out)) if (v === undefined || v === null) delete out[k];
  return out;
}

/**
 * Spawns `$BREAKGLASS_BIN serve ...args` and resolves once it logs
 * "listening on HOST:PORT". env adds to (or, with undefined, removes from)
 * the defaults: BREAKGLASS_LISTEN=127.0.0.1:0, BREAKGLASS_DATA_DIR (dataDir,
 * else a fresh temporary folder removed at exit), and the source tree's lua/ and www/ when
 * BREAKGLASS_SOURCE_DIR is set.
 */
export async function startDaemon({ env = {}, args = [], dataDir, bin = process.env.BREAKGLASS_BIN } = {}) {
  if (!bin) throw new Error('daemon: BREAKGLASS_BIN is not set');
  const dir = dataDir ?? scratchDir('breakglass-data');
  const proc = spawn(bin, ['serve', ...args], { env: daemonEnv(env, dir), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  const log = [];
  const hub = new EventEmitter();
  let exit = null;
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      exit = { code, signal };
      hub.emit('exit');
      resolve(exit);
    });
  });
  const outputDone = new Promise((resolve) => proc.on('close', resolve));
  proc.on('error', (e) => { log.push(`daemon.mjs: spawn failed: ${e.message}`); hub.emit('line'); });
  for (const stream of [proc.stdout, proc.stderr]) {
    createInterface({ input: stream }).on('line', (line) => { log.push(line); hub.emit('line'); });
  }

  /** Resolves with the regex match of the first log line from index `from` on. */
  function waitForLog(regex, timeoutMs = DEFAULT_WAIT_MS, from = 0) {
    return new Promise((resolve, reject) => {
      let timer;
      const stop = () => { clearTimeout(timer); hub.off('line', check); hub.off('exit', gone); };
      const fail = (why) => { stop(); reject(new Error(`daemon: ${why} ${regex}; log:\n${log.join('\n')}`)); };
      function check() {
        for (let i = from; i < log.length; i++) {
          const m = regex.exec(log[i]);
          if (m) { stop(); resolve(m); return true; }
        }
        return false;
      }
      // Output may still be in the pipes when 'exit' fires: look once more later.
      function gone() { setImmediate(() => { if (!check()) fail(`exited (${JSON.stringify(exit)}) before logging`); }); }
      if (check()) return;
      if (exit) return gone();
      timer = setTimeout(() => fail(`no log line within ${timeoutMs} ms matching`), timeoutMs);
      hub.on('line', check);
      hub.on('exit', gone);
    });
  }

  /** The log from the first line of a sanitizer report on, or null. */
  function sanitizerReport() {
    const at = log.findIndex((line) => SANITIZER_REPORT.test(line));
    return at < 0 ? null : log.slice(at).join('\n');
  }

  /**
   * Signals the daemon and resolves with how it exited (SIGKILL after
   * graceMs). Rejects when its output holds a sanitizer report: a leak
   * report comes only at exit, so this is where a test sees it.
   */
  async function stop(signal = 'SIGTERM', graceMs = STOP_GRACE_MS) {
    if (!exit) proc.kill(signal);
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(resolve, graceMs, 'late'); });
    if (await Promise.race([exited, late]) === 'late') proc.kill('SIGKILL');
    clearTimeout(timer);
    const result = await exited;
    const drained = new Promise((resolve) => { timer = setTimeout(resolve, OUTPUT_DRAIN_MS); });
    await Promise.race([outputDone, drained]);
    clearTimeout(timer);
    const report = sanitizerReport();
    if (report) throw new Error(`daemon: the sanitizer reported a bug:\n${report}`);
    return result;
  }

  let m;
  try {
    m = await waitForLog(LISTENING_LINE, LISTEN_TIMEOUT_MS);
  } catch (e) {
    proc.kill('SIGKILL');
    await exited;
    throw e;
  }
  const host = m[1] === '0.0.0.0' ? '127.0.0.1' : m[1];
  const port = Number(m[2]);
  return {
    port,
    url: `http://${host}:${port}`,
    dataDir: dir,
    proc,
    log,
    exited,
    waitForLog,
    sanitizerReport,
    stop,
    kill9: () => { proc.kill('SIGKILL'); return exited; },
  };
}

/** Stops a daemon from startDaemon and asserts it exited 0 on SIGTERM. */
export async function stopCleanly(d) {
  assert.deepEqual(await d.stop(), { code: 0, signal: null });
}

/**
 * A loopback port nothing listens on: the kernel's pick, closed again. For
 * a daemon that must keep its address across a restart, or an address
 * that refuses connections.
 */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).on('error', reject));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * One HTTP request; body objects are sent as JSON. Resolves with
 * {status, headers, json (null unless the body parses), text}.
 */
export function fetchJson(url, { method = 'GET', headers = {}, body, timeoutMs = FETCH_TIMEOUT_MS } = {}) {
  const h = { ...headers };
  let payload = body;
  if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
    payload = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: h, agent: false, timeout: timeoutMs }, (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (s) => { text += s; });
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON: callers read text
        }
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`fetchJson: ${method} ${url} was idle for ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
