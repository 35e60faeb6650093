// The modules the page loads on first use, in headless Chromium against the
// real daemon and the mock model: the markdown renderer comes with the
// first text, under the versioned URL of the page's import map, and formats
// it; the approval dialog with the first request for approval. When such a
// module cannot be fetched (the network, or the daemon gone or updated
// since the page loaded), the page says so where the operator looks, and
// loses nothing it was sent: text is drawn plain. The failures are made by
// Chromium's own request interception (a 404, a failed connection) and by
// stopping the daemon before the history is first opened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BEARER, makeScriptsDir, writePolicy } from '../../lib/agent-stack.mjs';
import { startDaemon } from '../../lib/daemon.mjs';
import { DESKTOP, openPage, waitInPage } from '../../lib/page.mjs';
import { pageStack } from '../../lib/page-stack.mjs';

const TURN_LIMIT_MS = 30000;
const STATUS_LIMIT_MS = 10000;
const FORMATTED = 'The devvm is **up**, and `uptime` says 3 days.';
const rig = pageStack('bg-page-lazy', (dir) => {
  const scripts = makeScriptsDir(join(dir, 'scripts'));
  writePolicy(scripts, 'ask_echo', 'asks the operator before echo runs',
    'if call.tool == "echo" then return {confirm = "echo talks back"} end');
  return { env: { BREAKGLASS_SCRIPTS_DIR: scripts } };
});

/** The page, and the paths (with their queries) of the modules it asked for. */
async function open(opts = {}) {
  const opened = await rig.open({ viewport: DESKTOP, ...opts });
  const modules = [];
  opened.page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.endsWith('.mjs')) modules.push(u.pathname + u.search);
  });
  return { ...opened, modules };
}

/** Runs fn with the module's requests answered by answer (the page
 * reopens the last session, whose text would load the module at once: the
 * route is in place before the page loads). */
async function withModuleFailing(name, answer, fn) {
  const url = new RegExp(`/${name.replace('.', '\\.')}(\\?|$)`);
  await rig.browser.route(url, answer);
  try {
    await fn();
  } finally {
    await rig.browser.unroute(url);
  }
}

async function prompt(page, text) {
  await page.click('#new-session');
  await page.fill('textarea', text);
  await page.keyboard.press('Enter');
}

const importMap = (page) => page.evaluate(() => JSON.parse(document.querySelector('script[type=importmap]').textContent).imports);

test('the markdown renderer loads with the first text, under its versioned URL, and formats it', async () => {
  const { page, problems, modules } = await open();
  await page.waitForLoadState('networkidle');
  assert.ok(!modules.some((m) => m.startsWith('/markdown.mjs')), `not loaded by an empty chat: ${modules}`);
  rig.mock.setScript([{ text: FORMATTED }]);
  await prompt(page, 'Is the devvm up?');
  await waitInPage(page, () => document.querySelector('#turns .msg-assistant strong')?.textContent === 'up', null, TURN_LIMIT_MS);
  assert.equal(await page.locator('#turns .msg-assistant code').innerText(), 'uptime');
  const map = await importMap(page);
  assert.match(map['./markdown.mjs'], /^\.\/markdown\.mjs\?v=[0-9a-f]{12}$/);
  assert.deepEqual(modules.filter((m) => m.startsWith('/markdown.mjs')), [map['./markdown.mjs'].slice(1)]);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the markdown renderer answered 404: the text is shown whole and plain, and the page says why', async () => {
  await withModuleFailing('markdown.mjs', (route) => route.fulfill({ status: 404, body: 'gone' }), async () => {
    const { page, problems } = await open({ httpErrors: [404] });
    rig.mock.setScript([{ text: FORMATTED }]);
    await prompt(page, 'Is the devvm up?');
    await waitInPage(page, (t) => document.querySelector('#turns .msg-assistant')?.textContent === t, FORMATTED, TURN_LIMIT_MS);
    assert.equal(await page.locator('#turns .msg-assistant strong').count(), 0);
    const notice = page.locator('#turns .notice-error');
    assert.ok(await notice.isVisible());
    assert.match(await notice.innerText(), /^The text's formatting did not load \(.+\): the text is shown plain\. Reload the page to format it\.$/);
    assert.deepEqual(problems, []);
    await page.close();
  });
});

test('the approval dialog cannot be fetched: the page says so, and Review says it again', async () => {
  await withModuleFailing('confirm-dialog.mjs', (route) => route.abort('connectionrefused'), async () => {
    const { page, problems } = await open();
    rig.mock.setScript([{ text: 'Let me echo.', toolUses: [{ name: 'echo', input: { text: 'hi' } }] }, { text: 'Done.' }]);
    await prompt(page, 'echo hi');
    const said = /^The approval dialog did not load \(.+\): reload the page to answer the request\.$/;
    await waitInPage(page, () => document.getElementById('status').textContent, null, TURN_LIMIT_MS);
    assert.match(await page.locator('#status').innerText(), said);
    assert.ok(await page.locator('#status').isVisible());
    await page.evaluate(() => { document.getElementById('status').textContent = ''; });
    await page.click('#turns .confirm-review');
    assert.match(await page.locator('#status').innerText(), said);
    assert.equal(await page.evaluate(() => document.getElementById('confirm-dialog').open), false);
    // The call, unanswered, is cancelled with the turn; nothing waits.
    await page.click('#stop');
    await waitInPage(page, () => !document.querySelector('#turns .confirm-review'), null, TURN_LIMIT_MS);
    // Chromium reports the refused fetch on the console.
    assert.ok(problems.every((p) => /ERR_CONNECTION_REFUSED/.test(p)), problems.join('\n'));
    await page.close();
  });
});

test('the daemon stopped before the history is first opened: the page says the history did not load', async () => {
  const daemon = await startDaemon({ env: { API_BEARER_TOKEN: BEARER, ANTHROPIC_API_KEY: undefined } });
  let stopped = false;
  try {
    const page = (await openPage(rig.browser, `${daemon.url}/`, { viewport: DESKTOP, token: BEARER })).page;
    await page.waitForLoadState('networkidle');
    await daemon.stop();
    stopped = true;
    await page.click('#history-button');
    await waitInPage(page, () => document.getElementById('status').textContent, null, STATUS_LIMIT_MS);
    assert.match(await page.locator('#status').innerText(), /^The history did not load \(.+\)\. Reload the page and try again\.$/);
    assert.ok(await page.locator('#status').isVisible());
    await page.close();
  } finally {
    if (!stopped) await daemon.stop();
  }
});
