// The page in Debian's chromium, driven by playwright-core: a browser per
// test file, pages that record every console error, page error and CSP
// violation, and a poll from Node in place of waitForFunction (which may
// evaluate strings in the page, and the daemon's CSP rightly forbids eval).
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const PHONE = { width: 375, height: 812 };
export const DESKTOP = { width: 1280, height: 800 };
const POLL_INTERVAL_MS = 50;
const TOKEN_STORAGE_KEY = 'breakglass.token';
// Chromium logs every non-2xx answer to fetch() as a console error.
const HTTP_ERROR_LOG = /^Failed to load resource: the server responded with a status of (\d+)/;

/** Where screenshots go: BREAKGLASS_ARTIFACTS_DIR/screenshots (created). */
export function screenshotDir() {
  const dir = join(process.env.BREAKGLASS_ARTIFACTS_DIR || tmpdir(), 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A headless chromium with a throwaway profile. */
export function launchBrowser() {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'bg-chromium-')), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Opens the page at url with the bearer token in sessionStorage. problems
 * collects console errors and warnings, uncaught page errors and CSP
 * violations (reported by the page to a binding, so none can go unseen).
 * httpErrors: the HTTP statuses a test expects the page to get (a 502 of a
 * failed verb), whose console lines are not problems.
 */
export async function openPage(browser, url, { viewport = DESKTOP, token, httpErrors = [] } = {}) {
  const page = await browser.newPage();
  await page.setViewportSize(viewport);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const http = HTTP_ERROR_LOG.exec(m.text());
    if (http && httpErrors.includes(Number(http[1]))) return;
    problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.exposeBinding('__bgCspViolation', (_source, text) => problems.push(`CSP violation: ${text}`));
  await page.addInitScript(([key, t]) => {
    if (t) sessionStorage.setItem(key, t);
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__bgCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  }, [TOKEN_STORAGE_KEY, token]);
  await page.goto(url);
  return { page, problems };
}

/** Polls fn(arg) in the page until it returns a truthy value, which it resolves with. */
export async function waitInPage(page, fn, arg, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await page.evaluate(fn, arg);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`page condition not met within ${timeoutMs} ms: ${fn}`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

/** Polls a Node-side condition until it holds. */
export async function waitFor(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}
