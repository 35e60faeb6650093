// The page's power controls in headless Chromium, against the real daemon
// and the lab (a real sshd as the Proxmox host running the real
// breakglass-pve over a fake qm). The daemon's model API refuses
// connections (a closed port): the controls must work without it, the
// header says the model is down before any prompt, and a prompt ends with
// the model named as unreachable and the power buttons offered. A mutating
// verb does nothing until confirmed; a running cycle shows its elapsed time
// and latest output line, then one line of outcome, with the full log in
// the chat; a busy host, a policy refusal and a frozen host are said
// plainly, the last before the press. The daemon runs the repository's
// tools with one policy of this file's own instead of the shipped ones
// (tested on their own), which would refuse the back-to-back cycles this
// file needs to make the host busy. Runs as root (the lab).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, fetchJson, freePort } from '../../lib/daemon.mjs';
import { writePolicy } from '../../lib/agent-stack.mjs';
import { startLab } from '../../lib/lab.mjs';
import { DESKTOP, PHONE, launchBrowser, openPage, screenshotDir, waitFor, waitInPage } from '../../lib/page.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const TOKEN = 'page-vm-test-token-0123456789';
const VERB_LIMIT_MS = 60000;
// The daemon's SSH connect limit here: a frozen host is named after it.
const CONNECT_LIMIT_S = 3;
// Long enough for a click to have reached the daemon and the host if it
// were going to.
const NOTHING_SENT_MS = 1500;
// Expected answers: readiness without a model (503), a failed verb (502),
// a refused one (403).
const HTTP_ERRORS = [403, 502, 503];
let lab, daemon, browser, artifacts;

before(async () => {
  const dir = scratchDir('bg-page-vm');
  artifacts = screenshotDir();
  // A second mutating verb gives up after 1 s, and a start takes 3 s: a
  // cycle holds the lock long enough to see "busy", and runs long enough
  // to watch.
  lab = await startLab({
    useNetns: false,
    pveSettings: { lock_wait_seconds: '1' },
    fakeQmDelays: { FAKE_QM_START_DELAY_MS: '3000' },
  });
  const scripts = join(dir, 'scripts');
  const lua = join(process.env.BREAKGLASS_SOURCE_DIR, 'lua');
  cpSync(lua, scripts, { recursive: true, filter: (src) => src !== join(lua, 'policy') });
  writePolicy(scripts, 'freeze', 'no power-off during the maintenance window',
    'if call.verb == "stop" then return {deny = "power verbs are frozen during the maintenance window"} end');
  // The model API at a port nothing listens on: unreachable.
  daemon = await startDaemon({
    env: {
      API_BEARER_TOKEN: TOKEN, ANTHROPIC_API_KEY: 'unused-key',
      ANTHROPIC_BASE_URL: `https://127.0.0.1:${await freePort()}`, BREAKGLASS_SCRIPTS_DIR: scripts,
      BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: String(CONNECT_LIMIT_S),
      BREAKGLASS_MODEL_MAX_RETRIES: '1', BREAKGLASS_MODEL_MAX_RETRY_DELAY_SECONDS: '1', ...lab.env(),
    },
    dataDir: join(dir, 'data'),
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  lab?.stop();
});

// qm commands that change the VM. The page's status panel probes the host
// (a `status` verb) on its own schedule, so reads are not counted.
const MUTATING_QM = /^(stop|start|reset|shutdown|unlock)\b/;
const mutatingQmCount = () => lab.qmCalls().filter((c) => MUTATING_QM.test(c)).length;

const open = (viewport) => openPage(browser, `${daemon.url}/`, { viewport, token: TOKEN, httpErrors: HTTP_ERRORS });
const shot = (page, name, viewport) => page.screenshot({ path: join(artifacts, `${name}-${viewport === PHONE ? 'phone' : 'desktop'}.png`) });

// Every POST /api/pve/* the page sends, as verbs, and each GET
// api/targets?refresh=1 with when it was sent.
function recordRequests(page) {
  const seen = { verbs: [], refreshes: [] };
  page.on('request', (r) => {
    const url = new URL(r.url());
    const m = /\/api\/pve\/([^/?]+)$/.exec(url.pathname);
    if (m && r.method() === 'POST') seen.verbs.push(m[1]);
    if (url.pathname.endsWith('/api/targets') && url.search === '?refresh=1') seen.refreshes.push(Date.now());
  });
  return seen;
}

const outcomeOf = (page) => page.evaluate(() => {
  const out = document.getElementById('vm-outcome');
  if (!out || out.hidden) return null;
  const notice = out.querySelector('.vm-notice');
  return {
    head: out.querySelector('.vm-outcome-head').textContent,
    notice: notice.hidden ? '' : notice.textContent,
    error: out.classList.contains('is-error'),
    log: !document.getElementById('vm-log').hidden,
    override: !document.getElementById('vm-override').hidden,
  };
});

// How many of the daemon's last log lines a failed wait shows.
const LOG_TAIL_LINES = 60;

async function waitForOutcome(page, label) {
  try {
    await waitInPage(page, (l) => {
      const out = document.getElementById('vm-outcome');
      return out && !out.hidden && out.querySelector('.vm-outcome-head').textContent.startsWith(`${l} ·`)
        && document.getElementById('vm-panel').querySelector('.vm-progress').hidden;
    }, label, VERB_LIMIT_MS);
  } catch (err) {
    // What the page, the daemon and the host were doing, for a failure seen once.
    const progress = await page.evaluate(() => document.querySelector('.vm-progress-line')?.textContent);
    err.message += `\nprogress: ${progress}\nqm calls: ${lab.qmCalls().join(', ')}`
      + `\ndaemon log:\n${daemon.log.slice(-LOG_TAIL_LINES).join('\n')}`;
    throw err;
  }
  return outcomeOf(page);
}

// On a phone the controls are in the drawer: the header's host chip opens it.
async function openControls(page, viewport) {
  if (viewport === PHONE) {
    await page.click('.state-chip[data-target="pve"]');
    await waitInPage(page, () => {
      const b = document.querySelector('.vm-verb');
      const box = b && b.getBoundingClientRect();
      return box && box.left >= 0 && box.right <= innerWidth;
    }, null, 5000);
  }
}

test('status runs on one click, recorded in a new chat, and says the VM runs', async () => {
  const { page, problems } = await open(DESKTOP);
  const seen = recordRequests(page);
  await waitInPage(page, () => document.querySelector('.vm-verb[data-verb="status"]'), null, 10000);
  await page.click('.vm-verb[data-verb="status"]');
  const out = await waitForOutcome(page, 'Status');
  assert.match(out.head, /^Status · done · exit 0 · .* · status: running$/);
  assert.equal(out.error, false);
  assert.deepEqual(seen.verbs, ['status']);
  assert.ok(lab.qmCalls().includes('status 102'), `qm calls: ${lab.qmCalls()}`);
  // The press is an action of the chat it made: a chip with who pressed it.
  await waitInPage(page, () => document.querySelector('#turns .tool .tool-tag-button'), null, 10000);
  const chip = await page.evaluate(() => ({
    tag: document.querySelector('#turns .tool .tool-tag-button').textContent,
    who: document.querySelector('#turns .msg-button').textContent,
    line: document.querySelector('#turns .tool .tool-line').textContent,
  }));
  assert.equal(chip.tag, 'button · You');
  assert.match(chip.who, /^status pressed by You · \d\d:\d\d /);
  assert.equal(chip.line, 'done · status: running');
  assert.match(await page.evaluate(() => location.hash), /^#session=[0-9a-f]{32}$/);
  assert.deepEqual(problems, []);
  await page.close();
});

for (const viewport of [PHONE, DESKTOP]) {
  test(`${viewport === PHONE ? 'phone' : 'desktop'}: a cycle waits for the confirm, shows its time and latest line while it runs, then its outcome; the full log is in the chat`, async () => {
    const { page, problems } = await open(viewport);
    const seen = recordRequests(page);
    const mutatingBefore = mutatingQmCount();
    await openControls(page, viewport);
    await page.click('.vm-verb[data-verb="cycle"]');
    const confirmText = await page.locator('.vm-confirm').innerText();
    assert.match(confirmText, /fresh QEMU process/);
    assert.match(confirmText, /staged config/);
    await new Promise((r) => setTimeout(r, NOTHING_SENT_MS));
    assert.deepEqual(seen.verbs, [], 'no request before the confirm');
    assert.equal(mutatingQmCount(), mutatingBefore, 'qm changed nothing before the confirm');
    await page.click('.vm-confirm >> text=Cancel');
    assert.equal(await page.locator('.vm-confirm').isVisible(), false);
    await page.click('.vm-verb[data-verb="reset"]');
    assert.match(await page.locator('.vm-confirm').innerText(), /Reset VM 102\?[\s\S]*does not help a wedged QEMU/);
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('.vm-confirm').isVisible(), false);
    assert.deepEqual(seen.verbs, []);

    await page.click('.vm-verb[data-verb="cycle"]');
    await page.click('#vm-confirm-run');
    // While it runs: every verb off, the elapsed time advancing, the latest
    // line of the forced command's output, in the panel and in the chat.
    const progress = () => page.evaluate(() => {
      const chip = document.querySelector('#turns .tool.is-running');
      return {
        off: [...document.querySelectorAll('.vm-verb')].every((b) => b.disabled),
        elapsed: document.querySelector('.vm-progress-elapsed').textContent,
        line: document.querySelector('.vm-progress-line').textContent,
        chipElapsed: chip ? chip.querySelector('.tool-elapsed').textContent : '',
        chipLine: chip ? chip.querySelector('.tool-line').textContent : '',
        agent: document.querySelector('.state-chip[data-target="agent"]').getAttribute('aria-label'),
      };
    });
    await waitInPage(page, () => /\S/.test(document.querySelector('#turns .tool.is-running .tool-line')?.textContent || '')
      && !/starting/.test(document.querySelector('.vm-progress-line').textContent), null, VERB_LIMIT_MS);
    const first = await progress();
    assert.equal(first.off, true);
    assert.match(first.elapsed, /^Cycle · \d+:\d\d$/);
    assert.match(first.line, /^ · \S/);
    assert.match(first.chipElapsed, /^\d+:\d\d$/);
    assert.match(first.agent, /^The agent: running cycle · \d+:\d\d$/);
    await shot(page, 'controls-running', viewport);
    const seconds = (t) => { const m = /(\d+):(\d\d)$/.exec(t); return Number(m[1]) * 60 + Number(m[2]); };
    await waitInPage(page, ([e, c]) => {
      const p = document.querySelector('.vm-progress-elapsed').textContent;
      const chip = document.querySelector('#turns .tool.is-running .tool-elapsed')?.textContent || '';
      const s = (t) => { const m = /(\d+):(\d\d)$/.exec(t); return m ? Number(m[1]) * 60 + Number(m[2]) : -1; };
      return s(p) > e && s(chip) > c;
    }, [seconds(first.elapsed), seconds(first.chipElapsed)], VERB_LIMIT_MS);

    const out = await waitForOutcome(page, 'Cycle');
    const ended = Date.now();
    assert.deepEqual(seen.verbs, ['cycle']);
    assert.match(out.head, /^Cycle · done · exit 0 · [\d.]+ s · forensics → stop ok → start ok$/);
    assert.equal(out.error, false);
    assert.equal(lab.vmState().status, 'running');
    await shot(page, 'controls', viewport);
    // The status is read again after the verb.
    await waitFor('a refresh of the status after the verb', () => seen.refreshes.some((t) => t >= ended - 1000), 10000);
    // The full log: the chip in the chat, opened, with the whole output.
    assert.equal(out.log, true);
    await page.click('#vm-log');
    await waitInPage(page, () => {
      const chip = [...document.querySelectorAll('#turns .tool[open]')].at(-1);
      if (!chip) return false;
      const box = chip.getBoundingClientRect();
      return box.top < innerHeight && box.bottom > 0 && chip.querySelector('.tool-output').textContent.includes('=== qm start 102 ===');
    }, null, 10000);
    const chip = await page.evaluate(() => {
      const c = [...document.querySelectorAll('#turns .tool[open]')].at(-1);
      return { line: c.querySelector('.tool-line').textContent, result: c.querySelector('.tool-result').hidden, ok: c.classList.contains('is-ok') };
    });
    assert.equal(chip.ok, true);
    assert.equal(chip.line, 'done · forensics → stop ok → start ok');
    assert.equal(chip.result, true, 'the output is not printed twice');
    await shot(page, 'controls-log', viewport);
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('a busy host is said plainly', async () => {
  const { page, problems } = await open(DESKTOP);
  await waitInPage(page, () => document.querySelector('.vm-verb[data-verb="reset"]'), null, 10000);
  const callsBefore = lab.qmCalls().length;
  const first = fetchJson(`${daemon.url}/api/pve/cycle`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: {}, timeoutMs: VERB_LIMIT_MS,
  });
  // Its stop has run: it holds the lock until its slow start is over.
  await waitFor('the first cycle to hold the lock', () => lab.qmCalls().slice(callsBefore).includes('stop 102'), VERB_LIMIT_MS);
  await page.click('.vm-verb[data-verb="reset"]');
  await page.click('#vm-confirm-run');
  const out = await waitForOutcome(page, 'Reset');
  assert.match(out.head, /^Reset · exit 3 · /);
  assert.match(out.notice, /busy with another power verb/);
  assert.equal(out.error, true);
  assert.equal((await first).status, 200);
  assert.ok(!lab.qmCalls().slice(callsBefore).includes('reset 102'), 'the busy reset did nothing');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a policy refusal is said plainly, before the press', async () => {
  const { page, problems } = await open(DESKTOP);
  const seen = recordRequests(page);
  await waitInPage(page, () => document.querySelector('.vm-verb[data-verb="stop"].is-held'), null, 10000);
  const held = await page.evaluate(() => ({
    note: document.getElementById('vm-held-stop').textContent,
    described: document.querySelector('.vm-verb[data-verb="stop"]').getAttribute('aria-describedby'),
  }));
  assert.equal(held.note, 'Power off: power verbs are frozen during the maintenance window');
  assert.match(held.described, /vm-held-stop/);
  await page.click('.vm-verb[data-verb="stop"]');
  const box = await page.locator('.vm-confirm').innerText();
  assert.match(box, /^Power off is held back\n+power verbs are frozen during the maintenance window\n+This policy cannot be overridden\./);
  assert.equal(await page.locator('#vm-confirm-run').isVisible(), false, 'nothing to run');
  await page.click('.vm-confirm >> text=Close');
  assert.deepEqual(seen.verbs, []);
  assert.equal(lab.vmState().status, 'running');
  assert.deepEqual(problems, []);
  await page.close();
});

for (const viewport of [PHONE, DESKTOP]) {
  test(`${viewport === PHONE ? 'phone' : 'desktop'}: the model refusing connections: the header says so before any prompt; a prompt ends naming the model API and offering the power buttons`, async () => {
    const { page, problems } = await open(viewport);
    if (viewport === PHONE) await page.click('#drawer-toggle');
    await page.click('#new-session');
    await waitInPage(page, () => document.querySelector('.state-chip[data-target="model"]').classList.contains('is-bad'), null, 20000);
    const chip = await page.evaluate(() => {
      const c = document.querySelector('.state-chip[data-target="model"]');
      return { text: c.querySelector('.state-text').textContent, label: c.getAttribute('aria-label'), box: c.getBoundingClientRect().toJSON() };
    });
    assert.equal(chip.text, 'down');
    // Refused, as the probe found it, or as the last real call met it.
    assert.match(chip.label, /^The model API: down: (refused|connection error), checked \d+ s ago/);
    assert.ok(chip.box.bottom <= (viewport === PHONE ? PHONE.height : DESKTOP.height) && chip.box.right <= viewport.width, 'in view without a menu');
    assert.equal(await page.locator('#turns .msg-user').count(), 0, 'before any prompt');
    await page.fill('textarea', 'the devvm is down');
    await page.keyboard.press('Enter');
    await waitInPage(page, () => document.querySelector('#turns .notice-model') && document.getElementById('stop').hidden, null, 30000);
    const notice = await page.evaluate(() => {
      const n = document.querySelector('#turns .notice-model');
      return { text: n.querySelector('.notice-text').textContent, verbs: [...n.querySelectorAll('.power-offer-verb')].map((b) => b.dataset.verb) };
    });
    assert.match(notice.text, /^The model API cannot be reached: /);
    assert.deepEqual(notice.verbs, ['status', 'forensics', 'cycle']);
    await shot(page, 'model-down', viewport);
    // The offer works: Status runs with no model in the path.
    await page.click('#turns .notice-model .power-offer-verb[data-verb="status"]');
    const out = await waitForOutcome(page, 'Status');
    assert.match(out.head, /status: running$/);
    assert.deepEqual(problems, []);
    await page.close();
  });
}

for (const viewport of [PHONE, DESKTOP]) {
  test(`${viewport === PHONE ? 'phone' : 'desktop'}: with the Proxmox host's sshd frozen the verbs are marked before the press, and Status answers within the connect limit`, async () => {
    const { page, problems } = await open(viewport);
    await waitInPage(page, () => document.querySelector('.state-chip[data-target="pve"]').classList.contains('is-ok'), null, 30000);
    lab.freezePve();
    try {
      // The next check (the poll, or Refresh) finds it.
      if (viewport === DESKTOP) await page.click('#status-refresh');
      await waitInPage(page, () => document.querySelector('.state-chip[data-target="pve"]').classList.contains('is-bad'), null, 30000);
      assert.equal(await page.locator('.state-chip[data-target="pve"] .state-text').innerText(), 'no banner');
      await openControls(page, viewport);
      const marked = await page.evaluate(() => ({
        note: document.getElementById('vm-host-note').hidden ? '' : document.getElementById('vm-host-note').textContent,
        all: [...document.querySelectorAll('.vm-verb')].every((b) => b.classList.contains('is-host-down')
          && b.getAttribute('aria-describedby').includes('vm-host-note')),
      }));
      assert.match(marked.note, /^The Proxmox host is not answering \(no banner, checked \d+ s ago\): a press will likely fail\.$/);
      assert.equal(marked.all, true);
      await shot(page, 'host-frozen', viewport);
      const started = Date.now();
      await page.click('.vm-verb[data-verb="status"]');
      const out = await waitForOutcome(page, 'Status');
      const took = Date.now() - started;
      assert.ok(took <= (CONNECT_LIMIT_S + 2) * 1000, `answered after ${took} ms`);
      assert.match(out.notice, /^The Proxmox host could not run it \(no banner\): /);
      assert.equal(out.error, true);
    } finally {
      lab.thawPve();
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
}
