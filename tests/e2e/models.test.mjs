// <ql-models> in Chromium: the layer list of a demo model, fp32 accuracy on the 2,000 bundled
// test images equal to what the JS API computes in Node for the same model, post-training
// int8 quantization (accuracy, agreement and report equal to the API's, close to fp32), the
// exported ONNX, the navigation, and no console errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';
import { argmaxRows, confusionMatrix, normalize } from '../../web/src/tasks.mjs';
import { artifacts, downloadBytes, openBrowser, root } from './browser.mjs';

const read = (p) => new Uint8Array(readFileSync(join(root, p)));
const MODEL = 'lenet5';
let env;
let ql;

before(async () => {
  [env, ql] = await Promise.all([openBrowser(), load()]);
});

after(async () => {
  await env?.close();
});

/** What the JS API computes in Node: fp32 (and int8) predictions on the test subset. */
function reference({ calibration = 256, method = 'minmax' } = {}) {
  const images = read('web/data/fashion-test-2000.images.u8');
  const labels = read('web/data/fashion-test-2000.labels.u8');
  const model = ql.loadModel(read(`web/models/${MODEL}.onnx`));
  const x = normalize(images);
  const fp32 = argmaxRows(model.run(x, [2000, 1, 28, 28]).data, 2000, 10);
  const count = (a, b) => a.reduce((n, v, i) => n + (v === b[i] ? 1 : 0), 0);
  const out = { layers: model.layers(), fp32: (100 * count(fp32, labels)) / 2000 };
  if (typeof ql.quantizeModel === 'function') {
    const train = read('web/data/fashion-train-6000.images.u8').subarray(0, calibration * 784);
    const q = ql.quantizeModel(model, normalize(train), [calibration, 1, 28, 28], { method });
    const int8 = argmaxRows(q.model.run(x, [2000, 1, 28, 28]).data, 2000, 10);
    out.int8 = (100 * count(int8, labels)) / 2000;
    out.agreement = (100 * count(int8, fp32)) / 2000;
    out.report = q.report;
    out.onnxBytes = q.toOnnx('qoperator').length;
    q.dispose();
  }
  model.dispose();
  return out;
}

const text = async (page, id) => (await page.locator(`ql-models [data-testid=${id}]`).textContent()).trim();

let ref;
let page;

test('models lesson: layer list and fp32 accuracy as the JS API computes them', async () => {
  ref = reference();
  page = await env.newPage(`?lesson=models#model=${MODEL}`);
  await page.waitForSelector('ql-models[data-ready=true]', { timeout: 30000 });
  // The layer list: one row per node plus header and total, the parameter total.
  const rows = page.locator('ql-models [data-testid=layers] tr');
  assert.equal(await rows.count(), ref.layers.length + 2);
  const params = ref.layers.reduce((a, l) => a + l.parameters, 0);
  assert.equal(await text(page, 'parameters'), params.toLocaleString('en-US'));
  assert.match(await rows.nth(1).textContent(), /Conv/);
  assert.equal(await page.locator('nav a[aria-current=page]').textContent(), 'Models: fp32 and int8');

  await page.locator('ql-models [data-testid=run-fp32]').click();
  await page.waitForSelector('ql-models[data-fp32]', { timeout: 60000 });
  assert.equal(await page.locator('ql-models').getAttribute('data-fp32'), ref.fp32.toFixed(2));
  assert.equal(await text(page, 'fp32-accuracy'), `${ref.fp32.toFixed(2)}%`);
  assert.ok(ref.fp32 > 88, `fp32 ${ref.fp32}`);
  assert.equal(await page.locator('ql-models [data-testid=samples] canvas').count(), 12);
  await page.screenshot({ path: join(artifacts, 'models-lesson-fp32.png'), fullPage: true });
});

test('models lesson: int8 post-training quantization as the JS API computes it', async (t) => {
  if (ref.int8 === undefined) {
    // A build without ql.quantizeModel: the lesson says so instead of failing.
    t.diagnostic('ql.quantizeModel is not in this build: only the disabled state is checked');
    assert.equal(await page.locator('ql-models [data-testid=quantize]').isDisabled(), true);
    await page.close();
    return;
  }
  await page.locator('ql-models [data-testid=quantize]').click();
  await page.waitForSelector('ql-models[data-int8]', { timeout: 90000 });
  const int8 = Number(await page.locator('ql-models').getAttribute('data-int8'));
  assert.equal(int8.toFixed(2), ref.int8.toFixed(2));
  assert.equal(Number(await page.locator('ql-models').getAttribute('data-agreement')).toFixed(2), ref.agreement.toFixed(2));
  assert.ok(Math.abs(int8 - ref.fp32) <= 1, `int8 ${int8} vs fp32 ${ref.fp32}`);
  assert.ok(ref.agreement >= 97, `agreement ${ref.agreement}`);
  // The report: one row per quantized layer, the API's names and SQNRs.
  const report = page.locator('ql-models [data-testid=report] tr[data-layer]');
  assert.equal(await report.count(), ref.report.length);
  const firstRow = await report.nth(0).locator('td').allTextContents();
  assert.equal(firstRow[0], ref.report[0].name);
  assert.equal(firstRow[10], String(ref.report[0].weightBits));
  assert.equal(firstRow[11], ref.report[0].sqnrDb.toFixed(1));
  // Every shift and M0 of the API's report is on the page (per channel, in the details).
  const m0 = ref.report.flatMap((l) => Array.from(l.m0));
  const shown = await page.locator('ql-models [data-testid=report]').textContent();
  for (const v of m0.slice(0, 20)) assert.ok(shown.includes(String(v)), `M0 ${v}`);
  assert.ok(m0.every((v) => v >= 2 ** 30 && v < 2 ** 31));
  // The exported int8 ONNX, downloadable, of the API's size.
  const link = page.locator('ql-models [data-testid=download-qoperator]');
  assert.equal(await link.isVisible(), true);
  const size = (await downloadBytes(page, link)).length;
  assert.equal(size, ref.onnxBytes);
  await page.screenshot({ path: join(artifacts, 'models-lesson-int8.png'), fullPage: true });
  await page.close();
});

test('models lab: confusion matrices, per-layer latency and the int8 weight grid, as the API computes them', async (t) => {
  if (typeof ql.quantizeModel !== 'function') {
    t.skip('ql.quantizeModel is not in this build');
    return;
  }
  const COUNT = 500;
  const images = read('web/data/fashion-test-2000.images.u8').subarray(0, COUNT * 784);
  const labels = read('web/data/fashion-test-2000.labels.u8').subarray(0, COUNT);
  const model = ql.loadModel(read(`web/models/${MODEL}.onnx`));
  const train = read('web/data/fashion-train-6000.images.u8').subarray(0, 64 * 784);
  const q = ql.quantizeModel(model, normalize(train), [64, 1, 28, 28], { method: 'minmax' });
  const x = normalize(images);
  const fp32 = confusionMatrix(labels, argmaxRows(model.run(x, [COUNT, 1, 28, 28]).data, COUNT, 10), COUNT);
  const int8 = confusionMatrix(labels, argmaxRows(q.model.run(x, [COUNT, 1, 28, 28]).data, COUNT, 10), COUNT);
  const steps = (m) => m.layers().filter((l) => !l.folded && !l.fused).length;
  const fp32Steps = steps(model);
  const int8Steps = steps(q.model);
  // conv1's output channel 0 on its int8 grid: the levels in use.
  const net = ql.networkFromOnnx(read(`web/models/${MODEL}.onnx`));
  const { values, shape } = net.get('conv1.weight');
  const per = values.length / shape[0];
  const params = { scale: q.report[0].weightScales[0], zeroPoint: 0, ...ql.integerRange({ bits: 8, signed: true, symmetric: true }), bits: 8, signed: true };
  const used = new Set(ql.quantize(values.subarray(0, per), params)).size;
  net.dispose();
  q.dispose();
  model.dispose();

  const page = await env.newPage(`?lesson=models#model=${MODEL}&count=${COUNT}&calibration=64`);
  await page.waitForSelector('ql-models[data-ready=true]', { timeout: 30000 });
  await page.locator('ql-models [data-testid=quantize]').click();
  await page.waitForSelector('ql-models[data-int8]', { timeout: 90000 });
  const cells = (id) => page.locator(`ql-models [data-testid=confusion-${id}] td`).allTextContents();
  assert.deepEqual((await cells('fp32')).map(Number), Array.from(fp32));
  assert.deepEqual((await cells('int8')).map(Number), Array.from(int8));
  assert.match(await page.locator('ql-models [data-testid=confusion-summary]').textContent(), /Largest confusion, fp32: \d+ .+ taken for .+; int8: /);
  assert.equal(await page.locator('ql-models [data-testid=latency] tr[data-graph=fp32]').count(), fp32Steps);
  assert.equal(await page.locator('ql-models [data-testid=latency] tr[data-graph=int8]').count(), int8Steps);
  assert.match(await page.locator('ql-models [data-testid=latency-summary]').textContent(), /fp32 [\d.]+ ms, int8 [\d.]+ ms/);
  assert.ok(await page.locator('ql-models [data-testid=grid-plot] canvas').count() > 0, 'weight histogram drawn');
  assert.match(await page.locator('ql-models [data-testid=grid-summary]').textContent(),
    new RegExp(`^conv1\\.weight, output channel 0 of 6: ${per} weights .* ${used} of the 256 int8 levels in use`));
  // Another layer and channel, from the controls.
  await page.locator('ql-models [data-testid=grid-layer]').selectOption('/fc3/Gemm');
  await page.waitForFunction(() => document.querySelector('ql-models').shadowRoot
    .querySelector('[data-testid=grid-summary]').textContent.startsWith('fc3.weight'), null, { timeout: 10000 });
  await page.locator('ql-models [data-testid=grid-channel]').fill('9');
  await page.locator('ql-models [data-testid=grid-channel]').dispatchEvent('change');
  await page.waitForFunction(() => document.querySelector('ql-models').shadowRoot
    .querySelector('[data-testid=grid-summary]').textContent.startsWith('fc3.weight, output channel 9 of 10'), null, { timeout: 10000 });
  await page.close();
});

test('navigation reaches every lesson', async () => {
  const page = await env.newPage();
  for (const [label, tag] of [['How many bits?', 'ql-bits'], ['Deep Compression', 'ql-deep-compression'],
    ['Models: fp32 and int8', 'ql-models'], ['Linear quantization', 'ql-linear']]) {
    await page.locator('nav a', { hasText: label }).click();
    await page.waitForSelector(`${tag}[data-ready=true]`, { timeout: 30000 });
  }
  await page.close();
});

test('embedded alone with a bad attribute: the error from the worker is shown, and the lesson recovers', async () => {
  const html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
    <script type="importmap">{"imports": {"quantlab": "/wasm/quantlab.mjs",
      "uplot": "/node_modules/uplot/dist/uPlot.esm.js", "uplot/": "/node_modules/uplot/"}}</script>
    <script type="module" src="/components/ql-models.mjs"></script></head>
    <body><ql-models model="resnet9000" count="500"></ql-models></body></html>`;
  const page = await env.browser.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') env.consoleErrors.push(`course.html: ${msg.text()}`);
  });
  page.on('pageerror', (e) => env.consoleErrors.push(`course.html: uncaught ${e.message}`));
  await page.route(`${env.url}course.html`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await page.goto(`${env.url}course.html`);
  const error = page.locator('ql-models [data-testid=error]');
  await page.waitForFunction(() => document.querySelector('ql-models').shadowRoot
    .querySelector('[data-testid=error]').textContent !== '', null, { timeout: 30000 });
  assert.equal(await error.textContent(), "INVALID_ARGUMENT: unknown demo model 'resnet9000'");
  await page.locator('ql-models [data-testid=model]').selectOption('lenet300');
  await page.waitForFunction(() => document.querySelector('ql-models').shadowRoot
    .querySelectorAll('[data-testid=layers] tr').length > 0, null, { timeout: 30000 });
  assert.equal(await error.textContent(), '');
  assert.equal(await page.locator('ql-models [data-testid=parameters]').textContent(), '266,610');
  await page.locator('ql-models [data-testid=run-fp32]').click();
  await page.waitForSelector('ql-models[data-fp32]', { timeout: 60000 });
  await page.close();
});

test('no console errors on any page', () => {
  assert.deepEqual(env.consoleErrors, []);
});

test('models lesson: weight bits, layers kept in fp32 and the sensitivity bars, as the API computes them', async (t) => {
  if (typeof ql.quantizationSensitivity !== 'function') {
    t.skip('ql.quantizationSensitivity is not in this build');
    return;
  }
  const CAL = 64;
  const model = ql.loadModel(read(`web/models/${MODEL}.onnx`));
  const train = read('web/data/fashion-train-6000.images.u8').subarray(0, CAL * 784);
  const trainLabels = read('web/data/fashion-train-6000.labels.u8').subarray(0, CAL);
  const x = normalize(train);
  const layers = model.layers().filter((l) => ['Conv', 'Gemm', 'MatMul'].includes(l.opType)).map((l) => l.name);
  const q = ql.quantizeModel(model, x, [CAL, 1, 28, 28], { weightBits: 4, excludeNodes: [layers.at(-1)] });
  const images = read('web/data/fashion-test-2000.images.u8').subarray(0, 500 * 784);
  const labels = read('web/data/fashion-test-2000.labels.u8').subarray(0, 500);
  const pred = argmaxRows(q.model.run(normalize(images), [500, 1, 28, 28]).data, 500, 10);
  const int8 = (100 * pred.reduce((n, v, i) => n + (v === labels[i] ? 1 : 0), 0)) / 500;
  const s = ql.quantizationSensitivity(model, x, [CAL, 1, 28, 28], { bits: [8, 4, 2], labels: trainLabels, evalSamples: CAL });
  const report = q.report;
  q.dispose();
  model.dispose();

  for (const viewport of [{ width: 1366, height: 1000 }, { width: 390, height: 900 }]) {
    const page = await env.newPage(`?lesson=models#model=${MODEL}&count=500&calibration=${CAL}&bits=4&keep=last`, viewport);
    await page.waitForSelector('ql-models[data-ready=true]', { timeout: 30000 });
    await page.locator('ql-models [data-testid=quantize]').click();
    await page.waitForSelector('ql-models[data-int8]', { timeout: 90000 });
    assert.equal(Number(await page.locator('ql-models').getAttribute('data-int8')).toFixed(2), int8.toFixed(2));
    // The last layer is not in the report (kept fp32); the others carry 4-bit weights.
    const rows = page.locator('ql-models [data-testid=report] tr[data-layer]');
    assert.equal(await rows.count(), report.length);
    assert.equal(report.length, layers.length - 1);
    assert.match(await text(page, 'timing'), /4-bit weights/);
    await page.locator('ql-models [data-testid=sensitivity-run]').click();
    await page.waitForSelector('ql-models [data-testid=sensitivity] tr[data-layer]', { timeout: 90000 });
    const srows = page.locator('ql-models [data-testid=sensitivity] tr[data-layer]');
    assert.equal(await srows.count(), s.layers.length);
    for (let i = 0; i < s.layers.length; ++i) {
      const cells = await srows.nth(i).locator('td').allTextContents();
      assert.equal(cells[0], s.layers[i].name);
      assert.deepEqual(cells.slice(3, 6), [...s.layers[i].sqnrDb].map((v) => v.toFixed(1)));
      assert.equal(cells.at(-1), s.layers[i].accumulatedSqnrDb.toFixed(1));
    }
    assert.equal(await srows.nth(0).locator('.bar').count(), 3);
    await page.locator('ql-models [data-testid=sensitivity]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, `models-sensitivity-${viewport.width}.png`) });
    await page.close();
  }
});

test('models lesson: bits per layer from the mixed-precision search, as the API chooses them', async (t) => {
  if (typeof ql.mixedPrecision !== 'function') {
    t.skip('ql.mixedPrecision is not in this build');
    return;
  }
  const CAL = 64;
  const model = ql.loadModel(read(`web/models/${MODEL}.onnx`));
  const x = normalize(read('web/data/fashion-train-6000.images.u8').subarray(0, CAL * 784));
  const labels = read('web/data/fashion-train-6000.labels.u8').subarray(0, CAL);
  const r = ql.mixedPrecision(model, x, [CAL, 1, 28, 28], { method: 'minmax', labels, evalSamples: CAL, maxAccuracyDrop: 1, bits: [8, 6, 5, 4, 3, 2] });
  model.dispose();
  const page = await env.newPage(`?lesson=models#model=${MODEL}&count=500&calibration=${CAL}&mixed=1`);
  await page.waitForSelector('ql-models[data-ready=true]', { timeout: 30000 });
  await page.locator('ql-models [data-testid=quantize]').click();
  await page.waitForSelector('ql-models[data-int8]', { timeout: 120000 });
  const rows = page.locator('ql-models [data-testid=report] tr[data-layer]');
  assert.equal(await rows.count(), r.layers.length);
  for (let i = 0; i < r.layers.length; ++i) {
    const cells = await rows.nth(i).locator('td').allTextContents();
    assert.equal(cells[0], r.layers[i].node);
    assert.equal(cells[10], String(r.layers[i].weightBits));
  }
  assert.ok(r.weightBits < r.int8WeightBits, 'smaller than int8');
  assert.match(await text(page, 'timing'), new RegExp(`mixed-precision weights \\(${r.layers.map((l) => l.weightBits).join('/')} bits`));
  await page.close();
});

test('models lesson: per-layer precision (bits or fp32) and the export checks, as the API computes them', async () => {
  const CAL = 64;
  const model = ql.loadModel(read(`web/models/${MODEL}.onnx`));
  const x = normalize(read('web/data/fashion-train-6000.images.u8').subarray(0, CAL * 784));
  const layers = model.layers().filter((l) => ['Conv', 'Gemm', 'MatMul'].includes(l.opType)).map((l) => l.name);
  const [first, last] = [layers[0], layers.at(-1)];
  const q = ql.quantizeModel(model, x, [CAL, 1, 28, 28], { excludeNodes: [first], layers: [{ node: last, weightBits: 2 }] });
  const images = read('web/data/fashion-test-2000.images.u8').subarray(0, 500 * 784);
  const labels = read('web/data/fashion-test-2000.labels.u8').subarray(0, 500);
  const pred = argmaxRows(q.model.run(normalize(images), [500, 1, 28, 28]).data, 500, 10);
  const int8 = (100 * pred.reduce((n, v, i) => n + (v === labels[i] ? 1 : 0), 0)) / 500;
  const report = q.report;
  const checks = q.exportChecks;
  q.dispose();
  model.dispose();

  for (const viewport of [{ width: 1366, height: 1000 }, { width: 390, height: 900 }]) {
    const page = await env.newPage(`?lesson=models#model=${MODEL}&count=500&calibration=${CAL}`, viewport);
    await page.waitForSelector('ql-models[data-ready=true]', { timeout: 30000 });
    const control = page.locator('ql-models [data-testid=layer-control]');
    assert.equal(await control.locator('tr[data-layer]').count(), layers.length);
    await control.locator(`select[data-layer="${first}"]`).selectOption('fp32');
    await control.locator(`select[data-layer="${last}"]`).selectOption('2');
    // The choice is state: in the URL, so a shared link carries it.
    assert.match(decodeURIComponent(new URL(page.url()).hash), new RegExp(`layerBits=.*${first}:fp32`));
    await page.locator('ql-models [data-testid=quantize]').click();
    await page.waitForSelector('ql-models[data-int8]', { timeout: 90000 });
    assert.equal(Number(await page.locator('ql-models').getAttribute('data-int8')).toFixed(2), int8.toFixed(2));
    const rows = page.locator('ql-models [data-testid=report] tr[data-layer]');
    assert.equal(await rows.count(), report.length);
    assert.equal(report.length, layers.length - 1);
    const lastCells = await rows.nth(report.length - 1).locator('td').allTextContents();
    assert.equal(lastCells[0], last);
    assert.equal(lastCells[10], '2');
    // The export checks: one row per export, the API's verdict and reasons.
    const erows = page.locator('ql-models [data-testid=export-checks] tr[data-export]');
    assert.equal(await erows.count(), checks.length);
    for (const c of checks) {
      const reasons = await page.locator(`ql-models [data-testid=export-checks] tr[data-export="${c.form}-${c.activations}"] p.reason`).allTextContents();
      assert.deepEqual(reasons, c.reasons);
    }
    await control.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, `models-layer-control-${viewport.width}.png`) });
    await page.locator('ql-models [data-testid=export-checks]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, `models-export-checks-${viewport.width}.png`) });
    await page.close();
  }
});
