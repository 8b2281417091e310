// The static site (`npm run build:site` -> dist-site/) as a project site would host it: under
// a subpath (/quantlab/) by a plain static server sending the precompressed .br files, with
// the playground's strict Content-Security-Policy. A lesson computes; after the first visit
// the service worker keeps the site working offline (reload, another lesson, its worker).
// Then the size table: every file of the package and the site (raw, gzip, brotli) and each
// lesson's first load in the browser (bytes on the wire, from playwright's request sizes,
// service worker blocked so that its precache does not count), against the issue's budgets.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { LESSONS } from '../../web/src/lessons.mjs';
import { openBrowser, root } from './browser.mjs';
import { staticServer } from './static-server.mjs';

const site = join(root, 'dist-site');
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";
// Issue 15's budgets, of JS + wasm + CSS + HTML on the wire (models and data apart).
const BUDGET = { linear: 150_000, any: 400_000 };

let session;
let server;

before(async () => {
  assert.ok(existsSync(join(site, 'index.html')), 'dist-site/ is missing: run `npm run build:site` (npm test builds it)');
  session = await openBrowser();
  server = await staticServer(site, { prefix: '/quantlab/', headers: { 'content-security-policy': CSP } });
});

after(async () => {
  await server?.close();
  await session?.close();
});

/** Errors, refused policies and failed requests of `page`, into `problems`. */
function watch(page, problems) {
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('requestfailed', (r) => problems.push(`failed ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
}

const scale = (page) => page.evaluate(() => document.querySelector('ql-linear')?.shadowRoot
  ?.querySelector('[data-testid=scale]')?.textContent.trim());

test('the built page has no import map and no inline script; names are hashed; .br and .gz sit next to the files', () => {
  const html = readFileSync(join(site, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /importmap/);
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1], /\bsrc=/, 'every script is a file');
    assert.equal(m[2].trim(), '');
  }
  const assets = readdirSync(join(site, 'assets')).filter((f) => /\.(js|css|wasm)$/.test(f));
  assert.ok(assets.length > 10);
  for (const f of assets) {
    assert.match(f, /-[\w-]{8}\.(js|css|wasm)$/, `${f} has a content hash`);
    assert.ok(existsSync(join(site, 'assets', `${f}.br`)) && existsSync(join(site, 'assets', `${f}.gz`)), f);
  }
});

test('under a subpath with the strict policy: the linear lesson computes, then works offline after a reload', async () => {
  const context = await session.browser.newContext();
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  await page.goto(`${server.url}?lesson=linear`);
  await page.waitForFunction(() => document.querySelector('ql-linear')?.shadowRoot
    ?.querySelector('[data-testid=scale]')?.textContent.trim() === '1.0667', null, { timeout: 30_000 });
  assert.match(await page.locator('#build').textContent(), /SIMD128 build, quantlab \d+\.\d+\.\d+/);
  // The service worker has precached the site once it is active.
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    }
    return reg.active.state;
  });
  assert.deepEqual(problems, []);

  await context.setOffline(true);
  await page.reload();
  await page.waitForFunction(() => document.querySelector('ql-linear')?.shadowRoot
    ?.querySelector('[data-testid=scale]')?.textContent.trim() === '1.0667', null, { timeout: 30_000 });
  assert.equal(await scale(page), '1.0667');
  // Another lesson, never opened online: its module, its worker, the wasm there and LeNet-5.
  await page.goto(`${server.url}?lesson=models#model=lenet5`);
  await page.waitForSelector('ql-models[data-ready=true]', { timeout: 60_000 });
  await page.locator('ql-models [data-testid=run-fp32]').click();
  await page.waitForSelector('ql-models[data-fp32]', { timeout: 60_000 });
  assert.ok(Number(await page.locator('ql-models').getAttribute('data-fp32')) > 88);
  assert.deepEqual(problems.filter((p) => !/ERR_INTERNET_DISCONNECTED/.test(p)), []);
  await context.close();
});

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true }).map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile() && !/\.(br|gz)$/.test(f));
}

const kb = (n) => `${(n / 1000).toFixed(1)} kB`.padStart(10);

test('sizes: the modules, and each lesson\'s first load on the wire (budgets of issue 15)', async () => {
  const rows = [];
  for (const f of ['dist/quantlab-simd.wasm', 'dist/quantlab-scalar.wasm', 'dist/quantlab-simd.mjs',
    'dist/quantlab-single.mjs', 'dist/widgets/widgets.js']) {
    const bytes = readFileSync(join(root, f));
    rows.push([f, bytes.length, gzipSync(bytes, { level: 9 }).length]);
  }
  const code = filesUnder(join(site, 'assets')).filter((f) => /\.(js|css)$/.test(f));
  const codeRaw = code.reduce((n, f) => n + statSync(f).size, 0);
  const codeGz = code.reduce((n, f) => n + statSync(`${f}.gz`).size, 0);
  rows.push([`site JS + CSS (${code.length} files)`, codeRaw, codeGz]);
  console.log(`# module                                   raw        gzip\n${rows.map(([n, r, g]) =>
    `# ${n.padEnd(36)}${kb(r)}${kb(g)}`).join('\n')}`);

  // First load per lesson: a fresh context with the service worker blocked (its precache
  // would fetch the whole site), the page until the lesson is ready and the network idle.
  const loads = [];
  for (const lesson of [{ id: null, tag: null }, ...LESSONS.filter((l) => l.available)]) {
    const context = await session.browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    const requests = [];
    page.on('requestfinished', (r) => requests.push(r));
    await page.goto(lesson.id ? `${server.url}?lesson=${lesson.id}` : server.url);
    if (lesson.tag) await page.waitForSelector(`${lesson.tag}[data-ready=true]`, { timeout: 60_000 });
    await page.waitForLoadState('networkidle');
    const sum = { code: 0, wasm: 0, data: 0 };
    for (const r of requests) {
      const body = (await r.sizes()).responseBodySize;
      const path = new URL(r.url()).pathname;
      if (/\.wasm$/.test(path)) sum.wasm += body;
      else if (/\/(models|data)\//.test(path)) sum.data += body;
      else sum.code += body;
    }
    loads.push({ id: lesson.id ?? '(start page)', ...sum, requests: requests.length });
    await context.close();
  }
  console.log(`# first load (brotli on the wire)   JS+CSS+HTML      wasm  code total  models+data  requests\n${loads.map((l) =>
    `# ${l.id.padEnd(32)}${kb(l.code)}${kb(l.wasm)}${kb(l.code + l.wasm)}${kb(l.data).padStart(13)}${String(l.requests).padStart(10)}`).join('\n')}`);

  // The budgets (JS + wasm + CSS + HTML). The code without the wasm is met everywhere and
  // asserted; with it, not yet: one wasm for every lesson (issue 15, "smaller modules":
  // a runtime module and a training/compression module is the remaining step). Reported
  // here, asserted as a ceiling so that a regression still fails.
  const over = [];
  for (const l of loads) {
    const budget = l.id === 'linear' ? BUDGET.linear : BUDGET.any;
    assert.ok(l.code <= budget, `${l.id}: ${l.code} B of JS + CSS + HTML over the ${budget} B budget`);
    if (l.code + l.wasm > budget) over.push(`${l.id} ${l.code + l.wasm} B > ${budget} B`);
    assert.ok(l.code + l.wasm <= 800_000, `${l.id}: ${l.code + l.wasm} B`);
  }
  if (over.length) console.log(`# over the issue's budget (the wasm is not split yet): ${over.join('; ')}`);
  assert.ok(loads.some((l) => l.wasm > 0), 'the lessons load the wasm');
  assert.ok(relative(root, site) === 'dist-site');
});
