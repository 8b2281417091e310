// <ql-kmeans> (lecture 5, 5.6.1) in Chromium: the lecture's 4x4 example at 2 bits shows the
// codebook, indices and the 64 B -> 4 B + 16 B = 20 B (3.2x) account that the JS API computes
// in Node for the same state; Lloyd steps one at a time; a real layer's bytes; 390 px, axe,
// no console errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { root } from './browser.mjs';
import { layoutChecks, useBrowser } from './checks.mjs';

const W = [2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12, -0.91, 1.92, 0, -1.03, 1.87, 0, 1.53, 1.49];
const ctx = useBrowser();

const sel = (id) => `ql-kmeans [data-testid=${id}]`;
const text = async (page, id) => (await page.locator(sel(id)).textContent()).trim();
const fmt = (v, d = 2) => (Math.abs(v) < 5e-7 ? '0' : v.toFixed(d));

async function ready(page) {
  await page.waitForSelector('ql-kmeans[data-ready=true]', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('ql-kmeans').results?.layer, null, { timeout: 30000 });
}

async function codebook(page, id = 'codebook') {
  return page.locator(`${sel(id)} li`).allTextContents();
}

test('opens on the 4x4 example at 2 bits: the byte account and codebook equal the JS API', async () => {
  const page = await ctx.env.newPage('?lesson=kmeans');
  await ready(page);
  // Node: the same state (linear start, 0 Lloyd steps: the start's assignment).
  const r = ctx.ql.kMeansQuantize(W, 2, { method: 'lloyd', init: 'linear', iterations: 0 });
  const total = ctx.ql.codebookStorageBytes(16, 2);
  const book = ctx.ql.codebookStorageBytes(0, 2);
  assert.equal(total, 20);
  assert.equal(book, 16);
  const account = await text(page, 'account');
  assert.match(account, /16 weights × 32 bits = 64 B/);
  assert.match(account, new RegExp(`16 indices × 2 bits = ${total - book} B`));
  assert.match(account, new RegExp(`codebook 4 × 32 bits = ${book} B  =  ${total} B`));
  assert.match(account, /64 B \/ 20 B = 3\.20×/);
  assert.deepEqual(await codebook(page), Array.from(r.centroids, (c, j) => `${j.toString(2).padStart(2, '0')}${fmt(c, 4)}`));
  assert.deepEqual(await page.locator(`${sel('index-grid')} td`).allTextContents(),
    Array.from(r.labels, (l) => l.toString(2).padStart(2, '0')));
  assert.equal(await text(page, 'mse'), r.mse.toExponential(3));
  const best = ctx.ql.kMeansQuantize(W, 2, { method: 'optimal' });
  assert.equal(await text(page, 'mse-optimal'), best.mse.toExponential(3));
  assert.ok(await page.locator(`${sel('line')} svg circle`).count() >= 16, 'the weights are drawn');
  await page.close();
});

test('one Lloyd step moves the centroids to the lecture\'s codebook; bits and start follow the API', async () => {
  const page = await ctx.env.newPage('?lesson=kmeans');
  await ready(page);
  await page.locator(sel('step')).click();
  await page.waitForFunction(() => document.querySelector('ql-kmeans').results?.toy.steps === 1);
  const one = ctx.ql.kMeansQuantize(W, 2, { method: 'lloyd', init: 'linear', iterations: 1 });
  assert.deepEqual(await codebook(page), Array.from(one.centroids, (c, j) => `${j.toString(2).padStart(2, '0')}${fmt(c, 4)}`));
  assert.deepEqual((await codebook(page)).map((t) => t.slice(2)), ['-1.0000', '0', '1.5000', '2.0000']);
  assert.match(page.url(), /steps=1/);
  await page.locator(sel('bits')).selectOption('3');
  await page.locator(sel('init')).selectOption('kmeans++');
  await page.waitForFunction(() => document.querySelector('ql-kmeans').results?.toy.bits === 3);
  const three = ctx.ql.kMeansQuantize(W, 3, { method: 'lloyd', init: 'kmeans++', seed: 1, iterations: 1 });
  assert.deepEqual(await codebook(page), Array.from(three.centroids, (c, j) => `${j.toString(2).padStart(3, '0')}${fmt(c, 4)}`));
  assert.match(await text(page, 'account'), new RegExp(`=\\s+${ctx.ql.codebookStorageBytes(16, 3)} B`));
  await page.close();
});

test('a real layer: bytes and ratio equal the JS API for LeNet-5 fc1 and conv1', async () => {
  const page = await ctx.env.newPage('?lesson=kmeans#bits=4');
  await ready(page);
  const net = ctx.ql.networkFromOnnx(readFileSync(join(root, 'web/models/lenet5.onnx')));
  const n = net.get('fc1.weight').values.length;
  assert.equal(await text(page, 'layer-fp32'), `${(4 * n).toLocaleString('en-US')} B`);
  const total = ctx.ql.codebookStorageBytes(n, 4);
  assert.equal(await text(page, 'layer-ratio'), `${((4 * n) / total).toFixed(2)}×`);
  const lloyd = ctx.ql.kMeansQuantize(net.get('fc1.weight').values, 4, { method: 'lloyd', init: 'linear' });
  assert.match(await text(page, 'layer-mse'), new RegExp(`^${lloyd.mse.toExponential(3).replace('.', '\\.')}`));
  assert.ok(await page.locator(`${sel('hist')} canvas`).count() > 0, 'histogram drawn');
  assert.equal(await page.locator(`${sel('layers')} tr`).count(), 6);
  await page.locator(sel('layer')).selectOption('conv1.weight');
  await page.waitForFunction(() => document.querySelector('ql-kmeans').results?.layer.param === 'conv1.weight');
  const small = ctx.ql.codebookStorageBytes(150, 4);
  assert.equal(await text(page, 'layer-ratio'), `${(600 / small).toFixed(2)}×`);
  // Another model: its layers replace the list.
  await page.locator(sel('model')).selectOption('lenet300');
  await page.waitForFunction(() => document.querySelector('ql-kmeans').results?.layer.param === 'fc1.weight'
    && document.querySelector('ql-kmeans').results.layers.length === 3);
  net.dispose();
  await page.close();
});

test('390 and 1366 px: no horizontal scroll, no axe violations; screenshots', async () => {
  await layoutChecks(ctx.env, '?lesson=kmeans#steps=1', 'kmeans', ready);
});

test('no console errors', () => {
  assert.deepEqual(ctx.env.consoleErrors, []);
});
