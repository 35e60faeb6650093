// A property test of the shipped policies through the daemon: a mock model
// answers 500 turns, in several sessions at once, with random pve calls
// (power verbs in random order, bursts of several calls in one message,
// repeats, forensics now and then). Afterwards the events of every session
// must show that
// - every power verb that ran was preceded in its session by a successful
//   forensics capture, since the previous power verb that ran there and at
//   most 10 minutes before;
// - at most MAX_MUTATING power verbs ran in any WINDOW_MS, across sessions;
// - a cycle started at least CYCLE_GAP_MS after the previous cycle ended;
// - no two power verbs overlapped in time, across sessions.
// The test's copy of rate_limit.lua gets small numbers so the limits bite
// within seconds; the shipped file is not touched.
//
// Then `breakglass replay` of the sessions folder, with the same scripts,
// must give every one of those decisions again: replay calls the live
// gate's own step, in the order the live gate took its decisions across
// the sessions, so it cannot drift from it.
//
// The model's answers come from a seeded PRNG, per session, turn and step,
// so a seed replays the same answers: POLICY_PROPERTY_SEED=<n>.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startStack, turnEvents } from '../../lib/agent-stack.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { prng } from '../../lib/prng.mjs';
import { makePolicyScripts } from '../../fixtures/lua/policy_fake_tools/scripts.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('policy-property-test');

const SESSIONS = 5;
const TURNS_PER_SESSION = 100;
const MAX_BURST = 4;
// A turn's model asks for tools this many times at most, then answers.
const MAX_TOOL_ROUNDS = 2;
const TURN_WAIT_MS = 30000;

// The test's rate_limit.lua settings.
const MAX_MUTATING = 3;
const WINDOW_MS = 2000;
const CYCLE_GAP_MS = 500;
// forensics_first.lua as shipped.
const FORENSICS_MAX_AGE_MS = 10 * 60 * 1000;
// Between the gate's clock reading for an action and its `tool` event:
// the same loop iteration, with no I/O between them.
const EVENT_CLOCK_SLACK_MS = 50;

const POWER_VERBS = ['reset', 'stop', 'start', 'cycle'];

const SEED = Number(process.env.POLICY_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));

const pick = (rand, list) => list[Math.floor(rand() * list.length)];

/** One random tool_use block. */
function randomCall(rand) {
  const r = rand();
  if (r < 0.25) return { name: 'pve', input: { verb: 'forensics' } };
  if (r < 0.35) return { name: 'pve', input: { verb: 'status' } };
  if (r < 0.42) return { name: 'devvm_shell', input: { command: 'uptime' } };
  return { name: 'pve', input: { verb: pick(rand, POWER_VERBS) } };
}

/** A burst of 1..MAX_BURST calls, some repeating the one before. */
function randomBurst(rand) {
  const calls = [randomCall(rand)];
  const n = 1 + Math.floor(rand() * MAX_BURST);
  while (calls.length < n) calls.push(rand() < 0.2 ? { ...calls.at(-1) } : randomCall(rand));
  return calls;
}

/**
 * The model: its answer depends only on the seed, the prompt (which names
 * the session and turn) and how many answers the turn has had, so answers
 * replay whatever order the concurrent requests arrive in.
 */
function responder(body) {
  const prompt = body.messages.findLast((m) => m.role === 'user' && m.content.some((b) => b.type === 'text'));
  const [, session, turn] = /^session (\d+) turn (\d+)$/.exec(prompt.content.find((b) => b.type === 'text').text);
  const round = body.messages.slice(body.messages.indexOf(prompt)).filter((m) => m.role === 'assistant').length;
  const rand = prng(SEED ^ Math.imul(Number(session) + 1, 0x9e3779b1) ^ Math.imul(Number(turn) + 1, 0x85ebca77)
    ^ Math.imul(round + 1, 0xc2b2ae3d));
  if (round === 0 || (round < MAX_TOOL_ROUNDS && rand() < 0.3)) {
    return { toolUses: randomBurst(rand), jsonChars: 64 };
  }
  return { text: `Turn ${turn} of session ${session} done.`, deltaChars: 64 };
}

const tsMs = (e) => Date.parse(e.ts);

/** The calls of one session's events: {id, name, input, mutating, inserted_by, start, end, is_error, content}. */
function callsOf(events) {
  const calls = new Map();
  for (const e of events) {
    if (e.kind === 'tool') {
      calls.set(e.call_id, { id: e.call_id, name: e.name, input: e.input, mutating: e.mutating,
        inserted_by: e.inserted_by, start: tsMs(e) });
    } else if (e.kind === 'tool_result') {
      const c = calls.get(e.call_id);
      assert.ok(c, `a tool_result without its tool event: ${e.call_id}`);
      Object.assign(c, { end: tsMs(e), is_error: e.is_error, content: e.content });
    }
  }
  return [...calls.values()];
}

const isForensics = (c) => c.name === 'pve' && c.input?.verb === 'forensics';
const ran = (c) => c.is_error === false;

/** Every power verb that ran had a fresh capture of its own session. */
function checkForensicsFirst(sessionId, calls) {
  let capture = null; // end time of the newest good capture since the last power verb
  for (const c of calls) {
    assert.ok(c.end !== undefined, `${sessionId}: call ${c.id} has no result`);
    if (c.mutating && ran(c)) {
      assert.ok(capture !== null, `${sessionId}: ${c.input.verb} ${c.id} ran without a forensics capture since the last power verb`);
      assert.ok(c.start - capture <= FORENSICS_MAX_AGE_MS, `${sessionId}: ${c.id}: the capture is too old`);
      capture = null;
    } else if (isForensics(c) && ran(c)) {
      capture = c.end;
    }
  }
}

/** The limits across all sessions, over the power verbs that ran. */
function checkLimits(actions) {
  const byStart = [...actions].sort((a, b) => a.start - b.start);
  for (let i = 0; i + MAX_MUTATING < byStart.length; i++) {
    const first = byStart[i], past = byStart[i + MAX_MUTATING];
    assert.ok(past.start - first.start >= WINDOW_MS - EVENT_CLOCK_SLACK_MS,
      `${MAX_MUTATING + 1} power verbs within ${past.start - first.start} ms: ${first.id} .. ${past.id}`);
  }
  for (let i = 1; i < byStart.length; i++) {
    assert.ok(byStart[i].start >= byStart[i - 1].end,
      `power verbs overlapped: ${byStart[i - 1].id} (${byStart[i - 1].start}-${byStart[i - 1].end}) and ${byStart[i].id} (from ${byStart[i].start})`);
  }
  const cycles = byStart.filter((a) => a.input.verb === 'cycle');
  for (let i = 1; i < cycles.length; i++) {
    assert.ok(cycles[i].start - cycles[i - 1].end >= CYCLE_GAP_MS,
      `cycles ${cycles[i - 1].id} and ${cycles[i].id} only ${cycles[i].start - cycles[i - 1].end} ms apart`);
  }
}

/** Runs a session's turns one after another; its events. */
async function runSession(st, n) {
  const id = await st.newSession();
  const stream = await st.attach(id);
  await stream.waitFor((e) => e.event === 'caught-up');
  for (let t = 0; t < TURNS_PER_SESSION; t++) {
    const from = stream.events.length;
    const r = await st.prompt(id, `session ${n} turn ${t}`);
    assert.equal(r.status, 200, r.text);
    const events = await turnEvents(stream, TURN_WAIT_MS, from);
    const result = events.find((e) => e.kind === 'result');
    assert.ok(result && result.is_error === false, `session ${n} turn ${t} failed: ${JSON.stringify(events.at(-2))}`);
  }
  stream.close();
  return { id, events: stream.events.map((e) => e.data).filter(Boolean) };
}

test('500 random turns in 5 sessions at once: forensics first, the rate limits, one at a time; replay decides the same', async (t) => {
  t.diagnostic(`seed ${SEED} (replay with POLICY_PROPERTY_SEED=${SEED})`);
  const base = join(dir, 'stack');
  const scripts = makePolicyScripts(join(base, 'policy-scripts'), {
    settings: { 'rate_limit.lua': { MAX_MUTATING, WINDOW_MS, CYCLE_GAP_MS } },
  });
  const st = await startStack(base, { scripts });
  let closed = false;
  try {
    const ready = await fetchJson(`${st.daemon.url}/readyz`);
    assert.equal(ready.status, 200, `the scripts did not load: ${ready.text}`);
    assert.equal(ready.json.error, undefined, `the scripts did not load: ${ready.text}`);
    st.mock.setResponder(responder);
    const started = Date.now();
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, (_, n) => runSession(st, n)));
    t.diagnostic(`${SESSIONS * TURNS_PER_SESSION} turns in ${Date.now() - started} ms`);

    assert.deepEqual(st.mock.requests.filter((r) => r.rejected).map((r) => r.rejected), []);
    const actions = [];
    const stats = { ran: 0, refused: 0, inserted: 0, byPolicy: {} };
    for (const s of sessions) {
      const calls = callsOf(s.events);
      checkForensicsFirst(s.id, calls);
      for (const c of calls.filter((x) => x.mutating)) {
        if (ran(c)) actions.push({ ...c, session: s.id });
        else stats.refused++;
      }
      stats.inserted += calls.filter((c) => c.inserted_by === 'forensics_first').length;
      for (const e of s.events.filter((x) => x.kind === 'policy')) {
        const key = `${e.policy} ${e.verdict}`;
        stats.byPolicy[key] = (stats.byPolicy[key] ?? 0) + 1;
      }
    }
    stats.ran = actions.length;
    t.diagnostic(JSON.stringify(stats));
    checkLimits(actions);

    // The run must have tested something: power verbs ran, forensics was
    // inserted for some, and the limits refused others.
    assert.ok(stats.ran >= MAX_MUTATING, `only ${stats.ran} power verbs ran`);
    assert.ok(stats.inserted > 0, 'forensics_first never ran a capture first');
    assert.ok(stats.byPolicy['rate_limit deny'] > 0, 'rate_limit never refused');

    await st.close();
    closed = true;
    const r = spawnSync(process.env.BREAKGLASS_BIN, ['replay', join(base, 'data', 'sessions'),
      '--scripts', scripts, '--json'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    assert.ok(r.status === 0 || r.status === 1, `replay failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout);
    const diverging = report.sessions.flatMap((s) => s.calls.filter((c) => c.status !== 'same')
      .map((c) => `${s.session_id} ${c.call_id} ${c.tool} ${JSON.stringify(c.input)}: ${c.differences.join('; ')}`));
    assert.deepEqual(diverging, [], 'replay decides every call as the live daemon did');
    const liveCalls = sessions.reduce((n, s) => n + callsOf(s.events).filter((c) => !c.inserted_by).length, 0);
    assert.equal(report.summary.calls, liveCalls, 'replay saw every call the model made');
    assert.equal(r.status, 0);
  } catch (e) {
    // The reporter prints the stack, which holds the message as it was.
    e.message = `[seed ${SEED}] ${e.message}`;
    e.stack = `[seed ${SEED}] ${e.stack}`;
    throw e;
  } finally {
    if (!closed) await st.close();
  }
});
