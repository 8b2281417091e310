// Shared browser-test set-up: the playground server on a free port and Debian's Chromium
// through playwright-core; collects console errors so every test can fail on them.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { startServer } from '../../web/serve.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const artifacts = join(root, 'test-results');
mkdirSync(artifacts, { recursive: true });

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export async function openBrowser() {
  const { server, url } = await startServer(0);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: FLAGS,
  });
  const consoleErrors = [];
  async function newPage(path = '', viewport = { width: 1280, height: 1100 }) {
    const page = await browser.newPage({ viewport });
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`${path}: ${msg.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${path}: uncaught ${e.message}`));
    await page.goto(url + path);
    return page;
  }
  /** A course page of its own (served by the test) that imports `components` and holds `body`. */
  async function coursePage(components, body, hash = '') {
    const html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
      <script type="importmap">{"imports": {"quantlab": "/wasm/quantlab.mjs",
        "uplot": "/node_modules/uplot/dist/uPlot.esm.js", "uplot/": "/node_modules/uplot/",
        "d3-hierarchy": "/node_modules/d3-hierarchy/dist/d3-hierarchy.mjs"}}</script>
      ${components.map((c) => `<script type="module" src="/components/${c}.mjs"></script>`).join('')}</head>
      <body>${body}</body></html>`;
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`course.html: ${msg.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`course.html: uncaught ${e.message}`));
    await page.route(`${url}course.html`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
    await page.goto(`${url}course.html${hash}`);
    return page;
  }
  async function close() {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
  return { url, browser, newPage, coursePage, consoleErrors, close };
}
