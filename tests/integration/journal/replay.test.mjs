// breakglass replay: a session recorded by the daemon (mock model, the
// shipped policies, fake pve / devvm_shell tools) walked offline through
// the same scripts (nothing diverges), through edited ones (a policy that
// denies cycle, pve removed, forensics_first removed), and from damaged
// journals (garbage in the middle: exit 2 naming the line; a torn last line
// is tolerated and said).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync, copyFileSync, cpSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { startStack } from '../../lib/agent-stack.mjs';
import { makePolicyScripts } from '../../fixtures/lua/policy_fake_tools/scripts.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('replay-test');

const WAIT_MS = 15000;
const REPLAY_TIMEOUT_MS = 30000;
// 4096 lines of 64 KiB: 256 MiB. Read whole, the journal alone would pass
// the bound; read a line at a time, replay holds one line and its index.
const BIG_JOURNAL_LINES = 4096;
const BIG_REPLAY_MAX_RSS_KIB = 128 * 1024;
const BIG_REPLAY_TIMEOUT_MS = 240000;
const FIXTURES = join(process.env.BREAKGLASS_SOURCE_DIR, 'tests', 'fixtures', 'lua');

function replay(journal, scripts, ...flags) {
  const r = spawnSync(process.env.BREAKGLASS_BIN, ['replay', journal, '--scripts', scripts, ...flags], {
    encoding: 'utf8', timeout: REPLAY_TIMEOUT_MS, env: { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A copy of the recorded scripts, changed by edit(copy). */
function editedScripts(name, scripts, edit) {
  const copy = join(dir, name);
  cpSync(scripts, copy, { recursive: true });
  edit(copy);
  return copy;
}

/**
 * Records sessions with the policy scripts: a stack of its own on dir/NAME
 * that play(st) drives, closed afterwards even when play fails. Returns the
 * scripts folder, the one replay is then given.
 */
async function record(name, play) {
  const scripts = makePolicyScripts(join(dir, name, 'scripts'));
  const st = await startStack(join(dir, name), { scripts });
  try {
    await play(st);
  } finally {
    await st.close();
  }
  return scripts;
}

describe('replay of a recorded session', () => {
  let scripts;
  let journal;
  let callIds;

  before(async () => {
    scripts = await record('session', async (st) => {
      const { id, stream, events } = await st.runTurn([
        { toolUses: [{ name: 'devvm_shell', input: { command: 'uptime' }, id: 'toolu_shell' }] },
        { toolUses: [{ name: 'pve', input: { verb: 'cycle' }, id: 'toolu_cycle' }] },
        { toolUses: [{ name: 'pve', input: { verb: 'status' }, id: 'toolu_status' }] },
        { text: 'Cycled.' },
      ], { waitMs: WAIT_MS });
      stream.close();
      callIds = events.filter((e) => e.kind === 'tool').map((e) => e.call_id);
      // forensics_first ran pve forensics before the cycle: the recording has it.
      assert.deepEqual(callIds, ['toolu_shell', 'toolu_cycle.first1', 'toolu_cycle', 'toolu_status']);
      journal = join(st.daemon.dataDir, 'sessions', `${id}.jsonl`);
    });
    copyFileSync(journal, join(dir, 'recorded.jsonl'));
    journal = join(dir, 'recorded.jsonl');
  });

  test('with the unchanged scripts every call is the same: exit 0', () => {
    const r = replay(journal, scripts);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /summary: 3 calls \(1 run first by policies\), 3 same, 0 diverge/);
    assert.match(r.out, /toolu_cycle, model\]: same/);
  });

  test('--json has the per-call entries and the summary', () => {
    const r = replay(journal, scripts, '--json');
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    assert.deepEqual(report.calls.map((c) => [c.call_id, c.tool, c.status]),
      [['toolu_shell', 'devvm_shell', 'same'], ['toolu_cycle', 'pve', 'same'], ['toolu_status', 'pve', 'same']]);
    const cycle = report.calls[1];
    assert.deepEqual(cycle.inserted, ['toolu_cycle.first1']);
    assert.equal(cycle.recorded.outcome, 'allow');
    assert.deepEqual(cycle.now.decisions.map((d) => [d.verdict, d.policy, d.run_first?.input?.verb]),
      [['run_first', 'forensics_first', 'forensics']]);
    assert.deepEqual(report.summary, { calls: 3, inserted_calls: 1, same: 3, diverges: 0 });
    assert.equal(report.torn_line, null);
  });

  test('with a policy that denies cycle: exit 1, naming the call', () => {
    const edited = editedScripts('deny-cycle', scripts, (d) =>
      copyFileSync(join(FIXTURES, 'replay_deny_cycle', 'policy', 'deny_cycle.lua'), join(d, 'policy', 'deny_cycle.lua')));
    const r = replay(journal, edited);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /pve \{"verb":"cycle"\} \[toolu_cycle, model\]: DIVERGES\n(.*\n)*  - decision: recorded allow, now deny \(policy deny_cycle: cycles are off/);
    // deny_cycle sorts before forensics_first and the first deny wins: no forensics run now.
    assert.match(r.out, /policy forensics_first would no longer run pve forensics first/);
    assert.match(r.out, /toolu_shell, model\]: same/);
    assert.match(r.out, /toolu_status, model\]: same/);
    const report = JSON.parse(replay(journal, edited, '--json').out);
    assert.deepEqual(report.calls.filter((c) => c.status === 'diverges').map((c) => c.call_id), ['toolu_cycle']);
  });

  test('with the pve tool removed: exit 1, naming the tool', () => {
    const edited = editedScripts('no-pve', scripts, (d) => rmSync(join(d, 'tools', 'pve.lua')));
    const r = replay(journal, edited);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /\[toolu_cycle, model\]: DIVERGES\n(.*\n)*  - tool pve no longer exists/);
    assert.match(r.out, /\[toolu_status, model\]: DIVERGES\n(.*\n)*  - tool pve no longer exists/);
    assert.match(r.out, /toolu_shell, model\]: same/);
  });

  test('with forensics_first removed: the forensics run is no longer inserted', () => {
    const edited = editedScripts('no-forensics', scripts, (d) => rmSync(join(d, 'policy', 'forensics_first.lua')));
    const r = replay(journal, edited);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /\[toolu_cycle, model\]: DIVERGES\n(.*\n)*  - policy forensics_first would no longer run pve forensics first/);
  });

  test('input that no longer validates diverges', () => {
    const edited = editedScripts('strict-shell', scripts, (d) => {
      const f = join(d, 'tools', 'devvm_shell.lua');
      writeFileSync(f, readFileSync(f, 'utf8').replace('minLength = 1, maxLength = 8192', 'minLength = 1, maxLength = 3'));
    });
    const r = replay(journal, edited);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /\[toolu_shell, model\]: DIVERGES\n(.*\n)*  - input no longer validates: input\.command/);
  });

  test('garbage in the middle: exit 2 naming the line', () => {
    const lines = readFileSync(journal, 'utf8').split('\n');
    lines.splice(4, 0, 'this is not json');
    const bad = join(dir, 'garbage.jsonl');
    writeFileSync(bad, lines.join('\n'));
    const r = replay(bad, scripts);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /line 5 is not JSON/);
    assert.equal(r.out, '');
  });

  test('a torn last line: the rest compared, the dropped record said on stderr, in the text and in --json', () => {
    const torn = join(dir, 'torn.jsonl');
    writeFileSync(torn, `${readFileSync(journal, 'utf8')}{"ts":"2026-01-01T00:00:00.000Z","kind":"ev`);
    const lineCount = readFileSync(journal, 'utf8').split('\n').length;
    const dropped = new RegExp(`line ${lineCount} was being written when the process died: its record was dropped`);
    const r = replay(torn, scripts);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, new RegExp(`note: ${dropped.source}`));
    assert.match(r.err, new RegExp(`^warning: session torn: ${dropped.source}`, 'm'));
    const j = replay(torn, scripts, '--json');
    assert.equal(j.code, 0, j.err);
    const report = JSON.parse(j.out);
    assert.equal(report.torn_line, lineCount);
    assert.match(report.dropped, dropped);
    assert.match(j.err, dropped, 'said on stderr with --json too');
    assert.equal(report.summary.calls, 3, 'every call compared: shell, cycle, status');
  });

  test('a tool_call whose input is not an object: exit 2 naming the line', () => {
    const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
    const at = lines.findIndex((l) => JSON.parse(l).kind === 'tool_call');
    const rec = JSON.parse(lines[at]);
    rec.input = ['not', 'an', 'object'];
    lines[at] = JSON.stringify(rec);
    const bad = join(dir, 'array-input.jsonl');
    writeFileSync(bad, `${lines.join('\n')}\n`);
    const r = replay(bad, scripts);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, new RegExp(`line ${at + 1} is a tool_call whose input is not an object`));
    assert.equal(r.out, '');
  });

  test('a 256 MiB journal is read a line at a time: memory stays far below its size', () => {
    const big = join(dir, 'big.jsonl');
    const fd = openSync(big, 'w');
    const [head, ...rest] = readFileSync(journal, 'utf8').trimEnd().split('\n');
    writeSync(fd, `${head}\n`);
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < BIG_JOURNAL_LINES; i++) {
      writeSync(fd, `{"ts":"2026-01-01T00:00:00.000Z","kind":"event","event":{"kind":"tool_output","call_id":"toolu_shell","id":${100000 + i},"text":"${chunk}"}}\n`);
    }
    writeSync(fd, `${rest.join('\n')}\n`);
    closeSync(fd);
    // Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
    // default) before reuse: a small one keeps the figure the program's own.
    const asan = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=8'].filter(Boolean).join(':');
    const r = spawnSync('/usr/bin/time', ['-f', 'maxrss_kib %M', process.env.BREAKGLASS_BIN, 'replay', big, '--scripts', scripts], {
      encoding: 'utf8', timeout: BIG_REPLAY_TIMEOUT_MS, env: { PATH: process.env.PATH, ASAN_OPTIONS: asan },
    });
    rmSync(big);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /summary: 3 calls \(1 run first by policies\), 3 same, 0 diverge/);
    const kib = Number(/maxrss_kib (\d+)/.exec(r.stderr)[1]);
    assert.ok(kib < BIG_REPLAY_MAX_RSS_KIB, `replay of a 256 MiB journal peaked at ${kib} KiB`);
  });

  test('a FIFO named as the journal is refused, not waited on', () => {
    const fifo = join(dir, 'fifo.jsonl');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const r = replay(fifo, scripts);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /fifo\.jsonl: not a regular file/);
  });

  test('a journal that cannot be opened: exit 2', () => {
    const r = replay(join(dir, 'missing.jsonl'), scripts);
    assert.equal(r.code, 2);
    assert.match(r.err, /missing\.jsonl: cannot open/);
  });
});

describe('replay of a folder: every session together', () => {
  const SESSIONS = 20;
  let scripts;
  let sessionsDir;
  let cycled;

  before(async () => {
    scripts = await record('folder', async (st) => {
      for (let i = 0; i < SESSIONS; i++) {
        // One session cycles; the others only read.
        const calls = i === 7
          ? [{ name: 'pve', input: { verb: 'cycle' }, id: `toolu_cycle_${i}` }]
          : [{ name: 'pve', input: { verb: 'status' }, id: `toolu_status_${i}` },
            { name: 'devvm_shell', input: { command: 'uptime' }, id: `toolu_shell_${i}` }];
        const { id, stream } = await st.runTurn([{ toolUses: calls }, { text: 'Done.' }], { prompt: `session ${i}`, waitMs: WAIT_MS });
        stream.close();
        if (i === 7) cycled = id;
      }
      sessionsDir = join(st.daemon.dataDir, 'sessions');
    });
    assert.equal(readdirSync(sessionsDir).filter((f) => f.endsWith('.jsonl')).length, SESSIONS);
  });

  test('with the recorded scripts: exit 0, every session the same', () => {
    const r = replay(sessionsDir, scripts, '--json');
    assert.equal(r.code, 0, r.out + r.err);
    const report = JSON.parse(r.out);
    assert.equal(report.summary.sessions, SESSIONS);
    assert.equal(report.summary.diverging_sessions, 0);
    assert.equal(report.summary.calls, (SESSIONS - 1) * 2 + 1);
  });

  test('an edit that denies cycles: exit 1, the one session that cycled named, the others the same', () => {
    const edited = editedScripts('folder-deny-cycle', scripts, (copy) => {
      copyFileSync(join(FIXTURES, 'replay_deny_cycle', 'policy', 'deny_cycle.lua'), join(copy, 'policy', 'deny_cycle.lua'));
    });
    const r = replay(sessionsDir, edited);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, new RegExp(`session ${cycled}\\n(.*\\n)*?call 1 .*\\[toolu_cycle_7, model\\]: DIVERGES`));
    assert.match(r.out, /sessions: 20, of which 1 diverge/);
    const json = JSON.parse(replay(sessionsDir, edited, '--json').out);
    const diverging = json.sessions.filter((s) => s.summary.diverges > 0).map((s) => s.session_id);
    assert.deepEqual(diverging, [cycled]);
    for (const s of json.sessions.filter((x) => x.session_id !== cycled)) {
      assert.ok(s.calls.every((c) => c.status === 'same'), s.session_id);
    }
  });

  test('a folder with a journal that cannot be read: exit 2 naming it', () => {
    const copy = join(dir, 'folder-damaged');
    cpSync(sessionsDir, copy, { recursive: true });
    const victim = readdirSync(copy).find((f) => f.endsWith('.jsonl'));
    const lines = readFileSync(join(copy, victim), 'utf8').split('\n');
    lines.splice(2, 0, 'not json');
    writeFileSync(join(copy, victim), lines.join('\n'));
    const r = replay(copy, scripts);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, new RegExp(`session ${victim.slice(0, 32)}: the journal cannot be read: line 3 is not JSON`));
  });
});
