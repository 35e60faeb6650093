// The approval dialog in headless Chromium, against the real daemon (test
// tools plus a policy that asks before `echo` runs) and the mock model: a
// confirm_request opens a dialog with the exact input and the policy's
// reason; Approve runs the call, Deny refuses it; the dialog closes by
// itself when the call is answered elsewhere or times out, and a reload
// while a request waits shows it again. Policy decisions show inline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fetchJson } from '../../lib/daemon.mjs';
import { AUTH, makeScriptsDir, writePolicy } from '../../lib/agent-stack.mjs';
import { DESKTOP, PHONE, screenshotDir, waitInPage } from '../../lib/page.mjs';
import { pageStack } from '../../lib/page-stack.mjs';

const TURN_LIMIT_MS = 30000;
// How long a call waits for the operator here: short, so the time-out case
// is quick, long enough for a click on a busy machine.
const CONFIRM_TIMEOUT_S = 12;
const artifacts = screenshotDir();
const rig = pageStack('bg-page-confirm', (dir) => {
  const scripts = makeScriptsDir(join(dir, 'scripts'));
  writePolicy(scripts, 'ask_echo', 'asks the operator before echo runs',
    'if call.tool == "echo" then return {confirm = "echo talks back: " .. call.input.text} end');
  return { scripts, env: { BREAKGLASS_CONFIRM_TIMEOUT_SECONDS: String(CONFIRM_TIMEOUT_S) } };
});

// 404/409: a late answer from the page after the call was decided elsewhere.
const open = (viewport) => rig.open({ viewport, httpErrors: [404, 409] });

// A new session asking for echo(text), then a closing sentence.
async function askEcho(page, text, closing) {
  rig.mock.setScript([{ text: 'Let me echo.', toolUses: [{ name: 'echo', input: { text } }] }, { text: closing }]);
  // On a phone the session controls are in the drawer.
  if (!(await page.locator('#new-session').isVisible())) await page.click('#drawer-toggle');
  await page.click('#new-session');
  await page.fill('textarea', `echo ${text}`);
  await page.keyboard.press('Enter');
  await waitInPage(page, () => document.getElementById('confirm-dialog').open, null, TURN_LIMIT_MS);
  return page.evaluate(() => {
    const d = document.getElementById('confirm-dialog');
    return {
      title: d.querySelector('.confirm-title').textContent,
      command: d.querySelector('.confirm-command').textContent,
      reason: d.querySelector('.confirm-reason').textContent,
      policy: d.querySelector('.confirm-policy').textContent,
      countdown: d.querySelector('.confirm-countdown').textContent,
      focused: document.activeElement.className,
      session: location.hash.slice('#session='.length),
    };
  });
}

const turnText = (page) => page.evaluate(() => document.getElementById('turns').innerText);
const dialogClosed = (page) => waitInPage(page, () => !document.getElementById('confirm-dialog').open, null, TURN_LIMIT_MS);

test('approve: the dialog shows the exact input and the reason, and the call runs', async () => {
  const { page, problems } = await open(DESKTOP);
  const shown = await askEcho(page, 'approve me', 'Echo approved and done.');
  assert.equal(shown.title, 'Approve echo?');
  assert.equal(shown.command, 'approve me');
  assert.equal(shown.reason, 'echo talks back: approve me');
  assert.equal(shown.policy, 'Asked by the policy ask_echo.');
  assert.match(shown.countdown, /^Denied by itself in \d+ s/);
  assert.match(shown.focused, /confirm-deny/, 'Deny has the focus: Enter does not approve by accident');
  await page.screenshot({ path: join(artifacts, 'confirm-desktop.png') });
  await page.click('#confirm-dialog .confirm-approve');
  await dialogClosed(page);
  await rig.waitForAnswer(page, 'Echo approved and done.', TURN_LIMIT_MS);
  assert.equal(await page.locator('#turns .tool.is-ok .tool-name').innerText(), 'echo');
  const text = await turnText(page);
  assert.match(text, /echo: needs approval, says policy ask_echo/);
  assert.match(text, /Approved by You: echo/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('deny: the call does not run and the page says so', async () => {
  const { page, problems } = await open(PHONE);
  await askEcho(page, 'deny me', 'Understood, not echoing.');
  assert.ok(await page.locator('#confirm-dialog .confirm-approve').isVisible(), 'Approve visible on a phone');
  await page.screenshot({ path: join(artifacts, 'confirm-phone.png') });
  await page.click('#confirm-dialog .confirm-deny');
  await dialogClosed(page);
  await rig.waitForAnswer(page, 'Understood, not echoing.', TURN_LIMIT_MS);
  assert.equal(await page.locator('#turns .tool.is-error .tool-name').innerText(), 'echo');
  assert.match(await turnText(page), /Denied by You: echo/);
  const sent = rig.mock.requests.at(-1).body.messages.at(-1).content.find((b) => b.type === 'tool_result');
  assert.equal(sent.is_error, true);
  assert.match(JSON.stringify(sent.content), /declined this call/);
  assert.deepEqual(problems, []);
  await page.close();
});

for (const viewport of [PHONE, DESKTOP]) {
test(`${viewport === PHONE ? 'phone' : 'desktop'}: answered in another tab, the dialog closes by itself; a reload shows a waiting request again, with its countdown`, async () => {
  const { page, problems } = await open(viewport);
  const shown = await askEcho(page, 'elsewhere', 'Approved from elsewhere.');
  const left = (text) => Number(/^Denied by itself in (\d+) s if nobody answers\.$/.exec(text)?.[1]);
  const before = left(shown.countdown);
  assert.ok(before > 0 && before <= CONFIRM_TIMEOUT_S, shown.countdown);
  await page.reload();
  await waitInPage(page, () => document.getElementById('confirm-dialog').open
    && document.querySelector('#confirm-dialog .confirm-command').textContent === 'elsewhere', null, TURN_LIMIT_MS);
  // The time left counts on from when the daemon asked, not from the reload.
  const after = left(await page.locator('#confirm-dialog .confirm-countdown').innerText());
  assert.ok(after > 0 && after <= before, `${after} s left after the reload, ${before} s before`);
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('confirm-deny')), true, 'Deny has the focus');
  assert.equal(await page.locator('.state-chip[data-target="agent"] .state-text').innerText(), 'approve?', 'the header says the agent waits');
  await page.screenshot({ path: join(artifacts, `confirm-reloaded-${viewport === PHONE ? 'phone' : 'desktop'}.png`) });
  const callId = JSON.parse(await page.evaluate(() => JSON.stringify(
    [...document.querySelectorAll('#turns .notice-confirm')].map((n) => n.dataset.confirmCall),
  )));
  assert.equal(callId.length, 1, 'one waiting request in the transcript');
  const r = await fetchJson(`${rig.daemon.url}/api/session/${shown.session}/confirm`, {
    method: 'POST', headers: AUTH, body: { call_id: callId[0], approve: true },
  });
  assert.equal(r.status, 200, r.text);
  await dialogClosed(page);
  await rig.waitForAnswer(page, 'Approved from elsewhere.', TURN_LIMIT_MS);
  assert.deepEqual(problems, []);
  await page.close();
});
}

test('with no answer in time the dialog closes and the call is not run', async () => {
  const { page, problems } = await open(DESKTOP);
  await askEcho(page, 'too late', 'Nobody answered.');
  await waitInPage(page, () => !document.getElementById('confirm-dialog').open, null, CONFIRM_TIMEOUT_S * 1000 + TURN_LIMIT_MS);
  await rig.waitForAnswer(page, 'Nobody answered.', TURN_LIMIT_MS);
  assert.match(await turnText(page), /No answer in time: not run: echo/);
  assert.equal(await page.locator('#turns .tool.is-error').count(), 1);
  assert.deepEqual(problems, []);
  await page.close();
});
