// <ql-deep-compression> in Chromium: Deep Compression of LeNet-300-100 on the bundled
// training subset (small settings from the URL so the test stays quick); the stage table
// equals what Network.deepCompression computes in Node with the same options, the ratio
// grows stage by stage, the downloadable file has the reported size, the histogram is
// drawn, and no console errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';
import { artifacts, downloadBytes, openBrowser, root } from './browser.mjs';

const read = (p) => new Uint8Array(readFileSync(join(root, p)));
const TRAIN = 1000;
const TEST = 500;
let env;
let ql;

before(async () => {
  [env, ql] = await Promise.all([openBrowser(), load()]);
});

after(async () => {
  await env?.close();
});

/** The same pipeline through the JS API in Node (the lesson's defaults, small data). */
function reference() {
  const net = ql.networkFromOnnx(read('web/models/lenet300.onnx'));
  try {
    const train = {
      images: read('web/data/fashion-train-6000.images.u8').subarray(0, TRAIN * 784),
      labels: read('web/data/fashion-train-6000.labels.u8').subarray(0, TRAIN),
    };
    const testSet = {
      images: read('web/data/fashion-test-2000.images.u8').subarray(0, TEST * 784),
      labels: read('web/data/fashion-test-2000.labels.u8').subarray(0, TEST),
    };
    return net.deepCompression(train, testSet, {
      layers: [{ param: 'fc1.weight', sparsity: 0.9, bits: 5 }, { param: 'fc2.weight', sparsity: 0.9, bits: 5 },
        { param: 'fc3.weight', sparsity: 0.6, bits: 5 }],
      pruneSteps: 1,
      retrainEpochs: 1,
      quantizedEpochs: 1,
      train: { optimizer: 'sgd', learningRate: 0.02, momentum: 0.9 },
    });
  } finally {
    net.dispose();
  }
}

test('deep compression lesson: stage table as the API computes it, the file, the histogram', async () => {
  const page = await env.newPage(`?lesson=deep-compression#pruneSteps=1&train=${TRAIN}&test=${TEST}`);
  await page.waitForSelector('ql-deep-compression[data-ready=true]', { timeout: 30000 });
  await page.locator('ql-deep-compression [data-testid=run]').click();
  await page.waitForSelector('ql-deep-compression [data-testid=progress]:not([hidden])', { timeout: 10000 });
  const ref = reference();
  await page.waitForSelector('ql-deep-compression[data-done=true]', { timeout: 120000 });
  assert.equal(await page.locator('ql-deep-compression [data-testid=error]').textContent(), '');
  const rows = page.locator('ql-deep-compression [data-testid=stages] tr[data-stage]');
  assert.equal(await rows.count(), 4);
  let previous = 0;
  for (const [i, st] of ref.stages.entries()) {
    const row = rows.nth(i);
    assert.equal(await row.getAttribute('data-stage'), st.stage);
    const field = async (f) => (await row.locator(`td[data-field=${f}]`).textContent()).trim();
    assert.equal(await field('bytes'), st.bytes.toLocaleString('en-US'));
    assert.equal(await field('ratio'), `${st.ratio.toFixed(2)}×`);
    assert.equal(await field('accuracy'), `${st.accuracy.toFixed(2)}%`);
    assert.ok(st.ratio > previous, `${st.stage}: ratio ${st.ratio}`);
    previous = st.ratio;
  }
  assert.ok(ref.stages[3].ratio > 20, `Huffman ratio ${ref.stages[3].ratio}`);
  // The element's report and the downloadable file agree with the API.
  const report = await page.locator('ql-deep-compression').evaluate((el) => el.report);
  assert.equal(report.fileBytes, ref.file.length);
  assert.equal(report.decodedAccuracy, ref.stages[3].accuracy);
  const link = page.locator('ql-deep-compression [data-testid=download]');
  assert.match(await link.getAttribute('download'), /lenet300\.qlz/);
  const size = (await downloadBytes(page, link)).length;
  assert.equal(size, ref.file.length);
  assert.equal(await page.locator('ql-deep-compression [data-testid=layers] tr').count(), 4);
  assert.ok(await page.locator('ql-deep-compression [data-testid=plot] canvas').count() > 0, 'histogram drawn');
  await page.locator('ql-deep-compression [data-testid=histogram]').selectOption('fc2.weight');
  await page.screenshot({ path: join(artifacts, 'deep-compression-lesson.png'), fullPage: true });
  await page.close();
});

test('stop: long work can be cancelled, and the lesson runs again afterwards', async () => {
  const page = await env.newPage('?lesson=deep-compression');
  await page.waitForSelector('ql-deep-compression[data-ready=true]', { timeout: 30000 });
  await page.locator('ql-deep-compression [data-testid=run]').click();
  await page.waitForSelector('ql-deep-compression [data-testid=stop]:not([hidden])', { timeout: 10000 });
  await page.waitForFunction(() => /prune|train/.test(document.querySelector('ql-deep-compression')
    .shadowRoot.querySelector('[data-testid=progress] span').textContent), null, { timeout: 30000 });
  await page.locator('ql-deep-compression [data-testid=stop]').click();
  await page.waitForSelector('ql-deep-compression [data-testid=stop][hidden]', { state: 'attached', timeout: 10000 });
  assert.equal((await page.locator('ql-deep-compression [data-testid=progress] span').textContent()).trim(), 'stopped');
  assert.equal(await page.locator('ql-deep-compression [data-testid=error]').textContent(), '');
  assert.equal(await page.locator('ql-deep-compression [data-testid=run]').isEnabled(), true);
  assert.equal(await page.locator('ql-deep-compression').getAttribute('data-done'), null);
  await page.close();
});

test('no console errors on any page', () => {
  assert.deepEqual(env.consoleErrors, []);
});
