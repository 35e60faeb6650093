// Issue 12, item 2 through the daemon: C functions a script keeps busy
// (table.concat whose __index is rawlen, utf8.len over a long string) must
// stop at the Lua time limit with a clear error, in a tool handler and in a
// policy's before(), while /health keeps answering. Before the fix one
// handler held the event loop for minutes (150 concat calls: 295 s).
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertHealthWithin, startStack, watchHealth } from '../../lib/agent-stack.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('lua-stall-test');

const CALL_TIMEOUT_MS = 500;
// /health must answer within this while a script runs: one entry holds the
// loop for at most the time limit and one C call past it.
const HEALTH_MAX_MS = 1000;
const HEALTH_EVERY_MS = 100;
const TURN_WAIT_MS = 20000;

function assertHealthy(answers) {
  // The script alone runs for CALL_TIMEOUT_MS.
  const least = CALL_TIMEOUT_MS / HEALTH_EVERY_MS;
  assert.ok(answers.length >= least, `only ${answers.length} /health requests while the script ran`);
  assertHealthWithin(answers, HEALTH_MAX_MS, 'while the script ran');
}

describe('C functions kept busy by a script stop at the Lua time limit', () => {
  let st;
  before(async () => {
    const scripts = join(dir, 'scripts');
    cpSync(join(process.env.BREAKGLASS_SOURCE_DIR, 'tests', 'fixtures', 'lua', 'stall'), scripts,
      { recursive: true });
    st = await startStack(join(dir, 'stack'), {
      scripts,
      env: {
        BREAKGLASS_LUA_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS),
        // Room for tools/utf8len.lua's 4 MB string.
        BREAKGLASS_LUA_MEMORY_MB: '16',
      },
    });
  });
  after(() => st?.close());

  const tools = [
    ['concat', /^tools\/concat\.lua:9: time limit \(500 ms\) exceeded$/],
    ['utf8len', /^tools\/utf8len\.lua:9: time limit \(500 ms\) exceeded$/],
  ];
  for (const [tool, error] of tools) {
    test(`a tool handler (${tool}): an error result naming the limit and line; /health answers throughout`, async () => {
      const health = watchHealth(st, HEALTH_EVERY_MS);
      const { stream, first, events } = await st.runTurn([
        { toolUses: [{ name: tool, input: {} }] },
        { text: 'The tool was stopped.' },
      ], { waitMs: TURN_WAIT_MS });
      await stream.close();
      const answers = await health.stop();
      const result = events.find((e) => e.kind === 'tool_result');
      assert.equal(result.is_error, true, result.content);
      assert.match(result.content, error);
      assert.equal(events.at(-2).result, 'The tool was stopped.');
      assert.equal(st.mock.requests.length, first + 2);
      assertHealthy(answers);
    });
  }

  test('a policy\'s before(): the call is refused (fail closed) naming the limit; /health answers throughout', async () => {
    const health = watchHealth(st, HEALTH_EVERY_MS);
    const { stream, events } = await st.runTurn([
      { toolUses: [{ name: 'guarded', input: {}, id: 'toolu_guarded' }] },
      { text: 'Refused.' },
    ], { waitMs: TURN_WAIT_MS });
    await stream.close();
    const answers = await health.stop();
    const deny = events.find((e) => e.kind === 'policy' && e.call_id === 'toolu_guarded');
    assert.equal(deny.verdict, 'deny');
    assert.equal(deny.policy, 'concat_before');
    assert.match(deny.reason, /policy\/concat_before\.lua:8: time limit \(500 ms\) exceeded$/);
    const result = events.find((e) => e.kind === 'tool_result' && e.call_id === 'toolu_guarded');
    assert.equal(result.is_error, true);
    assert.match(result.content, /^refused by policy concat_before: /);
    assert.equal(events.some((e) => e.kind === 'tool_output'), false);
    assertHealthy(answers);
  });

  test('afterwards the same scripts serve the next call', async () => {
    const { stream, events } = await st.runTurn([
      { toolUses: [{ name: 'concat', input: {} }, { name: 'guarded', input: {} }] },
      { text: 'Done.' },
    ], { waitMs: TURN_WAIT_MS });
    await stream.close();
    const results = events.filter((e) => e.kind === 'tool_result');
    assert.equal(results.length, 2);
    assert.match(results[0].content, /time limit \(500 ms\) exceeded$/);
    assert.match(results[1].content, /time limit \(500 ms\) exceeded$/);
    assert.equal(events.at(-1).kind, 'turn_end');
  });
});
