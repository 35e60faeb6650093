// The page in headless Chromium (Debian's, driven by playwright-core)
// against the real daemon and the mock model over TLS: text streams in
// before the turn ends, model text is never HTML, and the page keeps to
// its CSP with no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCA } from '../lib/ca.mjs';
import { startMock } from '../lib/mock-anthropic.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { DESKTOP, PHONE, launchBrowser, openPage as openBrowserPage, screenshotDir, waitInPage } from '../lib/page.mjs';

const TOKEN = 'page-test-token-0123456789';
let artifacts, mock, daemon, browser;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-page-'));
  artifacts = screenshotDir();
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
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  await mock?.close();
});

const openPage = (viewport) => openBrowserPage(browser, daemon.url + '/', { viewport, token: TOKEN });

test('a prompt streams text into the page before the turn ends', async () => {
  const text = 'The disk is full: /var/log holds 40 GiB of journal. I will vacuum it.';
  mock.push({ text, deltaChars: 4, eventDelayMs: 120 });
  const { page, problems } = await openPage(DESKTOP);
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
  const { page, problems } = await openPage(PHONE);
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

test('a preset fills the prompt, and Enter sends it', async () => {
  mock.push({ text: 'Memory is fine.' });
  const { page, problems } = await openPage(PHONE);
  // The openings are offered in an empty chat: start one.
  await page.click('#drawer-toggle');
  await page.click('#new-session');
  const preset = page.locator('.preset', { hasText: 'Check memory, disk and failing units.' });
  assert.ok(await preset.isVisible(), 'presets are visible on a phone');
  await preset.click();
  assert.equal(await page.locator('textarea').inputValue(), 'Check memory, disk and failing units.');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt', 'the prompt box has the focus');
  const sent = mock.requests.length;
  await page.keyboard.press('Enter');
  await waitInPage(page, () => document.body.innerText.includes('Memory is fine.'), null, 20000);
  const asked = mock.requests[sent].body.messages.at(-1);
  assert.match(JSON.stringify(asked.content), /Check memory, disk and failing units\./);
  assert.deepEqual(problems, []);
  await page.close();
});

// Every control the keyboard can reach, in document order: what Tab must
// walk through, each with a visible focus ring.
for (const viewport of [PHONE, DESKTOP]) {
  test(`${viewport === PHONE ? 'phone' : 'desktop'}: Tab walks the controls in document order, each with a focus ring`, async () => {
    mock.push({ text: 'Ready when you are.' });
    const { page, problems } = await openPage(viewport);
    await page.fill('textarea', 'hello');
    await page.keyboard.press('Enter');
    await waitInPage(page, () => document.body.innerText.includes('Ready when you are.'), null, 20000);
    // A fresh load: Tab starts from the top of the document.
    await page.reload();
    // The turn over (Stop hidden, Send enabled) and the panels drawn:
    // nothing that can be reached changes during the walk.
    await waitInPage(page, () => document.body.innerText.includes('Ready when you are.')
      && document.getElementById('stop').hidden && !document.getElementById('send').disabled
      && document.querySelector('.vm-verb') && document.querySelector('.session'), null, 20000);
    const expected = await page.evaluate(() => {
      const all = document.querySelectorAll('a[href], button, textarea, input, summary, [tabindex="0"]');
      const reachable = [...all].filter((e) => {
        if (e.disabled || e.closest('[inert], dialog:not([open]), [hidden]')) return false;
        const r = e.getBoundingClientRect();
        const s = getComputedStyle(e);
        return (r.width > 0 || e.classList.contains('skip-link')) && s.visibility !== 'hidden';
      });
      reachable.forEach((e, i) => { e.dataset.tabCheck = String(i); });
      return reachable.length;
    });
    const walked = [];
    for (let i = 0; i < expected; i++) {
      await page.keyboard.press('Tab');
      walked.push(await page.evaluate(() => {
        const e = document.activeElement;
        const s = getComputedStyle(e);
        return { index: Number(e.dataset.tabCheck ?? -1), ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
          what: `${e.tagName.toLowerCase()}#${e.id}.${e.className}` };
      }));
    }
    assert.deepEqual(walked.map((w) => w.index), [...Array(expected).keys()], JSON.stringify(walked.map((w) => w.what)));
    const ringless = walked.filter((w) => !w.ring).map((w) => w.what);
    assert.deepEqual(ringless, [], 'every focused control shows a focus ring');
    assert.deepEqual(problems, []);
    await page.close();
  });
}
