// The page against the agent stack, for a page test file: the stack
// (startStack) and a browser (launchBrowser) started before its tests and
// closed after them, the browser first, so that nothing is left asking a
// stopped daemon.
import { after, before } from 'node:test';
import { BEARER, startStack } from './agent-stack.mjs';
import { launchBrowser, openPage, waitInPage } from './page.mjs';
import { scratchDir } from './scratch.mjs';

// What a page test that waited in vain saw, for its error message. A page
// too wedged to answer within EXPLAIN_PAGE_MS is said to be so.
const EXPLAIN_CHAT_CHARS = 1000;
const EXPLAIN_LOG_LINES = 40;
const EXPLAIN_PAGE_MS = 5000;

async function explain(rig, page) {
  let timer;
  const shown = await Promise.race([
    page.evaluate((n) => ({
      chat: document.getElementById('turns').innerText.slice(-n),
      status: document.getElementById('status').textContent,
      conn: document.getElementById('conn-text').textContent,
    }), EXPLAIN_CHAT_CHARS).catch((e) => ({ error: e.message })),
    new Promise((resolve) => { timer = setTimeout(resolve, EXPLAIN_PAGE_MS, { error: `no answer within ${EXPLAIN_PAGE_MS} ms` }); }),
  ]);
  clearTimeout(timer);
  const asked = rig.mock.requests.map((r) => `${r.index}: ${JSON.stringify(r.body?.messages?.at(-1)?.content ?? null).slice(0, 120)}`);
  return `\npage: ${JSON.stringify(shown)}\nmodel requests:\n${asked.join('\n')}`
    + `\ndaemon log:\n${rig.daemon.log.slice(-EXPLAIN_LOG_LINES).join('\n')}`;
}

/**
 * Registers the before() that starts a stack on a scratch folder
 * PREFIX-XXXXXX, with the startStack options setup(dir) returns (it may
 * make scripts in dir first, and may be async), then a browser; and the
 * after() that closes both. Returns the rig, filled in by that before():
 * {stack, browser, mock, daemon (the last one the stack started),
 * open(opts), waitForAnswer(page, text, ms)}: open is the page at the
 * daemon's address, logged in, with openPage's opts.
 */
export function pageStack(prefix, setup = () => ({})) {
  const rig = {
    stack: null,
    browser: null,
    get mock() { return rig.stack.mock; },
    get daemon() { return rig.stack.daemon; },
    open: (opts = {}) => openPage(rig.browser, `${rig.daemon.url}/`, { token: BEARER, ...opts }),
    /**
     * Waits until the chat shows text. On a timeout the error also says
     * what the page showed (the chat's end, its status line, the connection
     * indicator), what the model was asked, and the daemon's last lines.
     */
    async waitForAnswer(page, text, timeoutMs) {
      try {
        await waitInPage(page, (t) => document.getElementById('turns').innerText.includes(t), text, timeoutMs);
      } catch (err) {
        err.message += await explain(rig, page);
        throw err;
      }
    },
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
