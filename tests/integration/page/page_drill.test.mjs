// The drill in headless Chromium at the owner's phone (390×844) and desktop
// (1440×900) sizes, against the real daemon with the shipped scripts, the
// lab (real sshd hosts, the real forced command) and the scripted "lab"
// model: the devvm wedges and the header says "no banner" without opening
// any menu; one prompt makes the agent probe (a finding, amber, with its
// layer), capture forensics, cycle and wait for the devvm, with the prose
// streamed live and then replaced by whole blocks; the header shows the
// devvm up again. A wait_for_devvm on a devvm that does not answer shows
// its elapsed time advancing and its latest line. In every state the page
// does not scroll sideways at 320, 375 and 390 px, every control on the
// phone is 44 px square, and text keeps a contrast of 5.7:1 in both
// themes. Runs as root (the lab).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BEARER, startStack } from '../../lib/agent-stack.mjs';
import { startLab } from '../../lib/lab.mjs';
import { LAB_RUNBOOK, LAB_SUMMARY_PREFIX, labResponder } from '../../lib/mock-lab.mjs';
import {
  DESKTOP, NARROW_WIDTHS, PHONE, contrastProblems, launchBrowser, layoutProblems, openPage, screenshotDir, waitInPage,
} from '../../lib/page.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('bg-page-drill');
const CONNECT_LIMIT_S = 2;
// The header learns of a wedge by the page's poll (www/status-panel.mjs,
// every 15 s), a probe (the connect limit) and the daemon's 10 s cache of
// a probe another request made.
const HEADER_LIMIT_MS = (15 + CONNECT_LIMIT_S + 10) * 1000 + 5000;
const DRILL_LIMIT_MS = 120000;
const PROMPT = 'The devvm is unreachable: diagnose.';
let lab, browser, artifacts;

before(async () => {
  artifacts = screenshotDir();
  lab = await startLab();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  lab?.stop();
});

const sizeName = (viewport) => (viewport === PHONE ? 'phone' : 'desktop');

// A daemon of its own for each size: the shipped rate limit allows one
// cycle a minute, daemon-wide. The lab model streams its prose in small
// pieces, slowly enough to be seen before the block replaces it.
async function stackFor(viewport) {
  const st = await startStack(join(dir, sizeName(viewport)), {
    scripts: 'shipped',
    env: {
      ...lab.env(),
      BREAKGLASS_RUNBOOKS_DIR: join(process.env.BREAKGLASS_SOURCE_DIR, 'runbooks'),
      BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: String(CONNECT_LIMIT_S),
    },
  });
  st.mock.setResponder((body) => ({ ...labResponder(body), deltaChars: 3, eventDelayMs: 40 }));
  return st;
}

// The page keeps to its layout and contrast in this state: no sideways
// scrolling at any narrow width (phone), 44 px controls on the phone, 5.7:1
// text in both themes. Leaves the page as it was.
async function checkState(page, viewport, state) {
  const widths = viewport === PHONE ? NARROW_WIDTHS : [viewport.width];
  for (const width of widths) {
    await page.setViewportSize({ width, height: viewport.height });
    const l = await layoutProblems(page);
    assert.ok(l.scrollWidth <= l.innerWidth, `${state} at ${width} px: scrollWidth ${l.scrollWidth} > ${l.innerWidth}`);
    if (viewport === PHONE) assert.deepEqual(l.small, [], `${state} at ${width} px: controls under 44 px`);
  }
  await page.setViewportSize(viewport);
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    assert.deepEqual(await contrastProblems(page), [], `${state}, ${colorScheme}: contrast under 5.7:1`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

const chipOf = (page, target) => page.evaluate((t) => {
  const c = document.querySelector(`.state-chip[data-target="${t}"]`);
  const box = c.getBoundingClientRect();
  return {
    state: [...c.classList].find((k) => k.startsWith('is-')), text: c.querySelector('.state-text').textContent,
    age: c.querySelector('.state-age').textContent, inView: box.top >= 0 && box.bottom <= innerHeight && box.right <= innerWidth,
  };
}, target);

const chipsOf = (page) => page.evaluate(() => [...document.querySelectorAll('#turns .tool')].map((c) => ({
  step: `${c.querySelector('.tool-name').textContent} ${c.querySelector('.tool-arg').textContent}`.trim(),
  state: ['is-running', 'is-ok', 'is-finding', 'is-error', 'is-unknown'].find((k) => c.classList.contains(k)),
  badge: c.querySelector('.tool-exit').hidden ? '' : c.querySelector('.tool-exit').textContent,
  line: c.querySelector('.tool-line').textContent,
  inserted: c.classList.contains('is-inserted'),
})));

for (const viewport of [PHONE, DESKTOP]) {
  test(`${sizeName(viewport)}: the drill, from a wedged devvm to the devvm up again`, async () => {
    const st = await stackFor(viewport);
    const { page, problems } = await openPage(browser, `${st.daemon.url}/`, { viewport, token: BEARER });
    try {
      await waitInPage(page, () => document.querySelector('.state-chip[data-target="devvm"]').classList.contains('is-ok'), null, HEADER_LIMIT_MS);
      await checkState(page, viewport, 'before the incident');

      lab.wedge();
      const wedged = Date.now();
      await waitInPage(page, () => document.querySelector('.state-chip[data-target="devvm"] .state-text').textContent === 'no banner',
        null, HEADER_LIMIT_MS);
      const devvm = await chipOf(page, 'devvm');
      assert.deepEqual([devvm.state, devvm.text, devvm.inView], ['is-bad', 'no banner', true], JSON.stringify(devvm));
      assert.match(devvm.age, /^\d+ s$/);
      assert.ok(Date.now() - wedged < HEADER_LIMIT_MS);
      assert.equal(await page.evaluate(() => document.body.classList.contains('drawer-open')), false, 'no menu opened');
      await page.screenshot({ path: join(artifacts, `drill-wedged-${sizeName(viewport)}.png`) });
      await checkState(page, viewport, 'the devvm wedged');

      await page.fill('textarea', PROMPT);
      await page.keyboard.press('Enter');
      // The prose streams in (text_delta) before its block replaces it.
      const partial = await waitInPage(page, () => {
        const m = document.querySelector('#turns .msg-assistant.is-streaming');
        const t = m ? m.textContent.replace('▍', '') : '';
        return t.length > 0 && !t.endsWith('answers.') ? t : null;
      }, null, DRILL_LIMIT_MS);
      assert.ok('Let me check whether the devvm answers.'.startsWith(partial), `streamed: ${partial}`);
      // The probe: a finding, amber with its layer, never a green success.
      await waitInPage(page, () => document.querySelector('#turns .tool.is-finding'), null, DRILL_LIMIT_MS);
      const probe = (await chipsOf(page))[0];
      assert.deepEqual(probe, { step: 'devvm_probe', state: 'is-finding', badge: 'no banner', line: 'found a problem: no banner', inserted: false });
      // The cycle, running: the header names it with its time.
      await waitInPage(page, () => [...document.querySelectorAll('#turns .tool.is-running .tool-arg')].some((a) => a.textContent === 'cycle'),
        null, DRILL_LIMIT_MS);
      assert.match(await page.locator('.state-chip[data-target="agent"]').getAttribute('aria-label'), /^The agent: running (pve|cycle) · \d+:\d\d$/);
      await page.screenshot({ path: join(artifacts, `drill-running-${sizeName(viewport)}.png`) });
      await checkState(page, viewport, 'a cycle running');

      await waitInPage(page, () => document.getElementById('stop').hidden
        && document.querySelector('#turns .turn-foot:not([hidden])'), null, DRILL_LIMIT_MS);
      const chips = (await chipsOf(page)).filter((c) => !c.inserted);
      assert.deepEqual(chips.map((c) => [c.step, c.state]), [
        ['devvm_probe', 'is-finding'], [`runbook ${LAB_RUNBOOK}`, 'is-ok'], ['pve forensics', 'is-ok'],
        ['pve cycle', 'is-ok'], ['wait_for_devvm', 'is-ok'],
      ]);
      assert.match(chips[3].line, /^done · forensics → stop timed out → SIGKILL → unlock ok → start ok$/);
      // The blocks replaced the streamed prose: each message once, whole.
      const prose = await page.evaluate(() => [...document.querySelectorAll('#turns .msg-assistant')].map((m) => m.textContent));
      assert.deepEqual(prose.slice(0, 5), ['Let me check whether the devvm answers.', 'Reading the runbook for this kind of hang first.',
        'Capturing forensics before any power action.', 'Forensics are on record. Power-cycling VM 102.',
        'Waiting for the devvm to come back.']);
      assert.ok(prose[5].startsWith(LAB_SUMMARY_PREFIX), prose[5]);
      assert.equal(await page.locator('#turns .msg-assistant.is-streaming').count(), 0);
      // The header: the devvm up again, the agent idle.
      await waitInPage(page, () => document.querySelector('.state-chip[data-target="devvm"] .state-text').textContent === 'up', null, HEADER_LIMIT_MS);
      assert.equal(await page.locator('.state-chip[data-target="agent"] .state-text').innerText(), 'idle');
      await page.screenshot({ path: join(artifacts, `drill-done-${sizeName(viewport)}.png`) });
      await checkState(page, viewport, 'after the drill');

      // The export says the probe found the devvm unreachable.
      if (viewport === PHONE) await page.click('#drawer-toggle');
      if (viewport === PHONE) await checkState(page, viewport, 'the drawer open');
      await page.click('#history-button');
      await page.locator('#history-list .history-item', { hasText: PROMPT }).first().click();
      await waitInPage(page, () => document.querySelectorAll('#timeline .timeline-row.is-finding').length === 1, null, 20000);
      await checkState(page, viewport, 'the history open');
      await page.screenshot({ path: join(artifacts, `drill-history-${sizeName(viewport)}.png`) });
      const [file] = await Promise.all([page.waitForEvent('download'), page.click('#history-summary')]);
      const md = readFileSync(await file.path(), 'utf8');
      assert.match(md, /Findings of the actions:\n\n- [\d:]+ devvm_probe: finding: no banner\n/);
      assert.match(md, /\| devvm_probe \| {2}\| agent \| [\d.]+ s \| finding: no banner \|/);
      assert.deepEqual(problems, []);
    } finally {
      lab.unwedge();
      await page.close();
      await st.close();
    }
  });

  test(`${sizeName(viewport)}: a wait_for_devvm on a devvm that does not answer shows its time advancing and its latest line`, async () => {
    const st = await stackFor(viewport);
    st.mock.setScript([{ toolUses: [{ name: 'wait_for_devvm', input: { timeout_s: 90 } }] }, { text: 'The devvm is back.' }]);
    const { page, problems } = await openPage(browser, `${st.daemon.url}/`, { viewport, token: BEARER });
    lab.wedge();
    try {
      await page.fill('textarea', 'Wait for it.');
      await page.keyboard.press('Enter');
      const running = () => page.evaluate(() => {
        const c = document.querySelector('#turns .tool.is-running');
        return c && { elapsed: c.querySelector('.tool-elapsed').textContent, line: c.querySelector('.tool-line').textContent };
      });
      await waitInPage(page, () => /^attempt \d+: no_banner$/.test(document.querySelector('#turns .tool.is-running .tool-line')?.textContent || ''),
        null, DRILL_LIMIT_MS);
      const first = await running();
      assert.match(first.elapsed, /^\d+:\d\d$/);
      await page.screenshot({ path: join(artifacts, `wait-running-${sizeName(viewport)}.png`) });
      const seconds = (t) => { const [m, s] = t.split(':').map(Number); return m * 60 + s; };
      await waitInPage(page, (e) => {
        const t = document.querySelector('#turns .tool.is-running .tool-elapsed')?.textContent || '0:00';
        const [m, s] = t.split(':').map(Number);
        return m * 60 + s > e;
      }, seconds(first.elapsed), DRILL_LIMIT_MS);
      assert.match(await page.locator('.state-chip[data-target="agent"]').getAttribute('aria-label'), /^The agent: running wait_for_devvm · \d+:\d\d$/);
      await checkState(page, viewport, 'wait_for_devvm running');
      lab.unwedge();
      await waitInPage(page, () => document.body.innerText.includes('The devvm is back.'), null, DRILL_LIMIT_MS);
      const done = await page.evaluate(() => ({
        state: document.querySelector('#turns .tool').className, line: document.querySelector('#turns .tool-line').textContent,
      }));
      assert.match(done.state, /is-ok/);
      assert.equal(done.line, 'done');
      assert.deepEqual(problems, []);
    } finally {
      lab.unwedge();
      await page.close();
      await st.close();
    }
  });
}
