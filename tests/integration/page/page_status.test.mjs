// The page's status panel in headless Chromium against the real daemon and
// the lab: the devvm and the Proxmox host reachable with their times, a
// wedged devvm shown as "No banner" after a refresh, the model said to be
// not configured, a pasted token refreshing the status at once (and kept
// across tabs only when this device is to remember it, until Forget),
// Refresh keeping the keyboard's focus while its check runs, and a failed
// script reload shown plainly (banner and the error) while the
// last good set serves. Runs as root (the lab).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, fetchJson } from '../../lib/daemon.mjs';
import { startLab } from '../../lib/lab.mjs';
import { DESKTOP, PHONE, launchBrowser, openPage, screenshotDir, waitFor, waitInPage } from '../../lib/page.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const TOKEN = 'page-status-test-token-0123456789';
const CONNECT_LIMIT_S = 2;
// A probe ends within the connect limit plus 5 s; generous on a busy machine.
const PROBE_LIMIT_MS = 30000;
const RELOAD_LIMIT_MS = 10000;
let lab, daemon, browser, artifacts, scripts;

before(async () => {
  const dir = scratchDir('bg-page-status');
  artifacts = screenshotDir();
  lab = await startLab({ useNetns: false });
  scripts = join(dir, 'scripts');
  cpSync(join(process.env.BREAKGLASS_SOURCE_DIR, 'lua'), scripts, { recursive: true });
  daemon = await startDaemon({
    env: {
      API_BEARER_TOKEN: TOKEN, ANTHROPIC_API_KEY: undefined, BREAKGLASS_SCRIPTS_DIR: scripts,
      BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: String(CONNECT_LIMIT_S), ...lab.env(),
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  lab?.stop();
});

const open = (viewport) => openPage(browser, `${daemon.url}/`, { viewport, token: TOKEN });

const rowOf = (page, target) => page.evaluate((t) => {
  const row = document.querySelector(`.status-row[data-target="${t}"]`);
  return row && {
    state: [...row.classList].find((c) => c.startsWith('is-')),
    label: row.querySelector('.status-label').textContent,
    detail: row.querySelector('.status-detail').textContent,
    phases: row.querySelector('.status-phases').textContent,
    time: row.querySelector('.status-time').textContent,
  };
}, target);

async function waitForRow(page, target, labelPattern) {
  await waitInPage(page, ([t, source]) => {
    const row = document.querySelector(`.status-row[data-target="${t}"]`);
    return row && new RegExp(source).test(row.querySelector('.status-label').textContent);
  }, [target, labelPattern.source], PROBE_LIMIT_MS);
  return rowOf(page, target);
}

test('the panel shows the devvm and the host reachable, with times, and the model not configured', async () => {
  const { page, problems } = await open(DESKTOP);
  const devvm = await waitForRow(page, 'devvm', /^OK/);
  assert.equal(devvm.state, 'is-ok');
  assert.match(devvm.phases, /connect .*handshake .*auth /);
  assert.match(devvm.time, /\d/);
  const pve = await waitForRow(page, 'pve', /^OK/);
  assert.equal(pve.detail, 'status: running');
  const model = await rowOf(page, 'model');
  assert.deepEqual([model.state, model.label], ['is-off', 'Not configured']);
  assert.match(await page.locator('.status-checked').innerText(), /^Last check \d/);
  const scriptsRow = await rowOf(page, 'scripts');
  assert.deepEqual([scriptsRow.state, scriptsRow.label], ['is-ok', 'Loaded']);
  await page.screenshot({ path: join(artifacts, 'status-desktop.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a wedged devvm shows as no banner after a refresh; the host still answers', async () => {
  const { page, problems } = await open(PHONE);
  await waitForRow(page, 'devvm', /^OK/);
  lab.wedge();
  try {
    await page.click('#drawer-toggle');
    await page.click('#status-refresh');
    const devvm = await waitForRow(page, 'devvm', /^No banner$/);
    assert.equal(devvm.state, 'is-bad');
    assert.match(devvm.detail, /no SSH banner/);
    assert.equal((await rowOf(page, 'pve')).state, 'is-ok');
    await page.screenshot({ path: join(artifacts, 'status-wedged-phone.png') });
  } finally {
    lab.unwedge();
  }
  assert.deepEqual(problems, []);
  await page.close();
});

// A keyboard on Refresh stays there while the check runs: the button is
// not disabled under it (a disabled control loses the focus, and the Tab
// order shifts under whoever is walking it), and a second press then is
// kept for when the first check ends.
const HELD_CHECK_MS = 1500;
test('Refresh keeps the focus while its check runs, and a press meanwhile is not lost', async () => {
  const { page, problems } = await open(DESKTOP);
  await waitInPage(page, () => /^Last check/.test(document.querySelector('.status-checked').textContent),
    null, PROBE_LIMIT_MS);
  let held = 0;
  await page.route('**/api/targets?**', async (route) => {
    held += 1;
    await new Promise((resolve) => setTimeout(resolve, HELD_CHECK_MS));
    await route.continue();
  });
  await page.focus('#status-refresh');
  await page.keyboard.press('Enter');
  await waitFor('the check to be asked for', () => held === 1, PROBE_LIMIT_MS);
  const during = await page.evaluate(() => ({
    focused: document.activeElement.id,
    busy: document.getElementById('status-panel').getAttribute('aria-busy'),
  }));
  assert.deepEqual(during, { focused: 'status-refresh', busy: 'true' });
  await page.keyboard.press('Enter');
  await waitFor('the second press to run its own check', () => held === 2, PROBE_LIMIT_MS);
  await waitInPage(page, () => /^Last check/.test(document.querySelector('.status-checked').textContent)
    && document.getElementById('status-panel').getAttribute('aria-busy') === null, null, PROBE_LIMIT_MS);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'status-refresh');
  await page.unroute('**/api/targets?**');
  assert.deepEqual(problems, []);
  await page.close();
});

// Well under the page's poll (15 s): the status comes from the paste.
const AT_ONCE_MS = 8000;

for (const viewport of [PHONE, DESKTOP]) {
  test(`${viewport === PHONE ? 'phone' : 'desktop'}: a pasted token refreshes the status at once; remembered, a new tab has it, until Forget`, async () => {
    const opened = [];
    const tokenless = async () => {
      // No token: the API answers 401 until one is pasted.
      const o = await openPage(browser, `${daemon.url}/`, { viewport, httpErrors: [401] });
      opened.push(o);
      return o;
    };
    const { page, problems } = await tokenless();
    await waitInPage(page, () => document.getElementById('token-dialog').open, null, 10000);
    assert.match(await page.locator('.status-checked').textContent(), /could not be checked/);
    assert.equal(await page.locator('#token-remember').isChecked(), false, 'off by default');
    await page.fill('#token-input', TOKEN);
    await page.check('#token-remember');
    const saved = Date.now();
    await page.click('#token-form button[value="save"]');
    await waitInPage(page, () => document.querySelector('.state-chip[data-target="devvm"]').classList.contains('is-ok')
      && /^Last check/.test(document.querySelector('.status-checked').textContent), null, AT_ONCE_MS);
    assert.ok(Date.now() - saved < AT_ONCE_MS);
    await page.screenshot({ path: join(artifacts, `status-token-${viewport === PHONE ? 'phone' : 'desktop'}.png`) });

    // Another tab of this browser has it: no dialog, the status shown.
    const second = await tokenless();
    await waitInPage(second.page, () => document.querySelector('.state-chip[data-target="pve"]').classList.contains('is-ok'), null, PROBE_LIMIT_MS);
    assert.equal(await second.page.evaluate(() => document.getElementById('token-dialog').open), false);
    // Forget: gone from this device; a new tab asks again.
    await second.page.click('#token-button');
    await second.page.click('#token-clear');
    // (The dialog's close event, which forgets it, comes a moment later.)
    await waitInPage(second.page, () => localStorage.getItem('breakglass.token') === null
      && sessionStorage.getItem('breakglass.token') === null, null, 5000);
    const third = await tokenless();
    await waitInPage(third.page, () => document.getElementById('token-dialog').open, null, 10000);
    for (const o of opened) {
      assert.deepEqual(o.problems, []);
      await o.page.close();
    }
    assert.deepEqual(problems, []);
  });
}

test('a failed script reload is said plainly, with its error', async () => {
  writeFileSync(join(scripts, 'tools', 'broken.lua'), 'return {{{ this is not lua');
  await waitFor('the daemon to report the failed reload', async () => {
    const r = await fetchJson(`${daemon.url}/readyz`);
    return r.json?.degraded === true;
  }, RELOAD_LIMIT_MS);
  const { page, problems } = await open(DESKTOP);
  await waitInPage(page, () => !document.getElementById('banner').hidden, null, PROBE_LIMIT_MS);
  assert.match(await page.locator('#banner').innerText(), /did not load: the previous script set still serves/);
  const row = await waitForRow(page, 'scripts', /^Degraded/);
  assert.equal(row.state, 'is-bad');
  assert.match(await page.locator('.status-scripts-error').innerText(), /broken\.lua/);
  await page.screenshot({ path: join(artifacts, 'status-degraded-desktop.png') });
  assert.deepEqual(problems, []);
  await page.close();
});
