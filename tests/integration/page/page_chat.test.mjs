// The page in headless Chromium (Debian's, driven by playwright-core)
// against the real daemon and the mock model over TLS: text streams in
// before the turn ends, model text is never HTML, and the page keeps to
// its CSP with no console errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BEARER } from '../../lib/agent-stack.mjs';
import { DESKTOP, PHONE, screenshotDir, waitInPage } from '../../lib/page.mjs';
import { pageStack } from '../../lib/page-stack.mjs';

const artifacts = screenshotDir();
const rig = pageStack('bg-page', () => ({ scripts: 'shipped' }));
const openPage = (viewport) => rig.open({ viewport });

test('a prompt streams text into the page before the turn ends', async () => {
  const text = 'The disk is full: /var/log holds 40 GiB of journal. I will vacuum it.';
  rig.mock.push({ text, deltaChars: 4, eventDelayMs: 120 });
  const { page, problems } = await openPage(DESKTOP);
  await page.fill('textarea', 'check memory, disk and failing units');
  await page.keyboard.press('Enter');
  // Part of the text is on screen while the Stop button says the turn runs.
  await waitInPage(page, () => {
    const stop = document.getElementById('stop');
    return stop && !stop.hidden && document.body.innerText.includes('The disk');
  }, null, 10000);
  await rig.waitForAnswer(page, text, 20000);
  await waitInPage(page, () => document.getElementById('stop').hidden, null, 10000);
  await page.screenshot({ path: join(artifacts, 'chat-desktop.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('HTML from the model renders as text', async () => {
  const evil = 'Look: <img src=x onerror="window.__pwned=1"> and <script>window.__pwned=2</script>';
  rig.mock.push({ text: evil });
  const { page, problems } = await openPage(PHONE);
  await page.fill('textarea', 'the devvm is unreachable: diagnose');
  await page.keyboard.press('Enter');
  await rig.waitForAnswer(page, 'onerror=', 20000);
  assert.equal(await page.evaluate(() => document.querySelectorAll('main img, main script').length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.ok(await page.locator('textarea').isVisible(), 'prompt box visible on a phone');
  await page.screenshot({ path: join(artifacts, 'chat-phone.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a preset fills the prompt, and Enter sends it', async () => {
  rig.mock.push({ text: 'Memory is fine.' });
  const { page, problems } = await openPage(PHONE);
  // The openings are offered in an empty chat: start one.
  await page.click('#drawer-toggle');
  await page.click('#new-session');
  const preset = page.locator('.preset', { hasText: 'Check memory, disk and failing units.' });
  assert.ok(await preset.isVisible(), 'presets are visible on a phone');
  await preset.click();
  assert.equal(await page.locator('textarea').inputValue(), 'Check memory, disk and failing units.');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt', 'the prompt box has the focus');
  const sent = rig.mock.requests.length;
  await page.keyboard.press('Enter');
  await rig.waitForAnswer(page, 'Memory is fine.', 20000);
  const asked = rig.mock.requests[sent].body.messages.at(-1);
  assert.match(JSON.stringify(asked.content), /Check memory, disk and failing units\./);
  assert.deepEqual(problems, []);
  await page.close();
});

// Every control the keyboard can reach, in document order: what Tab must
// walk through, each with a visible focus ring.
for (const viewport of [PHONE, DESKTOP]) {
  test(`${viewport === PHONE ? 'phone' : 'desktop'}: Tab walks the controls in document order, each with a focus ring`, async () => {
    rig.mock.push({ text: 'Ready when you are.' });
    const { page, problems } = await openPage(viewport);
    await page.fill('textarea', 'hello');
    await page.keyboard.press('Enter');
    await rig.waitForAnswer(page, 'Ready when you are.', 20000);
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

// The session list is redrawn as turns end; an operator on it with the
// keyboard keeps the focus on the session it was on, even when that
// session moves in the list.
test('the focus stays on a session while the list is redrawn', async () => {
  rig.mock.push({ text: 'First.' });
  rig.mock.push({ text: 'Second.' });
  const { page, problems } = await openPage(DESKTOP);
  for (const [prompt, answer] of [['one', 'First.'], ['two', 'Second.']]) {
    await page.click('#new-session');
    await page.fill('textarea', prompt);
    await page.keyboard.press('Enter');
    await rig.waitForAnswer(page, answer, 20000);
    await waitInPage(page, () => document.getElementById('stop').hidden, null, 10000);
  }
  await waitInPage(page, () => document.querySelectorAll('button.session').length >= 2, null, 10000);
  // The older session, second in the list, has the keyboard's focus; the
  // list's redraws are watched.
  const older = await page.evaluate(() => {
    const list = document.querySelector('button.session').closest('ul');
    new MutationObserver(() => { window.__listDrawn = true; }).observe(list, { childList: true, subtree: true });
    const b = document.querySelectorAll('button.session')[1];
    b.focus();
    return b.dataset.session;
  });
  // A turn in the open (newer) session, from elsewhere: the list is drawn
  // again when it ends.
  rig.mock.push({ text: 'Third.' });
  const current = await page.evaluate(() => decodeURIComponent(location.hash.replace('#session=', '')));
  const sent = await fetch(`${rig.daemon.url}/api/session/${current}/prompt`, {
    method: 'POST', headers: { Authorization: `Bearer ${BEARER}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'three' }),
  });
  assert.equal(sent.status, 200);
  await rig.waitForAnswer(page, 'Third.', 20000);
  await waitInPage(page, () => window.__listDrawn, null, 10000);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.session), older);
  assert.deepEqual(problems, []);
  await page.close();
});
