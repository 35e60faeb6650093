// Hot reload of the scripts folder in a running daemon: a broken edit of any
// kind keeps the last good set serving and shows on /readyz; a good edit
// takes effect before the next turn, an edit of a library alone too; a turn
// in progress finishes on the set it started with; a ConfigMap's `..data`
// symlink swap is seen; SIGHUP reloads an edit the watcher could not see.
import assert from 'node:assert/strict';
import {
  existsSync, linkSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { fetchJson } from '../../lib/daemon.mjs';
import { makeScriptsDir, startStack, toolSource, turnEvents } from '../../lib/agent-stack.mjs';
import { LUA_MEMORY_MB, brokenEdits } from '../../lib/broken-scripts.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('scripts-reload-test');

// Small limits, so that the bombs and loops below end quickly.
const LIMITS = {
  BREAKGLASS_LUA_MEMORY_MB: LUA_MEMORY_MB,
  BREAKGLASS_LUA_INSTRUCTIONS: '1000000',
  BREAKGLASS_LUA_CALL_TIMEOUT_MS: '1000',
};
// The daemon acts on a change after a 200 ms quiet period (core/daemon/scripts_reload.h).
const RELOAD_WAIT_MS = 10000;
const POLL_MS = 50;
// Longer than a reload takes, by far: a change the watcher saw would have
// been loaded well within this.
const UNSEEN_CHANGE_MS = 1500;
// The nap a turn is in while the set is swapped under it.
const NAP_MS = 6000;

const FRESH_TOOL = toolSource('fresh', 'Added by an edit.', ['return "fresh ran"']);

/** Writes files (relative path → text, or null to delete) under root. */
function writeFiles(root, files) {
  for (const [rel, text] of Object.entries(files)) {
    const path = join(root, rel);
    if (text === null) {
      rmSync(path, { recursive: true, force: true });
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
  }
}

/** GET /readyz. */
async function readyz(st) {
  const r = await fetchJson(`${st.daemon.url}/readyz`);
  assert.ok(r.json, r.text);
  return r;
}

/** Polls /readyz until pred(json) holds; resolves with that answer. */
async function waitReadyz(st, pred, what) {
  const deadline = Date.now() + RELOAD_WAIT_MS;
  let last;
  while (Date.now() < deadline) {
    last = await readyz(st);
    if (pred(last.json)) return last;
    await sleep(POLL_MS);
  }
  throw new Error(`readyz: no ${what} within ${RELOAD_WAIT_MS} ms; last answer ${last?.status} ${last?.text}`);
}

/**
 * Waits for a successful load newer than the one at sinceMs whose tool list
 * satisfies want (a late reload of the previous state does not count).
 */
const waitReloaded = (st, sinceMs, want = () => true) => waitReadyz(st,
  (j) => j.ready === true && j.degraded === false && j.scripts_loaded_ms > sinceMs && j.error === undefined
    && want(j.tools),
  `reload after ${sinceMs}`);
const has = (name) => (tools) => tools.includes(name);
const isGood = (goodTools) => (tools) => JSON.stringify(tools) === JSON.stringify(goodTools);

/** One turn calling tool name with input; resolves with the model requests and the tool result. */
async function toolTurn(st, name, input = {}) {
  const { stream, first, events } = await st.runTurn([{ toolUses: [{ name, input }] }, { text: 'Done.' }]);
  await stream.close();
  const result = events.find((e) => e.kind === 'tool_result');
  assert.ok(result, JSON.stringify(events));
  assert.equal(events.at(-1).kind, 'turn_end');
  return { result, requests: st.mock.requests.slice(first) };
}

const toolNames = (request) => request.body.tools.map((t) => t.name);
const systemText = (request) => request.body.system.map((b) => b.text).join('');

// Each edit breaks the set in one way and also adds a valid tool, "fresh":
// as long as the edit is refused, "fresh" must not show anywhere.
const BROKEN = [
  ...brokenEdits({ file: 'tools/a_echo.lua', name: 'echo' }, { file: 'tools/b_nap.lua', name: 'nap' })
    .map(({ what, files, line }) => ({ what, files, error: line })),
  {
    what: 'an empty folder',
    files: { 'prompt.lua': null, tools: null },
    error: /^prompt\.lua: cannot open: No such file or directory$/,
    fresh: false, // an empty folder has no room for another tool
  },
];

describe('hot reload of the scripts folder', () => {
  let st;
  let scripts;
  let goodTools;
  before(async () => {
    st = await startStack(join(dir, 'main'), { env: LIMITS });
    scripts = join(dir, 'main', 'scripts');
    const r = await readyz(st);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.degraded, false, r.text);
    goodTools = r.json.tools;
    assert.ok(goodTools.includes('echo') && !goodTools.includes('fresh'), r.text);
  });
  after(() => st?.close());

  for (const b of BROKEN) {
    test(`${b.what}: the last good set keeps serving, the error shows on /readyz and in the log`, async () => {
      const before = (await readyz(st)).json;
      const logFrom = st.daemon.log.length;
      writeFiles(scripts, { ...b.files, ...(b.fresh === false ? {} : { 'tools/zz_fresh.lua': FRESH_TOOL }) });

      const r = await waitReadyz(st, (j) => j.degraded === true, `degraded state for ${b.what}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.ready, true);
      assert.match(r.json.error, b.error);
      assert.equal(r.json.scripts_loaded_ms, before.scripts_loaded_ms, 'the old set is still the one loaded');
      assert.deepEqual(r.json.tools, goodTools);
      await st.daemon.waitForLog(/did not reload .*the last good set keeps serving/, RELOAD_WAIT_MS, logFrom);

      // A turn still runs on the old set: its tools, its prompt, its handlers.
      const { result, requests } = await toolTurn(st, 'echo', { text: 'still here' });
      assert.equal(result.is_error, false, result.content);
      assert.equal(JSON.parse(result.content).echo, 'still here');
      assert.deepEqual(toolNames(requests[0]), goodTools);
      assert.match(systemText(requests[0]), /^You are breakglass under test\./);

      // Put the set back (the fixtures again): it loads and the error is gone.
      rmSync(join(scripts, 'tools', 'zz_fresh.lua'), { force: true });
      makeScriptsDir(scripts);
      await waitReloaded(st, before.scripts_loaded_ms, isGood(goodTools));
    });
  }

  test('a good edit takes effect before the next turn: new tool, new prompt, new handler', async () => {
    // tools/ was removed and made anew above: an edit inside it alone is seen.
    const since = (await readyz(st)).json.scripts_loaded_ms;
    writeFiles(scripts, { 'tools/zz_fresh.lua': FRESH_TOOL });
    const added = await waitReloaded(st, since, has('fresh'));
    // And an edit of the top folder's prompt.lua alone.
    const prompt = readFileSync(join(scripts, 'prompt.lua'), 'utf8');
    writeFiles(scripts, {
      'prompt.lua': prompt.replace('You are breakglass under test.', 'You are breakglass under test, edited.'),
    });
    const r = await waitReloaded(st, added.json.scripts_loaded_ms);
    assert.ok(r.json.tools.includes('fresh'), r.text);

    const { result, requests } = await toolTurn(st, 'fresh');
    assert.equal(result.is_error, false, result.content);
    assert.equal(result.content, 'fresh ran');
    assert.ok(toolNames(requests[0]).includes('fresh'));
    assert.match(systemText(requests[0]), /^You are breakglass under test, edited\./);

    const undo = r.json.scripts_loaded_ms;
    writeFiles(scripts, { 'tools/zz_fresh.lua': null, 'prompt.lua': prompt });
    await waitReloaded(st, undo, isGood(goodTools));
  });

  test('a reload during a turn: the turn finishes on the set it started with, the next one uses the new set', async () => {
    const since = (await readyz(st)).json.scripts_loaded_ms;
    const nap = readFileSync(join(scripts, 'tools', 'b_nap.lua'), 'utf8');
    const prompt = readFileSync(join(scripts, 'prompt.lua'), 'utf8');
    const { stream, first } = await st.startTurn([
      { toolUses: [{ name: 'nap', input: { ms: NAP_MS } }] },
      { text: 'Napped.' },
    ]);
    await stream.waitForType('tool', RELOAD_WAIT_MS);
    writeFiles(scripts, {
      'tools/b_nap.lua': nap.replace('return "slept " .. input.ms', 'return "new nap " .. input.ms'),
      'tools/zz_fresh.lua': FRESH_TOOL,
      'prompt.lua': prompt.replace('You are breakglass under test.', 'You are breakglass under test, swapped.'),
    });
    const swapped = await waitReloaded(st, since, has('fresh'));
    assert.equal(stream.events.some((e) => e.data?.kind === 'tool_result'), false,
      `the nap (${NAP_MS} ms) was still running when the new set came in`);

    const events = await turnEvents(stream, NAP_MS + RELOAD_WAIT_MS);
    await stream.close();
    const result = events.find((e) => e.kind === 'tool_result');
    assert.equal(result.is_error, false, result.content);
    assert.equal(result.content, `slept ${NAP_MS}`, 'the old handler finished the call');
    assert.equal(events.at(-2).result, 'Napped.');
    assert.equal(st.mock.requests.length, first + 2);
    const afterNap = st.mock.requests[first + 1];
    assert.deepEqual(toolNames(afterNap), goodTools, 'the turn keeps its tools');
    assert.match(systemText(afterNap), /^You are breakglass under test\. /, 'and its prompt');

    const next = await toolTurn(st, 'nap', { ms: 1 });
    assert.equal(next.result.content, 'new nap 1');
    assert.ok(toolNames(next.requests[0]).includes('fresh'));
    assert.match(systemText(next.requests[0]), /^You are breakglass under test, swapped\./);

    writeFiles(scripts, { 'tools/zz_fresh.lua': null, 'tools/b_nap.lua': nap, 'prompt.lua': prompt });
    await waitReloaded(st, swapped.json.scripts_loaded_ms, isGood(goodTools));
  });

  test('a library edit alone is picked up, and a broken one is refused naming its file and line', async () => {
    const lib = (text) => `return {text = ${JSON.stringify(text)}}\n`;
    const tool = `local greet = require("greet")
return {
  name = "greet",
  description = "Says what its library says.",
  input_schema = {type = "object"},
  handler = function(ctx, input) return greet.text end,
}
`;
    const since = (await readyz(st)).json.scripts_loaded_ms;
    writeFiles(scripts, { 'tools/lib/greet.lua': lib('first'), 'tools/zz_greet.lua': tool });
    const added = await waitReloaded(st, since, has('greet'));
    assert.equal((await toolTurn(st, 'greet')).result.content, 'first');

    writeFiles(scripts, { 'tools/lib/greet.lua': lib('edited') });
    const edited = await waitReloaded(st, added.json.scripts_loaded_ms, has('greet'));
    assert.equal((await toolTurn(st, 'greet')).result.content, 'edited');

    writeFiles(scripts, { 'tools/lib/greet.lua': 'return {\n  text = = 1,\n}\n' });
    const r = await waitReadyz(st, (j) => j.degraded === true, 'degraded state for a broken library');
    assert.match(r.json.error, /^tools\/lib\/greet\.lua:2: unexpected symbol near '='$/m);
    assert.equal(r.json.scripts_loaded_ms, edited.json.scripts_loaded_ms, 'the old set is still the one loaded');
    assert.equal((await toolTurn(st, 'greet')).result.content, 'edited');

    writeFiles(scripts, { 'tools/lib': null, 'tools/zz_greet.lua': null });
    await waitReloaded(st, edited.json.scripts_loaded_ms, isGood(goodTools));
  });

  test('SIGHUP reloads an edit the watcher cannot see (made through a hard link outside the folder)', async () => {
    // inotify reports a change to the folder the file was opened through:
    // written via its other link, the file changes with no event here.
    const outside = join(dir, 'outside');
    mkdirSync(outside, { recursive: true });
    const other = join(outside, 'zz_linked.lua');
    writeFileSync(other, FRESH_TOOL);
    const since = (await readyz(st)).json.scripts_loaded_ms;
    linkSync(other, join(scripts, 'tools', 'zz_linked.lua'));
    const linked = await waitReloaded(st, since, has('fresh'));

    writeFileSync(other, FRESH_TOOL.replace('name = "fresh"', 'name = "hup"'));
    await sleep(UNSEEN_CHANGE_MS);
    const unseen = await readyz(st);
    assert.equal(unseen.json.scripts_loaded_ms, linked.json.scripts_loaded_ms, 'the watcher saw no change');
    assert.ok(unseen.json.tools.includes('fresh'), unseen.text);

    const logFrom = st.daemon.log.length;
    st.daemon.proc.kill('SIGHUP');
    const hup = await waitReloaded(st, linked.json.scripts_loaded_ms, has('hup'));
    assert.ok(!hup.json.tools.includes('fresh'), hup.text);
    await st.daemon.waitForLog(/SIGHUP: reloading the scripts/, RELOAD_WAIT_MS, logFrom);
    const { result } = await toolTurn(st, 'hup');
    assert.equal(result.content, 'fresh ran');

    unlinkSync(join(scripts, 'tools', 'zz_linked.lua'));
    await waitReloaded(st, hup.json.scripts_loaded_ms, isGood(goodTools));
  });
});

describe('a ConfigMap mount: files are symlinks through ..data, swapped in one rename', () => {
  let st;
  let mount;
  let version = 0;

  /**
   * Writes a full set into a new timestamped folder and points ..data at it
   * with one rename, the way kubelet does; then removes the folder ..data
   * pointed at before (kubelet does so right away), unless keepOld. Returns
   * that folder's path.
   */
  function publish(edit = {}, { keepOld = false } = {}) {
    const stamp = `..2026_12_03_07_00_0${version++}.000000001`;
    const target = join(mount, stamp);
    makeScriptsDir(target);
    writeFiles(target, edit);
    const old = existsSync(join(mount, '..data')) ? join(mount, readlinkSync(join(mount, '..data'))) : null;
    symlinkSync(stamp, join(mount, '..data_tmp'));
    renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
    if (old && !keepOld) rmSync(old, { recursive: true, force: true });
    return old;
  }

  before(async () => {
    mount = join(dir, 'configmap');
    mkdirSync(mount, { recursive: true });
    publish();
    symlinkSync('..data/prompt.lua', join(mount, 'prompt.lua'));
    symlinkSync('..data/tools', join(mount, 'tools'));
    st = await startStack(join(dir, 'cm'), { scripts: mount, env: LIMITS });
  });
  after(() => st?.close());

  test('a swap to a good set is loaded; a swap to a broken one is refused; a swap back recovers', async () => {
    const start = await readyz(st);
    assert.equal(start.json.degraded, false, start.text);
    const goodTools = start.json.tools;
    const prompt = readFileSync(join(mount, 'prompt.lua'), 'utf8');

    // The rename alone is seen: the old folder stays until the new set is in.
    const old = publish({
      'tools/zz_fresh.lua': FRESH_TOOL,
      'prompt.lua': prompt.replace('You are breakglass under test.', 'You are breakglass under test, from the ConfigMap.'),
    }, { keepOld: true });
    const swapped = await waitReloaded(st, start.json.scripts_loaded_ms, has('fresh'));
    rmSync(old, { recursive: true, force: true });
    const { result, requests } = await toolTurn(st, 'fresh');
    assert.equal(result.content, 'fresh ran');
    assert.match(systemText(requests[0]), /^You are breakglass under test, from the ConfigMap\./);

    publish({ 'tools/b_nap.lua': 'return {\n' });
    const broken = await waitReadyz(st, (j) => j.degraded === true, 'degraded state after a broken swap');
    assert.match(broken.json.error, /^tools\/b_nap\.lua:2: /);
    assert.deepEqual(broken.json.tools, swapped.json.tools);
    assert.equal((await toolTurn(st, 'fresh')).result.content, 'fresh ran');

    publish();
    await waitReloaded(st, swapped.json.scripts_loaded_ms, isGood(goodTools));
  });
});

