// <ql-pq> in Chromium: the byte count follows d and k live and equals ql.pqStorageBytes in
// Node for the same state (the lecture's 128x128x3x3 example one click away, 16,384 B +
// 4,608 B), the d = 1 and d = whole-filter presets, weight-only against activation-aware on
// LeNet-5 conv2 equal to ql.pqCompress in Node (activation-aware has the lower output MSE),
// the filter and codebook tiles drawn, no horizontal scroll at 390 px, zero axe-core
// violations, no console errors; screenshots at 390 and 1366 px in test-results/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';
import { artifacts, axeRun as axeViolations, openBrowser, root } from './browser.mjs';

const read = (p) => new Uint8Array(readFileSync(join(root, p)));
const CAL = 256;
const TEST = 500;
let env;
let ql;

before(async () => {
  [env, ql] = await Promise.all([openBrowser(), load()]);
});

after(async () => {
  await env?.close();
});


const int = (v) => Math.round(v).toLocaleString('en-US');
const text = (page, id) => page.locator(`ql-pq [data-testid=${id}]`).textContent();

/** The displayed byte cards against the JS API for a layer shape at (d, k). */
async function checkBytes(page, shape, d, k) {
  const weights = shape.reduce((a, b) => a * b, 1);
  const b = ql.pqStorageBytes(weights / d, k, d, 'fp16');
  assert.equal(await text(page, 'indices'), `${int(b.indices)} B`);
  assert.equal(await text(page, 'codebook'), `${int(b.codebook)} B`);
  assert.equal(await text(page, 'total'), `${int(4 * weights)} → ${int(b.total)} B`);
  assert.equal(await text(page, 'ratio'), `${((4 * weights) / b.total).toFixed(1)}×`);
  return b;
}

/** LeNet-5 conv2 through the JS API in Node, as the lesson's worker task runs it. */
function reference(objective, d, k) {
  const net = ql.networkFromOnnx(read('web/models/lenet5.onnx'));
  try {
    const train = {
      images: read('web/data/fashion-train-6000.images.u8').subarray(0, CAL * 784),
      labels: read('web/data/fashion-train-6000.labels.u8').subarray(0, CAL),
    };
    const testSet = {
      images: read('web/data/fashion-test-2000.images.u8').subarray(0, TEST * 784),
      labels: read('web/data/fashion-test-2000.labels.u8').subarray(0, TEST),
    };
    return ql.pqCompress(net, train, testSet, {
      layers: [{ param: 'conv2.weight', d, k }], finetuneEpochs: 0, calibrationCount: CAL, heldoutCount: TEST,
      pq: { objective },
    });
  } finally {
    net.dispose();
  }
}

test('pq lesson: live bytes as the API computes them, the lecture example, the special cases', async () => {
  const page = await env.newPage(`?lesson=pq#calibration=${CAL}&test=${TEST}`, { width: 1366, height: 900 });
  await page.waitForSelector('ql-pq[data-ready=true]', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('ql-pq').shadowRoot
    .querySelector('[data-testid=indices]').textContent !== '–', null, { timeout: 10000 });
  await checkBytes(page, [16, 6, 5, 5], 25, 64);
  await page.locator('ql-pq [data-testid=preset-lecture]').click();
  const lecture = await checkBytes(page, [128, 128, 3, 3], 9, 256);
  assert.equal(lecture.indices, 16384);
  assert.equal(lecture.codebook, 4608);
  assert.equal(await text(page, 'indices'), '16,384 B');
  assert.equal(await text(page, 'codebook'), '4,608 B');
  // k from its control, live.
  await page.locator('ql-pq [data-testid=k]').selectOption('16');
  await checkBytes(page, [128, 128, 3, 3], 9, 16);
  await page.locator('ql-pq [data-testid=preset-scalar]').click();
  await checkBytes(page, [128, 128, 3, 3], 1, 16);
  assert.match(await text(page, 'bytes-note'), /scalar K-means/);
  await page.locator('ql-pq [data-testid=preset-vector]').click();
  await checkBytes(page, [128, 128, 3, 3], 1152, 16);
  assert.match(await text(page, 'bytes-note'), /vector quantization/);
  // d typed into its box.
  await page.locator('ql-pq [data-testid=layer]').selectOption('conv2');
  await page.locator('ql-pq [data-testid=d]').fill('25');
  await page.locator('ql-pq [data-testid=d]').dispatchEvent('change');
  await page.locator('ql-pq [data-testid=k]').selectOption('64');
  await checkBytes(page, [16, 6, 5, 5], 25, 64);
  await page.close();
});

test('pq lesson: weight-only against activation-aware on LeNet-5 conv2 equals the API; layout', async () => {
  const page = await env.newPage(`?lesson=pq#calibration=${CAL}&test=${TEST}`, { width: 1366, height: 900 });
  await page.waitForSelector('ql-pq[data-ready=true]', { timeout: 30000 });
  await page.locator('ql-pq [data-testid=run]').click();
  const refs = { weight: reference('weight', 25, 64), activation: reference('activation', 25, 64) };
  await page.waitForSelector('ql-pq[data-done=true]', { timeout: 120000 });
  assert.equal(await text(page, 'error'), '');
  for (const [objective, r] of Object.entries(refs)) {
    const row = page.locator(`ql-pq [data-testid=compare] tr[data-objective=${objective}]`);
    const field = async (f) => (await row.locator(`td[data-field=${f}]`).textContent()).trim();
    const l = r.layers[0];
    assert.equal(await field('bytes'), int(l.bytes.total));
    assert.equal(await field('weightMse'), l.weightMse.toExponential(3));
    assert.equal(await field('outputMse'), l.outputMse.toExponential(3));
    assert.equal(await field('accuracy'), `${r.fp32Accuracy.toFixed(2)}% → ${r.accuracy.toFixed(2)}%`);
  }
  assert.ok(refs.activation.layers[0].outputMse < refs.weight.layers[0].outputMse, 'activation-aware: lower output MSE');
  // 96 kernel tiles (25 cells and a frame each) and 64 codeword tiles.
  assert.equal(await page.locator('ql-pq [data-testid=filters] svg rect').count(), 96 * 26);
  assert.equal(await page.locator('ql-pq [data-testid=codebook-tiles] svg text').count(), 64);
  await page.locator('ql-pq [data-testid=view]').selectOption('weight');
  assert.match(await text(page, 'draw-summary'), /weight-only/);
  // Grouped by codeword: the frames' colours come in runs, one run per used codeword.
  await page.locator('ql-pq [data-testid=order]').selectOption('codeword');
  assert.match(await text(page, 'filters-caption'), /grouped by their codeword/);
  const strokes = await page.locator('ql-pq [data-testid=filters] svg rect[stroke]').evaluateAll((els) => els.map((e) => e.getAttribute('stroke')));
  assert.equal(strokes.length, 96);
  const runs = strokes.filter((c, i) => i === 0 || c !== strokes[i - 1]).length;
  assert.equal(runs, new Set(strokes).size);
  assert.equal(await page.locator('ql-pq').getAttribute('data-done'), 'true', 'the results stay');
  await page.screenshot({ path: join(artifacts, 'pq-lesson-1366.png'), fullPage: true });
  assert.deepEqual(await axeViolations(page), []);
  for (const width of [760, 390]) {
    await page.setViewportSize({ width, height: 844 });
    await page.waitForTimeout(300);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= width, `no horizontal scroll at ${width} px`);
    await page.screenshot({ path: join(artifacts, `pq-lesson-${width}.png`), fullPage: true });
    assert.deepEqual(await axeViolations(page), []);
  }
  await page.close();
});

test('no console errors on any page', () => {
  assert.deepEqual(env.consoleErrors, []);
});
