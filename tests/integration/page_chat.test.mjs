// The page in headless Chromium (Debian's, driven by playwright-core)
// against the real daemon and the mock model over TLS: text streams in
// before the turn ends, model text is never HTML, and the page keeps to
// its CSP with no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { makeCA } from '../lib/ca.mjs';
import { startMock } from '../lib/mock-anthropic.mjs';
import { startDaemon } from '../lib/daemon.mjs';

const TOKEN = 'page-test-token-0123456789';
const artifacts = join(process.env.BREAKGLASS_ARTIFACTS_DIR || tmpdir(), 'screenshots');
let mock, daemon, browser;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-page-'));
  mkdirSync(artifacts, { recursive: true });
  const pki = makeCA(dir);
  mock = await startMock({ cert: pki.serverCert, key: pki.serverKey });
  daemon = await startDaemon({
    env: {
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: mock.url,
      BREAKGLASS_CA_FILE: pki.caCert,
      API_BEARER_TOKEN: TOKEN,
    },
  });
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'bg-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  await mock?.close();
});

// Polls from Node: playwright's waitForFunction may evaluate strings in the
// page, which the daemon's CSP (rightly) forbids.
async function waitInPage(page, fn, arg, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > deadline) throw new Error(`page condition not met within ${timeoutMs} ms: ${fn}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function openPage(viewport) {
  const page = await browser.newPage();
  await page.setViewportSize(viewport);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.addInitScript((t) => sessionStorage.setItem('breakglass.token', t), TOKEN);
  await page.goto(daemon.url + '/');
  return { page, problems };
}

test('a prompt streams text into the page before the turn ends', async () => {
  const text = 'The disk is full: /var/log holds 40 GiB of journal. I will vacuum it.';
  mock.push({ text, deltaChars: 4, eventDelayMs: 120 });
  const { page, problems } = await openPage({ width: 1200, height: 800 });
  await page.fill('textarea', 'check memory, disk and failing units');
  await page.keyboard.press('Enter');
  // Part of the text is on screen while the Stop button says the turn runs.
  await waitInPage(page, () => {
    const stop = document.getElementById('stop');
    return stop && !stop.hidden && document.body.innerText.includes('The disk');
  }, null, 10000);
  await waitInPage(page, (t) => document.body.innerText.includes(t), text, 20000);
  await waitInPage(page, () => document.getElementById('stop').hidden, null, 10000);
  await page.screenshot({ path: join(artifacts, 'chat-desktop.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('HTML from the model renders as text', async () => {
  const evil = 'Look: <img src=x onerror="window.__pwned=1"> and <script>window.__pwned=2</script>';
  mock.push({ text: evil });
  const { page, problems } = await openPage({ width: 375, height: 812 });
  await page.fill('textarea', 'the devvm is unreachable: diagnose');
  await page.keyboard.press('Enter');
  await waitInPage(page, () => document.body.innerText.includes('onerror='), null, 20000);
  assert.equal(await page.evaluate(() => document.querySelectorAll('main img, main script').length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.ok(await page.locator('textarea').isVisible(), 'prompt box visible on a phone');
  await page.screenshot({ path: join(artifacts, 'chat-phone.png') });
  assert.deepEqual(problems, []);
  await page.close();
});
