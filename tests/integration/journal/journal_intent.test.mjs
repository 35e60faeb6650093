// Intent first (DESIGN.md invariant 2): every tool call, mutating or not, is
// written to the journal and flushed before it runs ("mutating" is what
// policies decide by, not what decides whether the journal comes first);
// when it cannot be written, the call does not run, the operator is told
// why, and the turn goes on to its end.
//
// Writes are made to fail without root with the file-size limit: a daemon
// started under `ulimit -f 0` (SIGXFSZ ignored) gets EFBIG from every
// write to a regular file, a real I/O error path like a full disk.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeScriptsDir, startStack } from '../../lib/agent-stack.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('journal-intent-test');

/** A wrapper that runs the daemon with no room to write any file. */
function noWritesBin(at) {
  const path = join(at, 'breakglass-no-writes');
  writeFileSync(path, `#!/bin/sh\ntrap '' XFSZ\nulimit -f 0\nexec '${process.env.BREAKGLASS_BIN}' "$@"\n`, { mode: 0o755 });
  return path;
}

/** Mock + daemon; runs one turn of forms and returns its events and the model's requests. */
async function runTurn(name, forms, { bin, env = {} } = {}) {
  const base = join(dir, name);
  const st = await startStack(base, { bin, env, scripts: makeScriptsDir(join(base, 'scripts'), ['journal_tools']) });
  try {
    const { id, stream, events } = await st.runTurn(forms, { prompt: 'Poke it.' });
    stream.close();
    const listed = (await st.get('/api/sessions')).json.sessions[0];
    await st.stop();
    return { id, events, listed, requests: st.mock.requests, log: st.daemon.log, dataDir: st.dataDir };
  } finally {
    await st.close();
  }
}

const POKE_THEN_ECHO = [
  { toolUses: [{ name: 'poke', input: {}, id: 'toolu_poke' }, { name: 'echo', input: { text: 'still works' }, id: 'toolu_echo' }] },
  { text: 'Done.' },
];

const resultOf = (events, id) => events.find((e) => e.kind === 'tool_result' && e.call_id === id);
const outputOf = (events, id) => events.filter((e) => e.kind === 'tool_output' && e.call_id === id).map((e) => e.text).join('');

describe('intent first', () => {
  test('a mutating call is recorded and flushed before it runs, its result after', async () => {
    const { id, events, listed, dataDir } = await runTurn('written', POKE_THEN_ECHO);
    assert.equal(listed.tool_calls, 2);
    assert.equal(listed.mutating_calls, 1);
    assert.equal(resultOf(events, 'toolu_poke').content, 'poked');
    assert.equal(outputOf(events, 'toolu_poke'), 'poked');
    const records = readFileSync(join(dataDir, 'sessions', `${id}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const at = (pred) => records.findIndex(pred);
    const intent = at((r) => r.kind === 'intent' && r.call_id === 'toolu_poke');
    const output = at((r) => r.kind === 'event' && r.event.kind === 'tool_output' && r.event.call_id === 'toolu_poke');
    const call = at((r) => r.kind === 'tool_call' && r.call_id === 'toolu_poke');
    assert.ok(intent >= 0, 'an intent record');
    assert.ok(intent < output && output < call, `intent (${intent}) before output (${output}) before the result (${call})`);
    assert.equal(records[intent].name, 'poke');
    assert.match(records[intent].identity, /bearer/i);
    assert.deepEqual(records[call].decisions, []);
    assert.equal(records[call].mutating, true);
    assert.equal(records[call].result.content, 'poked');
    assert.equal(records[call].source, 'model');
    assert.ok(records[call].started_ms <= Date.parse(records[call].ts), 'the record keeps when the call started');
    const echoIntent = at((r) => r.kind === 'intent' && r.call_id === 'toolu_echo');
    const echoOutput = at((r) => r.kind === 'event' && r.event.kind === 'tool_output' && r.event.call_id === 'toolu_echo');
    assert.ok(echoIntent >= 0 && echoIntent < echoOutput, 'a read-only call has its intent first too');
    assert.equal(records[echoIntent].mutating, false);
    assert.match(records[0].ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(events.filter((e) => 'unrecorded' in e), [], 'journaled events carry no mark');
  });

  test('when the journal cannot be written every call is refused with the reason, and the turn ends', async () => {
    const { events, requests, log } = await runTurn('full', POKE_THEN_ECHO, { bin: noWritesBin(dir) });
    const refused = resultOf(events, 'toolu_poke');
    assert.equal(refused.is_error, true);
    assert.match(refused.content, /not run: its intent could not be written to the journal: .*File too large/);
    assert.equal(outputOf(events, 'toolu_poke'), '', 'the handler never ran');
    const error = events.find((e) => e.kind === 'error' && e.error_type === 'journal');
    assert.ok(error, 'an error event tells the operator');
    assert.match(error.error, /File too large/);
    const echo = resultOf(events, 'toolu_echo');
    assert.equal(echo.is_error, true, 'a read-only call needs its intent on disk too');
    assert.match(echo.content, /not run: its intent could not be written to the journal/);
    assert.equal(outputOf(events, 'toolu_echo'), '', 'its handler never ran');
    assert.equal(events.at(-2).is_error, false, 'the turn goes on to its end');
    const back = requests.at(-1).body.messages.at(-1).content.find((b) => b.tool_use_id === 'toolu_poke');
    assert.equal(back.is_error, true, 'the model is told the call did not run');
    assert.ok(log.some((l) => /cannot write the journal/.test(l)));
    // The page still sees the turn, but no event claims a place in a
    // journal that does not hold it (issue 12, item 8).
    assert.ok(events.length > 0);
    assert.deepEqual(events.filter((e) => e.unrecorded !== true).map((e) => e.kind), [],
      'every event the journal could not take is marked unrecorded');
  });

  test('with no journal folder at all, every call is refused and says why', async () => {
    const { events, listed } = await runTurn('nodir', POKE_THEN_ECHO, { env: { BREAKGLASS_SESSIONS_DIR: '/dev/null/sessions' } });
    assert.match(listed.journal_error, /cannot create the folder \/dev\/null/);
    assert.match(resultOf(events, 'toolu_poke').content, /no journal.*\/dev\/null/);
    assert.match(resultOf(events, 'toolu_echo').content, /no journal.*\/dev\/null/);
  });
});
