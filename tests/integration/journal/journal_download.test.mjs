// GET /api/session/{id}/journal against a journal of tens of MiB (a
// session may grow to BREAKGLASS_MAX_SESSION_JOURNAL_BYTES, 128 MiB): the
// client gets the file byte for byte with its length, and the daemon holds
// a chunk of it at a time, however slowly the client reads, where it once
// held the whole file twice (read, then copied into the answer).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AUTH, BEARER, checkRssGrowth, rssKib, sampleRss } from '../../lib/agent-stack.mjs';
import { fetchJson, startDaemon, stopCleanly } from '../../lib/daemon.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { sessionJournal } from '../../lib/search-corpus.mjs';

const dir = scratchDir('journal-download-test');
// About 50 MiB. A sanitizer build, whose memory this file does not
// measure (checkRssGrowth), reads a smaller one: recovering 50 MiB there
// takes longer than the harness waits for the daemon to listen.
const JOURNAL_EVENTS = process.env.BREAKGLASS_SANITIZE === '1' ? 20000 : 170000;
// What the download may hold: its chunk, the copy queued to the socket.
const DOWNLOAD_HOLDS_BYTES = 2 * 64 * 1024;
// The client reads nothing this long: the kernel's buffers fill and the
// daemon must wait rather than read on.
const STALL_MS = 1500;
const ID = '0123456789abcdef0123456789abcdef';
let daemon, file;

before(async () => {
  const sessions = join(dir, 'data', 'sessions');
  // One session's journal of prompts, calls and results, as the search
  // corpus writes them.
  mkdirSync(sessions, { recursive: true });
  file = join(sessions, `${ID}.jsonl`);
  writeFileSync(file, sessionJournal(1, JOURNAL_EVENTS));
  daemon = await startDaemon({ dataDir: join(dir, 'data'), env: { API_BEARER_TOKEN: BEARER } });
  // The search index reads the journal once after start: a search waits
  // for it, so that its memory is in place before this file measures.
  const search = await fetchJson(`${daemon.url}/api/sessions/search?q=docker`, { headers: AUTH, timeoutMs: 60000 });
  assert.equal(search.status, 200, search.text);
});

after(async () => {
  if (daemon) await stopCleanly(daemon);
});

/** The download, read after stallMs: {status, headers, body}. */
function download(stallMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${daemon.url}/api/session/${ID}/journal`, { headers: AUTH }, (res) => {
      res.pause();
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
      setTimeout(() => res.resume(), stallMs);
    });
    req.on('error', reject);
    req.setTimeout(60000, () => req.destroy(new Error('the download did not end within 60 s')));
  });
}

test('a journal of tens of MiB comes whole, with its length, and the daemon holds a chunk of it', async (t) => {
  const expected = readFileSync(file);
  const pid = daemon.proc.pid;
  const before = rssKib(pid);
  const rss = sampleRss(pid);
  const r = await download(STALL_MS);
  rss.stop();
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/x-ndjson');
  assert.equal(r.headers['content-length'], String(expected.length));
  assert.match(r.headers['content-disposition'], new RegExp(`breakglass-session-${ID}\\.jsonl`));
  assert.ok(r.body.equals(expected), `got ${r.body.length} bytes of ${expected.length}`);
  checkRssGrowth(t, pid, rss.peak() - before, DOWNLOAD_HOLDS_BYTES);
});

test('a client that leaves mid-download costs nothing: the next one is served', async () => {
  await new Promise((resolve) => {
    const req = http.get(`${daemon.url}/api/session/${ID}/journal`, { headers: AUTH }, (res) => {
      res.once('data', () => { req.destroy(); resolve(); });
    });
    req.on('error', () => resolve());
  });
  const r = await download(0);
  assert.equal(r.status, 200);
  assert.equal(r.body.length, readFileSync(file).length);
});
