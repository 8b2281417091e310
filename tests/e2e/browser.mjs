// Shared browser-test set-up: the playground server on a free port and Debian's Chromium
// through playwright-core; collects console errors so every test can fail on them.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { contentSecurityPolicy, startServer } from '../../web/serve.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const artifacts = join(root, 'test-results');
mkdirSync(artifacts, { recursive: true });

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const AXE = join(root, 'node_modules', 'axe-core', 'axe.min.js');

/**
 * axe-core's violations on the page (shadow DOM included): [{id, impact, nodes: [target]}].
 * axe is loaded as a same-origin script file, not injected inline: the pages are served
 * under a strict Content-Security-Policy that refuses inline scripts.
 */
export async function axeRun(page) {
  const src = new URL('/__test__/axe.min.js', page.url()).href;
  await page.route(src, (route) => route.fulfill({ path: AXE, contentType: 'text/javascript' }));
  await page.addScriptTag({ url: src });
  // axe itself applies an inline style while it runs, which the policy refuses and reports on
  // the console: those reports, during the run only, are axe's, not the page's.
  page[AXE_RUNNING] = true;
  try {
    return await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
    });
  } finally {
    page[AXE_RUNNING] = false;
  }
}
const AXE_RUNNING = Symbol('axe running');

/** Collects the page's console errors and uncaught exceptions into `errors`, as `label: text`. */
function collectErrors(page, label, errors) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (page[AXE_RUNNING] && /Content Security Policy/.test(msg.text())) return;
    errors.push(`${label}: ${msg.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${label}: uncaught ${e.message}`));
}

/** The bytes a download link gives, as a user gets them: a click, then the saved file (the
 * page's policy refuses fetch() of its own blob: URLs, and the page never needs that). */
export async function downloadBytes(page, link) {
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  return readFileSync(await download.path());
}

export async function openBrowser() {
  const { server, url } = await startServer(0);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: FLAGS,
  });
  const consoleErrors = [];
  async function newPage(path = '', viewport = { width: 1280, height: 1100 }) {
    const page = await browser.newPage({ viewport });
    collectErrors(page, path, consoleErrors);
    await page.goto(url + path);
    return page;
  }
  /** A course page of its own (served by the test) that imports `components` and holds `body`. */
  async function coursePage(components, body, hash = '') {
    const html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="/favicon.svg">
      <script type="importmap">{"imports": {"quantlab": "/wasm/quantlab.mjs",
        "uplot": "/node_modules/uplot/dist/uPlot.esm.js", "uplot/": "/node_modules/uplot/",
        "d3-hierarchy": "/node_modules/d3-hierarchy/dist/d3-hierarchy.mjs"}}</script>
      ${components.map((c) => `<script type="module" src="/components/${c}.mjs"></script>`).join('')}</head>
      <body>${body}</body></html>`;
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    collectErrors(page, 'course.html', consoleErrors);
    // Served under the playground's strict policy (its hash for this page's import map);
    // window.__violations collects what the policy blocks.
    await page.addInitScript(() => {
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
        `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`), true);
    });
    await page.route(`${url}course.html`, (route) => route.fulfill({
      contentType: 'text/html', body: html, headers: { 'content-security-policy': contentSecurityPolicy(html) },
    }));
    await page.goto(`${url}course.html${hash}`);
    return page;
  }
  async function close() {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
  return { url, browser, newPage, coursePage, consoleErrors, close };
}
