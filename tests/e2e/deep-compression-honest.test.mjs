// <ql-deep-compression>, honest (issue 13, item 7): the paper's ratios beside the stage table,
// the accuracy change stated with its reason, conv controls hidden for LeNet-300-100, and a
// layer whose file is larger than its fp32 weights (LeNet-5 conv1 at 8 bits: 150 weights, a
// 1,024 B codebook) explained with the core's own sizes; 390 px, axe, no console errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { layoutChecks, useBrowser } from './checks.mjs';

const ctx = useBrowser();

const sel = (id) => `ql-deep-compression [data-testid=${id}]`;
const HASH = '#model=lenet5&pruneSteps=1&train=1000&test=500&epochs=0';

async function compressed(page) {
  await page.waitForSelector('ql-deep-compression[data-ready=true]', { timeout: 30000 });
  await page.locator(sel('run')).click();
  await page.waitForSelector('ql-deep-compression[data-done]', { timeout: 120000 });
}

test('conv controls are hidden for LeNet-300-100 and shown for LeNet-5', async () => {
  const page = await ctx.env.newPage('?lesson=deep-compression');
  await page.waitForSelector('ql-deep-compression[data-ready=true]', { timeout: 30000 });
  assert.equal(await page.locator(sel('convSparsity')).isVisible(), false);
  assert.equal(await page.locator(sel('convBits')).isVisible(), false);
  await page.locator(sel('model')).selectOption('lenet5');
  assert.equal(await page.locator(sel('convSparsity')).isVisible(), true);
  assert.equal(await page.locator(sel('convBits')).isVisible(), true);
  await page.close();
});

test('LeNet-5: paper ratios beside the stages, the accuracy change explained, conv1 below 1x explained', async () => {
  const page = await ctx.env.newPage(`?lesson=deep-compression${HASH}`);
  await compressed(page);
  const paper = await page.locator(`${sel('stages')} td[data-field=paper]`).allTextContents();
  assert.deepEqual(paper, ['1×', '9–13×', '27–31×', '35–49×']);
  const r = await page.evaluate(() => document.querySelector('ql-deep-compression').report);
  const first = r.stages[0];
  const last = r.stages[r.stages.length - 1];
  const note = (await page.locator(sel('accuracy-note')).textContent()).trim();
  assert.match(note, new RegExp(`by ${Math.abs(last.accuracy - first.accuracy).toFixed(2)} points`));
  assert.match(note, /1,000 training images/);
  // conv1: 150 weights, 8 bits -> the core's codebook size of 256 centroids.
  const conv1 = r.layers.find((l) => l.param === 'conv1.weight');
  assert.ok(conv1.huffmanBytes > conv1.fp32Bytes, `conv1 ${conv1.huffmanBytes} B vs ${conv1.fp32Bytes} B`);
  const book = ctx.ql.codebookStorageBytes(0, 8);
  const below = (await page.locator(sel('below-one')).textContent()).trim();
  assert.match(below, new RegExp(`conv1\\.weight compresses to ${(conv1.fp32Bytes / conv1.huffmanBytes).toFixed(2)}×`));
  assert.match(below, new RegExp(`8-bit codebook alone is ${book.toLocaleString('en-US')} B`));
  assert.equal(await page.locator(`${sel('layers')} td.below-one`).count() >= 1, true);
  await page.close();
});

test('390 and 1366 px: no horizontal scroll, no axe violations; screenshots', async () => {
  await layoutChecks(ctx.env, `?lesson=deep-compression${HASH}`, 'deep-compression-honest', compressed);
});

test('no console errors', () => {
  assert.deepEqual(ctx.env.consoleErrors, []);
});
