// Issue 12, item 3: one memory budget for every Lua state of the process
// (BREAKGLASS_LUA_MEMORY_TOTAL_MB). The settings are checked at start-up
// and by `breakglass check`; a set whose files at their cap would not fit
// is refused; and a hot reload during a running turn, which used to load a
// second set beside the first with no ceiling (12 policies holding 48 MiB
// each reached 1,215 MiB), now fails cleanly at the budget while the last
// good set keeps serving and the daemon's memory stays under the budget.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { fetchJson } from '../../lib/daemon.mjs';
import { sampleRss, startStack, turnEvents, underAddressSanitizer } from '../../lib/agent-stack.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const BIN = process.env.BREAKGLASS_BIN;
const SOURCE = process.env.BREAKGLASS_SOURCE_DIR;
const INHERITED_ENV = ['PATH', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'];
const RUN_TIMEOUT_MS = 30000;
const RELOAD_WAIT_MS = 15000;
const POLL_MS = 50;

const dir = scratchDir('lua-memory-budget-test');

/** Runs the binary to completion with only env (plus PATH and sanitizer options). */
function run(args, env = {}) {
  const full = {};
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) full[k] = process.env[k];
  Object.assign(full, env);
  const r = spawnSync(BIN, args, { env: full, cwd: dir, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  assert.equal(r.error, undefined, `${args.join(' ')}: ${r.error}`);
  return r;
}

const lines = (text) => text.split('\n').filter((l) => l !== '');
const shipped = () => join(SOURCE, 'lua');
// One Lua state a file: the prompt, each tool, each policy (policy/lib/
// holds modules the policies require into their own states).
const shippedStates = () => 1 + ['tools', 'policy'].reduce((n, d) =>
  n + readdirSync(join(shipped(), d)).filter((f) => f.endsWith('.lua')).length, 0);

describe('the Lua memory settings', () => {
  test('one state may not be allowed more than all together: start-up and check exit 2 naming both', () => {
    const env = { BREAKGLASS_LUA_MEMORY_MB: '300', BREAKGLASS_LISTEN: '127.0.0.1:0' };
    for (const args of [['serve'], ['check', shipped()]]) {
      const r = run(args, env);
      assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
      assert.deepEqual(lines(r.stderr), ['breakglass: BREAKGLASS_LUA_MEMORY_MB (300) is more than '
        + 'BREAKGLASS_LUA_MEMORY_TOTAL_MB (256), the memory all Lua scripts may hold together']);
    }
  });

  test('the shipped set at the old 64 MiB a file is refused naming both settings; the defaults fit', () => {
    const states = shippedStates();
    const r = run(['check', shipped()], { BREAKGLASS_LUA_MEMORY_MB: '64' });
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(lines(r.stderr), [`limits: ${states} script files at BREAKGLASS_LUA_MEMORY_MB=64 each may `
      + `hold ${states * 64} MiB, more than BREAKGLASS_LUA_MEMORY_TOTAL_MB=256 allows all Lua scripts together; `
      + 'lower the first or raise the second']);
    const raised = run(['check', shipped()], { BREAKGLASS_LUA_MEMORY_MB: '64', BREAKGLASS_LUA_MEMORY_TOTAL_MB: String(states * 64) });
    assert.equal(raised.status, 0, raised.stderr);
    const defaults = run(['check', shipped()]);
    assert.equal(defaults.status, 0, defaults.stderr);
  });

  test('a daemon whose set does not fit starts without it and says why on /readyz', async () => {
    const st = await startStack(join(dir, 'too-big'), { env: { BREAKGLASS_LUA_MEMORY_MB: '64' } });
    try {
      const r = await fetchJson(`${st.daemon.url}/readyz`);
      assert.equal(r.status, 503, r.text);
      assert.match(r.json.error, /^limits: 15 script files at BREAKGLASS_LUA_MEMORY_MB=64 each may hold 960 MiB, more than BREAKGLASS_LUA_MEMORY_TOTAL_MB=256 allows/);
      assert.equal((await st.health()).status, 200);
    } finally {
      await st.close();
    }
  });
});

// The reload scenario, scaled down: HOGS policies each hold HOG_MIB under a
// per-state cap of STATE_MB; the budget is exactly one set's caps.
const STATE_MB = 8;
const HOGS = 14;
const HOG_PIECES = 116; // of 64 KiB: 7.25 MiB
const FILES = HOGS + 2; // prompt.lua and tools/nap.lua
const TOTAL_MB = FILES * STATE_MB;
// Over the budget: the daemon's own memory (HTTP, TLS, the loop) and the
// allocator's slack. Without the budget the reload alone adds a whole
// second set (HOGS x 7.25 = 101.5 MiB) on top of the first.
const RSS_MARGIN_MIB = 48;
const NAP_MS = 6000;

function hogPolicy(i, edit) {
  return [
    `-- Holds ${HOG_PIECES} pieces of 64 KiB while its state lives.${edit ? ' Edited.' : ''}`,
    'keep = {}',
    'local piece = ("x"):rep(65536 - 32)',
    `for i = 1, ${HOG_PIECES} do keep[i] = piece .. i end`,
    'return {',
    `  name = "hog_${i}",`,
    '  description = "Holds memory and allows every call.",',
    '  before = function(ctx, call) return nil end,',
    '}',
    '',
  ].join('\n');
}

function writeHogs(scripts, edit) {
  for (let i = 1; i <= HOGS; i++) {
    writeFileSync(join(scripts, 'policy', `hog_${String(i).padStart(2, '0')}.lua`), hogPolicy(i, edit));
  }
}

describe('a hot reload during a running turn, under the budget', () => {
  let st;
  let scripts;
  before(async () => {
    scripts = join(dir, 'hogs', 'hog-scripts');
    mkdirSync(join(scripts, 'tools'), { recursive: true });
    mkdirSync(join(scripts, 'policy'), { recursive: true });
    writeFileSync(join(scripts, 'prompt.lua'), 'return "You are breakglass under test."\n');
    copyFileSync(join(SOURCE, 'tests', 'fixtures', 'lua', 'good', 'tools', 'b_nap.lua'), join(scripts, 'tools', 'nap.lua'));
    writeHogs(scripts, false);
    st = await startStack(join(dir, 'hogs'), {
      scripts,
      env: {
        BREAKGLASS_LUA_MEMORY_MB: String(STATE_MB),
        BREAKGLASS_LUA_MEMORY_TOTAL_MB: String(TOTAL_MB),
      },
    });
  });
  after(() => st?.close());

  /** Asserts that the daemon's peak RSS so far stays under the budget plus the margin. */
  function checkRss(t, rss) {
    const peakMib = rss.peak() / 1024;
    t.diagnostic(`peak RSS ${Math.round(peakMib)} MiB; the budget is ${TOTAL_MB} MiB`);
    if (underAddressSanitizer(st.daemon.proc.pid)) {
      t.diagnostic('RSS is not checked under AddressSanitizer (its quarantine keeps freed memory)');
      return;
    }
    assert.ok(peakMib < TOTAL_MB + RSS_MARGIN_MIB,
      `peak RSS ${Math.round(peakMib)} MiB, over the budget (${TOTAL_MB} MiB) + ${RSS_MARGIN_MIB} MiB`);
  }

  test('the reload fails at the budget naming it; RSS stays under it; the turn and the last good set go on', async (t) => {
    const ready = await fetchJson(`${st.daemon.url}/readyz`);
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.json.error, undefined, ready.text);
    const loaded = ready.json.scripts_loaded_ms;
    const rss = sampleRss(st.daemon.proc.pid);
    try {
      const { stream } = await st.startTurn([
        { toolUses: [{ name: 'nap', input: { ms: NAP_MS } }] },
        { text: 'Napped.' },
      ]);
      await stream.waitForType('tool', RELOAD_WAIT_MS);
      const logFrom = st.daemon.log.length;
      writeHogs(scripts, true);

      // Until the reload is over, one way or the other.
      let r;
      const deadline = Date.now() + RELOAD_WAIT_MS;
      do {
        await sleep(POLL_MS);
        r = await fetchJson(`${st.daemon.url}/readyz`);
      } while (r.json?.degraded !== true && r.json?.scripts_loaded_ms === loaded && Date.now() < deadline);
      checkRss(t, rss);
      assert.equal(r.json.degraded, true, r.text);
      assert.equal(r.json.scripts_loaded_ms, loaded, 'the last good set still serves');
      assert.match(r.json.error, new RegExp(`^policy/hog_\\d+\\.lua:4: memory limit of all Lua scripts together \\(${TOTAL_MB} MiB, BREAKGLASS_LUA_MEMORY_TOTAL_MB\\) exceeded$`, 'm'));
      await st.daemon.waitForLog(/did not reload .*the last good set keeps serving/, RELOAD_WAIT_MS, logFrom);
      assert.equal(stream.events.some((e) => e.data?.kind === 'tool_result'), false,
        `the nap (${NAP_MS} ms) was still running when the reload failed`);

      const events = await turnEvents(stream, NAP_MS + RELOAD_WAIT_MS);
      await stream.close();
      const result = events.find((e) => e.kind === 'tool_result');
      assert.equal(result.is_error, false, result.content);
      assert.equal(result.content, `slept ${NAP_MS}`);
      assert.equal(events.at(-2).result, 'Napped.');

      // The next turn runs on the same set: its policies allow the call.
      const next = await st.startTurn([{ toolUses: [{ name: 'nap', input: { ms: 1 } }] }, { text: 'Again.' }]);
      const again = await turnEvents(next.stream);
      await next.stream.close();
      assert.equal(again.find((e) => e.kind === 'tool_result').content, 'slept 1');
      assert.equal((await st.health()).status, 200);
      checkRss(t, rss);
    } finally {
      rss.stop();
    }
  });
});
