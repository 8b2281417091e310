// <ql-kmeans-limits> (lecture 5, 5.6.3) in Chromium: the measurement runs; the byte account
// equals the JS API's encodeCompressed of the same codebook in Node; the int8 kernel beats
// decode + fp32; the activation ranges on screen equal calibrate() of fc1's ReLU outputs in
// Node; 390 px, axe, no console errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { normalize } from '../../web/src/tasks.mjs';
import { root } from './browser.mjs';
import { layoutChecks, useBrowser } from './checks.mjs';

const ctx = useBrowser();

const sel = (id) => `ql-kmeans-limits [data-testid=${id}]`;

async function measured(page) {
  await page.waitForSelector('ql-kmeans-limits[data-ready=true]', { timeout: 30000 });
  await page.locator(sel('run')).click();
  await page.waitForSelector('ql-kmeans-limits[data-done]', { timeout: 120000 });
}

test('measures: bytes equal the JS API, int8 is faster than decode + fp32, activation ranges equal calibrate()', async () => {
  const page = await ctx.env.newPage('?lesson=kmeans-limits');
  await measured(page);
  const r = await page.evaluate(() => document.querySelector('ql-kmeans-limits').results);
  const net = ctx.ql.networkFromOnnx(readFileSync(join(root, 'web/models/lenet300.onnx')));
  const W = net.get('fc1.weight');
  const km = ctx.ql.kMeansQuantize(W.values, 4, { method: 'lloyd', init: 'linear' });
  const file = ctx.ql.encodeCompressed([{ name: 'fc1.weight', shape: W.shape, bits: 4, huffman: false, codebook: km }]);
  assert.equal(r.bytes.dense, file.length);
  assert.match((await page.locator(sel('bytes')).textContent()), new RegExp(`${file.length.toLocaleString('en-US')} B$`));
  assert.ok(r.ms.decodeDense + r.ms.fp32 > r.ms.int8, 'decode + fp32 costs more than int8');
  const pixels = readFileSync(join(root, 'web/data/fashion-test-2000.images.u8')).subarray(0, 784 * 3);
  const relu = ctx.ql.createGemmF32({ weights: W.values, n: 300, k: 784, bias: net.get('fc1.bias').values, activation: 'relu' });
  const x = normalize(pixels);
  for (let i = 0; i < 3; ++i) {
    const range = ctx.ql.calibrate(relu.run(x.subarray(i * 784, (i + 1) * 784), 1), { bits: 8, signed: false, symmetric: false });
    assert.equal(r.activations[i].rMax, range.rMax);
  }
  const ranges = await page.locator(`${sel('act-table')} tr td:nth-child(3)`).allTextContents();
  assert.equal(ranges.length, 12);
  assert.ok(new Set(ranges).size > 1, 'the range moves from input to input');
  relu.dispose();
  net.dispose();
  await page.close();
});

test('390 and 1366 px: no horizontal scroll, no axe violations; screenshots', async () => {
  await layoutChecks(ctx.env, '?lesson=kmeans-limits', 'kmeans-limits', measured);
});

test('no console errors', () => {
  assert.deepEqual(ctx.env.consoleErrors, []);
});
