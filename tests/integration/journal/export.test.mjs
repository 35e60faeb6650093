// breakglass export (issue 16, item 4): the same summary the page exports,
// byte for byte in Markdown: the page's own code (www/incident.mjs) runs in
// Node on what the page gets from the daemon (the session's entry in
// GET /api/sessions and its events), and the command reads the journal.
// Once for a session recorded live (prompts with Markdown in them, calls
// allowed, denied by a policy, declined at a confirm, a cancelled turn),
// before and after a restart; once for crafted journals of what the page
// reads from structured fields (button presses and who made them, calls a
// policy ran first, overrides, findings, exits, denials, restarts that
// leave actions running, values of other types than the daemon writes);
// once for many generated journals full of the strings and numbers
// JavaScript spells its own way.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AUTH, makeScriptsDir, startStack, writePolicy } from '../../lib/agent-stack.mjs';
import { fetchJson, startDaemon, stopCleanly } from '../../lib/daemon.mjs';
import { cliExport, pageExport } from '../../lib/page-export.mjs';
import { prng } from '../../lib/prng.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('export-test');

const WAIT_MS = 10000;
const GENERATED_SESSIONS = 60;

function scripts() {
  const at = makeScriptsDir(join(dir, 'scripts'));
  writePolicy(at, 'export_rules', 'a denial and a question for the export test',
    'local text = call.input and call.input.text',
    'if text == "forbidden" then return {deny = "not | this `one`\\nreally"} end',
    'if text == "ask" then return {confirm = "are you sure?"} end');
  return at;
}

describe('a session recorded live', () => {
  test('the page\'s export and breakglass export agree byte for byte, before and after a restart', async () => {
    const st = await startStack(join(dir, 'live'), { scripts: scripts() });
    try {
      const { id, stream } = await st.runTurn([
        { toolUses: [{ name: 'echo', input: { text: 'hello | `there`' } }, { name: 'echo', input: { text: 'forbidden' } }] },
        { toolUses: [{ name: 'nap', input: { ms: 5 } }] },
        { text: 'The devvm is fine.\n\n  Disk: 40% | load 0.1  \n> nothing else\n' },
      ], { prompt: 'Check the `devvm` | now\nplease' });

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
      for (const want of ['## Policy decisions', 'deny by export_rules', 'confirm by export_rules', '| denied |', 'cancelled']) {
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
        [['echo', 'ok'], ['echo', 'denied'], ['nap', 'ok'], ['echo', 'denied']]);
      assert.ok(!page.includes('| error |'), 'a call declined at its confirm is denied, as search says, not an error');
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

// --- crafted journals --------------------------------------------------------

/** A journal's text: each event as the daemon records it, ids growing. */
function journalText(events) {
  return events.map((event, i) => JSON.stringify({
    ts: event.ts ?? '2026-06-11T08:30:00.000Z', kind: 'event', event: { ...event, id: i + 1 },
  })).join('\n') + '\n';
}

const T0 = Date.UTC(2026, 5, 11, 8, 30, 0);
const at = (seconds) => new Date(T0 + seconds * 1000).toISOString();

// Each journal shows what the page's summary says of the actions from
// their structured fields, and the page's words (want) are checked to be
// there: the two exports are compared on them, not on empty sections.
const CRAFTED = [
  {
    name: 'power buttons: who pressed, an override, a call a policy ran first',
    want: ['- From 2026-06-11 08:30:00Z to 2026-06-11 08:30:40Z (40.0 s); every time here is UTC',
      '5 tool calls, 2 mutating, 4 from the power buttons', '| `forensics` | run first by policy forensics_first | 1.5 s | ok, exit 0 |',
      '| pve (mutating) | `cycle` | button, viktor, override | 3.8 s | ok, exit 0 |',
      '| `status` | button, token holder, override | 40 ms | error: auth refused |', '| button | 2.0 s | ok, signal KILL |',
      '- 08:30:00 pve cycle: rate_limit overridden by viktor: one cycle a minute',
      '- 08:30:00 pve cycle: run_first by forensics_first', '- 08:30:20 pve status: rate_limit overridden by token holder',
      '- 08:30:30 pve shutdown: quiet_hours overridden by the operator'],
    events: [
      { kind: 'session', session_kind: 'operator', ts: at(-3600) },
      { kind: 'button', call_id: 'b1', verb: 'cycle', identity: 'viktor', override: true, ts: at(0) },
      { kind: 'policy', call_id: 'b1', tool: 'pve', policy: 'rate_limit', verdict: 'override', reason: 'one cycle a minute', identity: 'viktor', ts: at(0) },
      { kind: 'policy', call_id: 'b1', tool: 'pve', policy: 'forensics_first', verdict: 'run_first', run_first: { tool: 'pve', input: { verb: 'forensics' } }, ts: at(0) },
      { kind: 'tool', call_id: 'b1.first1', name: 'pve', input: { verb: 'forensics' }, mutating: false, identity: 'viktor', source: 'button', inserted_by: 'forensics_first', ts: at(0.1) },
      { kind: 'tool_result', call_id: 'b1.first1', is_error: false, content: 'forensics captured', duration_ms: 1600, details: { ok: true, exit_status: 0, duration_ms: 1500 }, ts: at(1.7) },
      { kind: 'tool', call_id: 'b1', name: 'pve', input: { verb: 'cycle' }, mutating: true, identity: 'viktor', source: 'button', ts: at(1.8) },
      { kind: 'tool_result', call_id: 'b1', is_error: false, content: 'cycled', duration_ms: 3800, details: { ok: true, exit_code: 0 }, ts: at(5.6) },
      { kind: 'button', call_id: 'b2', verb: 'status', identity: 'bearer', override: true, ts: at(20) },
      { kind: 'policy', call_id: 'b2', tool: 'pve', policy: 'rate_limit', verdict: 'override', identity: 'bearer', ts: at(20) },
      { kind: 'tool', call_id: 'b2', name: 'pve', input: { verb: 'status' }, mutating: false, identity: 'bearer', source: 'button', ts: at(20) },
      { kind: 'tool_result', call_id: 'b2', is_error: true, content: 'ssh: auth refused', duration_ms: 40, details: { ok: false, layer: 'auth_refused' }, ts: at(20.04) },
      { kind: 'button', call_id: 'b3', verb: 'shutdown', ts: at(30) },
      { kind: 'policy', call_id: 'b3', tool: 'pve', policy: 'quiet_hours', verdict: 'override', ts: at(30) },
      { kind: 'tool', call_id: 'b3', name: 'pve', input: { verb: 'shutdown' }, mutating: true, source: 'button', ts: at(30) },
      { kind: 'tool_result', call_id: 'b3', is_error: false, content: 'killed', duration_ms: 2000, details: { ok: true, exit_signal: 'KILL', exit_status: 137 }, ts: at(32) },
      { kind: 'tool', call_id: 'legacy', name: 'pve', input: { verb: 'status' }, identity: 'bearer', source: 'button', ts: at(40) },
      { kind: 'tool_result', call_id: 'legacy', is_error: false, content: 'running', duration_ms: 30, ts: at(40) },
    ],
  },
  {
    name: 'a chat: findings, exits, a denial, empty inputs',
    want: ['- From 2026-06-11 08:30:00Z to 2026-06-11 08:31:00Z (1 min 00 s); every time here is UTC',
      '1. 08:30:00 UTC (viktor): The devvm does not answer.', 'After the prompt at 08:30:00 UTC:',
      'Findings of the actions:\n\n- 08:30:01 devvm_probe: finding: no banner\n- 08:30:10 devvm_shell `` systemctl status sshd \\| grep `active` ``: finding: odd new layer, exit 3\n- 08:30:55 devvm_probe: finding: constructor\n\n',
      '| 08:30:01 | devvm_probe |  | agent | 2.0 s | finding: no banner |',
      '| `uptime` | agent | 30.0 s | error: command timed out, exit 124 |',
      '| pve (mutating) | `cycle` | agent | 0 ms | denied |', '| wait_for_devvm |  | agent | 122 ms | ok |',
      '| `forensics` | run first by policy forensics_first | 1.2 s | ok, exit 0 |', '| echo | `{"n":1}` | agent |',
      '- 08:30:20 pve: deny by deny_cycle: cycles are off', '- Turn 1: 08:30:00 to 08:31:00 (1 min 00 s), 8 tool calls, ok'],
    events: [
      { kind: 'session', session_kind: 'chat', ts: at(-7200) },
      { kind: 'user', text: 'The devvm does not answer.', identity: 'viktor', ts: at(0) },
      { kind: 'tool', call_id: 'c1', name: 'devvm_probe', input: {}, mutating: false, identity: 'viktor', source: 'model', ts: at(1) },
      { kind: 'tool_result', call_id: 'c1', is_error: false, content: 'no banner: the devvm is unreachable', duration_ms: 2100, details: { ok: false, layer: 'no_banner', duration_ms: 2000 }, ts: at(3) },
      { kind: 'tool', call_id: 'c2', name: 'devvm_shell', input: { command: 'uptime' }, source: 'model', ts: at(4) },
      { kind: 'tool_result', call_id: 'c2', is_error: true, content: 'exit status 0', duration_ms: 30000, details: { ok: false, layer: 'command_timeout', exit_status: 124 }, ts: at(34) },
      { kind: 'tool', call_id: 'c3', name: 'devvm_shell', input: { command: 'systemctl status sshd | grep `active`' }, source: 'model', ts: at(10) },
      { kind: 'tool_result', call_id: 'c3', is_error: false, content: 'killed by signal KILL', duration_ms: 90, details: { ok: false, layer: 'odd_new_layer', exit_status: 1.5, exit_code: 3 }, ts: at(10.1) },
      { kind: 'policy', call_id: 'c4', tool: 'pve', policy: 'deny_cycle', verdict: 'deny', reason: 'cycles are off', ts: at(20) },
      { kind: 'tool', call_id: 'c4', name: 'pve', input: { verb: 'cycle' }, mutating: true, source: 'model', ts: at(20) },
      { kind: 'tool_result', call_id: 'c4', is_error: true, content: 'denied by deny_cycle', duration_ms: 0, ts: at(20) },
      { kind: 'tool', call_id: 'c5', name: 'wait_for_devvm', input: [], source: 'model', ts: at(30) },
      { kind: 'tool_result', call_id: 'c5', is_error: false, content: 'the devvm answered', duration_ms: 122, details: { ok: true, layer: 'none' }, ts: at(30.2) },
      { kind: 'tool', call_id: 'c6.first1', name: 'pve', input: { verb: 'forensics' }, source: 'model', inserted_by: 'forensics_first', ts: at(40) },
      { kind: 'tool_result', call_id: 'c6.first1', is_error: false, content: 'captured', duration_ms: 1200, details: { ok: true, exit_status: 0 }, ts: at(41.2) },
      { kind: 'tool', call_id: 'c7', name: 'echo', input: { n: 1 }, source: 'model', ts: at(50) },
      { kind: 'tool_result', call_id: 'c7', content: 'exit status 2', duration_ms: 1, ts: at(50) },
      // A layer named like a property every object has is words of its own.
      { kind: 'tool', call_id: 'c8', name: 'devvm_probe', input: {}, source: 'model', ts: at(55) },
      { kind: 'tool_result', call_id: 'c8', is_error: false, content: '?', duration_ms: 5, details: { ok: false, layer: 'constructor' }, ts: at(55) },
      { kind: 'result', result: 'The devvm is back.', is_error: false, ts: at(59) },
      { kind: 'turn_end', ts: at(60) },
    ],
  },
  {
    name: 'a restart: every action still running ends unknown, a press\'s too',
    want: ['- Status: interrupted', '| 08:30:01 | pve | `forensics` | agent | 1.0 s | ok |',
      '| 08:30:10 | pve (mutating) | `stop` | button, viktor | – | unknown |',
      '| 08:30:20 | devvm_shell | `uptime` | agent | – | unknown |',
      '- Turn 1: 08:30:00 to 08:30:05 (5.0 s), 1 tool calls, ok', '- Turn 2: 08:30:15 to 08:31:00 (45.0 s), 1 tool calls, interrupted'],
    events: [
      { kind: 'session', session_kind: 'chat', ts: at(-60) },
      { kind: 'user', text: 'Capture forensics.', identity: 'bearer', ts: at(0) },
      { kind: 'tool', call_id: 'c1', name: 'pve', input: { verb: 'forensics' }, source: 'model', ts: at(1) },
      { kind: 'tool_result', call_id: 'c1', is_error: false, content: 'captured', duration_ms: 1000, ts: at(2) },
      { kind: 'turn_end', ts: at(5) },
      { kind: 'button', call_id: 'b1', verb: 'stop', identity: 'viktor', ts: at(10) },
      { kind: 'tool', call_id: 'b1', name: 'pve', input: { verb: 'stop' }, mutating: true, source: 'button', ts: at(10) },
      { kind: 'user', text: 'Is it stopping?', identity: 'bearer', ts: at(15) },
      { kind: 'tool', call_id: 'c2', name: 'devvm_shell', input: { command: 'uptime' }, source: 'model', ts: at(20) },
      { kind: 'interrupted', message: 'the turn was cut off when the service restarted', ts: at(60) },
    ],
  },
  {
    name: 'a turn the daemon\'s own restart cut, a button pressed in it',
    want: ['- Status: interrupted', '| button, viktor | – | unknown |', '1 tool calls, interrupted',
      '- 08:30:01 pve reset: allow by forensics_first'],
    events: [
      { kind: 'session', session_kind: 'chat', ts: at(-60) },
      { kind: 'user', text: 'Look.', identity: 'viktor', ts: at(0) },
      { kind: 'button', call_id: 'b1', verb: 'reset', identity: 'viktor', ts: at(1) },
      { kind: 'policy', call_id: 'b1.first1', tool: 'pve', policy: 'forensics_first', verdict: 'allow', ts: at(1) },
      { kind: 'tool', call_id: 'b1.first1', name: 'pve', input: { verb: 'forensics' }, source: 'button', inserted_by: 'forensics_first', ts: at(1) },
      { kind: 'tool_result', call_id: 'b1.first1', is_error: false, content: 'captured', duration_ms: 500, details: { ok: true, exit_status: 0 }, ts: at(1.5) },
      { kind: 'tool', call_id: 'b1', name: 'pve', input: { verb: 'reset' }, mutating: true, source: 'button', ts: at(1.5) },
      { kind: 'tool', call_id: 'c1', name: 'devvm_shell', input: { command: 'dmesg' }, source: 'model', ts: at(2) },
    ],
  },
  {
    name: 'values of other types, read as the page\'s JavaScript reads them',
    want: ['1. 08:30:00 UTC (): Odd.', '| 08:30:01 | pve | `x` | button, token holder | – | running |',
      '| 08:30:02 | 7 | `[[]]` | button, token holder, override | 5 ms | ok, exit 1e+21 |',
      '- 08:30:01 pve : p overridden by bearer', '- 08:30:02 7 cycle: q overridden by : why',
      '- Turn 1: 08:30:00 to 08:30:03 (3.0 s), 0 tool calls, ok'],
    events: [
      { kind: 'user', text: 'Odd.', identity: [], ts: at(0) },
      { kind: 'button', call_id: 'b1', verb: [], identity: ['bearer'], ts: at(1) },
      { kind: 'policy', call_id: 'b1', tool: 'pve', policy: 'p', verdict: 'override', identity: ['bearer'], ts: at(1) },
      { kind: 'tool', call_id: 'b1', name: 'pve', input: { text: 'x' }, source: 'model', ts: at(1) },
      { kind: 'button', call_id: '7', verb: 'cycle', identity: 'bearer', override: true, ts: at(2) },
      { kind: 'policy', call_id: 7, tool: 7, policy: 'q', verdict: 'override', identity: [], reason: 'why', ts: at(2) },
      { kind: 'tool', call_id: '7', name: 7, input: [[]], source: ['model'], ts: at(2) },
      { kind: 'tool_result', call_id: '7', is_error: 0, duration_ms: '5', details: { ok: 'false', exit_signal: 9, exit_status: 1e21, duration_ms: 5 }, ts: at(2) },
      { kind: 'turn_end', ts: at(3) },
    ],
  },
  {
    // A ticket is read as it is drawn: a bidi override in a prompt, a
    // policy's name or the findings must not reorder the summary.
    name: 'hidden characters: named, in the title, the prompts, the commands, the policies and the findings',
    want: ['# Incident: Is it \u27e8U+202E\u27e9enod\u27e8U+202C\u27e9 yet?',
      '1. 08:30:00 UTC (vik\u27e8U+200B\u27e9tor): Is it \u27e8U+202E\u27e9enod\u27e8U+202C\u27e9 yet?',
      '> All \u27e8U+2066\u27e9clear\u27e8U+2069\u27e9.', '| `echo ok\u27e8U+000D\u27e9\u27e8U+0085\u27e9rm -rf /` |',
      '- 08:30:01 devvm_shell: deny by quiet\u27e8U+FEFF\u27e9_hours: not \u27e8U+E0041\u27e9now'],
    events: [
      { kind: 'user', text: 'Is it \u202Eenod\u202C yet?', identity: 'vik\u200Btor', ts: at(0) },
      { kind: 'policy', call_id: 'c1', tool: 'devvm_shell', policy: 'quiet\uFEFF_hours', verdict: 'deny', reason: 'not \u{E0041}now', ts: at(1) },
      { kind: 'tool', call_id: 'c1', name: 'devvm_shell', input: { command: 'echo ok\r\u0085rm -rf /' }, source: 'model', ts: at(1) },
      { kind: 'tool_result', call_id: 'c1', is_error: true, content: 'denied', duration_ms: 0, ts: at(1) },
      { kind: 'result', result: 'All \u2066clear\u2069.', is_error: false, ts: at(2) },
      { kind: 'turn_end', ts: at(3) },
    ],
  },
];

// What the exports name rather than carry: controls but newline and tab,
// format characters (bidi, zero-width, tags).
const HIDDEN = /(?![\n\t])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

describe('crafted journals', () => {
  test('buttons, policies run first and overridden, findings, exits, denials, restarts: the same Markdown', async () => {
    const dataDir = join(dir, 'crafted');
    const sessions = join(dataDir, 'sessions');
    mkdirSync(sessions, { recursive: true });
    const ids = CRAFTED.map((_, i) => (i + 1).toString(16).padStart(32, 'c'));
    CRAFTED.forEach((c, i) => writeFileSync(join(sessions, `${ids[i]}.jsonl`), journalText(c.events)));
    const daemon = await startDaemon({ dataDir, env: { API_BEARER_TOKEN: AUTH.authorization.slice(7) } });
    try {
      for (const [i, c] of CRAFTED.entries()) {
        const page = await pageExport(daemon.url, ids[i]);
        for (const want of c.want) assert.ok(page.includes(want), `${c.name}: the page says "${want}":\n${page}`);
        assert.doesNotMatch(page, HIDDEN, c.name);
        const cli = cliExport(join(sessions, `${ids[i]}.jsonl`));
        assert.equal(cli.status, 0, cli.err);
        assert.equal(cli.out, page, c.name);
        assert.doesNotMatch(cliExport(join(sessions, `${ids[i]}.jsonl`), 'txt').out, HIDDEN, c.name);
      }
      // txt and json say the same of the buttons' session.
      const buttons = join(sessions, `${ids[0]}.jsonl`);
      const txt = cliExport(buttons, 'txt').out;
      assert.match(txt, /\n {2}08:30:01 {2}pve \(mutating\): cycle {2}\(3\.8 s, ok, exit 0; button, viktor, override\)\n/);
      assert.match(txt, /\n {2}08:30:30 pve shutdown: quiet_hours overridden by the operator\n/);
      const json = JSON.parse(cliExport(buttons, 'json').out);
      assert.deepEqual(json.calls.map((c) => [c.call_id, c.by, c.outcome_words, c.inserted_by ?? null]), [
        ['b1.first1', 'run first by policy forensics_first', 'ok, exit 0', 'forensics_first'],
        ['b1', 'button, viktor, override', 'ok, exit 0', null],
        ['b2', 'button, token holder, override', 'error: auth refused', null],
        ['b3', 'button', 'ok, signal KILL', null],
        ['legacy', 'button, token holder', 'ok', null],
      ]);
      assert.deepEqual(json.calls[2].layer, 'auth_refused');
      assert.deepEqual(json.policies.map((p) => [p.verb, p.verdict, p.identity]), [
        ['cycle', 'override', 'viktor'], ['cycle', 'run_first', ''], ['status', 'override', 'bearer'], ['shutdown', 'override', ''],
      ]);
    } finally {
      await stopCleanly(daemon);
    }
  });
});

// --- generated journals ------------------------------------------------------

// Characters JavaScript's \s, trim() and JSON.stringify treat their own way.
const PIECES = ['a', 'Z', '7', ' ', '  ', '\n', '\r\n', '\t', '|', '`', '``', '\\', '"', '/', '\u00a0', '\u2028',
  '\u3000', '\ufeff', '\u0001', '\u0085', '\u202e', '\u200b', '\u{e0041}', '\r', 'é', '😀', 'exit', 'status', '>'];

// Values Number() reads its own way: trimmed, hexadecimal, octal, binary,
// exponents, Infinity, arrays of one item; and what it reads as NaN.
const NUMBER_TEXTS = ['12', ' 7\n', '\u00a012\u2028', '0x10', '0X1f', '0b101', '0o17', '1e3', '', '5.', '.5', '-0',
  '-Infinity', '+Infinity', '1_000', '+-1', '0x', '1e', '-0x1', '12abc', '0x1fffffffffffff1', `0b${'1'.repeat(60)}`,
  '1e400', [5], ['7'], [], [1, 2], {}];

function generator(seed) {
  const r = prng(seed);
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
  // A tool_result's details, what the page reads how a call ended from.
  const details = () => {
    if (r() < 0.2) return value();
    const d = {};
    const some = (key, make) => { if (r() < 0.5) d[key] = make(); };
    some('ok', () => pick([true, false, 0, 'false', null]));
    some('layer', () => pick(['none', 'command_ran', '', 'no_banner', 'auth_refused', 'odd_new_layer', 'constructor', 7, text()]));
    some('exit_signal', () => pick(['', 'KILL', 'HUP', 9, null]));
    some('exit_status', () => pick([0, 2, 1.5, 1e21, 137, '4', null]));
    some('exit_code', () => pick([0, 7, -1, 2.5]));
    some('duration_ms', () => pick([number(), null, '12', true]));
    return d;
  };
  return { r, pick, text, number, value, details };
}

/** A journal of n events; ids grow, times mostly do. */
function generatedJournal(seed) {
  const g = generator(seed);
  const calls = ['c1', 'c2', 'c3', 'c1.first1', 'c2.first12', 'c3.first', '.first2', 7, null];
  let ts = Date.UTC(2026, 5, 11, 8, 30, 0) + Math.floor(g.r() * 1e6);
  const events = [{ kind: 'session', session_kind: g.r() < 0.2 ? 'operator' : 'chat' }];
  const kinds = ['user', 'tool', 'tool', 'tool_result', 'tool_result', 'policy', 'confirm_result', 'result',
    'cancelled', 'interrupted', 'turn_end', 'text_delta', 'usage', 'notice', 'button', 'session'];
  const n = 5 + Math.floor(g.r() * 40);
  for (let i = 0; i < n; i++) {
    const kind = g.pick(kinds);
    const ev = { kind };
    const maybe = (key, make) => { if (g.r() < 0.85) ev[key] = make(); };
    if (kind === 'user') { maybe('text', () => g.text(40)); maybe('identity', () => g.pick(['bearer', 'viktor', '', [], g.text()])); }
    if (kind === 'button') {
      maybe('call_id', () => g.pick(['c1', 'c2', 'c3', '', 7, null, 'c1.first1']));
      maybe('verb', () => g.pick(['cycle', '', 0, [], g.text()]));
      maybe('identity', () => g.pick(['bearer', 'viktor', '', 0, ['bearer']]));
      maybe('override', () => g.pick([true, false, 1]));
    }
    if (kind === 'tool') {
      maybe('call_id', () => g.pick(calls));
      maybe('name', () => g.pick(['devvm_shell', 'pve', '', g.text()]));
      maybe('input', () => g.value());
      maybe('mutating', () => g.r() < 0.5);
      maybe('source', () => g.pick(['model', 'button', ['button']]));
      maybe('identity', () => g.pick(['bearer', 'viktor', '', 0, ['bearer']]));
      if (g.r() < 0.2) ev.inserted_by = g.pick(['forensics_first', '', 7]);
    }
    if (kind === 'tool_result') {
      maybe('call_id', () => g.pick(calls));
      maybe('duration_ms', () => g.pick([g.number(), null, true, g.pick(NUMBER_TEXTS)]));
      maybe('is_error', () => g.pick([true, false, 0, 1, '']));
      maybe('content', () => g.text(30));
      maybe('details', () => g.details());
    }
    if (kind === 'policy') {
      for (const key of ['tool', 'policy', 'verdict', 'reason', 'identity']) {
        maybe(key, () => g.pick([g.text(), 0, '', 'deny', 'override', 'bearer', []]));
      }
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
      await stopCleanly(daemon);
    }
  });
});
