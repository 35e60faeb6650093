// The power buttons pass the one action pipeline (DESIGN.md invariant 9),
// against the real lab: a button cycle with no fresh forensics shows the
// forensics a policy inserts, the policy's decision, the verb's live output
// and its result as events of the session it was pressed in; the journal
// holds their intents and records; the session lists them and survives a
// restart; replay reproduces the press and catches an edit that denies it.
// A button the agent's rate limit refuses can be pressed again with an
// override, on record, while the agent stays refused. Runs as root (the
// lab does).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AUTH, startStack, turnEvents } from '../../lib/agent-stack.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { startLab } from '../../lib/lab.mjs';
import { withSettings } from '../../fixtures/lua/policy_fake_tools/scripts.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('lab-buttons-test');

const VERB_LIMIT_MS = 90000;
const FORENSICS_HEADER = '=== breakglass-pve forensics: VM 102';
const SHIPPED = join(process.env.BREAKGLASS_SOURCE_DIR, 'lua');

// An edit under review that denies cycles (the replay tests' too).
const DENY_CYCLE = fs.readFileSync(
  join(process.env.BREAKGLASS_SOURCE_DIR, 'tests', 'fixtures', 'lua', 'replay_deny_cycle', 'policy', 'deny_cycle.lua'), 'utf8');

const press = (st, verb, body = {}) => fetchJson(`${st.daemon.url}/api/pve/${verb}`,
  { method: 'POST', headers: AUTH, body, timeoutMs: VERB_LIMIT_MS });

function journalOf(dataDir, id) {
  return fs.readFileSync(join(dataDir, 'sessions', `${id}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

function replay(target, scripts) {
  const r = spawnSync(process.env.BREAKGLASS_BIN, ['replay', target, '--scripts', scripts],
    { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** A copy of the shipped scripts with settings changed in policy files. */
function scriptsWith(at, settings = {}, extra = {}) {
  fs.cpSync(SHIPPED, at, { recursive: true });
  for (const [file, values] of Object.entries(settings)) {
    const path = join(at, 'policy', file);
    fs.writeFileSync(path, withSettings(fs.readFileSync(path, 'utf8'), values));
  }
  for (const [file, text] of Object.entries(extra)) fs.writeFileSync(join(at, 'policy', file), text);
  return at;
}

describe('the buttons through the action pipeline', () => {
  const lab = forSuite(() => startLab(), (l) => l.stop());

  test('a cycle with no fresh forensics: inserted forensics, policy, live output and result, recorded and replayable, across a restart', async () => {
    const base = join(dir, 'cycle');
    const st = await startStack(base, { scripts: 'shipped', env: lab.env() });
    try {
      const id = await st.newSession();
      const stream = await st.attach(id);
      await stream.waitFor((e) => e.event === 'caught-up');
      const r = await press(st, 'cycle', { session_id: id });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.exit_code, 0);
      assert.equal(r.json.session_id, id);
      assert.match(r.json.note, /pve forensics ran first for policy forensics_first: ok/);
      const callId = r.json.call_id;
      await stream.waitFor((e) => e.data?.kind === 'tool_result' && e.data.call_id === callId, VERB_LIMIT_MS);
      const eventsOf = (s) => s.events.filter((e) => e.id !== null).map((e) => e.data);
      const events = eventsOf(stream);
      await stream.close();

      const first = `${callId}.first1`;
      const steps = events.filter((e) => ['button', 'policy', 'tool', 'tool_result'].includes(e.kind))
        .map((e) => `${e.kind} ${e.call_id}${e.verdict ? ` ${e.verdict}` : ''}`);
      assert.deepEqual(steps, [`button ${callId}`, `policy ${callId} run_first`, `tool ${first}`,
        `tool_result ${first}`, `tool ${callId}`, `tool_result ${callId}`]);
      const inserted = events.find((e) => e.kind === 'tool' && e.call_id === first);
      assert.deepEqual([inserted.input, inserted.inserted_by, inserted.source], [{ verb: 'forensics' }, 'forensics_first', 'button']);
      const output = (cid) => events.filter((e) => e.kind === 'tool_output' && e.call_id === cid).map((e) => e.text).join('');
      assert.ok(output(first).startsWith(FORENSICS_HEADER), output(first).slice(0, 200));
      assert.ok(output(callId).startsWith(FORENSICS_HEADER), 'the host captures forensics before its cycle too');
      const result = events.find((e) => e.kind === 'tool_result' && e.call_id === callId);
      assert.equal(result.is_error, false);
      assert.equal(result.details.exit_code, 0);
      assert.match(result.content, /^pve cycle: exit 0, /);

      const records = journalOf(base + '/data', id);
      const at = (pred) => records.findIndex(pred);
      const intent = (cid) => at((x) => x.kind === 'intent' && x.call_id === cid);
      const firstOutput = (cid) => at((x) => x.kind === 'event' && x.event.kind === 'tool_output' && x.event.call_id === cid);
      for (const cid of [first, callId]) {
        assert.ok(intent(cid) >= 0 && intent(cid) < firstOutput(cid), `${cid}: intent before its output`);
      }
      const record = records.find((x) => x.kind === 'tool_call' && x.call_id === callId);
      assert.equal(record.source, 'button');
      assert.equal(record.decision, 'allow');
      assert.deepEqual(record.decisions.map((d) => `${d.policy} ${d.verdict}`), ['forensics_first run_first']);
      assert.equal(records.find((x) => x.kind === 'tool_call' && x.call_id === first).inserted_by, 'forensics_first');

      const listed = (await fetchJson(`${st.daemon.url}/api/sessions`, { headers: AUTH })).json.sessions.find((s) => s.id === id);
      assert.equal(listed.tool_calls, 2);
      assert.equal(listed.mutating_calls, 1);

      // A restart keeps all of it: listed, and every event replayed.
      await st.restart();
      const again = (await fetchJson(`${st.daemon.url}/api/sessions`, { headers: AUTH })).json.sessions.find((s) => s.id === id);
      assert.equal(again.tool_calls, 2);
      const replayed = await st.attach(id);
      await replayed.waitFor((e) => e.event === 'caught-up');
      const after = eventsOf(replayed);
      const differs = after.findIndex((e, i) => JSON.stringify(e) !== JSON.stringify(events[i]));
      assert.equal(differs, -1, `event ${differs}: ${JSON.stringify(after[differs])?.slice(0, 300)} != ${JSON.stringify(events[differs])?.slice(0, 300)}`);
      assert.equal(after.length, events.length);
      await replayed.close();

      // Replay gives the same decisions; an edit that denies cycles is
      // caught, naming the press.
      const journal = join(base, 'data', 'sessions', `${id}.jsonl`);
      const same = replay(journal, SHIPPED);
      assert.equal(same.status, 0, same.out);
      assert.match(same.out, new RegExp(`\\[${callId}, button\\]: same`));
      const edited = scriptsWith(join(base, 'edited'), {}, { 'deny_cycle.lua': DENY_CYCLE });
      const caught = replay(journal, edited);
      assert.equal(caught.status, 1, caught.out);
      assert.match(caught.out, new RegExp(`\\[${callId}, button\\]: DIVERGES\\n(.*\\n)*  - decision: recorded allow, now deny \\(policy deny_cycle`));
    } finally {
      await st.close();
    }
  });

  test('a press outside any chat goes to the operator session, which lists it and streams it', async () => {
    const st = await startStack(join(dir, 'operator'), { scripts: 'shipped', env: lab.env() });
    try {
      const r = await press(st, 'status');
      assert.equal(r.status, 200, r.text);
      assert.match(r.json.stdout, /status: running/);
      const sessions = (await fetchJson(`${st.daemon.url}/api/sessions`, { headers: AUTH })).json.sessions;
      const operator = sessions.find((s) => s.id === r.json.session_id);
      assert.equal(operator.kind, 'operator');
      assert.equal(operator.title, 'Power buttons');
      const again = await press(st, 'status');
      assert.equal(again.json.session_id, r.json.session_id, 'one operator session at a time');
      const stream = await st.attach(operator.id);
      await stream.waitFor((e) => e.event === 'caught-up');
      const calls = stream.events.filter((e) => e.data?.kind === 'tool').map((e) => e.data.call_id);
      assert.deepEqual(calls, [r.json.call_id, again.json.call_id]);
      await stream.close();
      const prompt = await st.prompt(operator.id, 'hello');
      assert.equal(prompt.status, 409, 'the operator session takes no prompts');
    } finally {
      await st.close();
    }
  });

  test('the rate limit binds the agent across a crash; the operator overrides it at the button, on record', async () => {
    const scripts = scriptsWith(join(dir, 'limited-scripts'), {
      'rate_limit.lua': { MAX_MUTATING: 1, WINDOW_MS: 10 * 60 * 1000 },
    });
    const base = join(dir, 'limited');
    const st = await startStack(base, { scripts, env: lab.env() });
    try {
      assert.equal((await press(st, 'reset')).status, 200);
      const verbs = (await fetchJson(`${st.daemon.url}/api/pve/verbs`, { headers: AUTH })).json;
      assert.equal(verbs.state.reset.available, false, 'the page can grey it out before the press');
      assert.equal(verbs.state.reset.policy, 'rate_limit');
      assert.equal(verbs.state.reset.overridable, true);
      assert.match(verbs.state.reset.reason, /allowed again in \d+ s/);
      assert.equal(verbs.state.status.available, true);

      // A crash forgets nothing the limit counts: the actions are read
      // back from the journals (issue 12, item 6).
      await st.restart({ kill9: true });
      const after = (await fetchJson(`${st.daemon.url}/api/pve/verbs`, { headers: AUTH })).json;
      assert.equal(after.state.reset.available, false, 'still limited after kill -9 and a restart');
      assert.equal(after.state.reset.policy, 'rate_limit');

      const refused = await press(st, 'reset');
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.json.policy, 'rate_limit');
      assert.equal(refused.json.overridable, true);

      const { stream } = await st.startTurn([
        { toolUses: [{ name: 'pve', input: { verb: 'reset' } }] },
        { text: 'Refused.' },
      ], 'Reset the devvm.');
      const agent = (await turnEvents(stream, VERB_LIMIT_MS)).filter((e) => e.kind === 'tool_result').at(-1);
      await stream.close();
      assert.equal(agent.is_error, true);
      assert.match(agent.content, /^refused by policy rate_limit: /);

      const overridden = await press(st, 'reset', { override: true });
      assert.equal(overridden.status, 200, overridden.text);
      const records = journalOf(join(base, 'data'), overridden.json.session_id);
      const record = records.find((x) => x.kind === 'tool_call' && x.call_id === overridden.json.call_id);
      assert.deepEqual(record.override.map((o) => `${o.policy} ${o.identity}`), ['rate_limit bearer']);
      const shown = records.filter((x) => x.kind === 'event' && x.event.call_id === overridden.json.call_id)
        .map((x) => x.event);
      assert.equal(shown.find((e) => e.kind === 'button').override, true);
      assert.equal(shown.find((e) => e.kind === 'policy' && e.verdict === 'override').identity, 'bearer');
    } finally {
      await st.close();
    }
  });
});

