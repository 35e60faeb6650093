// What the page shows is what is there, in headless Chromium against the
// real daemon and the mock model: a session titled by a prompt with a
// right-to-left override or zero-width characters shows them by name
// wherever the title shows (the side list, the history, its timeline, the
// exported summary), and so do a policy's reason, a tool's name and
// result; a link whose text is not its address shows where it goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeScriptsDir, writePolicy } from '../../lib/agent-stack.mjs';
import { DESKTOP, waitInPage } from '../../lib/page.mjs';
import { pageStack } from '../../lib/page-stack.mjs';

const TURN_LIMIT_MS = 30000;
// What the page must never draw: controls but newline and tab, format
// characters (bidi, zero-width), line and paragraph separators.
const HIDDEN = /(?![\n\t])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const rig = pageStack('bg-page-reveal', (dir) => {
  const scripts = makeScriptsDir(join(dir, 'scripts'));
  writePolicy(scripts, 'quiet_hours', 'refuses one echo with a disguised reason',
    'if call.tool == "echo" and call.input.text == "refuse me" then return {deny = "not \\u{202E}won\\u{202C} at night"} end');
  return { scripts };
});

const open = () => rig.open({ viewport: DESKTOP });

async function turn(page, prompt, done) {
  await page.click('#new-session');
  await page.fill('textarea', prompt);
  await page.keyboard.press('Enter');
  await rig.waitForAnswer(page, done, TURN_LIMIT_MS);
}

// Every hidden character in the page's text and titles, with where it is.
const hiddenOnPage = (page) => page.evaluate((source) => {
  const re = new RegExp(source, 'u');
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (re.test(n.data)) found.push(`${n.parentElement.className}: ${JSON.stringify(n.data)}`);
  }
  for (const e of document.querySelectorAll('[title], [aria-label]')) {
    for (const a of ['title', 'aria-label']) {
      if (re.test(e.getAttribute(a) ?? '')) found.push(`${e.className} ${a}: ${JSON.stringify(e.getAttribute(a))}`);
    }
  }
  if (re.test(document.title)) found.push(`document.title: ${JSON.stringify(document.title)}`);
  return found;
}, HIDDEN.source);

test('a prompt with a bidi override and zero-width characters: its title shows them by name wherever it shows', async () => {
  // Reads "restart the web server" on screen; what was typed says another thing.
  const prompt = 'restart the \u202Erevres bew\u202C\u200B server\u2066 now';
  const shown = 'restart the ⟨U+202E⟩revres bew⟨U+202C⟩⟨U+200B⟩ server⟨U+2066⟩ now';
  rig.mock.setScript([{ text: 'Echoing.', toolUses: [{ name: 'echo', input: { text: 'a\u200Db' } }] }, { text: 'Echoed.' }]);
  const { page, problems } = await open();
  await turn(page, prompt, 'Echoed.');

  const listed = page.locator('#session-list .session-title', { hasText: 'revres bew' });
  await listed.waitFor({ timeout: TURN_LIMIT_MS });
  assert.equal(await listed.textContent(), shown);
  assert.equal(await page.locator('#turns .msg-user .msg-text').textContent(), shown);
  assert.deepEqual(await hiddenOnPage(page), []);

  await page.click('#history-button');
  const item = page.locator('#history-list .history-item .session-title', { hasText: 'revres bew' });
  await item.waitFor({ timeout: TURN_LIMIT_MS });
  assert.equal(await item.textContent(), shown);
  await item.click();
  await waitInPage(page, () => document.querySelectorAll('#timeline .timeline-bar').length > 1, null, TURN_LIMIT_MS);
  assert.equal(await page.locator('#history-title').textContent(), shown);
  const names = await page.locator('#timeline .timeline-name').allTextContents();
  assert.deepEqual(names, [`Turn 1: ${shown}`, 'echo a⟨U+200D⟩b']);
  assert.deepEqual(await hiddenOnPage(page), []);

  const [summary] = await Promise.all([page.waitForEvent('download'), page.click('#history-summary')]);
  const md = readFileSync(await summary.path(), 'utf8');
  assert.ok(md.startsWith(`# Incident: ${shown}\n`), md.split('\n')[0]);
  assert.doesNotMatch(md, HIDDEN);
  assert.match(md, /\| echo \| `a⟨U\+200D⟩b` \| agent \|/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a policy\'s reason, the refusal and the tool chip show hidden characters by name', async () => {
  rig.mock.setScript([
    { text: 'Trying.', toolUses: [{ name: 'echo', input: { text: 'refuse me' } }] },
    { text: 'Refused, as expected.' },
  ]);
  const { page, problems } = await open();
  await turn(page, 'try the echo', 'Refused, as expected.');
  const notice = page.locator('#turns .notice-policy', { hasText: 'quiet_hours' });
  assert.equal(await notice.locator('.notice-detail').textContent(), 'not ⟨U+202E⟩won⟨U+202C⟩ at night');
  await page.click('#turns .tool-summary');
  const result = await page.locator('#turns .tool-result').textContent();
  assert.ok(result.includes('⟨U+202E⟩won⟨U+202C⟩'), result);
  assert.deepEqual(await hiddenOnPage(page), []);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a link whose text is not its address shows the host it goes to; a link that is its address stays as it is', async () => {
  const text = [
    'Log in at [https://good.example/login](https://evil.example/login),',
    'read [the docs](https://docs.example/read\u202Efdp.exe),',
    'sign in at [https://good.example](https://good.example@evil.example/),',
    'see [https://plain.example/](https://plain.example/)',
    'and [https://zw.example/a\u200Bb](https://zw.example/a\u200Bb).',
  ].join(' ');
  rig.mock.push({ text });
  const { page, problems } = await open();
  await turn(page, 'where do I log in?', 'see https://plain.example/');
  const links = await page.evaluate(() => [...document.querySelectorAll('#turns .md a')].map((a) => {
    const host = a.querySelector('.md-link-host');
    return {
      text: a.textContent,
      href: a.href,
      title: a.title,
      host: host ? host.getBoundingClientRect().width > 0 : null,
    };
  }));
  assert.deepEqual(links, [
    { text: 'https://good.example/login (evil.example)', href: 'https://evil.example/login', title: 'https://evil.example/login', host: true },
    {
      text: 'the docs (docs.example)',
      href: 'https://docs.example/read%E2%80%AEfdp.exe',
      title: 'https://docs.example/read⟨U+202E⟩fdp.exe',
      host: true,
    },
    {
      text: 'https://good.example (evil.example)',
      href: 'https://good.example@evil.example/',
      title: 'https://good.example@evil.example/',
      host: true,
    },
    { text: 'https://plain.example/', href: 'https://plain.example/', title: '', host: null },
    { text: 'https://zw.example/a⟨U+200B⟩b', href: 'https://zw.example/a%E2%80%8Bb', title: '', host: null },
  ]);
  assert.deepEqual(await hiddenOnPage(page), []);
  assert.deepEqual(problems, []);
  await page.close();
});
