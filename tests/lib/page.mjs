// The page in Debian's chromium, driven by playwright-core: a browser per
// test file, pages that record every console error, page error and CSP
// violation, and a poll from Node in place of waitForFunction (which may
// evaluate strings in the page, and the daemon's CSP rightly forbids eval).
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { scratchDir } from './scratch.mjs';

export const CHROMIUM_PATH = '/usr/bin/chromium';
// The owner's phone and desktop (issue 14's sizes).
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1440, height: 900 };
// Widths at which the page must not scroll sideways.
export const NARROW_WIDTHS = [320, 375, 390];
// WCAG's target size for a phone: every control at least this square.
export const TOUCH_TARGET_PX = 44;
// The page's own bar for text contrast, in both themes.
export const MIN_CONTRAST = 5.7;
const POLL_INTERVAL_MS = 50;
// From the load event to the page's modules having drawn the header.
const APP_START_MS = 10000;
const TOKEN_STORAGE_KEY = 'breakglass.token';
// Chromium logs every non-2xx answer to fetch() as a console error.
const HTTP_ERROR_LOG = /^Failed to load resource: the server responded with a status of (\d+)/;
// Chromium aborts the requests in flight when an address is added to or
// removed from an interface of its network namespace, which every lab
// test running alongside does (its veth pairs, tests/lib/lab-net.mjs).
// That is the test machine, not the page: not a problem, and a page whose
// modules were aborted so is loaded again.
const NETWORK_CHANGED_LOG = /net::ERR_NETWORK_CHANGED/;
// ... and the manifest's icon, aborted so, is then said not to be an image.
const MANIFEST_ICON_LOG = /^Error while trying to use the following icon from the Manifest: .*\(Download error/;
const NETWORK_CHANGED_RELOADS_MAX = 3;

/** Where screenshots go: BREAKGLASS_ARTIFACTS_DIR/screenshots (created). */
export function screenshotDir() {
  const dir = join(process.env.BREAKGLASS_ARTIFACTS_DIR || tmpdir(), 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A headless chromium with a throwaway profile. */
export function launchBrowser() {
  return chromium.launchPersistentContext(scratchDir('bg-chromium'), {
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
 * failed verb), whose console lines are not problems. It returns once
 * the page has started (its header drawn), unless awaitApp is false (a
 * page opened on another URL first, to be navigated by the test).
 */
export async function openPage(browser, url, { viewport = DESKTOP, token, httpErrors = [], awaitApp = true } = {}) {
  const page = await browser.newPage();
  await page.setViewportSize(viewport);
  const problems = [];
  let networkChanged = 0;
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const http = HTTP_ERROR_LOG.exec(m.text());
    if (http && httpErrors.includes(Number(http[1]))) return;
    if (NETWORK_CHANGED_LOG.test(m.text())) {
      networkChanged++;
      return;
    }
    if (networkChanged && MANIFEST_ICON_LOG.test(m.text())) return;
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
  if (!awaitApp) {
    await page.goto(url);
    return { page, problems };
  }
  // The page's modules have run once its header is drawn; a page that
  // never gets there says why (a module that did not load, an error).
  for (let load = 0; ; load++) {
    const before = networkChanged;
    await page.goto(url);
    try {
      await waitInPage(page, () => document.querySelector('#statebar .state-chip'), null, APP_START_MS);
      return { page, problems };
    } catch {
      if (networkChanged === before || load >= NETWORK_CHANGED_RELOADS_MAX) {
        throw new Error(`the page did not start within ${APP_START_MS} ms: ${problems.join('; ') || 'no error reported'}`);
      }
    }
  }
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

/**
 * What would make the page hard to use on a phone: sideways scrolling
 * (scrollWidth past the viewport) and controls smaller than minPx square
 * (buttons, summaries, fields, links outside prose; a checkbox counts by
 * the label around it). Returns {scrollWidth, innerWidth, small: [...]}.
 */
export function layoutProblems(page, minPx = TOUCH_TARGET_PX) {
  return page.evaluate((min) => {
    const visible = (e) => {
      const r = e.getBoundingClientRect();
      const s = getComputedStyle(e);
      return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && !e.closest('[inert]');
    };
    const small = [];
    const controls = document.querySelectorAll('button, summary, textarea, select, input, a[href]');
    for (const c of controls) {
      if (c.matches('.md a') || c.closest('.sr-only')) continue; // links inside prose are text
      const target = c.matches('input[type=checkbox], input[type=radio]') ? c.closest('label') || c : c;
      if (!visible(target)) continue;
      const r = target.getBoundingClientRect();
      if (r.width < min - 0.5 || r.height < min - 0.5) {
        small.push(`${target.tagName.toLowerCase()}${target.id ? `#${target.id}` : ''}.${target.className} "${(target.textContent || '').trim().slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth, small };
  }, minPx);
}

/**
 * Visible text whose contrast with what is behind it is below min
 * (WCAG's formula; backgrounds with alpha are blended up the ancestors,
 * and so is opacity). Disabled controls are exempt, as WCAG has it.
 */
export function contrastProblems(page, min = MIN_CONTRAST) {
  return page.evaluate((minRatio) => {
    const parse = (c) => {
      const m = /rgba?\(([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)(?:[ ,/]+([\d.]+%?))?\)/.exec(c);
      if (!m) return null;
      let a = m[4] === undefined ? 1 : parseFloat(m[4]);
      if (m[4] && m[4].endsWith('%')) a /= 100;
      return [Number(m[1]), Number(m[2]), Number(m[3]), a];
    };
    const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
    const lum = (c) => {
      const ch = c.slice(0, 3).map((v) => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
    };
    const background = (e) => {
      const layers = [];
      for (let n = e; n; n = n.parentElement) {
        const c = parse(getComputedStyle(n).backgroundColor);
        if (c && c[3] > 0) layers.push(c);
        if (c && c[3] >= 1) break;
      }
      let bg = [255, 255, 255, 1];
      if (layers.length && layers[layers.length - 1][3] >= 1) bg = layers.pop();
      for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
      return bg;
    };
    const problems = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const e = t.parentElement;
      if (!t.textContent.trim() || seen.has(e)) continue;
      seen.add(e);
      if (e.closest('.sr-only, [hidden], :disabled, [aria-disabled="true"], dialog:not([open])')) continue;
      const r = e.getBoundingClientRect();
      const s = getComputedStyle(e);
      if (r.width === 0 || r.height === 0 || s.visibility === 'hidden') continue;
      let opacity = 1;
      for (let n = e; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
      if (opacity === 0) continue;
      const bg = background(e);
      const fg = parse(s.color);
      if (!fg) continue;
      const color = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
      const [a, b] = [lum(color), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      if (ratio < minRatio) {
        problems.push(`${e.tagName.toLowerCase()}.${e.className} "${t.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}:1`);
      }
    }
    return problems;
  }, min);
}
