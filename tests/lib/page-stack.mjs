// The page against the agent stack, for a page test file: the stack
// (startStack) and a browser (launchBrowser) started before its tests and
// closed after them, the browser first, so that nothing is left asking a
// stopped daemon.
import { after, before } from 'node:test';
import { BEARER, startStack } from './agent-stack.mjs';
import { launchBrowser, openPage } from './page.mjs';
import { scratchDir } from './scratch.mjs';

/**
 * Registers the before() that starts a stack on a scratch folder
 * PREFIX-XXXXXX, with the startStack options setup(dir) returns (it may
 * make scripts in dir first, and may be async), then a browser; and the
 * after() that closes both. Returns the rig, filled in by that before():
 * {stack, browser, mock, daemon (the last one the stack started),
 * open(opts)}: the page at the daemon's address, logged in, with openPage's
 * opts.
 */
export function pageStack(prefix, setup = () => ({})) {
  const rig = {
    stack: null,
    browser: null,
    get mock() { return rig.stack.mock; },
    get daemon() { return rig.stack.daemon; },
    open: (opts = {}) => openPage(rig.browser, `${rig.daemon.url}/`, { token: BEARER, ...opts }),
  };
  before(async () => {
    const dir = scratchDir(prefix);
    rig.stack = await startStack(dir, await setup(dir));
    rig.browser = await launchBrowser();
  });
  after(async () => {
    await rig.browser?.close();
    await rig.stack?.close();
  });
  return rig;
}
