// <ql-finetune> (lecture 5, 5.6.2) in Chromium: the lecture's example reduces the gradient per
// cluster to the core's clusterGradientSums (0.04, 0.02, 0.04, -0.03 for the centroids 2, 1.5,
// 0, -1) and moves the centroids to 1.96, 1.48, -0.04, -0.97 at lr 1; the mean divides by the
// cluster sizes; a short fine-tuning run lowers the test loss after K-means; 390 px, axe, no
// console errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { layoutChecks, useBrowser } from './checks.mjs';

const W = [2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12, -0.91, 1.92, 0, -1.03, 1.87, 0, 1.53, 1.49];
const G = [-0.03, -0.01, 0.03, 0.02, -0.01, 0.01, -0.02, 0.12, -0.01, 0.02, 0.04, 0.01, -0.07, -0.02, 0.01, -0.02];
const ctx = useBrowser();

const sel = (id) => `ql-finetune [data-testid=${id}]`;

async function ready(page) {
  await page.waitForSelector('ql-finetune[data-ready=true]', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('ql-finetune').results?.toy, null, { timeout: 30000 });
}

const column = async (page, col) => page.locator(`${sel('flow')} td[data-col=${col}]`).allTextContents();

test('the lecture\'s step: sums from the core, centroids 2, 1.5, 0, -1 -> 1.96, 1.48, -0.04, -0.97', async () => {
  const page = await ctx.env.newPage('?lesson=finetune');
  await ready(page);
  const km = ctx.ql.kMeansQuantize(W, 2, { method: 'optimal' });
  const sums = Array.from(ctx.ql.clusterGradientSums(G, km)).reverse();   // shown largest centroid first
  assert.deepEqual(await column(page, 'reduced'), sums.map((v) => v.toFixed(3)));
  assert.deepEqual(await column(page, 'reduced'), ['0.040', '0.020', '0.040', '-0.030']);
  assert.deepEqual((await column(page, 'updated')), ['1.96', '1.48', '-0.04', '-0.97']);
  await page.locator(sel('reduce')).selectOption('mean');
  await page.waitForFunction(() => document.querySelector('ql-finetune').results?.toy.reduce === 'mean');
  const sizes = [4, 3, 5, 4];   // clusters 2, 1.5, 0, -1 hold 4, 3, 5 and 4 weights
  assert.deepEqual(await column(page, 'reduced'), sums.map((v, i) => (v / sizes[i]).toFixed(3)));
  await page.close();
});

test('a short run on LeNet-300-100 at 1 bit: the test loss falls below the K-means loss', async () => {
  const page = await ctx.env.newPage('?lesson=finetune#rounds=3');
  await ready(page);
  await page.locator(sel('run')).click();
  await page.waitForSelector('ql-finetune[data-done]', { timeout: 120000 });
  const history = await page.evaluate(() => document.querySelector('ql-finetune').results.net.history);
  assert.equal(history.length, 4);
  assert.ok(history[3].loss < history[0].loss, `loss ${history[0].loss} -> ${history[3].loss}`);
  assert.equal(await page.locator(`${sel('rounds-table')} tr`).count(), 5);
  assert.ok(await page.locator(`${sel('loss-plot')} canvas`).count() > 0);
  // The centroids moved, the indices did not (2 centroids at 1 bit).
  assert.equal(history[0].centroids.length, 2);
  assert.notDeepEqual(history[0].centroids, history[3].centroids);
  await page.close();
});

async function trained(page) {
  await ready(page);
  await page.locator(sel('run')).click();
  await page.waitForSelector('ql-finetune[data-done]', { timeout: 120000 });
}

test('390 and 1366 px: no horizontal scroll, no axe violations; screenshots', async () => {
  await layoutChecks(ctx.env, '?lesson=finetune#rounds=3', 'finetune', trained);
});

test('no console errors', () => {
  assert.deepEqual(ctx.env.consoleErrors, []);
});
