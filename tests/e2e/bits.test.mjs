// <ql-bits> in Chromium: the bit-width sweep on LeNet-5 (conv only / FC only, K-means and
// linear, bits 1..8) measured in the worker; points checked against the JS API in Node
// (Network.quantize + evaluate; calibrate + quantize + dequantize), the plot drawn, and no
// console errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';
import { artifacts, openBrowser, root } from './browser.mjs';

const read = (p) => new Uint8Array(readFileSync(join(root, p)));
const COUNT = 250;
let env;
let ql;

before(async () => {
  [env, ql] = await Promise.all([openBrowser(), load()]);
});

after(async () => {
  await env?.close();
});

/** Accuracy of LeNet-5 with `params` quantized to `bits` by the JS API, on COUNT images. */
function measure(params, bits, method) {
  const images = read('web/data/fashion-test-2000.images.u8').subarray(0, COUNT * 784);
  const labels = read('web/data/fashion-test-2000.labels.u8').subarray(0, COUNT);
  const net = ql.networkFromOnnx(read('web/models/lenet5.onnx'));
  try {
    if (bits === 0) return net.evaluate(images, labels).accuracy;
    for (const name of params) {
      if (method === 'kmeans') {
        net.quantize(name, bits, { method: 'optimal' });
      } else {
        const { values, shape } = net.get(name);
        const spec = { bits, signed: true, symmetric: false };
        const p = ql.perChannelParams(values, shape, 0, spec);
        net.set(name, ql.dequantizePerChannel(ql.quantizePerChannel(values, shape, 0, p), shape, 0, p));
      }
    }
    return net.evaluate(images, labels).accuracy;
  } finally {
    net.dispose();
  }
}

test('bits lesson: accuracy against bits, conv vs FC, K-means vs linear, as the API measures', async () => {
  const page = await env.newPage(`?lesson=bits#model=lenet5&count=${COUNT}`);
  await page.waitForSelector('ql-bits[data-ready=true]', { timeout: 30000 });
  await page.locator('ql-bits [data-testid=run]').click();
  // Progress shows while it runs.
  await page.waitForSelector('ql-bits [data-testid=progress]:not([hidden])', { timeout: 10000 });
  await page.waitForSelector('ql-bits[data-done=true]', { timeout: 120000 });
  const cell = async (bits, series) => (await page.locator(
    `ql-bits [data-testid=table] tr[data-bits="${bits}"] td[data-series="${series}"]`).textContent()).trim();
  const fp32 = measure([], 0);
  assert.equal((await page.locator('ql-bits [data-testid=fp32]').textContent()).trim(), `${fp32.toFixed(2)}%`);
  const conv = ['conv1.weight', 'conv2.weight'];
  const fc = ['fc1.weight', 'fc2.weight', 'fc3.weight'];
  assert.equal(await cell(2, 'conv-kmeans'), `${measure(conv, 2, 'kmeans').toFixed(2)}%`);
  assert.equal(await cell(3, 'fc-linear'), `${measure(fc, 3, 'linear').toFixed(2)}%`);
  assert.equal(await cell(1, 'fc-kmeans'), `${measure(fc, 1, 'kmeans').toFixed(2)}%`);
  assert.equal(await cell(1, 'conv-linear'), '–');  // the core's linear grid starts at 2 bits
  // The lecture's shape: 8 bits keep the accuracy, 1 bit on the conv layers does not.
  const value = async (bits, series) => Number((await cell(bits, series)).replace('%', ''));
  for (const s of ['conv-kmeans', 'conv-linear', 'fc-kmeans', 'fc-linear']) {
    assert.ok(Math.abs(await value(8, s) - fp32) <= 1, `${s} at 8 bits`);
  }
  assert.ok(await value(1, 'conv-kmeans') < fp32 - 5);
  assert.ok(await page.locator('ql-bits [data-testid=plot] canvas').count() > 0, 'plot drawn');
  const points = await page.locator('ql-bits').evaluate((el) => el.points.length);
  assert.equal(points, 32);
  await page.screenshot({ path: join(artifacts, 'bits-lesson.png'), fullPage: true });
  await page.close();
});

test('standalone: a page that only imports the element, initial state from attributes', async () => {
  // A course page of its own (served by the test), with nothing of index.html.
  const html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
    <script type="importmap">{"imports": {"quantlab": "/wasm/quantlab.mjs",
      "uplot": "/node_modules/uplot/dist/uPlot.esm.js", "uplot/": "/node_modules/uplot/"}}</script>
    <script type="module" src="/components/ql-bits.mjs"></script></head>
    <body><p>A course page.</p><ql-bits model="lenet300" count="${COUNT}" kmeans="lloyd" autorun></ql-bits></body></html>`;
  const page = await env.browser.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') env.consoleErrors.push(`course.html: ${msg.text()}`);
  });
  page.on('pageerror', (e) => env.consoleErrors.push(`course.html: uncaught ${e.message}`));
  await page.route(`${env.url}course.html`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await page.goto(`${env.url}course.html`);
  await page.waitForSelector('ql-bits[data-done=true]', { timeout: 120000 });
  assert.equal(await page.locator('ql-bits [data-testid=model]').inputValue(), 'lenet300');
  assert.equal(await page.locator('ql-bits [data-testid=kmeans]').inputValue(), 'lloyd');
  // LeNet-300-100 has no conv layers: only the two FC series.
  assert.equal((await page.locator('ql-bits [data-testid=conv-params]').textContent()).trim(), 'none');
  assert.equal(await page.locator('ql-bits [data-testid=table] tr').first().locator('th').count(), 3);
  const points = await page.locator('ql-bits').evaluate((el) => el.points);
  assert.equal(points.length, 16);
  assert.ok(points.every((p) => p.group === 'fc'));
  assert.equal(page.url().includes('#'), false, 'no sync-url: the URL is left alone');
  await page.close();
});

test('no console errors on any page', () => {
  assert.deepEqual(env.consoleErrors, []);
});
