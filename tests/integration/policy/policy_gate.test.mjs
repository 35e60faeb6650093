// The policy gate through the daemon, with the shipped policies and fake
// pve / devvm_shell tools (tests/fixtures/lua/policy_fake_tools): forensics
// run first and shown before a power verb, the rate limits, the operator's
// confirmation (approve, decline, no answer, cancel while waiting), every
// spelling of issue 12's report asking rather than running, a policy that
// fails closed, and run_first calls the gate refuses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AUTH, startStack, turnEvents } from '../../lib/agent-stack.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { makePolicyScripts } from '../../fixtures/lua/policy_fake_tools/scripts.mjs';
import { EVERYDAY, ISSUE_12_REPORT } from '../../lib/destructive-commands.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('policy-gate-test');
const FIXTURES = join(process.env.BREAKGLASS_SOURCE_DIR, 'tests', 'fixtures', 'lua', 'policy_gate');

const WAIT_MS = 15000;
// A cancel must end a turn that waits for the operator long before the
// confirmation limit (300 s); this bound only absorbs a slow machine.
const CANCEL_ENDS_TURN_MS = 5000;
const USER_HEADER = 'X-Test-User';

/** A stack whose scripts are the shipped policies with the fake tools. */
async function policyStack(name, { settings, extra, env = {} } = {}) {
  const base = join(dir, name);
  const scripts = makePolicyScripts(join(base, 'policy-scripts'), { settings, extra });
  const st = await startStack(base, { scripts, env });
  // A set that did not load would refuse every turn: say why here.
  const ready = await fetchJson(`${st.daemon.url}/readyz`);
  if (ready.status !== 200 || ready.json.error) {
    await st.close();
    assert.fail(`the scripts did not load: ${ready.text}`);
  }
  return st;
}

/** {file: text} of policies from tests/fixtures/lua/policy_gate, for policyStack's extra. */
const extraPolicies = (...files) => Object.fromEntries(files.map((f) => [f, readFileSync(join(FIXTURES, f), 'utf8')]));

const pve = (verb, id) => ({ name: 'pve', input: { verb }, ...(id ? { id } : {}) });
const shell = (command, id) => ({ name: 'devvm_shell', input: { command }, ...(id ? { id } : {}) });
const ofType = (events, type) => events.filter((e) => e.kind === type);
const indexOf = (events, type, callId) => events.findIndex((e) => e.kind === type && e.call_id === callId);
const resultOf = (events, callId) => events.find((e) => e.kind === 'tool_result' && e.call_id === callId);

/** The tool_result block the model got for callId, in the requests after first. */
function modelResult(mock, first, callId) {
  for (const req of mock.requests.slice(first)) {
    for (const msg of req.body?.messages ?? []) {
      if (msg.role !== 'user' || !Array.isArray(msg.content)) continue;
      const block = msg.content.find((b) => b.type === 'tool_result' && b.tool_use_id === callId);
      if (block) return block;
    }
  }
  return undefined;
}

/** Sends another prompt in a session whose stream is open; its events. */
async function nextTurn(st, id, stream, forms, prompt = 'And now?') {
  st.mock.setScript(forms);
  const from = stream.events.length;
  const first = st.mock.requests.length;
  const r = await st.prompt(id, prompt);
  assert.equal(r.status, 200, r.text);
  return { events: await turnEvents(stream, WAIT_MS, from), first };
}

describe('forensics_first through the daemon', () => {
  // The rate limits would end this block after three power verbs; they
  // have their own block below.
  const st = forSuite(() => policyStack('forensics', {
    settings: { 'rate_limit.lua': { MAX_MUTATING: 1000, CYCLE_GAP_MS: 0 } },
  }));

  test('a cycle with no forensics in the session: forensics runs first, is shown, and the model hears of it', async () => {
    const { stream, first, events } = await st.runTurn([{ toolUses: [pve('cycle', 'toolu_cycle')] }, { text: 'Cycled.' }], { waitMs: WAIT_MS });
    const inserted = 'toolu_cycle.first1';

    const decisions = ofType(events, 'policy');
    assert.equal(decisions.length, 1, JSON.stringify(decisions));
    assert.equal(decisions[0].call_id, 'toolu_cycle');
    assert.equal(decisions[0].tool, 'pve');
    assert.equal(decisions[0].policy, 'forensics_first');
    assert.equal(decisions[0].verdict, 'run_first');
    assert.match(decisions[0].reason, /no forensics capture in this session/);
    assert.deepEqual(decisions[0].run_first, { tool: 'pve', input: { verb: 'forensics' } });

    const insertedTool = events[indexOf(events, 'tool', inserted)];
    assert.equal(insertedTool.name, 'pve');
    assert.deepEqual(insertedTool.input, { verb: 'forensics' });
    assert.equal(insertedTool.inserted_by, 'forensics_first');
    assert.equal(insertedTool.mutating, false);
    const insertedResult = resultOf(events, inserted);
    assert.equal(insertedResult.is_error, false);
    assert.equal(insertedResult.content, 'pve forensics: ok');

    const order = [indexOf(events, 'policy', 'toolu_cycle'), indexOf(events, 'tool', inserted),
      indexOf(events, 'tool_result', inserted), indexOf(events, 'tool', 'toolu_cycle'),
      indexOf(events, 'tool_result', 'toolu_cycle')];
    assert.ok(order.every((i) => i >= 0), `all present: ${order}`);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), `forensics before the cycle: ${order}`);
    const cycle = events[indexOf(events, 'tool', 'toolu_cycle')];
    assert.equal(cycle.mutating, true);
    assert.equal(resultOf(events, 'toolu_cycle').is_error, false);
    assert.equal(resultOf(events, 'toolu_cycle').content, 'pve cycle: ok');

    // The model asked for one call and hears of both; the inserted call is
    // not a tool_use of its own (the mock would reject a stray result).
    const back = modelResult(st.mock, first, 'toolu_cycle');
    assert.ok(back, 'the cycle result went back to the model');
    assert.equal(back.is_error, undefined);
    assert.match(back.content, /pve forensics ran first for policy forensics_first: ok/);
    assert.match(back.content, /pve cycle: ok/);
    assert.equal(modelResult(st.mock, first, inserted), undefined);
    assert.ok(st.mock.requests.slice(first).every((r) => r.rejected === null));
    await stream.close();
  });

  test('forensics just before in the same turn: no extra run', async () => {
    const { stream, events } = await st.runTurn([
      { toolUses: [pve('forensics', 'toolu_f'), pve('reset', 'toolu_reset')] }, { text: 'Reset.' },
    ], { waitMs: WAIT_MS });
    assert.deepEqual(ofType(events, 'policy'), []);
    assert.deepEqual(ofType(events, 'tool').map((e) => e.call_id), ['toolu_f', 'toolu_reset']);
    assert.equal(resultOf(events, 'toolu_reset').content, 'pve reset: ok');
    await stream.close();
  });

  test('forensics in the previous turn: no extra run; the next power verb needs a new capture', async () => {
    const { id, stream } = await st.runTurn([{ toolUses: [pve('forensics', 'toolu_f1')] }, { text: 'Captured.' }], { waitMs: WAIT_MS });

    const { events } = await nextTurn(st, id, stream, [{ toolUses: [pve('stop', 'toolu_stop')] }, { text: 'Stopped.' }]);
    assert.deepEqual(ofType(events, 'policy'), []);
    assert.deepEqual(ofType(events, 'tool').map((e) => e.call_id), ['toolu_stop']);
    assert.equal(resultOf(events, 'toolu_stop').content, 'pve stop: ok');

    // The stop used that capture up.
    const again = await nextTurn(st, id, stream, [{ toolUses: [pve('start', 'toolu_start')] }, { text: 'Started.' }]);
    assert.deepEqual(ofType(again.events, 'policy').map((e) => [e.policy, e.verdict]), [['forensics_first', 'run_first']]);
    assert.deepEqual(ofType(again.events, 'tool').map((e) => e.call_id), ['toolu_start.first1', 'toolu_start']);
    await stream.close();
  });
});

describe('rate_limit through the daemon (the shipped numbers)', () => {
  const st = forSuite(() => policyStack('rate'));

  test('two cycles within 60 s: the second is refused; a 4th power verb within 15 minutes is refused', async () => {
    const { id, stream, first, events } = await st.runTurn([
      { toolUses: [pve('cycle', 'toolu_c1'), pve('cycle', 'toolu_c2')] }, { text: 'Cycled once.' },
    ], { waitMs: WAIT_MS });
    assert.equal(resultOf(events, 'toolu_c1').is_error, false);
    const refused = resultOf(events, 'toolu_c2');
    assert.equal(refused.is_error, true);
    assert.match(refused.content, /^refused by policy rate_limit: rate limit: at least 60 s between two cycles; allowed again in \d+ s/);
    // The deny wins over forensics_first's run_first: nothing is run for a refused call.
    assert.deepEqual(ofType(events, 'policy').filter((e) => e.call_id === 'toolu_c2').map((e) => [e.policy, e.verdict]),
      [['rate_limit', 'deny']]);
    assert.equal(indexOf(events, 'tool', 'toolu_c2.first1'), -1);
    const back = modelResult(st.mock, first, 'toolu_c2');
    assert.equal(back.is_error, true);
    assert.equal(back.content, refused.content);

    // Two more power verbs make three in the window; the fourth is refused,
    // from another session too: the limit is daemon-wide.
    const more = await nextTurn(st, id, stream, [{ toolUses: [pve('reset', 'toolu_r'), pve('stop', 'toolu_s')] }, { text: 'Two more.' }]);
    assert.equal(resultOf(more.events, 'toolu_r').is_error, false);
    assert.equal(resultOf(more.events, 'toolu_s').is_error, false);
    await stream.close();

    const other = await st.startTurn([{ toolUses: [pve('start', 'toolu_start')] }, { text: 'Refused.' }]);
    const fourth = await turnEvents(other.stream, WAIT_MS);
    const deny = ofType(fourth, 'policy').find((e) => e.call_id === 'toolu_start');
    assert.equal(deny.policy, 'rate_limit');
    assert.equal(deny.verdict, 'deny');
    assert.match(deny.reason, /^rate limit: at most 3 mutating calls per 15 minutes; allowed again in \d+ s/);
    const result = resultOf(fourth, 'toolu_start');
    assert.equal(result.is_error, true);
    assert.equal(result.content, `refused by policy rate_limit: ${deny.reason}`);
    assert.equal(modelResult(st.mock, other.first, 'toolu_start').content, result.content);
    await other.stream.close();
  });
});

describe('operator confirmation', () => {
  const st = forSuite(() => policyStack('confirm', { env: { BREAKGLASS_TRUSTED_USER_HEADER: USER_HEADER } }));

  const confirm = (id, body, user) => fetchJson(`${st.daemon.url}/api/session/${id}/confirm`,
    { method: 'POST', headers: { ...AUTH, ...(user ? { [USER_HEADER]: user } : {}) }, body });

  /** Starts a turn whose call waits for the operator; its confirm_request. */
  async function askOperator(callId, command = 'mkfs.ext4 /dev/sdb') {
    const turn = await st.startTurn([{ toolUses: [shell(command, callId)] }, { text: 'Done.' }]);
    const ask = await turn.stream.waitForType('confirm_request', WAIT_MS);
    return { ...turn, request: ask.data };
  }

  test('approve: the call runs, and who approved is in the events and the journal', async () => {
    const { id, stream, first, request } = await askOperator('toolu_mkfs');
    assert.equal(request.call_id, 'toolu_mkfs');
    assert.equal(request.tool, 'devvm_shell');
    assert.deepEqual(request.input, { command: 'mkfs.ext4 /dev/sdb' });
    assert.equal(request.policy, 'confirm_destructive');
    assert.match(request.reason, /mkfs makes a new file system/);
    assert.equal(request.timeout_ms, 300000);
    assert.equal(resultOf(stream.events.map((e) => e.data), 'toolu_mkfs'), undefined, 'nothing ran yet');

    assert.equal((await confirm(id, { call_id: 'toolu_nope', approve: true }, 'alice')).status, 404);
    const r = await confirm(id, { call_id: 'toolu_mkfs', approve: true }, 'alice');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { call_id: 'toolu_mkfs', approved: true });
    const events = await turnEvents(stream, WAIT_MS);
    const answered = ofType(events, 'confirm_result');
    assert.equal(answered.length, 1);
    assert.equal(answered[0].call_id, 'toolu_mkfs');
    assert.equal(answered[0].approved, true);
    assert.equal(answered[0].identity, 'user:alice');
    assert.equal(answered[0].timed_out, false);
    const result = resultOf(events, 'toolu_mkfs');
    assert.equal(result.is_error, false);
    assert.equal(result.content, 'ran: mkfs.ext4 /dev/sdb');
    assert.ok(indexOf(events, 'confirm_result', 'toolu_mkfs') < indexOf(events, 'tool', 'toolu_mkfs'));
    assert.equal(modelResult(st.mock, first, 'toolu_mkfs').content, 'ran: mkfs.ext4 /dev/sdb');

    const again = await confirm(id, { call_id: 'toolu_mkfs', approve: false }, 'mallory');
    assert.equal(again.status, 409, again.text);

    const journal = await fetchJson(`${st.daemon.url}/api/session/${id}/journal`, { headers: AUTH });
    assert.equal(journal.status, 200);
    const lines = journal.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const recorded = lines.filter((l) => JSON.stringify(l).includes('"confirm_result"'));
    assert.equal(recorded.length, 1, journal.text);
    assert.match(JSON.stringify(recorded[0]), /"approved":true/);
    assert.match(JSON.stringify(recorded[0]), /"identity":"user:alice"/);
    await stream.close();
  });

  test('deny: the call does not run and the model gets a clear refusal', async () => {
    const { id, stream, first } = await askOperator('toolu_dd', 'dd if=/dev/zero of=/dev/sda');
    const r = await confirm(id, { call_id: 'toolu_dd', approve: false }, 'bob');
    assert.equal(r.status, 200, r.text);
    const events = await turnEvents(stream, WAIT_MS);
    const answered = ofType(events, 'confirm_result')[0];
    assert.equal(answered.approved, false);
    assert.equal(answered.identity, 'user:bob');
    const result = resultOf(events, 'toolu_dd');
    assert.equal(result.is_error, true);
    assert.equal(result.content, 'the operator (user:bob) declined this call');
    assert.equal(ofType(events, 'tool_output').length, 0);
    const back = modelResult(st.mock, first, 'toolu_dd');
    assert.equal(back.is_error, true);
    assert.equal(back.content, result.content);
    assert.equal((await confirm(id, { call_id: 'toolu_dd', approve: true }, 'bob')).status, 409);
    await stream.close();
  });

  test('a cancel while the operator reads ends the turn at once', async () => {
    const { id, stream } = await askOperator('toolu_reboot', 'sudo reboot');
    const t0 = Date.now();
    assert.equal((await st.cancel(id)).status, 200);
    const events = await turnEvents(stream, CANCEL_ENDS_TURN_MS);
    assert.ok(Date.now() - t0 < CANCEL_ENDS_TURN_MS);
    const answered = ofType(events, 'confirm_result')[0];
    assert.equal(answered.approved, false);
    assert.equal(answered.timed_out, false);
    assert.equal(resultOf(events, 'toolu_reboot').is_error, true);
    assert.equal(events.at(-1).kind, 'turn_end');
    assert.equal((await confirm(id, { call_id: 'toolu_reboot', approve: true }, 'alice')).status, 409);
    await stream.close();
  });
});

describe('confirm_destructive through the daemon: the spellings issue 12 found running unasked', () => {
  const st = forSuite(() => policyStack('destructive'));

  test('each line of the report is a confirm_request and does not run; everyday diagnostics run unasked', async () => {
    const asking = ISSUE_12_REPORT.map((command, i) => shell(command, `toolu_report_${i}`));
    const everyday = EVERYDAY.map((command, i) => shell(command, `toolu_everyday_${i}`));
    // Interleaved, so that an everyday call is decided between two asks.
    const calls = asking.flatMap((c, i) => (everyday[i] ? [c, everyday[i]] : [c]));
    const { id, stream } = await st.startTurn([{ toolUses: calls }, { text: 'Done.' }]);
    const asked = new Map();
    while (asked.size < asking.length) {
      const ask = await stream.waitFor((e) => e.data?.kind === 'confirm_request' && !asked.has(e.data.call_id), WAIT_MS);
      asked.set(ask.data.call_id, ask.data);
      const r = await fetchJson(`${st.daemon.url}/api/session/${id}/confirm`,
        { method: 'POST', headers: AUTH, body: { call_id: ask.data.call_id, approve: false } });
      assert.equal(r.status, 200, r.text);
    }
    const events = await turnEvents(stream, WAIT_MS);
    await stream.close();

    for (const c of asking) {
      const request = asked.get(c.id);
      assert.ok(request, `${c.input.command}: no confirm_request`);
      assert.equal(request.policy, 'confirm_destructive', c.input.command);
      assert.deepEqual(request.input, c.input);
      assert.match(request.reason, /^a (catastrophic devvm command|devvm command the check cannot see through) \(/, c.input.command);
      assert.equal(resultOf(events, c.id).is_error, true, `${c.input.command} ran`);
      assert.match(resultOf(events, c.id).content, /declined this call/);
      assert.equal(indexOf(events, 'tool_output', c.id), -1, `${c.input.command} ran`);
    }
    for (const c of everyday) {
      assert.equal(asked.has(c.id), false, `${c.input.command} asked: ${asked.get(c.id)?.reason}`);
      assert.deepEqual(resultOf(events, c.id), { ...resultOf(events, c.id), is_error: false, content: `ran: ${c.input.command}` });
    }
    assert.equal(ofType(events, 'confirm_request').length, asking.length);
    // What it saw, named: the command unwrapped and what it came through.
    assert.equal(asked.get('toolu_report_0').reason, 'a catastrophic devvm command (reboot restarts the devvm): reboot [through bash -c]');
    assert.equal(asked.get('toolu_report_6').reason,
      'a devvm command the check cannot see through (command substitution: $(printf reboot)): $(printf reboot)');
    assert.equal(asked.get('toolu_report_8').reason,
      'a catastrophic devvm command (a write to a system file): tee /proc/sysrq-trigger');
  });
});

describe('operator confirmation with no answer', () => {
  const st = forSuite(() => policyStack('confirm-timeout', { env: { BREAKGLASS_CONFIRM_TIMEOUT_SECONDS: '1' } }));

  test('no answer within the limit counts as a denial, and the model hears why', async () => {
    const { stream, first, events } = await st.runTurn([{ toolUses: [shell('wipefs -a /dev/vdb', 'toolu_wipe')] }, { text: 'Not run.' }], { waitMs: WAIT_MS });
    assert.equal(ofType(events, 'confirm_request')[0].timeout_ms, 1000);
    const answered = ofType(events, 'confirm_result')[0];
    assert.equal(answered.call_id, 'toolu_wipe');
    assert.equal(answered.approved, false);
    assert.equal(answered.timed_out, true);
    const result = resultOf(events, 'toolu_wipe');
    assert.equal(result.is_error, true);
    assert.equal(result.content, 'no answer from the operator within 1 s: counted as a denial');
    assert.equal(modelResult(st.mock, first, 'toolu_wipe').content, result.content);
    await stream.close();
  });
});

describe('a policy that fails', () => {
  const st = forSuite(() => policyStack('raises', { extra: extraPolicies('z_raises.lua') }));

  test('denies the call (fail closed), naming the file and line', async () => {
    const { stream, first, events } = await st.runTurn([
      { toolUses: [shell('uptime', 'toolu_up'), pve('cycle', 'toolu_cycle')] }, { text: 'Refused.' },
    ], { waitMs: WAIT_MS });
    for (const callId of ['toolu_up', 'toolu_cycle']) {
      const deny = ofType(events, 'policy').find((e) => e.call_id === callId);
      assert.equal(deny.verdict, 'deny');
      assert.equal(deny.policy, 'raises');
      assert.match(deny.reason, /policy\/z_raises\.lua:5: broken on purpose/);
      const result = resultOf(events, callId);
      assert.equal(result.is_error, true);
      assert.match(result.content, /^refused by policy raises: .*broken on purpose/);
      assert.equal(modelResult(st.mock, first, callId).is_error, true);
    }
    assert.equal(ofType(events, 'tool_output').length, 0);
    assert.equal(indexOf(events, 'tool', 'toolu_cycle.first1'), -1, 'nothing runs first for a denied call');
    await stream.close();
  });
});

describe('a run_first the gate refuses', () => {
  const st = forSuite(() => policyStack('insists', { extra: extraPolicies('z_insists.lua') }));

  test('one asked again after the last round, and one that is a change, are refused in the policy\'s name', async () => {
    const { stream, first, events } = await st.runTurn([
      { toolUses: [shell('uptime', 'toolu_up'), shell('hostname', 'toolu_host')] }, { text: 'Refused.' },
    ], { waitMs: WAIT_MS });
    // GATE_MAX_ROUNDS_COUNT (2) inserted calls run, then the third ask is refused.
    assert.deepEqual(ofType(events, 'tool').map((e) => e.call_id).filter((id) => id.startsWith('toolu_up.')),
      ['toolu_up.first1', 'toolu_up.first2']);
    const refusals = {
      toolu_up: /^refused by policy insists: policy insists asked again to run devvm_shell first; refused after 2 rounds$/,
      toolu_host: /^refused by policy insists: policy insists asked to run pve first, which is mutating; refused$/,
    };
    for (const [callId, want] of Object.entries(refusals)) {
      const result = resultOf(events, callId);
      assert.equal(result.is_error, true);
      assert.match(result.content, want);
      // The model hears of any calls run first, then of the refusal.
      assert.equal(modelResult(st.mock, first, callId).content.split('\n').at(-1), result.content);
    }
    assert.equal(indexOf(events, 'tool', 'toolu_host.first1'), -1, 'no change is run first');
    assert.deepEqual(ofType(events, 'tool_output').map((e) => e.text), ['date\n', 'date\n']);
    await stream.close();
  });
});
