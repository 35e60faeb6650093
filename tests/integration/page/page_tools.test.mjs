// The chat's tool chips, retries and connection indicator in headless
// Chromium, against the real daemon with the test tools and the mock model:
// a chip shows a command's output while it still runs, a turn shows its
// retries and usage, the indicator leaves "Live" within twice the
// keepalive interval of a daemon frozen with SIGSTOP and comes back when it
// thaws, and goes from live to offline when the daemon goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DESKTOP, PHONE, screenshotDir, waitInPage } from '../../lib/page.mjs';
import { pageStack } from '../../lib/page-stack.mjs';

const TURN_LIMIT_MS = 30000;
// Above the longest backoff the page uses before it calls itself offline.
const OFFLINE_LIMIT_MS = 15000;
const MAX_RETRY_DELAY_S = 1;
// The daemon's keepalive here: a frozen daemon is noticed after twice it.
const KEEPALIVE_S = 3;
// What a page timer may be late by, on a busy machine.
const TIMER_SLACK_MS = 1000;
// flood: 25 chunks of 4 bytes, 200 ms apart: 5 s of live output.
const FLOOD = { chunks: 25, chunk_bytes: 4, pause_ms: 200 };
const artifacts = screenshotDir();
const rig = pageStack('bg-page-tools', () => ({
  env: { BREAKGLASS_MODEL_MAX_RETRY_DELAY_SECONDS: String(MAX_RETRY_DELAY_S), BREAKGLASS_SSE_KEEPALIVE_SECONDS: String(KEEPALIVE_S) },
}));

const open = (viewport, httpErrors) => rig.open({ viewport, httpErrors });

async function send(page, prompt) {
  await page.fill('textarea', prompt);
  await page.keyboard.press('Enter');
}

test('a tool chip shows live output while the command still runs', async () => {
  rig.mock.setScript([{ text: 'Watching the flood.', toolUses: [{ name: 'flood', input: FLOOD }] }, { text: 'Flood done.' }]);
  const { page, problems } = await open(DESKTOP);
  await send(page, 'flood it');
  await waitInPage(page, () => document.querySelector('.tool.is-running'), null, TURN_LIMIT_MS);
  assert.match(await page.locator('.tool-summary').innerText(), /flood/);
  await page.click('.tool-summary');
  // Output on screen while the chip still says running: live, not at the end.
  const seen = await waitInPage(page, () => {
    const chip = document.querySelector('.tool');
    const out = chip.querySelector('.tool-output');
    const text = out.hidden ? '' : out.innerText;
    return chip.classList.contains('is-running') && chip.open && /^x{8,}$/.test(text) ? text : null;
  }, null, TURN_LIMIT_MS);
  assert.ok(seen.length < FLOOD.chunks * FLOOD.chunk_bytes, `only part of the output so far: ${seen.length}`);
  await page.screenshot({ path: join(artifacts, 'chat-tool-running-desktop.png') });
  await rig.waitForAnswer(page, 'Flood done.', TURN_LIMIT_MS);
  const chip = await page.evaluate(() => {
    const c = document.querySelector('.tool');
    return { ok: c.classList.contains('is-ok'), output: c.querySelector('.tool-output').textContent, time: c.querySelector('.tool-time').textContent };
  });
  assert.equal(chip.ok, true);
  assert.equal(chip.output, 'x'.repeat(FLOOD.chunks * FLOOD.chunk_bytes));
  assert.match(chip.time, /^\d+(\.\d)? s$/, 'the chip says how long the call took');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a turn shows its retries and its usage', async () => {
  rig.mock.setScript([{ status: 529 }, { text: 'Back after one retry.' }]);
  const { page, problems } = await open(PHONE);
  await send(page, 'are you there?');
  await rig.waitForAnswer(page, 'Back after one retry.', TURN_LIMIT_MS);
  await waitInPage(page, () => document.getElementById('stop').hidden, null, TURN_LIMIT_MS);
  const turn = await page.evaluate(() => {
    const t = [...document.querySelectorAll('.turn')].at(-1);
    return {
      notice: t.querySelector('.notice-retry')?.innerText ?? '',
      retries: t.querySelector('.turn-retries').innerText,
      usage: t.querySelector('.turn-usage').innerText,
    };
  });
  assert.match(turn.notice, /^Model overloaded, retrying in [\d.]+ s/);
  assert.equal(turn.retries, '1 retry');
  assert.match(turn.usage, /^tokens: [\d,]+ in · [\d,]+ out/);
  await page.screenshot({ path: join(artifacts, 'chat-retry-phone.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

for (const viewport of [PHONE, DESKTOP]) {
  test(`${viewport === PHONE ? 'phone' : 'desktop'}: a frozen daemon turns Live into reconnecting within twice the keepalive interval; thawed, Live again`, async () => {
    rig.mock.setScript([{ text: 'Still here.' }]);
    const { page, problems } = await open(viewport);
    await send(page, 'are you alive?');
    await rig.waitForAnswer(page, 'Still here.', TURN_LIMIT_MS);
    await waitInPage(page, () => document.getElementById('conn').classList.contains('is-live'), null, TURN_LIMIT_MS);
    // The page notes, by its own clock, when it stops saying Live.
    await page.evaluate(() => {
      const conn = document.getElementById('conn');
      new MutationObserver(() => {
        if (!conn.classList.contains('is-live') && !window.leftLiveAt) {
          window.leftLiveAt = Date.now();
          window.leftLiveAs = conn.innerText;
        }
      }).observe(conn, { attributes: true, childList: true, subtree: true, characterData: true });
    });
    const pid = rig.daemon.proc.pid;
    process.kill(pid, 'SIGSTOP');
    const frozenAt = Date.now();
    let left;
    try {
      left = await waitInPage(page, () => window.leftLiveAt && { at: window.leftLiveAt, as: window.leftLiveAs },
        null, 2 * KEEPALIVE_S * 1000 + 10000);
      await page.screenshot({ path: join(artifacts, `chat-frozen-${viewport === PHONE ? 'phone' : 'desktop'}.png`) });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const took = left.at - frozenAt;
    assert.ok(took <= 2 * KEEPALIVE_S * 1000 + TIMER_SLACK_MS, `left Live ${took} ms after the freeze`);
    assert.match(left.as, /^Reconnecting/);
    await waitInPage(page, () => document.getElementById('conn-text').textContent === 'Live', null, TURN_LIMIT_MS);
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('the indicator says live, then reconnecting, then offline when the daemon goes away', async () => {
  rig.mock.setScript([{ text: 'Here.' }]);
  const { page, problems } = await open(DESKTOP);
  await send(page, 'stay with me');
  await rig.waitForAnswer(page, 'Here.', TURN_LIMIT_MS);
  await waitInPage(page, () => document.getElementById('conn').classList.contains('is-live'), null, TURN_LIMIT_MS);
  assert.equal(await page.locator('#conn-text').innerText(), 'Live');
  assert.deepEqual(problems, []);

  // Record every state the indicator passes through from here on.
  await page.evaluate(() => {
    window.connStates = [];
    const conn = document.getElementById('conn');
    new MutationObserver(() => window.connStates.push(`${conn.className}|${conn.innerText}`))
      .observe(conn, { attributes: true, childList: true, subtree: true, characterData: true });
  });
  // The daemon alone: the mock stays for the after() that closes the stack.
  await rig.stack.stop();
  const states = await waitInPage(page, () => window.connStates.some((s) => s.includes('is-offline')) && window.connStates, null, OFFLINE_LIMIT_MS);
  const firstOffline = states.findIndex((s) => s.includes('is-offline'));
  assert.ok(states.slice(0, firstOffline).some((s) => /is-waiting\|Reconnecting/.test(s)), `states: ${states}`);
  assert.match(states[firstOffline], /\|Offline/);
  await page.screenshot({ path: join(artifacts, 'chat-offline-desktop.png') });
  // A refused connection is the one thing Chromium logs now.
  assert.deepEqual(problems.filter((p) => !/ERR_CONNECTION_REFUSED/.test(p)), []);
  await page.close();
});
