// Hash-chained journals (issue 16, item 1): breakglass verify on what the
// daemon recorded, each kind of damage named, the sessions index that
// shows a whole session deleted or a journal cut back, the HMAC key kept
// out of every file, and a daemon restarted on a broken link serving the
// session up to it.
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUTH, startStack } from '../../lib/agent-stack.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { assertVerifyCatches, verify } from '../../lib/journal-damage.mjs';
import { openStream } from '../../lib/sse-client.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('journal-chain-test');

const KEY = 'journal-hmac-key-0123456789abcdef0123456789abcdef';
const keyFile = join(dir, 'hmac.key');
writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
const WAIT_MS = 10000;
const isJournal = (f) => /^[0-9a-f]{32}\.jsonl$/.test(f);

describe('verify', () => {
  let st;
  let sessions;
  const ids = [];
  before(async () => {
    st = await startStack(join(dir, 'stack'), { env: { BREAKGLASS_JOURNAL_HMAC_KEY_PATH: keyFile } });
    sessions = join(st.daemon.dataDir, 'sessions');
    for (let i = 0; i < 3; i++) {
      const { id, stream } = await st.runTurn([
        { toolUses: [{ name: 'echo', input: { text: `call ${i}` } }] },
        { toolUses: [{ name: 'echo', input: { text: KEY } }] },
        { text: `Done ${i}.` },
      ], { prompt: `Check ${i}.` });
      stream.close();
      ids.push(id);
    }
    await st.close();
  });

  test('what the daemon recorded is intact, HMAC checked; without the key the links are', () => {
    const path = join(sessions, `${ids[0]}.jsonl`);
    const r = verify([path, '--key', keyFile]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`^session ${ids[0]}: intact: \\d+ records, HMAC checked, head [0-9a-f]{64}$`, 'm'));
    const plain = verify([path]);
    assert.equal(plain.status, 0, plain.out);
    assert.match(plain.out, /HMAC not checked \(no key given\)/);
    const env = verify([path], { BREAKGLASS_JOURNAL_HMAC_KEY_PATH: keyFile });
    assert.match(env.out, /HMAC checked/, 'the daemon\'s own setting names the key too');
    const folder = verify([sessions, '--key', keyFile, '--json']);
    assert.equal(folder.status, 0, folder.out);
    const reports = JSON.parse(folder.out);
    assert.deepEqual(reports.map((x) => x.status), ['intact', 'intact', 'intact', 'intact']);
    assert.equal(reports[0].session_id, '(sessions index)');
  });

  test('each kind of damage: exit 1 naming the session, the record and what happened', () => {
    const text = readFileSync(join(sessions, `${ids[0]}.jsonl`), 'utf8');
    assertVerifyCatches(join(dir, 'damaged'), ids[0], text, keyFile);
  });

  test('the sessions index: a session deleted whole, a journal cut back, one put in another\'s place', () => {
    const copy = (name) => {
      const at = join(dir, name);
      cpSync(sessions, at, { recursive: true });
      return at;
    };
    const deleted = copy('deleted');
    unlinkSync(join(deleted, `${ids[1]}.jsonl`));
    let r = verify([deleted, '--key', keyFile]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, new RegExp(`^session ${ids[1]}: BROKEN at record 0: removed: the sessions index names this session .*journal is gone`, 'm'));

    const cut = copy('cut');
    const path = join(cut, `${ids[2]}.jsonl`);
    const lines = readFileSync(path, 'utf8').split('\n').slice(0, -1);
    writeFileSync(path, `${lines.slice(0, -3).join('\n')}\n`);
    assert.equal(verify([path, '--key', keyFile]).status, 1, 'the index beside it is read for one journal too');
    r = verify([cut, '--key', keyFile]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, new RegExp(`^session ${ids[2]}: BROKEN at record \\d+: truncated: the sessions index recorded record \\d+`, 'm'));

    const swapped = copy('swapped');
    copyFileSync(join(swapped, `${ids[0]}.jsonl`), join(swapped, `${ids[2]}.jsonl`));
    r = verify([swapped]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, new RegExp(`^session ${ids[2]}: BROKEN at record 0: changed: its header names the journal "${ids[0]}"`, 'm'));
  });

  test('the HMAC key is a secret: a tool that prints it leaves it in no file', () => {
    const files = execFileSync('find', [st.daemon.dataDir, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.ok(files.length >= 4, files.join('\n'));
    for (const f of files) assert.ok(!readFileSync(f, 'utf8').includes(KEY), `${f} holds the key`);
  });

  test('old journals without a chain verify as unchained; a file that cannot be read: exit 2', () => {
    const legacy = join(dir, 'legacy.jsonl');
    writeFileSync(legacy, '{"ts":"2026-06-11T08:30:05.123Z","kind":"event","event":{"id":1,"kind":"session"}}\n');
    const r = verify([legacy]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /unchained: 1 lines written before journals were chained/);
    const missing = verify([join(dir, 'nope.jsonl')]);
    assert.equal(missing.status, 2, missing.out);
    assert.match(missing.out, /UNREADABLE: .*nope\.jsonl: cannot open/);
  });
});

describe('a daemon restarted on a broken link', () => {
  test('serves the session up to the break, says journal_damage, and starts no new turn in it', async () => {
    const st = await startStack(join(dir, 'restart'));
    try {
      const { id, stream } = await st.runTurn([
        { toolUses: [{ name: 'echo', input: { text: 'before' } }] },
        { text: 'First answer.' },
      ], { prompt: 'First.' });
      stream.close();
      await st.restart();
      const path = join(st.daemon.dataDir, 'sessions', `${id}.jsonl`);
      const lines = readFileSync(path, 'utf8').split('\n').slice(0, -1);
      const at = lines.findIndex((l) => l.includes('"kind":"tool_result"'));
      assert.ok(at > 0);
      lines[at] = lines[at].replace('"is_error":false', '"is_error":true');
      writeFileSync(path, `${lines.join('\n')}\n`);
      await st.restart();
      await st.daemon.waitForLog(new RegExp(`session ${id}: the journal's chain is broken at record \\d+ \\(line ${at + 1}\\): record \\d+ \\(line ${at + 1}\\) does not match its link`), WAIT_MS);

      const s = await openStream(st.streamUrl(id), { headers: AUTH });
      await s.waitFor((e) => e.event === 'caught-up', WAIT_MS);
      s.close();
      const events = s.events.filter((e) => e.data).map((e) => e.data);
      const kind = (k) => (e) => e.kind === k;
      assert.ok(events.some(kind('tool')), 'what precedes the break is served');
      // The call's end lies past the break: recovery ends it as cut by a restart.
      const results = events.filter(kind('tool_result'));
      assert.deepEqual(results.map((e) => e.is_error), [true]);
      assert.match(results[0].content, /interrupted by a restart after its intent was recorded/);
      assert.ok(!events.some(kind('result')), 'the changed record and what follows are not served');
      const damage = events.find(kind('journal_damage'));
      assert.equal(damage.broken_link.damage, 'changed');
      assert.equal(damage.broken_link.line, at + 1);
      assert.match(damage.message, /chain is broken at record \d+ \(line \d+\).*takes no new turn/);

      const listed = (await fetchJson(`${st.daemon.url}/api/sessions`, { headers: AUTH })).json.sessions;
      assert.ok(listed.some((x) => x.id === id), 'still listed');
      const r = await st.prompt(id, 'Again.');
      assert.equal(r.status, 503, r.text);
      assert.match(r.json.error, /chain is broken .*start a new session/);
      assert.equal(verify([path]).status, 1, 'and verify says so');
    } finally {
      await st.close();
    }
  });
});

describe('files beside the journals', () => {
  test('the sessions index sits in index/, which replay and recovery never read as a session', () => {
    const sessionsDir = join(dir, 'stack', 'data', 'sessions');
    const names = readdirSync(sessionsDir);
    assert.deepEqual(names.filter((f) => !isJournal(f)), ['index']);
    assert.ok(readdirSync(join(sessionsDir, 'index')).includes('sessions.jsonl'));
  });
});
