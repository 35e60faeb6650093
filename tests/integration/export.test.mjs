// breakglass export (issue 16, item 4): the same summary the page exports,
// byte for byte in Markdown: the page's own code (www/incident.mjs) runs in
// Node on what the page gets from the daemon (the session's entry in
// GET /api/sessions and its events), and the command reads the journal.
// Once for a session recorded live (prompts with Markdown in them, calls
// allowed, denied by a policy, declined at a confirm, a cancelled turn),
// before and after a restart; once for many generated journals full of
// the strings and numbers JavaScript spells its own way.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AUTH, makeScriptsDir, startStack, turnEvents } from '../lib/agent-stack.mjs';
import { fetchJson, startDaemon } from '../lib/daemon.mjs';
import { cliExport, pageExport } from '../lib/page-export.mjs';

const dir = mkdtempSync(join(tmpdir(), 'export-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const WAIT_MS = 10000;
const GENERATED_SESSIONS = 60;

const POLICY = `return {
  name = "export_rules",
  description = "a denial and a question for the export test",
  before = function(ctx, call)
    local text = call.input and call.input.text
    if text == "forbidden" then return {deny = "not | this \`one\`\\nreally"} end
    if text == "ask" then return {confirm = "are you sure?"} end
  end,
}
`;

function scripts() {
  const at = makeScriptsDir(join(dir, 'scripts'));
  mkdirSync(join(at, 'policy'), { recursive: true });
  writeFileSync(join(at, 'policy', 'export_rules.lua'), POLICY);
  return at;
}

describe('a session recorded live', () => {
  test('the page\'s export and breakglass export agree byte for byte, before and after a restart', async () => {
    const st = await startStack(join(dir, 'live'), { env: { BREAKGLASS_SCRIPTS_DIR: scripts() } });
    try {
      const { id, stream } = await st.startTurn([
        { toolUses: [{ name: 'echo', input: { text: 'hello | `there`' } }, { name: 'echo', input: { text: 'forbidden' } }] },
        { toolUses: [{ name: 'nap', input: { ms: 5 } }] },
        { text: 'The devvm is fine.\n\n  Disk: 40% | load 0.1  \n> nothing else\n' },
      ], 'Check the `devvm` | now\nplease');
      await turnEvents(stream);

      st.mock.setScript([{ toolUses: [{ name: 'echo', input: { text: 'ask' } }] }, { text: 'Declined, so I stop.' }]);
      assert.equal((await st.prompt(id, 'Ask first.')).status, 200);
      const ask = await stream.waitFor((e) => e.data?.kind === 'confirm_request', WAIT_MS);
      const answer = await st.post(`/api/session/${id}/confirm`, { call_id: ask.data.call_id, approve: false });
      assert.equal(answer.status, 200, answer.text);
      await stream.waitFor((e) => e.data?.kind === 'turn_end' && e.id > ask.id, WAIT_MS);

      st.mock.setScript([{ text: 'Thinking about it for a long while', stallAfterEvents: 3 }]);
      const asked = st.mock.requests.length;
      const started = stream.events.length;
      assert.equal((await st.prompt(id, 'Take your time.')).status, 200);
      await st.mock.waitForRequests(asked + 1, WAIT_MS);
      assert.equal((await st.cancel(id)).status, 200);
      await stream.waitFor((e) => e.data?.kind === 'turn_end', WAIT_MS, started);
      stream.close();

      const journal = join(st.daemon.dataDir, 'sessions', `${id}.jsonl`);
      const page = await pageExport(st.daemon.url, id);
      for (const want of ['## Policy decisions', 'deny by export_rules', 'confirm by export_rules', '| error |', 'cancelled']) {
        assert.ok(page.includes(want), `the recorded session shows "${want}":\n${page}`);
      }
      const cli = cliExport(journal);
      assert.equal(cli.status, 0, cli.err);
      assert.equal(cli.out, page);

      await st.restart();
      assert.equal(cliExport(journal).out, await pageExport(st.daemon.url, id), 'after a restart too');

      const txt = cliExport(journal, 'txt');
      assert.equal(txt.status, 0, txt.err);
      assert.match(txt.out, /^Incident: Check the `devvm` \| now please\nSession: [0-9a-f]{32}\n/);
      assert.match(txt.out, /\nPolicy decisions\n  \d\d:\d\d:\d\d echo: deny by export_rules: not \| this `one` really\n/);
      const json = JSON.parse(cliExport(journal, 'json').out);
      assert.equal(json.session.id, id);
      assert.deepEqual(json.calls.map((c) => [c.name, c.outcome]),
        [['echo', 'ok'], ['echo', 'denied'], ['nap', 'ok'], ['echo', 'error']]);
      // As the page folds it: the cancelled turn's result, an error, comes last.
      assert.deepEqual(json.turns.map((t) => t.outcome), ['ok', 'ok', 'error']);
      assert.equal(json.policies.length, 2);
      assert.equal(cliExport(join(dir, 'missing.jsonl')).status, 2);
      assert.equal(cliExport(journal, 'pdf').status, 2);
    } finally {
      await st.close();
    }
  });
});

// --- generated journals ------------------------------------------------------

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters JavaScript's \s, trim() and JSON.stringify treat their own way.
const PIECES = ['a', 'Z', '7', ' ', '  ', '\n', '\r\n', '\t', '|', '`', '``', '\\', '"', '/', '\u00a0', '\u2028',
  '\u3000', '\ufeff', '\u0001', 'é', '😀', 'exit', 'status', '>'];

function generator(seed) {
  const r = rng(seed);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const text = (n = 12) => Array.from({ length: Math.floor(r() * n) }, () => pick(PIECES)).join('');
  const number = () => pick([0, 1, 7, 999, 1000, 1049, 1050, 1150, 1250, 59949, 59950, 60000, 3599499, 3600000,
    86399999, 0.1, 0.5, 1.5, 2.675, 1e21, 1.5e-7, 123456789.123, -3, 1e-7, 9007199254740993]);
  const value = (depth = 0) => {
    const k = Math.floor(r() * (depth > 1 ? 5 : 7));
    if (k === 0) return text();
    if (k === 1) return number();
    if (k === 2) return r() < 0.5;
    if (k === 3) return null;
    if (k === 4) return '';
    if (k === 5) return Array.from({ length: Math.floor(r() * 3) }, () => value(depth + 1));
    const o = {};
    for (const key of ['b', '2', 'a', '10', 'command', 'x y', '01']) if (r() < 0.3) o[key] = value(depth + 1);
    return o;
  };
  const content = () => pick([
    () => `exit status ${pick(['0', '1', '12', '007', '3x'])}${pick(['', ', 0.1 s\n', 'x'])}`,
    () => `killed by signal ${pick(['TERM', 'KILL', '9', ''])}${pick(['', ' now'])}`,
    () => JSON.stringify({ exit_status: pick([0, 2, 1.5, 3.0, '4', null]), exit_signal: pick(['', 'HUP', 5, undefined]) }),
    () => JSON.stringify({ exit_code: pick([0, 7, -1]) }),
    () => `{not json ${text()}`,
    () => text(30),
  ])();
  return { r, pick, text, number, value, content };
}

/** A journal of n events; ids grow, times mostly do. */
function generatedJournal(seed) {
  const g = generator(seed);
  const calls = ['c1', 'c2', 'c3', 7, null];
  let ts = Date.UTC(2026, 5, 11, 8, 30, 0) + Math.floor(g.r() * 1e6);
  const events = [{ kind: 'session', session_kind: g.r() < 0.2 ? 'operator' : 'chat' }];
  const kinds = ['user', 'tool', 'tool', 'tool_result', 'tool_result', 'policy', 'confirm_result', 'result',
    'cancelled', 'interrupted', 'turn_end', 'text_delta', 'usage', 'notice'];
  const n = 5 + Math.floor(g.r() * 40);
  for (let i = 0; i < n; i++) {
    const kind = g.pick(kinds);
    const ev = { kind };
    const maybe = (key, make) => { if (g.r() < 0.85) ev[key] = make(); };
    if (kind === 'user') { maybe('text', () => g.text(40)); maybe('identity', () => g.pick(['bearer', 'viktor', '', g.text()])); }
    if (kind === 'tool') {
      maybe('call_id', () => g.pick(calls));
      maybe('name', () => g.pick(['devvm_shell', 'pve', '', g.text()]));
      maybe('input', () => g.value());
      maybe('mutating', () => g.r() < 0.5);
      maybe('source', () => g.pick(['model', 'button']));
    }
    if (kind === 'tool_result') {
      maybe('call_id', () => g.pick(calls));
      maybe('duration_ms', () => g.pick([g.number(), null, true]));
      maybe('is_error', () => g.pick([true, false, 0, 1, '']));
      maybe('content', () => g.content());
    }
    if (kind === 'policy') {
      for (const key of ['tool', 'policy', 'verdict', 'reason']) maybe(key, () => g.pick([g.text(), 0, '', 'deny']));
      maybe('call_id', () => g.pick(calls));
    }
    if (kind === 'confirm_result') { maybe('call_id', () => g.pick(calls)); maybe('approved', () => g.pick([true, false, 1])); }
    if (kind === 'result') { maybe('result', () => g.pick([g.text(60), 7, ''])); maybe('is_error', () => g.r() < 0.3); }
    if (kind === 'usage') ev.call = { input_tokens: Math.floor(g.r() * 5000), output_tokens: Math.floor(g.r() * 900) };
    ts += Math.floor(g.r() * 200000) - 5000;
    ev.id = i + 2;
    if (g.r() < 0.97) ev.ts = new Date(ts).toISOString();
    events.push(ev);
  }
  events[0].id = 1;
  events[0].ts = new Date(ts - 1e6).toISOString();
  return events.map((event) => JSON.stringify({ ts: event.ts ?? '2026-06-11T08:30:00.000Z', kind: 'event', event })).join('\n') + '\n';
}

describe('generated journals', () => {
  test(`${GENERATED_SESSIONS} sessions of odd strings, numbers and times: the same Markdown, byte for byte`, async () => {
    const dataDir = join(dir, 'generated');
    const sessions = join(dataDir, 'sessions');
    mkdirSync(sessions, { recursive: true });
    const ids = [];
    for (let i = 0; i < GENERATED_SESSIONS; i++) {
      const id = (i + 1).toString(16).padStart(32, 'e');
      writeFileSync(join(sessions, `${id}.jsonl`), generatedJournal(1000 + i));
      ids.push(id);
    }
    const daemon = await startDaemon({ dataDir, env: { API_BEARER_TOKEN: AUTH.authorization.slice(7) } });
    try {
      const listed = await fetchJson(`${daemon.url}/api/sessions`, { headers: AUTH });
      assert.equal(listed.json.sessions.length, GENERATED_SESSIONS);
      const pages = [];
      for (const id of ids) pages.push(await pageExport(daemon.url, id));
      for (const [i, id] of ids.entries()) {
        const cli = cliExport(join(sessions, `${id}.jsonl`));
        assert.equal(cli.status, 0, cli.err);
        assert.equal(cli.out, pages[i], `session ${i} (seed ${1000 + i})`);
      }
    } finally {
      assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
    }
  });
});
