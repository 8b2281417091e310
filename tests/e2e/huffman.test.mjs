// <ql-huffman> (lecture 5, 5.6.4) in Chromium: the code lengths, average length and entropy
// on screen equal what the JS API gives in Node for the same layer and bits; the tree is drawn
// with one leaf per index; the lecture's two tries (01, 101, 010 refused; 01, 10, 111 -> 7 bits)
// and a student's own codewords are checked by the core; 390 px, axe, no console errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { root } from './browser.mjs';
import { layoutChecks, useBrowser } from './checks.mjs';

const ctx = useBrowser();

const sel = (id) => `ql-huffman [data-testid=${id}]`;
const text = async (page, id) => (await page.locator(sel(id)).textContent()).trim();

async function ready(page) {
  await page.waitForSelector('ql-huffman[data-ready=true]', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('ql-huffman').results?.lengths, null, { timeout: 30000 });
}

/** Node: the same layer, K-means at `bits` (Lloyd, linear start), its Huffman code. */
function expected(model, param, bits) {
  const net = ctx.ql.networkFromOnnx(readFileSync(join(root, `web/models/${model}.onnx`)));
  const km = ctx.ql.kMeansQuantize(net.get(param).values, bits, { method: 'lloyd', init: 'linear' });
  net.dispose();
  const freq = new Uint32Array(2 ** bits);
  for (const l of km.labels) freq[l] += 1;
  const code = ctx.ql.huffmanCode(freq);
  const out = { lengths: Array.from(code.lengths), codewords: code.codewords.slice(), stats: code.statistics(freq), freq };
  code.dispose();
  return out;
}

async function lengths(page, k) {
  const out = [];
  for (let j = 0; j < k; ++j) out.push(Number(await text(page, `length-${j}`)));
  return out;
}

test('opens on LeNet-5 fc1 at 3 bits: code lengths, average and entropy equal the JS API; the tree has 8 leaves', async () => {
  const page = await ctx.env.newPage('?lesson=huffman');
  await ready(page);
  const want = expected('lenet5', 'fc1.weight', 3);
  assert.deepEqual(await lengths(page, 8), want.lengths);
  assert.equal(await text(page, 'average'), `${want.stats.averageLength.toFixed(4)} bits / index`);
  assert.equal(await text(page, 'entropy'), `${want.stats.entropy.toFixed(4)} bits / index`);
  assert.ok(want.stats.averageLength < 3, 'Huffman beats the fixed 3 bits here');
  assert.equal(await page.locator(`${sel('tree-box')} svg`).getAttribute('data-leaves'), '8');
  assert.equal(await page.locator(`${sel('tree-box')} svg rect`).count(), 8);
  // The encoded sample decodes back to the same indices.
  const encode = await text(page, 'encode');
  const [, indices] = encode.match(/^indices\s+([01 ]+?)\s+\(/m);
  const [, decoded] = encode.match(/^decoded\s+([01 ]+)$/m);
  assert.equal(decoded.trim(), indices.trim());
  await page.close();
});

test('the lecture\'s tries are checked by the core, and so are the student\'s codewords', async () => {
  const page = await ctx.env.newPage('?lesson=huffman');
  await ready(page);
  assert.match(await text(page, 'example-1'), /not a prefix code/);
  assert.match(await text(page, 'example-2'), /“abc” is 0110111, 7 bits instead of 3 × 8 = 24 bits/);
  await page.locator(sel('own')).fill('1, 10');
  await page.locator(sel('check')).click();
  await page.waitForSelector(`${sel('own-result')}[data-done]`);
  assert.match(await text(page, 'own-result'), /not usable: INVALID_ARGUMENT: not a prefix code/);
  await page.locator(sel('own')).fill('0, 10, 110, 111');
  await page.locator(sel('check')).click();
  await page.waitForFunction(() => /prefix-free/.test(document.querySelector('ql-huffman').shadowRoot.querySelector('[data-testid=own-result]').textContent));
  assert.match(await text(page, 'own-result'), /encode to 010110111 \(9 bits\) and decode to 0 1 2 3/);
  await page.close();
});

test('bits and layer follow the API (LeNet-300-100 fc2 at 4 bits)', async () => {
  const page = await ctx.env.newPage('?lesson=huffman#model=lenet300&layer=fc2.weight&bits=4');
  await ready(page);
  const want = expected('lenet300', 'fc2.weight', 4);
  assert.deepEqual(await lengths(page, 16), want.lengths);
  assert.equal(await page.locator(`${sel('tree-box')} svg rect`).count(), 16);
  await page.close();
});

test('390 and 1366 px: no horizontal scroll, no axe violations; screenshots', async () => {
  await layoutChecks(ctx.env, '?lesson=huffman', 'huffman', ready);
});

test('no console errors', () => {
  assert.deepEqual(ctx.env.consoleErrors, []);
});
