// Text from a host is never HTML: the mock model has devvm_shell (the
// repository's tool, over real SSH to the lab's devvm) print an <img> tag
// with an onerror handler, and the page shows it as text in the tool chip,
// with the command's exit status. The exit status the page shows comes from
// the result's structured fields: with the words of devvm_shell's result
// reworded by an operator's edit, the page shows the same. Runs as root
// (the lab).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BEARER, startStack } from '../../lib/agent-stack.mjs';
import { startLab } from '../../lib/lab.mjs';
import { DESKTOP, PHONE, openPage, screenshotDir } from '../../lib/page.mjs';
import { pageStack } from '../../lib/page-stack.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const TURN_LIMIT_MS = 60000;
const EVIL = '<img src=x onerror="window.__pwned=1">';
const artifacts = screenshotDir();
let lab;
const rig = pageStack('bg-page-host', async () => {
  lab = await startLab({ useNetns: false });
  return { scripts: 'shipped', env: lab.env() };
});

// After the stack's after(): the daemon goes before the hosts it reaches.
after(() => lab?.stop());

test('HTML printed by a host renders as text', async () => {
  // The tag's < and > are octal escapes for printf, so only the host's
  // output holds the tag, not the command shown as the chip's input.
  const command = `printf '\\074img src=x onerror="window.__pwned=1"\\076\\n'; exit 3`;
  rig.mock.setScript([{ toolUses: [{ name: 'devvm_shell', input: { command } }] }, { text: 'The devvm printed a tag.' }]);
  const { page, problems } = await rig.open({ viewport: DESKTOP });
  await page.fill('textarea', 'print something odd');
  await page.keyboard.press('Enter');
  await rig.waitForAnswer(page, 'The devvm printed a tag.', TURN_LIMIT_MS);
  await page.click('.tool-summary');
  const chip = await page.evaluate(() => {
    const c = document.querySelector('.tool');
    const shown = [...c.querySelectorAll('.tool-output, .tool-result')].filter((p) => !p.hidden);
    return { text: c.innerText, output: shown.map((p) => p.innerText).join('\n'), exit: c.querySelector('.tool-exit').innerText };
  });
  assert.ok(!command.includes(EVIL));
  assert.ok(chip.output.includes(EVIL), `the chip shows the host's tag as text: ${chip.text}`);
  assert.equal(chip.exit, 'exit 3', chip.text);
  assert.equal(await page.evaluate(() => document.querySelectorAll('main img, main script').length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await page.screenshot({ path: join(artifacts, 'chat-host-output-desktop.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

// The shipped devvm_shell, with the words of its result changed as an
// operator might (another language): what the model reads changes, what
// the page shows must not.
function rewordedScripts(at) {
  cpSync(join(process.env.BREAKGLASS_SOURCE_DIR, 'lua'), at, { recursive: true });
  const file = join(at, 'tools', 'devvm_shell.lua');
  const shipped = readFileSync(file, 'utf8');
  const edited = shipped.replace('("killed by signal " .. r.exit_signal)', '("beendet durch Signal " .. r.exit_signal)')
    .replace('("exit status " .. r.exit_status)', '("Rückgabewert " .. r.exit_status)')
    .replace('"%s, %.3f s\\n%s"', '"%s nach %.3f s\\n%s"');
  assert.notEqual(edited, shipped);
  assert.equal(edited.split('Rückgabewert').length, 2, 'the exit words were found');
  writeFileSync(file, edited);
  return at;
}

test('the exit status shown is the same with devvm_shell\'s result words renamed', async () => {
  const dir = scratchDir('bg-page-host-reworded');
  const reworded = await startStack(dir, { scripts: rewordedScripts(join(dir, 'reworded-scripts')), env: lab.env() });
  try {
    const shown = {};
    for (const [name, st] of [['shipped', rig.stack], ['reworded', reworded]]) {
      for (const viewport of [PHONE, DESKTOP]) {
        st.mock.setScript([
          { toolUses: [{ name: 'devvm_shell', input: { command: 'echo fine' } }, { name: 'devvm_shell', input: { command: 'echo no; exit 3' } }] },
          { text: 'Two commands ran.' },
        ]);
        const { page, problems } = await openPage(rig.browser, `${st.daemon.url}/`, { viewport, token: BEARER });
        if (viewport === PHONE) await page.click('#drawer-toggle');
        await page.click('#new-session');
        await page.fill('textarea', 'run two commands');
        await page.keyboard.press('Enter');
        await rig.waitForAnswer(page, 'Two commands ran.', TURN_LIMIT_MS);
        shown[`${name} ${viewport.width}`] = await page.evaluate(() => [...document.querySelectorAll('#turns .tool')].map((c) => ({
          state: [...c.classList].filter((k) => /^is-(ok|finding|error)$/.test(k)).join(),
          badge: c.querySelector('.tool-exit').textContent,
          line: c.querySelector('.tool-line').textContent,
        })));
        await page.screenshot({ path: join(artifacts, `chat-host-reworded-${name}-${viewport === PHONE ? 'phone' : 'desktop'}.png`) });
        assert.deepEqual(problems, []);
        await page.close();
      }
    }
    const expected = [{ state: 'is-ok', badge: 'exit 0', line: 'done' }, { state: 'is-finding', badge: 'exit 3', line: 'found a problem' }];
    for (const [what, chips] of Object.entries(shown)) assert.deepEqual(chips, expected, what);
    // The model did read the reworded result.
    const results = reworded.mock.requests.at(-1).body.messages.at(-1).content.filter((b) => b.type === 'tool_result');
    assert.match(JSON.stringify(results), /Rückgabewert 3 nach /);
  } finally {
    await reworded.close();
  }
});
