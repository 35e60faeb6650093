// Policy decisions on the page, in headless Chromium: a cycle with no
// forensics in the session shows the forensics capture the runtime ran for
// forensics_first first, marked as run by that policy, then the cycle; a
// second cycle within the rate limit shows the refusal and its reason.
// The shipped policies, with tools that judge like the real ones but do not
// use SSH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DESKTOP, PHONE, screenshotDir } from '../../lib/page.mjs';
import { pageStack } from '../../lib/page-stack.mjs';
import { makePolicyScripts } from '../../fixtures/lua/policy_fake_tools/scripts.mjs';

const TURN_LIMIT_MS = 30000;
const artifacts = screenshotDir();
const rig = pageStack('bg-page-policy', (dir) => ({ scripts: makePolicyScripts(join(dir, 'scripts')) }));

async function send(page, prompt, closing) {
  await page.fill('textarea', prompt);
  await page.keyboard.press('Enter');
  await rig.waitForAnswer(page, closing, TURN_LIMIT_MS);
}

// The tool chips of the page in order: name, argument, the policy tag.
const chips = (page) => page.evaluate(() => [...document.querySelectorAll('#turns .tool')].map((d) => ({
  name: d.querySelector('.tool-name').textContent,
  arg: d.querySelector('.tool-arg').textContent,
  inserted: d.querySelector('.tool-tag-inserted')?.textContent ?? null,
  error: d.classList.contains('is-error'),
})));

test('a cycle shows the inserted forensics first; a second cycle shows the refusal', async () => {
  for (const viewport of [DESKTOP, PHONE]) {
    const { page, problems } = await rig.open({ viewport });
    if (!(await page.locator('#new-session').isVisible())) await page.click('#drawer-toggle');
    await page.click('#new-session');
    const name = viewport === PHONE ? 'phone' : 'desktop';
    rig.mock.setScript([
      { toolUses: [{ name: 'pve', input: { verb: 'cycle' } }] },
      { text: `Cycled (${name}).` },
    ]);
    await send(page, 'cycle it', `Cycled (${name}).`);
    const first = await chips(page);
    if (viewport === DESKTOP) {
      assert.deepEqual(first, [
        { name: 'pve', arg: 'forensics', inserted: 'run by policy forensics_first', error: false },
        { name: 'pve', arg: 'cycle', inserted: null, error: false },
      ]);
      rig.mock.setScript([
        { toolUses: [{ name: 'pve', input: { verb: 'cycle' } }] },
        { text: 'Refused, as expected.' },
      ]);
      await send(page, 'cycle it again', 'Refused, as expected.');
      const second = await chips(page);
      assert.equal(second.length, 3, JSON.stringify(second));
      assert.deepEqual(second[2], { name: 'pve', arg: 'cycle', inserted: null, error: true });
      const text = await page.evaluate(() => document.getElementById('turns').innerText);
      assert.match(text, /rate_limit/);
      assert.match(text, /between two cycles/);
    } else {
      // The rate limit refuses this one: the page says which policy and why.
      assert.equal(first.at(-1).error, true, JSON.stringify(first));
    }
    await page.screenshot({ path: join(artifacts, `policy-${name}.png`), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  }
});
