// The journal and restart recovery (docs/journal.md): the daemon is killed
// with SIGKILL during a streamed reply and during a tool call, then started
// again on the same data folder; damaged journals; retention; secrets that a
// tool prints back never reach a file under the data folder.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync, chownSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API_KEY, BEARER, TURN_WAIT_MS, makeScriptsDir, startStack, turnEvents } from '../../lib/agent-stack.mjs';
import { isType } from '../../lib/sse-client.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('journal-recovery-test');

const WAIT_MS = 10000;
const OAUTH_TOKEN = 'sk-ant-oat01-journal-test-oauth-token';

/** A stack with the journal tools, and what these tests read of it. */
async function startRestartable(name, env = {}) {
  const base = join(dir, name);
  const lab = await startStack(base, { env, scripts: makeScriptsDir(join(base, 'scripts'), ['journal_tools']) });
  lab.sessions = async () => {
    const r = await lab.get('/api/sessions');
    assert.equal(r.status, 200, r.text);
    return r.json.sessions;
  };
  lab.journalPath = (id) => join(lab.dataDir, 'sessions', `${id}.jsonl`);
  return lab;
}

/** A stack that recorded one text turn and stopped: {lab, id}. */
async function recordedTurn(name) {
  const lab = await startRestartable(name);
  const { id, stream } = await lab.startTurn([{ text: 'All fine.' }], 'Check.');
  await stream.waitForType('turn_end', TURN_WAIT_MS);
  stream.close();
  await lab.stop();
  return { lab, id };
}

/** Every event of a fresh attach up to caught-up. */
async function replay(lab, id, lastEventId) {
  const s = await lab.attach(id, { lastEventId });
  await s.waitFor((e) => e.event === 'caught-up', WAIT_MS);
  s.close();
  return s.events.filter((e) => e.event !== 'caught-up');
}

/**
 * One more turn in a session that came back from a restart: the model
 * answers text, and the turn must end well. Returns the model's request.
 */
async function nextTurn(lab, id, text, prompt) {
  lab.mock.setScript([{ text }]);
  const first = lab.mock.requests.length;
  const next = await lab.attach(id);
  await next.waitFor((e) => e.event === 'caught-up', WAIT_MS);
  assert.equal((await lab.post(`/api/session/${id}/prompt`, { prompt })).status, 200);
  const events = await turnEvents(next, TURN_WAIT_MS, next.events.length - 1);
  next.close();
  assert.equal(events.at(-2).is_error, false, JSON.stringify(events.at(-2)));
  return lab.mock.requests[first];
}

const journalRecords = (path) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const isJournal = (f) => /^[0-9a-f]{32}\.jsonl$/.test(f);

/** The journal as one written before journals were chained: no header, no links. */
function unchain(path) {
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean)
    .filter((l) => JSON.parse(l).kind !== 'chain')
    .map((l) => l.replace(/,"seq":\d+,"hash":"[0-9a-f]{64}"(,"mac":"[0-9a-f]{64}")?\}$/, '}'));
  writeFileSync(path, `${lines.join('\n')}\n`);
}

describe('kill -9 and restart', () => {
  const lab = forSuite(() => startRestartable('restart'));

  test('during a streamed reply: listed, replayed up to the kill, interrupted, Last-Event-ID exact, full history next turn', async () => {
    const answer = 'The devvm is wedged in its I/O path; a cycle is the usual cure for that stall.';
    lab.mock.setScript([{ text: answer, deltaChars: 2, eventDelayMs: 60 }]);
    const id = await lab.newSession();
    const live = await lab.attach(id);
    await live.waitFor((e) => e.event === 'caught-up', WAIT_MS);
    assert.equal((await lab.post(`/api/session/${id}/prompt`, { prompt: 'What is wrong with the devvm?' })).status, 200);
    await live.waitFor(() => live.events.filter(isType('text_delta')).length >= 3, WAIT_MS);
    const seen = live.events.filter((e) => e.id !== null);
    await lab.kill9();
    live.close();

    await lab.start();
    const listed = (await lab.sessions()).find((s) => s.id === id);
    assert.ok(listed, 'the session is listed after the restart');
    assert.equal(listed.status, 'interrupted');
    assert.equal(listed.title, 'What is wrong with the devvm?');

    const all = await replay(lab, id);
    assert.deepEqual(all.slice(0, seen.length).map((e) => [e.id, e.data]), seen.map((e) => [e.id, e.data]),
      'every event the client saw comes back with its id');
    assert.equal(all.at(-1).data.kind, 'interrupted', 'the replay ends with interrupted');
    const ids = all.map((e) => Number(e.id));
    assert.deepEqual(ids, ids.map((_, i) => i + 1), 'ids stay 1, 2, 3, ... across the restart');

    const lastSeen = seen.at(-1).id;
    const missed = await replay(lab, id, lastSeen);
    assert.deepEqual(missed.map((e) => [e.id, e.data]), all.filter((e) => Number(e.id) > Number(lastSeen)).map((e) => [e.id, e.data]),
      'Last-Event-ID after the restart sends exactly the missed events');

    // A second restart keeps it interrupted, told once (issue 12, item 8).
    await lab.start();
    assert.equal((await lab.sessions()).find((s) => s.id === id).status, 'interrupted');
    const again = await replay(lab, id);
    assert.deepEqual(again.map((e) => [e.id, e.data]), all.map((e) => [e.id, e.data]), 'nothing added by the second restart');

    const sent = JSON.stringify((await nextTurn(lab, id, 'Understood.', 'Go on.')).body.messages);
    assert.match(sent, /What is wrong with the devvm\?/, 'the earlier prompt goes to the model');
    assert.match(sent, /Go on\./);
  });

  test('during a tool call: interrupted, and the next turn gives the model the call with an error result', async () => {
    lab.mock.setScript([{ toolUses: [{ name: 'nap', input: { ms: 30000 }, id: 'toolu_nap_1' }], text: 'Let me wait.' }]);
    const id = await lab.newSession();
    const live = await lab.attach(id);
    await live.waitFor((e) => e.event === 'caught-up', WAIT_MS);
    assert.equal((await lab.post(`/api/session/${id}/prompt`, { prompt: 'Wait for it.' })).status, 200);
    await live.waitForType('tool', WAIT_MS);
    const seen = live.events.filter((e) => e.id !== null);
    await lab.kill9();
    live.close();

    await lab.start();
    const sessions = await lab.sessions();
    assert.ok(sessions.length >= 2, 'both sessions are listed');
    const listed = sessions.find((s) => s.id === id);
    assert.equal(listed.status, 'interrupted');
    assert.equal(listed.tool_calls, 1);
    assert.equal(listed.mutating_calls, 0);
    assert.ok(listed.usage.output_tokens > 0, 'token usage is counted from the journal');

    const all = await replay(lab, id);
    assert.deepEqual(all.slice(0, seen.length).map((e) => e.data), seen.map((e) => e.data));
    assert.equal(all.at(-1).data.kind, 'interrupted');

    const req = await nextTurn(lab, id, 'The nap was cut short.', 'What happened?');
    assert.equal(req.rejected, null, 'the API accepts the recovered conversation');
    const [u1, a1, u2] = req.body.messages;
    assert.match(JSON.stringify(u1), /Wait for it\./);
    assert.equal(a1.content.find((b) => b.type === 'tool_use').id, 'toolu_nap_1');
    assert.equal(u2.content[0].type, 'tool_result');
    assert.equal(u2.content[0].is_error, true);
    assert.match(u2.content[0].content, /interrupted by a restart/);
    assert.match(JSON.stringify(u2), /What happened\?/);
  });
});

describe('damaged journals', () => {
  let lab;
  let id;
  before(async () => {
    ({ lab, id } = await recordedTurn('damaged'));
  });
  after(() => lab?.close());

  test('a torn last line is ignored, reported and cut off; the session loads', async () => {
    const path = lab.journalPath(id);
    const before = readFileSync(path, 'utf8');
    appendFileSync(path, '{"ts":"2026-01-01T00:00:00.000Z","kind":"event","event":{"type":"torn-marker');
    const daemon = await lab.start();
    await daemon.waitForLog(/line \d+ is torn/, WAIT_MS);
    const events = await replay(lab, id);
    assert.ok(events.some(isType('turn_end')), 'the events before the torn line are there');
    const damage = events.find(isType('journal_damage'));
    assert.ok(damage?.data.torn_line > 0, 'the damage is reported to the operator');
    assert.ok(readFileSync(path, 'utf8').startsWith(before), 'the journal keeps what it had');
    assert.ok(!readFileSync(path, 'utf8').includes('torn-marker'), 'the torn line is cut off');
    await lab.stop();
  });

  test('garbage in the middle of a journal from before chains is reported with its line number and the rest loads', async () => {
    const path = lab.journalPath(id);
    unchain(path);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.splice(2, 0, 'this is not a journal record');
    writeFileSync(path, lines.join('\n'));
    const daemon = await lab.start();
    await daemon.waitForLog(/line 3 is not JSON/, WAIT_MS);
    const events = await replay(lab, id);
    const damage = events.filter(isType('journal_damage')).at(-1);
    assert.deepEqual(damage.data.garbage_lines, [3]);
    assert.ok(events.some(isType('result')), 'records after the garbage loaded');
    const listed = (await lab.sessions()).find((s) => s.id === id);
    assert.equal(listed.status, 'idle');
    await lab.stop();
  });

  test('events repeated in a journal are skipped and counted in one log line, not one line each', async () => {
    const repeated = await recordedTurn('repeated');
    try {
      const path = repeated.lab.journalPath(repeated.id);
      unchain(path);
      const events = readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('"kind":"event"'));
      const copies = 3;
      appendFileSync(path, `${Array(copies).fill(events.join('\n')).join('\n')}\n`);
      const daemon = await repeated.lab.start();
      await daemon.waitForLog(new RegExp(`${events.length * copies} event\\(s\\) with a missing or repeated id skipped`), WAIT_MS);
      assert.equal(daemon.log.filter((l) => /repeated id/.test(l)).length, 1, daemon.log.join('\n'));
    } finally {
      await repeated.lab.close();
    }
  });
});

describe('session files that are not journals of our own (issue 12, items 4, 5, 8)', () => {
  let lab;
  let recorded;
  const HEX = (c) => c.repeat(32);
  before(async () => {
    let id;
    ({ lab, id } = await recordedTurn('foreign'));
    recorded = readFileSync(lab.journalPath(id), 'utf8');
  });
  after(() => lab?.close());

  const damageOf = async () => (await lab.get('/api/sessions')).json.journal_damage ?? [];

  test('a symlink named like a session is not followed: its target is neither read, appended to nor cut', async () => {
    const outside = join(dir, 'outside-target.jsonl');
    const content = `${recorded}{"ts":"2026-01-01T00:00:00.000Z","kind":"ev`;
    writeFileSync(outside, content);
    const link = lab.journalPath(HEX('a'));
    symlinkSync(outside, link);
    const daemon = await lab.start();
    await daemon.waitForLog(/recovery: a{32}\.jsonl not restored: .*a symbolic link/, WAIT_MS);
    assert.ok(!(await lab.sessions()).some((s) => s.id === HEX('a')), 'not restored as a session');
    const damage = (await damageOf()).find((d) => d.file === `${HEX('a')}.jsonl`);
    assert.match(damage?.message ?? '', /a symbolic link \(refused/);
    await lab.stop();
    assert.equal(readFileSync(outside, 'utf8'), content, 'the target is untouched: no append, no cut');
    assert.ok(lstatSync(link).isSymbolicLink(), 'never deleted');
    rmSync(link);
  });

  test('a FIFO named like a session does not block start-up', async () => {
    const fifo = lab.journalPath(HEX('b'));
    execFileSync('mkfifo', [fifo]);
    const daemon = await lab.start();
    await daemon.waitForLog(/recovery: b{32}\.jsonl not restored: .*not a regular file/, WAIT_MS);
    assert.equal((await lab.get('/health')).status, 200, 'the daemon listens');
    assert.ok((await damageOf()).some((d) => d.file === `${HEX('b')}.jsonl`));
    await lab.stop();
    assert.ok(lstatSync(fifo).isFIFO(), 'never deleted');
    rmSync(fifo);
  });

  test("another user's file is left alone", { skip: process.getuid() !== 0 && 'needs root to give a file away' }, async () => {
    const theirs = lab.journalPath(HEX('c'));
    writeFileSync(theirs, recorded);
    chownSync(theirs, 65534, 65534);
    const daemon = await lab.start();
    await daemon.waitForLog(/recovery: c{32}\.jsonl not restored: .*owned by another user/, WAIT_MS);
    assert.ok(!(await lab.sessions()).some((s) => s.id === HEX('c')));
    await lab.stop();
    assert.equal(readFileSync(theirs, 'utf8'), recorded);
    rmSync(theirs);
  });

  // Journals written before chains hold no links: a line that is not a
  // record is garbage there, skipped, whatever the file's size.
  const unchained = (text) => text.trimEnd().split('\n').map((l) => JSON.parse(l))
    .filter((r) => r.kind !== 'chain')
    .map(({ seq, hash, mac, ...rest }) => JSON.stringify(rest));
  const LONG_LINE = `{"kind":"event","pad":"${'x'.repeat(40 * 1024 * 1024)}"}`;

  test('one 40 MiB line in an unchained journal over its size cap: the line is skipped, the session loads', async () => {
    const id = HEX('d');
    const lines = unchained(recorded);
    lines.splice(2, 0, LONG_LINE);
    writeFileSync(lab.journalPath(id), `${lines.join('\n')}\n`);
    const daemon = await lab.start({ BREAKGLASS_MAX_SESSION_JOURNAL_BYTES: String(1024 * 1024) });
    await daemon.waitForLog(/line 3 is longer than 32 MiB/, WAIT_MS);
    const listed = (await lab.sessions()).find((s) => s.id === id);
    assert.ok(listed, 'the session is restored');
    assert.equal(listed.title, 'Check.');
    const events = await replay(lab, id);
    assert.ok(events.some(isType('turn_end')), 'the records after the long line loaded');
    assert.deepEqual(events.find(isType('journal_damage')).data.garbage_lines, [3]);
    await lab.stop();
    rmSync(lab.journalPath(id));
  });

  test('one 40 MiB line inserted in a chained journal: read past without holding it, a broken link, what precedes it served', async () => {
    const id = HEX('e');
    const lines = recorded.trimEnd().split('\n');
    const at = 4;
    lines.splice(at, 0, LONG_LINE);
    writeFileSync(lab.journalPath(id), `${lines.join('\n')}\n`);
    const daemon = await lab.start({ BREAKGLASS_MAX_SESSION_JOURNAL_BYTES: String(1024 * 1024) });
    await daemon.waitForLog(new RegExp(`chain is broken at record \\d+ \\(line ${at + 1}\\)`), WAIT_MS);
    assert.ok((await lab.sessions()).some((s) => s.id === id), 'the session is listed, not dropped');
    const damage = (await replay(lab, id)).find(isType('journal_damage'));
    assert.equal(damage.data.broken_link.line, at + 1);
    assert.equal(damage.data.broken_link.damage, 'inserted');
    await lab.stop();
    rmSync(lab.journalPath(id));
  });

});

describe('retention', () => {
  const lab = forSuite(() => startRestartable('retention', { BREAKGLASS_MAX_SESSIONS: '3' }));

  test('deletes the oldest finished sessions, never one with a running turn', async () => {
    lab.mock.setScript([{ toolUses: [{ name: 'nap', input: { ms: 60000 } }] }]);
    const running = await lab.newSession();
    assert.equal((await lab.post(`/api/session/${running}/prompt`, { prompt: 'Nap.' })).status, 200);
    const s = await lab.attach(running);
    await s.waitForType('tool', WAIT_MS);
    const idle = [];
    for (let i = 0; i < 4; i++) idle.push(await lab.newSession());
    const ids = (await lab.sessions()).map((x) => x.id).sort();
    assert.deepEqual(ids, [running, idle[2], idle[3]].sort(), 'the oldest finished went, the running one stayed');
    assert.ok(existsSync(lab.journalPath(running)));
    assert.ok(!existsSync(lab.journalPath(idle[0])) && !existsSync(lab.journalPath(idle[1])), 'their journals are deleted');
    assert.equal((await lab.post(`/api/session/${running}/cancel`)).status, 200);
    await s.waitForType('turn_end', TURN_WAIT_MS);
    s.close();
  });

  test('by total bytes too, at start: the most recently active is kept', async () => {
    await lab.stop();
    const dirOf = join(lab.dataDir, 'sessions');
    const lastTs = (f) => Date.parse(journalRecords(join(dirOf, f)).at(-1).ts);
    const files = readdirSync(dirOf).filter(isJournal).sort((a, b) => lastTs(b) - lastTs(a));
    assert.equal(files.length, 3);
    const cap = statSync(join(dirOf, files[0])).size;
    await lab.start({ BREAKGLASS_MAX_JOURNAL_BYTES: String(cap) });
    assert.deepEqual((await lab.sessions()).map((x) => x.id), [files[0].slice(0, -'.jsonl'.length)]);
    assert.deepEqual(readdirSync(dirOf).filter(isJournal), [files[0]]);
  });
});

describe('journal size', () => {
  let lab;
  after(() => lab?.close());

  test('a session whose journal passed its cap starts no new turn, and says why', async () => {
    lab = await startRestartable('cap', { BREAKGLASS_MAX_SESSION_JOURNAL_BYTES: '1' });
    const id = await lab.newSession();
    const r = await lab.post(`/api/session/${id}/prompt`, { prompt: 'Anything.' });
    assert.equal(r.status, 503, r.text);
    assert.match(r.json.error, /journal has passed its limit .*BREAKGLASS_MAX_SESSION_JOURNAL_BYTES.*start a new session/);
  });
});

describe('secrets', () => {
  let lab;
  let pem;
  before(async () => {
    const keys = join(dir, 'keys');
    execFileSync('mkdir', ['-p', keys]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'journal-test', '-f', join(keys, 'id')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host', '-f', join(keys, 'host')]);
    writeFileSync(join(keys, 'known_hosts'), `127.0.0.1 ${readFileSync(join(keys, 'host.pub'), 'utf8')}`);
    pem = readFileSync(join(keys, 'id'), 'utf8');
    lab = await startRestartable('secrets', {
      BREAKGLASS_KEY_PATH: join(keys, 'id'),
      BREAKGLASS_KNOWN_HOSTS: join(keys, 'known_hosts'),
      CLAUDE_CODE_OAUTH_TOKEN: OAUTH_TOKEN,
    });
  });
  after(() => lab?.close());

  test('a tool that prints the API key, tokens and the SSH key leaves none of them under the data folder', async () => {
    const keyLines = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    lab.mock.setScript([
      { toolUses: [{ name: 'say', input: { parts: [`key=${API_KEY} bearer=${BEARER} oauth=${OAUTH_TOKEN}`, pem, `line: ${keyLines[1]}\n`] } }] },
      { text: 'Printed.' },
    ]);
    const id = await lab.newSession();
    const s = await lab.attach(id);
    await s.waitFor((e) => e.event === 'caught-up', WAIT_MS);
    assert.equal((await lab.post(`/api/session/${id}/prompt`, { prompt: 'Print the secrets.' })).status, 200);
    const events = await turnEvents(s);
    s.close();
    const result = events.find((e) => e.kind === 'tool_result');
    assert.equal(result.is_error, false, JSON.stringify(result));
    assert.match(result.content, /\[redacted\]/, 'the page sees the mark, not the value');
    const download = await lab.get(`/api/session/${id}/journal`);
    assert.equal(download.status, 200);
    assert.equal(download.headers['content-type'], 'application/x-ndjson');
    assert.match(download.headers['content-disposition'], new RegExp(`^attachment; filename="breakglass-session-${id}\\.jsonl"$`));
    assert.equal(download.text, readFileSync(lab.journalPath(id), 'utf8'), 'the download is the journal');
    await lab.stop();

    const secrets = [API_KEY, BEARER, OAUTH_TOKEN, pem, pem.trimEnd(), ...keyLines];
    const files = execFileSync('find', [lab.dataDir, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.ok(files.some((f) => f.endsWith(`${id}.jsonl`)), 'the journal is there to search');
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const secret of secrets) {
        const escaped = JSON.stringify(secret).slice(1, -1);
        assert.ok(!text.includes(secret) && !text.includes(escaped), `${f} holds a secret (${secret.slice(0, 12)}...)`);
      }
    }
    const records = journalRecords(lab.journalPath(id));
    assert.ok(records.some((r) => r.kind === 'tool_call' && r.result.content.includes('[redacted]')), 'the tool call is recorded, redacted');
  });
});
