// The agent loop under test: the real daemon talking to the mock Messages
// API over real TLS, with the test tools of tests/fixtures/lua, plus the
// HTTP calls a test makes against it (sessions, prompts, cancels, streams).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCA } from './ca.mjs';
import { fetchJson, startDaemon } from './daemon.mjs';
import { startMock } from './mock-anthropic.mjs';
import { isType, openStream } from './sse-client.mjs';

export const API_KEY = 'test-key';
export const BEARER = 'integration-bearer-token';
export const AUTH = { authorization: `Bearer ${BEARER}` };
export const TURN_WAIT_MS = 15000;
// Room above what a test expects the daemon to hold: the allocator's
// slack, JSON framing, the loop's buffers.
const RSS_SLACK_KIB = 24 * 1024;
const RSS_SAMPLE_MS = 50;
const HEALTH_EVERY_MS = 100;
const STOP_GRACE_MS = 5000;

const sourceDir = () => {
  const src = process.env.BREAKGLASS_SOURCE_DIR;
  if (!src) throw new Error('agent-stack: BREAKGLASS_SOURCE_DIR is not set');
  return src;
};

/**
 * A scripts folder in dir: prompt.lua and tools/ of fixtures/lua/turns, plus
 * the tools of fixtures/lua/good (echo, nap, spin, bomb, regex, big, ...),
 * whose own prompt.lua wants a context the daemon does not give, and those
 * of each set named in more (e.g. 'journal_tools').
 */
export function makeScriptsDir(dir, more = []) {
  const lua = join(sourceDir(), 'tests', 'fixtures', 'lua');
  const tools = join(dir, 'tools');
  mkdirSync(tools, { recursive: true });
  copyFileSync(join(lua, 'turns', 'prompt.lua'), join(dir, 'prompt.lua'));
  for (const set of ['good', 'turns', ...more]) {
    for (const f of readdirSync(join(lua, set, 'tools'))) {
      if (f.endsWith('.lua')) copyFileSync(join(lua, set, 'tools', f), join(tools, f));
    }
  }
  return dir;
}

/**
 * The source of a tool script named name: its handler(ctx, input) runs the
 * Lua lines of handler in order; opts.schema is its input_schema (a Lua
 * table constructor; an object of anything by default) and opts.mutating,
 * when given, its mutating flag.
 */
export function toolSource(name, description, handler, { schema = '{type = "object"}', mutating } = {}) {
  const flag = mutating === undefined ? '' : `  mutating = ${mutating},\n`;
  return `return {
  name = "${name}",
  description = "${description}",
  input_schema = ${schema},
${flag}  handler = function(ctx, input)
${handler.map((line) => `    ${line}\n`).join('')}  end,
}
`;
}

/**
 * Writes policy/NAME.lua into the scripts folder dir: a policy named name
 * whose before(ctx, call) runs the Lua lines of rules in order (each an
 * `if ... then return {deny = ...} end` or the like). Returns its path.
 */
export function writePolicy(dir, name, description, ...rules) {
  const body = rules.map((line) => `    ${line}\n`).join('');
  const source = `return {
  name = "${name}",
  description = "${description}",
  before = function(ctx, call)
${body}  end,
}
`;
  const file = join(dir, 'policy', `${name}.lua`);
  mkdirSync(join(dir, 'policy'), { recursive: true });
  writeFileSync(file, source);
  return file;
}

/** The daemon's resident memory in KiB (Linux /proc). */
export function rssKib(pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`agent-stack: no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/**
 * True when the daemon runs with AddressSanitizer, whose quarantine keeps
 * freed memory (256 MiB by default): its RSS says little about leaks or
 * bounds, and the sanitizer's own leak check covers them there.
 */
export function underAddressSanitizer(pid) {
  return /libasan|libclang_rt\.asan/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));
}

/** Samples the daemon's RSS until stop(); peak() is the highest seen. */
export function sampleRss(pid) {
  let peak = 0;
  const timer = setInterval(() => { peak = Math.max(peak, rssKib(pid)); }, RSS_SAMPLE_MS);
  return { stop: () => clearInterval(timer), peak: () => Math.max(peak, rssKib(pid)) };
}

/**
 * Sends GET /health to the stack st every everyMs, without waiting for
 * earlier answers, until stop(); stop() waits for the answers and gives
 * each as {ms, status} (status: the error's message when the request
 * failed). Whatever holds the daemon's loop delays every request sent
 * meanwhile.
 */
export function watchHealth(st, everyMs = HEALTH_EVERY_MS) {
  const answers = [];
  const asking = [];
  const ask = async () => {
    const t0 = performance.now();
    let status;
    try {
      status = (await st.health()).status;
    } catch (e) {
      status = e.message;
    }
    answers.push({ ms: performance.now() - t0, status });
  };
  const timer = setInterval(() => asking.push(ask()), everyMs);
  asking.push(ask());
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(asking);
      return answers;
    },
  };
}

/** Asserts that each of watchHealth's answers was a 200 within maxMs; what says when. */
export function assertHealthWithin(answers, maxMs, what) {
  for (const a of answers) assert.equal(a.status, 200, `/health ${what}: ${JSON.stringify(a)}`);
  const slowest = Math.round(Math.max(...answers.map((a) => a.ms)));
  assert.ok(slowest < maxMs, `/health took ${slowest} ms ${what}`);
}

/**
 * Asserts that the daemon's RSS grew by less than expectedBytes plus some
 * slack; t (the node:test context) gets the number as a diagnostic.
 */
export function checkRssGrowth(t, pid, growthKib, expectedBytes) {
  t.diagnostic(`RSS grew by ${growthKib} KiB`);
  if (underAddressSanitizer(pid)) return t.diagnostic('RSS is not checked under AddressSanitizer');
  const maxKib = expectedBytes / 1024 + RSS_SLACK_KIB;
  assert.ok(growthKib < maxKib, `RSS grew by ${growthKib} KiB, more than ${maxKib} KiB`);
}

/**
 * The model side of a stack: a CA in dir/pki and the mock Messages API
 * serving its certificate, expecting API_KEY. {pki, mock, env}; the daemon
 * trusts pki.caCert (the image test mounts it into its container), and env
 * is the daemon's settings that point it at the mock.
 */
export async function startModel(dir) {
  const pki = makeCA(join(dir, 'pki'));
  const mock = await startMock({ cert: pki.serverCert, key: pki.serverKey, expectKey: API_KEY });
  const env = { ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: mock.url, BREAKGLASS_CA_FILE: pki.caCert };
  return { pki, mock, env };
}

/** The scripts folder a stack runs: see startStack's `scripts`. */
function scriptsFolder(dir, scripts) {
  if (scripts === 'fixture') return makeScriptsDir(join(dir, 'scripts'));
  if (scripts === 'shipped') return join(sourceDir(), 'lua');
  return scripts;
}

/**
 * Starts the model side (startModel) and a daemon pointed at it, on the
 * data folder dir/data. scripts: 'fixture' (makeScriptsDir), 'shipped'
 * (lua/ of the source tree) or a folder. env adds to or (undefined)
 * removes from the daemon's settings, e.g. {ANTHROPIC_API_KEY: undefined}
 * for a daemon without a credential.
 */
export async function startStack(dir, { env = {}, bin, scripts = 'fixture' } = {}) {
  const scriptsDir = scriptsFolder(dir, scripts);
  const model = await startModel(dir);
  const { mock } = model;
  // The last daemon started: still there once stopped, for its log.
  let daemon = null;
  let running = false;
  const dataDir = join(dir, 'data');
  const settings = {
    ...model.env,
    API_BEARER_TOKEN: BEARER,
    BREAKGLASS_SCRIPTS_DIR: scriptsDir,
    ...env,
  };
  const url = (path) => `${daemon.url}${path}`;
  const post = (path, body = {}) => fetchJson(url(path), { method: 'POST', headers: AUTH, body });

  const stack = {
    mock,
    daemon,
    dataDir,
    url,
    post,
    get: (path) => fetchJson(url(path), { headers: AUTH }),
    attach: (id, opts = {}) => openStream(url(`/api/session/${id}/stream`), { ...opts, headers: { ...AUTH, ...opts.headers } }),
    streamUrl: (id) => url(`/api/session/${id}/stream`),
    prompt: (id, prompt) => post(`/api/session/${id}/prompt`, { prompt }),
    cancel: (id) => post(`/api/session/${id}/cancel`),
    health: () => fetchJson(url('/health')),
    async newSession() {
      const r = await post('/api/session');
      assert.equal(r.status, 200, r.text);
      return r.json.session_id;
    },
    /**
     * Scripts the mock with forms, opens a session with a stream attached,
     * and sends prompt. Returns {id, stream, first}: first is the index in
     * mock.requests of the turn's first model call.
     */
    async startTurn(forms, prompt = 'Is the devvm healthy?') {
      mock.setScript(forms);
      const id = await stack.newSession();
      const stream = await stack.attach(id);
      await stream.waitFor((e) => e.event === 'caught-up');
      const first = mock.requests.length;
      const r = await stack.prompt(id, prompt);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { status: 'started' });
      return { id, stream, first };
    },
    /**
     * startTurn, then waits for the turn to end (turnEvents, within waitMs):
     * {id, stream, first, events}.
     */
    async runTurn(forms, { prompt, waitMs } = {}) {
      const turn = await stack.startTurn(forms, prompt);
      return { ...turn, events: await turnEvents(turn.stream, waitMs) };
    },
    /**
     * Starts the daemon on the stack's data folder, stopping the running
     * one first; extraEnv adds to the settings for this start only.
     */
    async start(extraEnv = {}) {
      if (running) await stack.stop();
      daemon = await startDaemon({ env: { ...settings, ...extraEnv }, dataDir, bin });
      running = true;
      stack.daemon = daemon;
      return daemon;
    },
    /**
     * Stops the daemon, asserting that SIGTERM ends it with status 0 and no
     * sanitizer report (a SIGKILLed daemon would hide a leak report).
     */
    async stop() {
      if (!running) return;
      running = false;
      assert.deepEqual(await daemon.stop('SIGTERM', STOP_GRACE_MS), { code: 0, signal: null });
    },
    /** kill -9, as a crash would: the journal alone must bring sessions back. */
    async kill9() {
      running = false;
      await daemon.kill9();
    },
    /**
     * Stops the daemon (SIGTERM, exit 0; or kill -9 with {kill9: true}) and
     * starts it again on the same data.
     */
    async restart({ kill9 = false } = {}) {
      if (kill9) await stack.kill9();
      return stack.start();
    },
    /** Stops the daemon as stop() does, then the mock. */
    async close() {
      try {
        await stack.stop();
      } finally {
        await mock.close();
      }
    },
  };
  try {
    await stack.start();
  } catch (e) {
    await mock.close();
    throw e;
  }
  return stack;
}

/** Event data of a stream from its `user` event to its next `turn_end`. */
export async function turnEvents(stream, timeoutMs = TURN_WAIT_MS, from = 0) {
  const user = stream.events.findIndex((e, i) => i >= from && isType('user')(e));
  await stream.waitForType('turn_end', timeoutMs, Math.max(from, user));
  const start = stream.events.findIndex((e, i) => i >= from && isType('user')(e));
  const end = stream.events.findIndex((e, i) => i > start && isType('turn_end')(e));
  return stream.events.slice(start, end + 1).map((e) => e.data);
}

export const typesOf = (events) => events.map((e) => e.kind);
export const textOf = (events) => events.filter((e) => e.kind === 'text').map((e) => e.text).join('');
