// The page's direct VM controls in headless Chromium, against the real
// daemon and the lab (a real sshd as the Proxmox host running the real
// breakglass-pve over a fake qm). The daemon's model API is unreachable (a
// closed port): the controls must work without it. A mutating verb does
// nothing until confirmed; a confirmed cycle shows forensics, then the
// cycle; a busy host and a policy refusal are said plainly. The daemon runs
// the repository's tools with one policy of this file's own instead of the
// shipped ones (tested on their own), which would refuse the back-to-back
// cycles this file needs to make the host busy. Runs as root (the lab).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, fetchJson } from '../lib/daemon.mjs';
import { startLab } from '../lib/lab.mjs';
import { DESKTOP, PHONE, launchBrowser, openPage, screenshotDir, waitFor, waitInPage } from '../lib/page.mjs';

const TOKEN = 'page-vm-test-token-0123456789';
const VERB_LIMIT_MS = 60000;
// Long enough for a click to have reached the daemon and the host if it
// were going to.
const NOTHING_SENT_MS = 1500;
const FORENSICS_HEADER = '=== breakglass-pve forensics: VM 102';
// Expected answers: readiness without a model (503), a failed verb (502),
// a refused one (403).
const HTTP_ERRORS = [403, 502, 503];
let lab, daemon, browser, artifacts;

const FREEZE_POLICY = `return {
  name = "freeze",
  description = "no power-off during the maintenance window",
  before = function(ctx, call)
    if call.verb == "stop" then return {deny = "power verbs are frozen during the maintenance window"} end
  end,
}
`;

// A port nothing listens on: the model API there is unreachable.
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-page-vm-'));
  artifacts = screenshotDir();
  // A second mutating verb gives up after 1 s, and a start takes 3 s: a
  // cycle holds the lock long enough to see "busy".
  lab = await startLab({
    useNetns: false,
    pveSettings: { lock_wait_seconds: '1' },
    fakeQmDelays: { FAKE_QM_START_DELAY_MS: '3000' },
  });
  const scripts = join(dir, 'scripts');
  const lua = join(process.env.BREAKGLASS_SOURCE_DIR, 'lua');
  cpSync(lua, scripts, { recursive: true, filter: (src) => src !== join(lua, 'policy') });
  mkdirSync(join(scripts, 'policy'));
  writeFileSync(join(scripts, 'policy', 'freeze.lua'), FREEZE_POLICY);
  daemon = await startDaemon({
    env: {
      API_BEARER_TOKEN: TOKEN, ANTHROPIC_API_KEY: 'unused-key',
      ANTHROPIC_BASE_URL: `https://127.0.0.1:${await closedPort()}`, BREAKGLASS_SCRIPTS_DIR: scripts, ...lab.env(),
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

// Every POST /api/pve/* the page sends, as verbs.
function recordVerbPosts(page) {
  const verbs = [];
  page.on('request', (r) => {
    const m = /\/api\/pve\/([^/?]+)$/.exec(new URL(r.url()).pathname);
    if (m && r.method() === 'POST') verbs.push(m[1]);
  });
  return verbs;
}

const outputOf = (page) => page.evaluate(() => {
  const out = document.getElementById('vm-output');
  if (!out || out.hidden) return null;
  const notice = out.querySelector('.vm-notice');
  return {
    head: out.querySelector('.vm-output-head').textContent,
    notice: notice.hidden ? '' : notice.textContent,
    stdout: out.querySelector('.vm-stdout').textContent,
    stderr: out.querySelector('.vm-stderr').textContent,
    error: out.classList.contains('is-error'),
  };
});

async function waitForOutput(page, verb) {
  await waitInPage(page, (v) => {
    const out = document.getElementById('vm-output');
    const status = document.querySelector('.vm-verb[data-verb="status"]');
    return out && !out.hidden && out.querySelector('.vm-output-head').textContent.startsWith(`${v} ·`) && !status.disabled;
  }, verb, VERB_LIMIT_MS);
  return outputOf(page);
}

test('status runs on one click and shows the VM running', async () => {
  const { page, problems } = await open(DESKTOP);
  const posts = recordVerbPosts(page);
  await page.click('.vm-verb[data-verb="status"]');
  const out = await waitForOutput(page, 'status');
  assert.equal(out.stdout, 'status: running\n');
  assert.match(out.head, /^status · exit 0 · /);
  assert.equal(out.error, false);
  assert.deepEqual(posts, ['status']);
  assert.ok(lab.qmCalls().includes('status 102'), `qm calls: ${lab.qmCalls()}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a mutating verb does nothing until confirmed; a cycle shows forensics, then the cycle', async () => {
  const { page, problems } = await open(DESKTOP);
  const posts = recordVerbPosts(page);
  const callsBefore = lab.qmCalls().length;
  const mutatingBefore = mutatingQmCount();

  await page.click('.vm-verb[data-verb="cycle"]');
  const confirmText = await page.locator('.vm-confirm').innerText();
  assert.match(confirmText, /fresh QEMU process/);
  assert.match(confirmText, /staged config/);
  await new Promise((r) => setTimeout(r, NOTHING_SENT_MS));
  assert.deepEqual(posts, [], 'no request before the confirm');
  assert.equal(mutatingQmCount(), mutatingBefore, 'qm changed nothing before the confirm');

  // Cancel leaves everything as it was.
  await page.click('.vm-confirm >> text=Cancel');
  assert.equal(await page.locator('.vm-confirm').isVisible(), false);
  await page.click('.vm-verb[data-verb="reset"]');
  assert.match(await page.locator('.vm-confirm').innerText(), /does not help a wedged QEMU/);
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('.vm-confirm').isVisible(), false);
  await new Promise((r) => setTimeout(r, NOTHING_SENT_MS));
  assert.deepEqual(posts, []);
  assert.equal(mutatingQmCount(), mutatingBefore);

  const pidBefore = lab.vmState();
  assert.equal(pidBefore.status, 'running');
  await page.click('.vm-verb[data-verb="cycle"]');
  await page.click('#vm-confirm-run');
  // While it runs, every button is off and a spinner says what runs.
  await waitInPage(page, () => [...document.querySelectorAll('.vm-verb')].every((b) => b.disabled)
    && !document.querySelector('.vm-progress').hidden, null, 5000);
  assert.match(await page.locator('.vm-progress').innerText(), /Running cycle/);
  await page.screenshot({ path: join(artifacts, 'controls-running-desktop.png') });

  const out = await waitForOutput(page, 'cycle');
  assert.deepEqual(posts, ['cycle']);
  assert.match(out.head, /^cycle · exit 0 · /);
  assert.ok(out.stdout.startsWith(FORENSICS_HEADER), `stdout starts: ${out.stdout.slice(0, 80)}`);
  const endOfForensics = out.stdout.indexOf('=== end of forensics ===');
  const start = out.stdout.indexOf('=== qm start 102 ===');
  assert.ok(endOfForensics > 0 && start > endOfForensics, 'forensics come before the cycle');
  const calls = lab.qmCalls().slice(callsBefore);
  assert.ok(calls.indexOf('stop 102') < calls.indexOf('start 102') && calls.includes('stop 102'), `qm calls: ${calls}`);
  assert.equal(lab.vmState().status, 'running');
  await page.screenshot({ path: join(artifacts, 'controls-desktop.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a busy host is said plainly', async () => {
  const { page, problems } = await open(DESKTOP);
  const callsBefore = lab.qmCalls().length;
  const first = fetchJson(`${daemon.url}/api/pve/cycle`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: {}, timeoutMs: VERB_LIMIT_MS,
  });
  // Its stop has run: it holds the lock until its slow start is over.
  await waitFor('the first cycle to hold the lock', () => lab.qmCalls().slice(callsBefore).includes('stop 102'), VERB_LIMIT_MS);
  await page.click('.vm-verb[data-verb="reset"]');
  await page.click('#vm-confirm-run');
  const out = await waitForOutput(page, 'reset');
  assert.match(out.head, /^reset · exit 3 · /);
  assert.match(out.notice, /busy with another power verb/);
  assert.equal(out.error, true);
  assert.equal((await first).status, 200);
  assert.ok(!lab.qmCalls().slice(callsBefore).includes('reset 102'), 'the busy reset did nothing');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a policy refusal is said plainly', async () => {
  const { page, problems } = await open(DESKTOP);
  await page.click('.vm-verb[data-verb="stop"]');
  await page.click('#vm-confirm-run');
  const out = await waitForOutput(page, 'stop');
  assert.match(out.head, /^stop · HTTP 403 · /);
  assert.equal(out.notice, 'Refused by policy (freeze): power verbs are frozen during the maintenance window');
  assert.equal(lab.vmState().status, 'running');
  assert.deepEqual(problems, []);
  await page.close();
});

test('on a phone the controls open from the top bar and work', async () => {
  const { page, problems } = await open(PHONE);
  assert.ok(await page.locator('textarea').isVisible(), 'prompt box visible');
  assert.ok(await page.locator('#send').isVisible(), 'send button visible');
  await page.click('#vm-button');
  const status = page.locator('.vm-verb[data-verb="status"]');
  await waitInPage(page, () => document.activeElement?.dataset.verb === 'status', null, 5000);
  // The drawer slides in.
  await waitInPage(page, (width) => {
    const box = document.querySelector('.vm-verb[data-verb="status"]').getBoundingClientRect();
    return box.left >= 0 && box.right <= width;
  }, PHONE.width, 5000);
  assert.ok(await status.isVisible(), 'the status button is visible in the drawer');
  await page.keyboard.press('Enter');
  const out = await waitForOutput(page, 'status');
  assert.equal(out.stdout, 'status: running\n');
  await page.screenshot({ path: join(artifacts, 'controls-phone.png') });
  assert.deepEqual(problems, []);
  await page.close();
});
