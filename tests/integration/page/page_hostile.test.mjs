// What a hostile devvm or a misled model can put on the page, in headless
// Chromium against the real daemon and the mock model: the approval
// dialog shows a command's characters as they will run (no bidi override,
// zero-width or control character disguises it), model text cannot make
// the page build more table cells than it has characters, and a tool's
// output in many small pieces does not freeze it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeScriptsDir, writePolicy } from '../../lib/agent-stack.mjs';
import { DESKTOP, waitInPage } from '../../lib/page.mjs';
import { pageStack } from '../../lib/page-stack.mjs';
import { TOOL_OUTPUT_MAX_CHARS } from '../../../www/tool-chip.mjs';

const TURN_LIMIT_MS = 30000;
const rig = pageStack('bg-page-hostile', (dir) => {
  const scripts = makeScriptsDir(join(dir, 'scripts'));
  writePolicy(scripts, 'ask_echo', 'asks the operator before echo runs',
    'if call.tool == "echo" then return {confirm = "echo talks back: " .. call.input.text} end');
  return { scripts };
});

// 404/409: the test leaves a request unanswered; the page may answer late.
const open = () => rig.open({ viewport: DESKTOP, httpErrors: [404, 409] });

async function newPrompt(page, prompt) {
  await page.click('#new-session');
  await page.fill('textarea', prompt);
  await page.keyboard.press('Enter');
}

// Where each character of the dialog's command is drawn, in text order:
// {ch, top, left} of its box (newlines have none).
function drawnCharacters(page) {
  return page.evaluate(() => {
    const box = document.querySelector('#confirm-dialog .confirm-command');
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    const out = [];
    const range = document.createRange();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.data.length; i += 1) {
        if (node.data[i] === '\n') continue;
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const r = range.getBoundingClientRect();
        out.push({ ch: node.data[i], top: r.top, left: r.left });
      }
    }
    return out;
  });
}

// Asks for echo(text) behind the policy's approval, reads the dialog, and
// denies the call, so that the next test starts with no request waiting.
async function askAndDeny(text) {
  rig.mock.setScript([{ text: 'Let me echo.', toolUses: [{ name: 'echo', input: { text } }] }, { text: 'Done.' }]);
  const { page, problems } = await open();
  await newPrompt(page, 'echo something');
  await waitInPage(page, () => document.getElementById('confirm-dialog').open, null, TURN_LIMIT_MS);
  const warning = page.locator('#confirm-dialog .confirm-hidden');
  const seen = {
    command: await page.locator('#confirm-dialog .confirm-command').textContent(),
    drawn: await drawnCharacters(page),
    warning: (await warning.isVisible()) ? await warning.innerText() : null,
    reason: await page.locator('#confirm-dialog .confirm-reason').textContent(),
  };
  const overflow = page.locator('#confirm-dialog .confirm-overflow');
  seen.overflow = (await overflow.isVisible()) ? await overflow.innerText() : null;
  await page.click('#confirm-dialog .confirm-deny');
  await rig.waitForAnswer(page, 'Done.', TURN_LIMIT_MS);
  seen.chip = await page.locator('#turns .tool-arg').textContent();
  seen.input = await page.locator('#turns .tool-input').textContent();
  assert.deepEqual(problems, []);
  await page.close();
  return seen;
}

test('the approval dialog shows a disguised command as it runs: bidi, zero-width and control characters are named, and nothing is reordered', async () => {
  // Reads "echo nothing to see" on screen when the bidi override and the
  // Hebrew letters reorder it; a CR and zero-width spaces hide the rest.
  const command = 'echo \u202Eees ot gnihton\u202C; rm -rf ~ ; reboot \u05D0 ; \u05D1\rtrue\u200B\u2066x\u2069\u0007';
  const { command: shown, drawn, warning, reason, chip, input } = await askAndDeny(command);
  // Every character that hides itself is there by name, and only by name.
  assert.doesNotMatch(shown, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u, JSON.stringify(shown));
  for (const code of ['202E', '202C', '000D', '200B', '2066', '2069', '0007']) {
    assert.ok(shown.includes(`U+${code}`), `U+${code} is named in ${JSON.stringify(shown)}`);
  }
  assert.match(shown, /^echo /);
  assert.ok(shown.includes('ees ot gnihton'), 'the reversed words are shown in the order they run');
  assert.ok(shown.includes('; rm -rf ~ ; reboot \u05D0 ; \u05D1'));
  // Drawn left to right, line by line, in the order the shell reads it.
  for (let i = 1; i < drawn.length; i += 1) {
    const [a, b] = [drawn[i - 1], drawn[i]];
    const sameLine = Math.abs(a.top - b.top) < 2;
    assert.ok(b.top > a.top || (sameLine && b.left > a.left),
      `character ${i} (${JSON.stringify(b.ch)}) is drawn before the one ahead of it (${JSON.stringify(a.ch)})`);
  }
  assert.match(warning ?? '', /7 characters/, 'the dialog says the command holds hidden characters');
  // The policy's reason quotes the command, and the transcript's chip
  // records it: both show it as the dialog does.
  assert.equal(reason, `echo talks back: ${shown}`);
  assert.equal(chip, shown);
  assert.equal(input, shown);
});

test('a plain command is shown as it is, with no warning about hidden characters', async () => {
  const { command, warning, overflow, chip } = await askAndDeny('uptime\tnow\nfree -m');
  assert.equal(command, 'uptime\tnow\nfree -m');
  assert.equal(chip, command);
  assert.equal(warning, null);
  assert.equal(overflow, null);
});

test('blank lines that push the end of a command out of its box: the dialog says there is more', async () => {
  const { command, overflow } = await askAndDeny(`uptime${'\n'.repeat(40)}reboot`);
  assert.ok(command.endsWith('\nreboot'));
  assert.equal(overflow, 'The command runs past this box (41 lines): scroll it to read all of it.');
});

// Before the fix the page froze building 9 million cells: the time limit
// makes that a failure rather than a hang.
test('a table of many columns and many short rows costs cells by its text, not columns times rows', { timeout: 60000 }, async () => {
  const columns = 3000;
  const rows = 3000;
  // 21 kB of text; each row of one '|' would otherwise get 3000 cells.
  const table = `${'|h'.repeat(columns)}|\n${'|-'.repeat(columns)}|\n${'|\n'.repeat(rows)}`;
  rig.mock.push({ text: `${table}\nEnd of the table.`, deltaChars: 100000 });
  const { page, problems } = await open();
  await newPrompt(page, 'draw a table');
  await rig.waitForAnswer(page, 'End of the table.', TURN_LIMIT_MS);
  const cells = await page.evaluate(() => document.querySelectorAll('#turns td, #turns th').length);
  const pipes = table.split('|').length - 1;
  assert.ok(cells >= columns, `the head is drawn (${cells} cells)`);
  assert.ok(cells <= pipes + rows, `${cells} cells for ${pipes} '|' in ${rows} rows`);
  assert.deepEqual(problems, []);
  await page.close();
});

// Before the fix one output event measured the whole box: 30000 of them
// froze the page for minutes.
test('output in 30000 small pieces, watched live, leaves the page answering and shows its end', { timeout: 90000 }, async () => {
  const flood = { chunks: 30000, chunk_bytes: 100, pause_ms: 0 };
  rig.mock.setScript([{ text: 'Flooding.', toolUses: [{ name: 'flood', input: flood }] }, { text: 'Flood done.' }]);
  const { page, problems } = await open();
  await newPrompt(page, 'flood');
  await waitInPage(page, () => document.querySelector('#turns .tool'), null, TURN_LIMIT_MS);
  await page.click('#turns .tool-summary');
  const started = Date.now();
  let slowestMs = 0;
  for (let done = false; !done;) {
    assert.ok(Date.now() - started < TURN_LIMIT_MS, 'the turn ends within the turn limit');
    const asked = Date.now();
    done = await page.evaluate(() => document.getElementById('turns').innerText.includes('Flood done.'));
    slowestMs = Math.max(slowestMs, Date.now() - asked);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(slowestMs < 2000, `the page took ${slowestMs} ms to answer during the flood`);
  const shown = await page.locator('#turns .tool-output').textContent();
  assert.ok(shown.startsWith('[earlier output not shown]\n'), shown.slice(0, 40));
  assert.ok(shown.length <= TOOL_OUTPUT_MAX_CHARS + 40, `${shown.length} characters kept`);
  assert.match(shown, /x{1000}$/);
  assert.deepEqual(problems, []);
  await page.close();
});
