// Search across sessions (issue 16, item 2). Over a generated corpus of
// 1,000 sessions, GET /api/sessions/search and `breakglass search` find
// exactly the sessions a brute-force scan of the JSONL finds, for 50 random
// queries of words, tool, verb, outcome and times; each hit names an event
// the page can scroll to. The index beside the journals follows them: what
// is appended is found, a journal replaced or deleted is read again or
// forgotten, and an index file that is missing or damaged is rebuilt.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUTH, BEARER } from '../../lib/agent-stack.mjs';
import { fetchJson, startDaemon, stopCleanly } from '../../lib/daemon.mjs';
import { bruteForce, randomness, randomQuery, sessionJournal, writeCorpus } from '../../lib/search-corpus.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('search-test');

const SESSIONS = 1000;
const EVENTS_PER_SESSION = 30;
const QUERIES = 50;
const CLI_QUERIES = 10;

function search(args) {
  const r = spawnSync(process.env.BREAKGLASS_BIN, ['search', ...args],
    { encoding: 'utf8', timeout: 120000, maxBuffer: 256 * 1024 * 1024, env: { PATH: process.env.PATH } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const cliArgs = (params) => Object.entries(params).flatMap(([k, v]) => (k === 'q' ? [v] : [`--${k}`, v]));
const idsOf = (answer) => answer.sessions.map((s) => s.session_id).sort();

describe('search over 1,000 sessions', () => {
  let daemon;
  let sessions;
  before(async () => {
    const dataDir = join(dir, 'data');
    sessions = join(dataDir, 'sessions');
    writeCorpus(sessions, SESSIONS, EVENTS_PER_SESSION);
    daemon = await startDaemon({ dataDir, env: { API_BEARER_TOKEN: BEARER, BREAKGLASS_MAX_SESSIONS: '5000' } });
  });
  after(async () => {
    if (daemon) await stopCleanly(daemon);
  });

  const api = (params) => fetchJson(`${daemon.url}/api/sessions/search?${new URLSearchParams(params)}`,
    { headers: AUTH, timeoutMs: 60000 });

  test(`${QUERIES} random queries: exactly the sessions a brute-force scan of the JSONL finds`, async () => {
    const g = randomness(7);
    let nonEmpty = 0;
    for (let i = 0; i < QUERIES; i++) {
      const query = randomQuery(g);
      const want = bruteForce(sessions, query);
      const r = await api({ ...query.params, limit: '1000' });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(idsOf(r.json), want, `query ${i}: ${JSON.stringify(query.params)}`);
      assert.equal(r.json.session_count, want.length);
      assert.equal(r.json.searched, SESSIONS);
      if (want.length) nonEmpty++;
      if (i < CLI_QUERIES) {
        const cli = search([sessions, ...cliArgs(query.params), '--limit', '1000', '--json']);
        assert.equal(cli.status, want.length ? 0 : 1, cli.err);
        assert.deepEqual(idsOf(JSON.parse(cli.out)), want, `breakglass search, query ${i}`);
      }
    }
    assert.ok(nonEmpty >= QUERIES / 3 && nonEmpty < QUERIES, `${nonEmpty} of ${QUERIES} queries found something`);
  });

  test('each hit names the event the page scrolls to, with its tool, verb and outcome', async () => {
    const r = await api({ q: 'docker', tool: 'devvm_shell', outcome: 'error', limit: '5' });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.sessions.length > 0 && r.json.sessions.length <= 5);
    assert.ok(r.json.session_count >= r.json.sessions.length);
    const [s] = r.json.sessions;
    const events = new Map(readFileSync(join(sessions, `${s.session_id}.jsonl`), 'utf8').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l)).filter((x) => x.kind === 'event').map((x) => [x.event.id, x.event]));
    for (const hit of s.hits) {
      assert.equal(hit.kind, 'call');
      assert.equal(hit.tool, 'devvm_shell');
      assert.equal(hit.outcome, 'error');
      const ev = events.get(hit.event_id);
      assert.equal(ev.kind, 'tool', 'the hit points at the call\'s card');
      const result = [...events.values()].find((e) => e.kind === 'tool_result' && e.call_id === ev.call_id);
      assert.match(`${ev.input.command}\n${result.content}`.toLowerCase(), /\bdocker\b/);
      assert.ok(hit.event_ids.includes(hit.event_id));
      assert.equal(hit.argument, ev.input.command);
      assert.match(hit.snippet, /^exit status 1/);
    }
    assert.deepEqual(r.json.query, { q: 'docker', tool: 'devvm_shell', outcome: 'error', limit: '5' });
  });

  test('a bad query is 400 naming the parameter; the index sits beside the journals', async () => {
    for (const [params, why] of [
      [{ outcome: 'maybe' }, /outcome: 'maybe' is not ok, error, denied or unknown/],
      [{ since: 'yesterday' }, /since: 'yesterday' is not a time/],
      [{ limit: '0' }, /limit: '0' is not a number of sessions/],
      [{ colour: 'red' }, /unknown parameter 'colour'/],
    ]) {
      const r = await api(params);
      assert.equal(r.status, 400, JSON.stringify(params));
      assert.match(r.json.error, why);
    }
    const bad = await fetchJson(`${daemon.url}/api/sessions/search?q=%zz`, { headers: AUTH });
    assert.equal(bad.status, 400);
    assert.equal((await fetchJson(`${daemon.url}/api/sessions/search?q=x`)).status, 401);
    assert.equal(readdirSync(join(sessions, 'index', 'search')).filter((f) => f.endsWith('.idx')).length, SESSIONS);
  });
});

describe('the index follows the journals', () => {
  const WORD = 'zanzibarquux';
  let copy;
  before(() => {
    copy = join(dir, 'follow');
    writeCorpus(copy, 20, 20, 3);
  });
  const idsIn = (at, args) => {
    const r = search([at, ...args, '--json']);
    assert.ok(r.status === 0 || r.status === 1, r.err);
    return idsOf(JSON.parse(r.out));
  };
  const ids = (args) => idsIn(copy, args);
  /** The journals alone, in a folder of their own: an index built from nothing. */
  const freshCopy = (name) => {
    const at = join(dir, name);
    cpSync(copy, at, { recursive: true, filter: (src) => !src.includes('/index') });
    return at;
  };

  test('what is appended is found; a replaced journal is read again; a deleted one is forgotten', () => {
    assert.deepEqual(ids([WORD]), []);
    const [first, second, third] = readdirSync(copy).filter((f) => f.endsWith('.jsonl')).sort();
    const event = (id, text) => `${JSON.stringify({ ts: '2026-07-01T10:00:00.000Z', kind: 'event', event: { kind: 'user', text, id, ts: '2026-07-01T10:00:00.000Z' } })}\n`;
    appendFileSync(join(copy, first), event(100000, `is ${WORD} there`));
    assert.deepEqual(ids([WORD]), [first.slice(0, 32)]);
    assert.deepEqual(ids([WORD, '--since', '2026-07-01']), [first.slice(0, 32)]);

    // Another session's bytes in its place, padded to the same length: the
    // index does not trust a journal's length alone.
    const was = readFileSync(join(copy, second), 'utf8');
    let other = sessionJournal(424242, 12);
    for (let seed = 424243; other.length >= was.length; seed++) other = sessionJournal(seed, 12);
    writeFileSync(join(copy, second), `${other}${' '.repeat(was.length - other.length - 1)}\n`);
    assert.equal(readFileSync(join(copy, second), 'utf8').length, was.length);
    const fresh = freshCopy('replaced');
    for (const word of ['docker', 'cycle', 'naïve', 'failed', 'oom']) assert.deepEqual(ids([word]), idsIn(fresh, [word]), word);

    unlinkSync(join(copy, third));
    ids(['docker']);
    assert.ok(!existsSync(join(copy, 'index', 'search', `${third.slice(0, 32)}.idx`)), 'its index file went');
  });

  test('an index file missing or damaged is rebuilt from the journal', () => {
    const idx = join(copy, 'index', 'search');
    const [a, b] = readdirSync(idx).sort();
    unlinkSync(join(idx, a));
    writeFileSync(join(idx, b), '{"version":1,"journal_bytes":');
    assert.deepEqual(ids(['docker']), idsIn(freshCopy('rebuilt'), ['docker']));
    assert.ok(existsSync(join(idx, a)) && readFileSync(join(idx, b), 'utf8').startsWith('{"version":1,"journal_bytes":'));
    assert.ok(readFileSync(join(idx, b), 'utf8').split('\n').length > 2, 'rebuilt whole');
  });

  test('text output names each session and hit; exit 1 when nothing matches, 2 for a bad query', () => {
    const r = search([copy, 'docker', '--limit', '2']);
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /^\d+ session\(s\) match \(19 searched\)\nsession [0-9a-f]{32} ".*" \(\d{4}-.*\): \d+ hit\(s\)\n {2}event \d+ {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}(prompt|call|result)/);
    assert.equal(search([copy, WORD, '--tool', 'pve']).status, 1);
    const bad = search([copy, '--outcome', 'maybe']);
    assert.equal(bad.status, 2);
    assert.match(bad.err, /outcome: 'maybe'/);
    assert.equal(search([join(dir, 'nowhere'), 'x']).status, 2);
  });
});
