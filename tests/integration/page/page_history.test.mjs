// Attach, resume and history in headless Chromium, against the real daemon
// (with the test tools) and the mock model over TLS: a reload in the middle
// of a turn and a daemon restart (the journal brings the session back) both
// re-attach with every message shown exactly once; the history lists the
// sessions, opens one read-only with a timeline of its tool calls drawn as
// bars, downloads its journal and exports a Markdown summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../lib/daemon.mjs';
import { DESKTOP, PHONE, screenshotDir, waitInPage } from '../../lib/page.mjs';
import { pageStack } from '../../lib/page-stack.mjs';

const TURN_LIMIT_MS = 30000;
// The page's backoff reaches 8 s after four failed attempts; a restart
// takes a second or two.
const REATTACH_LIMIT_MS = 40000;
const artifacts = screenshotDir();
// A fixed port (and the stack's data folder): the restarted daemon is the same service.
const rig = pageStack('bg-page-history', async () => ({ env: { BREAKGLASS_LISTEN: `127.0.0.1:${await freePort()}` } }));

// The page gets 502/503 while the daemon is away.
const open = (viewport) => rig.open({ viewport });

async function send(page, prompt) {
  await page.fill('textarea', prompt);
  await page.keyboard.press('Enter');
}

// What the transcript shows, counted: each user message and tool chip, and
// how often each given text appears.
const shown = (page, texts) => page.evaluate((ts) => {
  const body = document.getElementById('turns').innerText;
  const count = (t) => body.split(t).length - 1;
  return {
    users: [...document.querySelectorAll('#turns .msg-user .msg-text')].map((n) => n.textContent),
    tools: [...document.querySelectorAll('#turns .tool .tool-name')].map((n) => n.textContent),
    texts: Object.fromEntries(ts.map((t) => [t, count(t)])),
    interrupted: document.querySelectorAll('#turns .notice-interrupted').length,
  };
}, texts);

const turnDone = (page) => waitInPage(page, () => document.getElementById('stop').hidden
  && document.querySelector('#turns .turn-foot:not([hidden])'), null, TURN_LIMIT_MS);

test('a reload in the middle of a turn re-attaches: nothing twice, nothing missing', async () => {
  const before = 'Checking the disk first.';
  const after = 'The disk has room: 61 % used. Nothing to fix.';
  rig.mock.setScript([
    { text: before, toolUses: [{ name: 'nap', input: { ms: 3000 } }] },
    { text: after, deltaChars: 3, eventDelayMs: 60 },
  ]);
  const { page, problems } = await open(DESKTOP);
  await send(page, 'is the disk full?');
  await waitInPage(page, () => document.querySelector('#turns .tool.is-running'), null, TURN_LIMIT_MS);
  await page.reload();
  // The turn goes on; the page picks it up where it is.
  await rig.waitForAnswer(page, after, TURN_LIMIT_MS);
  await turnDone(page);
  const s = await shown(page, [before, after]);
  assert.deepEqual(s.users, ['is the disk full?']);
  assert.deepEqual(s.tools, ['nap']);
  assert.deepEqual(s.texts, { [before]: 1, [after]: 1 });
  assert.equal(await page.locator('#conn-text').innerText(), 'Live');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a daemon restart mid-turn re-attaches: the turn is marked interrupted, nothing twice', async () => {
  const before = 'Napping on it.';
  rig.mock.setScript([{ text: before, toolUses: [{ name: 'nap', input: { ms: 60000 } }] }]);
  const { page, problems } = await rig.open({ viewport: DESKTOP, httpErrors: [502, 503] });
  await page.click('#new-session');
  await send(page, 'wait a minute');
  await waitInPage(page, () => document.querySelector('#turns .tool.is-running'), null, TURN_LIMIT_MS);
  // A crash, not a clean stop: the journal alone brings the session back.
  await rig.stack.kill9();
  await waitInPage(page, () => document.getElementById('conn').classList.contains('is-waiting')
    || document.getElementById('conn').classList.contains('is-offline'), null, REATTACH_LIMIT_MS);
  await rig.stack.start();
  await waitInPage(page, () => document.querySelector('#turns .notice-interrupted')
    && document.getElementById('conn-text').textContent === 'Live', null, REATTACH_LIMIT_MS);
  const s = await shown(page, [before]);
  assert.deepEqual(s.users, ['wait a minute']);
  assert.deepEqual(s.tools, ['nap']);
  assert.deepEqual(s.texts, { [before]: 1 });
  assert.equal(s.interrupted, 1);
  // A new turn in the same session works after the restart.
  rig.mock.setScript([{ text: 'Back after the restart.' }]);
  await send(page, 'still there?');
  await rig.waitForAnswer(page, 'Back after the restart.', TURN_LIMIT_MS);
  await turnDone(page);
  const again = await shown(page, [before, 'Back after the restart.']);
  assert.deepEqual(again.users, ['wait a minute', 'still there?']);
  assert.deepEqual(again.texts, { [before]: 1, 'Back after the restart.': 1 });
  assert.deepEqual(problems.filter((p) => !/ERR_CONNECTION_REFUSED|net::ERR_/.test(p)), []);
  await page.close();
});

// Opens the history and the session titled `title`.
async function openHistory(page, title) {
  await page.click('#history-button');
  await waitInPage(page, (t) => [...document.querySelectorAll('#history-list .history-item')]
    .some((b) => b.textContent.includes(t)), title, TURN_LIMIT_MS);
  await page.locator('#history-list .history-item', { hasText: title }).first().click();
  await waitInPage(page, () => document.querySelectorAll('#timeline .timeline-bar').length > 0, null, TURN_LIMIT_MS);
}

test('history lists sessions and opens one read-only with a timeline of bars', async () => {
  rig.mock.setScript([
    { text: 'Looking.', toolUses: [{ name: 'echo', input: { text: 'hello' } }] },
    { text: 'Then a nap.', toolUses: [{ name: 'nap', input: { ms: 1500 } }] },
    { toolUses: [{ name: 'fail', input: { mode: 'error' } }] },
    { text: 'Found it: the nap was the problem.' },
  ]);
  const { page, problems } = await open(DESKTOP);
  await page.click('#new-session');
  await send(page, 'timeline please');
  await rig.waitForAnswer(page, 'Found it', TURN_LIMIT_MS);
  await turnDone(page);

  await openHistory(page, 'timeline please');
  const items = await page.locator('#history-list .history-item').count();
  assert.ok(items >= 3, `sessions listed: ${items}`);
  const rows = await page.evaluate(() => [...document.querySelectorAll('#timeline .timeline-row')].map((r) => ({
    kind: [...r.classList].filter((c) => c.startsWith('is-')).join(' '),
    name: r.querySelector('.timeline-name').textContent,
    left: parseFloat(r.querySelector('.timeline-bar').style.left),
    width: parseFloat(r.querySelector('.timeline-bar').style.width),
    px: r.querySelector('.timeline-bar').getBoundingClientRect().width,
  })));
  assert.deepEqual(rows.map((r) => r.kind), ['is-turn', 'is-ok', 'is-ok', 'is-error']);
  assert.match(rows[1].name, /^echo hello/);
  assert.match(rows[2].name, /^nap /);
  // The turn spans nearly all the axis (which starts at the incident's
  // first prompt, not at the session's creation, however long before);
  // the nap takes a visible share of it, after the echo.
  assert.ok(rows[0].left === 0 && rows[0].width > 90, JSON.stringify(rows[0]));
  assert.ok(rows[2].left >= rows[1].left && rows[2].width > 10, JSON.stringify(rows));
  assert.ok(rows.every((r) => r.px > 0), 'every bar is drawn');
  // Read-only: the session's transcript, no prompt box in the dialog.
  assert.match(await page.locator('#history-transcript').innerText(), /Found it: the nap was the problem\./);
  assert.equal(await page.locator('#history-dialog textarea').count(), 0);
  await page.screenshot({ path: join(artifacts, 'timeline-desktop.png') });

  const [journal] = await Promise.all([page.waitForEvent('download'), page.click('#history-journal')]);
  assert.match(journal.suggestedFilename(), /^breakglass-session-[0-9a-f]+\.jsonl$/);
  const lines = readFileSync(await journal.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((r) => r.kind === 'event' && r.event.kind === 'user' && r.event.text === 'timeline please'),
    'the journal holds the prompt');

  const [summary] = await Promise.all([page.waitForEvent('download'), page.click('#history-summary')]);
  assert.match(summary.suggestedFilename(), /^incident-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}\.md$/);
  const md = readFileSync(await summary.path(), 'utf8');
  assert.match(md, /^# Incident: timeline please\n/);
  assert.match(md, /every time here is UTC/);
  assert.match(md, /## What was found\n\nAfter the prompt at [0-9:]+ UTC:\n\n> Found it: the nap was the problem\./);
  assert.match(md, /\| Time \(UTC\) \| Tool \| Command or verb \| By \| Took \| Outcome \|/);
  assert.match(md, /\| [0-9:]+ \| echo \| `hello` \| agent \| \d+ ms \| ok \|/);
  assert.match(md, /\| [0-9:]+ \| nap \| `\{"ms":1500\}` \| agent \| 1\.\d s \| ok \|/);
  assert.match(md, /\| fail \| `error` \| agent \| .* \| error \|/);
  assert.match(md, /- Turn 1: [0-9:]+ to [0-9:]+ \(\d/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the timeline on a phone', async () => {
  const { page, problems } = await open(PHONE);
  await page.click('#drawer-toggle');
  await openHistory(page, 'timeline please');
  const fits = await page.evaluate((width) => [...document.querySelectorAll('#timeline .timeline-track')]
    .every((t) => { const b = t.getBoundingClientRect(); return b.left >= 0 && b.right <= width && b.width > 100; }), PHONE.width);
  assert.ok(fits, 'the tracks fit the phone screen');
  await page.screenshot({ path: join(artifacts, 'timeline-phone.png') });
  // Open in chat: the dialog closes and the chat attaches the session.
  await page.click('#history-open');
  await waitInPage(page, () => !document.getElementById('history-dialog').open
    && document.getElementById('turns').innerText.includes('Found it'), null, TURN_LIMIT_MS);
  assert.deepEqual(problems, []);
  await page.close();
});
