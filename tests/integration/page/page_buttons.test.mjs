// The power buttons as actions of the chat, in headless Chromium, against
// the real daemon with the shipped scripts and the lab (real sshd hosts, the
// real forced command over a fake qm):
// - a button cycle with no fresh forensics: the forensics a policy inserts,
//   the policy's decision, the verb's live output (with its elapsed time and
//   latest line while it runs) and its result appear in the chat's
//   transcript, the history's timeline and the Markdown export, and again
//   after a daemon restart;
// - a verb the agent's rate limit holds back is greyed with the policy's
//   words before the press; a press refused by it offers "do it now anyway",
//   which overrides, on record: the override and who gave it on the page and
//   in the export.
// Runs as root (the lab).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startDaemon } from '../../lib/daemon.mjs';
import { startLab } from '../../lib/lab.mjs';
import { DESKTOP, PHONE, launchBrowser, openPage, screenshotDir, waitInPage } from '../../lib/page.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { withSettings } from '../../fixtures/lua/policy_fake_tools/scripts.mjs';

const TOKEN = 'page-buttons-test-token-0123456789';
const VERB_LIMIT_MS = 60000;
// The page's backoff reaches 8 s after four failed attempts; a restart
// takes a second or two.
const REATTACH_LIMIT_MS = 40000;
const FORENSICS_HEADER = '=== breakglass-pve forensics: VM 102';
// Readiness without a model (503), a refused verb (403), and whatever the
// page meets while the daemon restarts (502, 503).
const HTTP_ERRORS = [403, 502, 503];
let dir, lab, daemon, daemonEnv, browser, artifacts;

before(async () => {
  dir = scratchDir('bg-page-buttons');
  artifacts = screenshotDir();
  // A start that takes 2 s: a cycle runs long enough to watch.
  lab = await startLab({ useNetns: false, fakeQmDelays: { FAKE_QM_START_DELAY_MS: '2000' } });
  // The shipped scripts, with the rate limit at one mutating call per 10
  // minutes so that the second press meets it.
  const scripts = join(dir, 'scripts');
  cpSync(join(process.env.BREAKGLASS_SOURCE_DIR, 'lua'), scripts, { recursive: true });
  const limit = join(scripts, 'policy', 'rate_limit.lua');
  writeFileSync(limit, withSettings(readFileSync(limit, 'utf8'), { MAX_MUTATING: 1, WINDOW_MS: 10 * 60 * 1000 }));
  // A fixed port and data folder: the restarted daemon is the same service.
  daemonEnv = {
    API_BEARER_TOKEN: TOKEN, ANTHROPIC_API_KEY: undefined, BREAKGLASS_SCRIPTS_DIR: scripts,
    BREAKGLASS_LISTEN: `127.0.0.1:${await freePort()}`, ...lab.env(),
  };
  daemon = await startDaemon({ env: daemonEnv, dataDir: join(dir, 'data') });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  lab?.stop();
});

const open = (viewport) => openPage(browser, `${daemon.url}/`, { viewport, token: TOKEN, httpErrors: HTTP_ERRORS });

// What the chat shows of the presses: notes, policy notices, chips. A
// chip draws its output once a frame, after its state: the frame the
// page asked for before this one comes first. A page that draws no frame
// within FRAME_WAIT_MS is read as it is (and its output found missing).
const FRAME_WAIT_MS = 2000;
const chatOf = (page, root = '#turns') => page.evaluate(async ([r, frameMs]) => {
  await new Promise((drawn) => {
    requestAnimationFrame(drawn);
    setTimeout(drawn, frameMs);
  });
  const turns = document.querySelector(r);
  return {
    pressed: [...turns.querySelectorAll('.msg-button')].map((n) => n.textContent.replace(/ · \d\d:\d\d.*$/, '')),
    policies: [...turns.querySelectorAll('.notice-policy .notice-text')].map((n) => n.textContent),
    chips: [...turns.querySelectorAll('.tool')].map((c) => ({
      arg: c.querySelector('.tool-arg').textContent,
      tags: [...c.querySelectorAll('.tool-tag')].map((t) => t.textContent),
      state: ['is-running', 'is-ok', 'is-finding', 'is-error', 'is-unknown'].find((k) => c.classList.contains(k)),
      line: c.querySelector('.tool-line').textContent,
      output: c.querySelector('.tool-output').textContent,
      resultShown: !c.querySelector('.tool-result').hidden,
    })),
  };
}, [root, FRAME_WAIT_MS]);

async function newChat(page, viewport) {
  if (viewport === PHONE) await page.click('#drawer-toggle');
  await page.click('#new-session');
  await waitInPage(page, () => !location.hash, null, 5000);
}

async function openHistory(page, sessionId) {
  await page.click('#history-button');
  await waitInPage(page, (id) => document.querySelector(`#history-list .history-item[data-session="${id}"]`), sessionId, 20000);
  await page.click(`#history-list .history-item[data-session="${sessionId}"]`);
  await waitInPage(page, () => document.querySelectorAll('#timeline .timeline-bar').length >= 2, null, 20000);
}

const timelineOf = (page) => page.evaluate(() => [...document.querySelectorAll('#timeline .timeline-row')].map((r) => ({
  classes: [...r.classList].filter((c) => c.startsWith('is-')).sort().join(' '),
  name: r.querySelector('.timeline-name').textContent,
  meta: r.querySelector('.timeline-meta').textContent,
})));

async function exportOf(page) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#history-summary')]);
  return readFileSync(await file.path(), 'utf8');
}

function checkCycle(chat, label) {
  assert.deepEqual(chat.pressed, ['cycle pressed by You'], label);
  assert.deepEqual(chat.policies, ['pve cycle: runs something first, says policy forensics_first'], label);
  assert.equal(chat.chips.length, 2, label);
  const [forensics, cycle] = chat.chips;
  assert.deepEqual([forensics.arg, forensics.tags, forensics.state], ['forensics', ['run by policy forensics_first'], 'is-ok'], label);
  assert.ok(forensics.output.startsWith(FORENSICS_HEADER), `${label}: ${forensics.output.slice(0, 80)}`);
  assert.equal(forensics.line, 'done · forensics captured', label);
  assert.deepEqual([cycle.arg, cycle.tags, cycle.state], ['cycle', ['mutating', 'button · You'], 'is-ok'], label);
  assert.ok(cycle.output.includes('=== qm start 102 ==='), label);
  assert.equal(cycle.line, 'done · forensics → stop ok → start ok', label);
  assert.equal(cycle.resultShown, false, `${label}: the log is not printed twice`);
}

function checkCycleRecord(rows, md, label) {
  assert.deepEqual(rows.map((r) => [r.classes, r.name]), [
    ['is-button is-ok', 'pve forensics'],
    ['is-button is-mutating is-ok', 'pve cycle'],
  ], label);
  assert.match(rows[0].meta, /run first by policy forensics_first · ok, exit 0$/, label);
  assert.match(rows[1].meta, /button, token holder · ok, exit 0$/, label);
  assert.match(md, /- Actions: 2 tool calls, 1 mutating, 1 from the power buttons/, label);
  assert.match(md, /\| [\d:]+ \| pve \| `forensics` \| run first by policy forensics_first \| [\d.]+ (ms|s) \| ok, exit 0 \|/, label);
  assert.match(md, /\| [\d:]+ \| pve \(mutating\) \| `cycle` \| button, token holder \| [\d.]+ s \| ok, exit 0 \|/, label);
  assert.match(md, /## Policy decisions\n\n- [\d:]+ pve cycle: run_first by forensics_first/, label);
}

test('a button cycle with no fresh forensics: inserted forensics, policy, live output and result in the chat, the timeline and the export, and after a restart', async () => {
  const { page, problems } = await open(DESKTOP);
  await newChat(page, DESKTOP);
  await waitInPage(page, () => document.querySelector('.vm-verb[data-verb="cycle"]:not(.is-held)'), null, 20000);
  await page.click('.vm-verb[data-verb="cycle"]');
  await page.click('#vm-confirm-run');
  // While the cycle runs: its chip's elapsed time advances, with its latest line.
  await waitInPage(page, () => [...document.querySelectorAll('#turns .tool.is-running')]
    .some((c) => c.querySelector('.tool-arg').textContent === 'cycle' && /\S/.test(c.querySelector('.tool-line').textContent)), null, VERB_LIMIT_MS);
  const running = () => page.evaluate(() => {
    const c = [...document.querySelectorAll('#turns .tool.is-running')].find((x) => x.querySelector('.tool-arg').textContent === 'cycle');
    return c ? { elapsed: c.querySelector('.tool-elapsed').textContent, line: c.querySelector('.tool-line').textContent } : null;
  });
  const first = await running();
  assert.match(first.elapsed, /^\d+:\d\d$/);
  await page.screenshot({ path: join(artifacts, 'button-cycle-running-desktop.png') });
  await waitInPage(page, (e) => {
    const c = [...document.querySelectorAll('#turns .tool')].find((x) => x.querySelector('.tool-arg').textContent === 'cycle');
    const t = c.querySelector('.tool-elapsed').textContent;
    return !c.classList.contains('is-running') || t > e;
  }, first.elapsed, VERB_LIMIT_MS);
  const later = await running();
  if (later) assert.ok(later.elapsed > first.elapsed, `${later.elapsed} after ${first.elapsed}`);

  await waitInPage(page, () => !document.querySelector('#vm-outcome').hidden
    && document.querySelector('.vm-outcome-head').textContent.startsWith('Cycle ·'), null, VERB_LIMIT_MS);
  assert.match(await page.locator('.vm-outcome-head').innerText(), /^Cycle · done · exit 0 · [\d.]+ s · forensics → stop ok → start ok$/);
  const sessionId = await page.evaluate(() => decodeURIComponent(location.hash.slice('#session='.length)));
  checkCycle(await chatOf(page), 'live');
  await page.screenshot({ path: join(artifacts, 'button-cycle-desktop.png') });

  await openHistory(page, sessionId);
  checkCycleRecord(await timelineOf(page), await exportOf(page), 'history');
  checkCycle(await chatOf(page, '#history-turns'), 'history transcript');
  await page.screenshot({ path: join(artifacts, 'button-cycle-timeline-desktop.png') });
  await page.click('#history-close');

  // A restart: the journal brings all of it back.
  await daemon.stop();
  daemon = await startDaemon({ env: daemonEnv, dataDir: join(dir, 'data') });
  await page.reload();
  await waitInPage(page, () => document.getElementById('conn-text').textContent === 'Live'
    && document.querySelectorAll('#turns .tool').length === 2, null, REATTACH_LIMIT_MS);
  checkCycle(await chatOf(page), 'after the restart');
  await openHistory(page, sessionId);
  checkCycleRecord(await timelineOf(page), await exportOf(page), 'history after the restart');
  await page.screenshot({ path: join(artifacts, 'button-cycle-restart-desktop.png') });
  assert.deepEqual(problems.filter((p) => !/ERR_CONNECTION_REFUSED|net::ERR_/.test(p)), []);
  await page.close();
});

// The page reads each verb's state before the press; a page whose state is
// a poll behind (here: kept stale on purpose, as a slow poll would leave it)
// meets the limit at the daemon: 403.
const STALE_VERBS = {
  verbs: ['cycle', 'forensics', 'reset', 'start', 'status', 'stop'],
  mutating: ['cycle', 'reset', 'start', 'stop'],
  state: {},
};

test('desktop: a refused press says why and offers "do it now anyway"; the override and who gave it show in the chat and the export', async () => {
  await browser.route('**/api/pve/verbs*', (route) => route.fulfill({
    status: 200, contentType: 'application/json', body: JSON.stringify(STALE_VERBS),
  }));
  const resetsBefore = lab.qmCalls().filter((c) => c.startsWith('reset')).length;
  let page, problems;
  try {
    ({ page, problems } = await open(DESKTOP));
    await newChat(page, DESKTOP);
    await waitInPage(page, () => document.querySelector('.vm-verb[data-verb="reset"]:not(.is-held)'), null, 20000);
    await page.click('.vm-verb[data-verb="reset"]');
    await page.click('#vm-confirm-run');
    await waitInPage(page, () => document.querySelector('.vm-outcome-head')?.textContent.startsWith('Reset ·'), null, VERB_LIMIT_MS);
  } finally {
    await browser.unroute('**/api/pve/verbs*');
  }
  const out = await page.evaluate(() => ({
    head: document.querySelector('.vm-outcome-head').textContent,
    notice: document.querySelector('.vm-notice').textContent,
    override: !document.getElementById('vm-override').hidden,
  }));
  assert.equal(out.head, 'Reset · HTTP 403');
  assert.match(out.notice, /^Refused by policy \(rate_limit\): rate limit: at most 1 mutating calls per 10 minutes; allowed again in \d+ s/);
  assert.equal(out.override, true);
  assert.equal(lab.qmCalls().filter((c) => c.startsWith('reset')).length, resetsBefore, 'nothing ran');
  await page.screenshot({ path: join(artifacts, 'button-refused-desktop.png') });
  await page.click('#vm-override');
  await waitInPage(page, () => document.querySelector('.vm-outcome-head').textContent.startsWith('Reset · done'), null, VERB_LIMIT_MS);
  const sessionId = await page.evaluate(() => decodeURIComponent(location.hash.slice('#session='.length)));
  await waitInPage(page, () => document.querySelectorAll('#turns .notice-override').length > 0
    && document.querySelectorAll('#turns .tool.is-running').length === 0, null, 10000);
  const chat = await chatOf(page);
  assert.deepEqual(chat.pressed, ['reset pressed by You', 'reset pressed by You · over a policy limit']);
  assert.equal(chat.policies[0], 'pve reset: refused by policy rate_limit');
  assert.ok(chat.policies.includes('pve reset: policy rate_limit overridden by You'), chat.policies.join('\n'));
  const reset = chat.chips.at(-1);
  assert.deepEqual([reset.arg, reset.state, reset.tags], ['reset', 'is-ok', ['mutating', 'button · You', 'override']]);
  await page.screenshot({ path: join(artifacts, 'button-override-desktop.png') });
  await openHistory(page, sessionId);
  const md = await exportOf(page);
  assert.match(md, /- [\d:]+ pve reset: deny by rate_limit: rate limit: /);
  assert.match(md, /- [\d:]+ pve reset: rate_limit overridden by token holder: rate limit: /);
  assert.match(md, /\| pve \(mutating\) \| `reset` \| button, token holder \| \d+ ms \| denied \|\n(.*\n)*\| [\d:]+ \| pve \(mutating\) \| `reset` \| button, token holder, override \| [\d.]+ m?s \| ok, exit 0 \|/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('phone: a verb the rate limit holds is greyed, with the policy\'s words, before the press; pressing it offers the override', async () => {
  const { page, problems } = await open(PHONE);
  await newChat(page, PHONE);
  await page.click('.state-chip[data-target="devvm"]');
  // The presses above filled the window: every mutating verb is held, and
  // still pressable.
  await waitInPage(page, () => document.querySelector('.vm-verb[data-verb="cycle"].is-held'), null, 20000);
  const held = await page.evaluate(() => ({
    note: document.getElementById(document.querySelector('.vm-verb[data-verb="cycle"]').getAttribute('aria-describedby')).textContent,
    disabled: document.querySelector('.vm-verb[data-verb="cycle"]').disabled,
    status: document.querySelector('.vm-verb[data-verb="status"]').classList.contains('is-held'),
  }));
  assert.match(held.note, /^Cycle, Reset, Power off, Power on: rate limit: at most 1 mutating calls per 10 minutes; allowed again in \d+ s .* You can still do it now, on record\.$/);
  assert.equal(held.disabled, false, 'the override stays reachable');
  assert.equal(held.status, false, 'reads are not held');
  await page.screenshot({ path: join(artifacts, 'button-held-phone.png') });
  await page.click('.vm-verb[data-verb="cycle"]');
  assert.match(await page.locator('.vm-confirm').innerText(), /^Cycle is held back\n+rate limit: .*\n+You may do it now anyway: the override is recorded with your name\./);
  await page.click('#vm-confirm-run');
  await waitInPage(page, () => !document.querySelector('#vm-outcome').hidden
    && document.querySelector('.vm-outcome-head').textContent.startsWith('Cycle ·'), null, VERB_LIMIT_MS);
  assert.match(await page.locator('.vm-outcome-head').innerText(), /^Cycle · done · exit 0 · [\d.]+ s · forensics → stop ok → start ok$/);
  await page.click('#vm-log');
  await waitInPage(page, () => document.querySelector('#turns .notice-override'), null, 10000);
  assert.match(await page.locator('#turns .notice-override .notice-text').first().innerText(), /^pve cycle: policy rate_limit overridden by You$/);
  await page.screenshot({ path: join(artifacts, 'button-override-phone.png') });
  assert.deepEqual(problems, []);
  await page.close();
});
