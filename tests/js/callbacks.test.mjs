// Every method that takes a user callback, with a callback that throws: the user's own
// error object comes back, the module keeps working, and neither the WebAssembly heap nor
// the process grows over 100 throwing calls (issue 9: an unguarded onProgress unwound
// through wasm frames and leaked what they held, 56 MiB -> 1.5 GiB over 40 calls).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';
import { calibration, modelBytes, PIXELS, testImages } from './demo-data.mjs';

const root = new URL('../../', import.meta.url);
const read = (path) => new Uint8Array(readFileSync(new URL(path, root)));
const images = read('web/data/fashion-train-6000.images.u8').subarray(0, 16 * PIXELS);
const labels = read('web/data/fashion-train-6000.labels.u8').subarray(0, 16);
const weights = Float32Array.from({ length: 20000 }, (_, i) => Math.sin(i * 0.37) * 0.1);

const CALLS = 100;
// Deep Compression runs its pipeline to the end after the callback threw (the core has no
// cancellation point yet), so it gets fewer calls.
const CALLS_OF = { 'Network.deepCompression': 20 };
const MiB = 1024 * 1024;
// Growth allowed over the calls after a warm-up: a leak of what one call holds (tens of
// MiB for k-means on 20,000 weights) exceeds these many times over.
const HEAP_BOUND = 8 * MiB;
const RSS_BOUND = 160 * MiB;

for (const simd of [true, false]) {
  describe(`throwing callbacks, ${simd ? 'SIMD128' : 'scalar'} build`, async () => {
    const ql = await load({ simd });
    const lenet5 = ql.loadModel(modelBytes('lenet5'));
    const net = ql.networkFromOnnx(modelBytes('lenet5'));
    const x = testImages.subarray(0, 2 * PIXELS);
    const small = calibration.subarray(0, 8 * PIXELS);

    // name -> [the call with a callback, the same call without one]
    const methods = {
      kMeansQuantize: [(cb) => ql.kMeansQuantize(weights, 5, { method: 'optimal' }, cb),
        () => ql.kMeansQuantize(weights, 5, { method: 'optimal' })],
      'Model.run': [(cb) => lenet5.run(x, [2, 1, 28, 28], { onProgress: cb }),
        () => lenet5.run(x, [2, 1, 28, 28])],
      'Model.runAll (batches)': [(cb) => lenet5.runAll([{ data: x, shape: [2, 1, 28, 28] }],
        { batchSize: 1, onProgress: cb }), () => lenet5.runAll([{ data: x, shape: [2, 1, 28, 28] }])],
      quantizeModel: [(cb) => ql.quantizeModel(lenet5, small, [8, 1, 28, 28], { onProgress: cb }),
        () => ql.quantizeModel(lenet5, small, [8, 1, 28, 28])],
      'Network.evaluate': [(cb) => net.evaluate(images, labels, {}, cb), () => net.evaluate(images, labels)],
      'Network.train': [(cb) => net.train(images, labels, { maxSteps: 1, batchSize: 16 }, cb),
        () => net.train(images, labels, { maxSteps: 1, batchSize: 16 })],
      // On a copy: a shared parameter has 4 distinct values left, and k-means on those
      // returns at once, without a report.
      'Network.quantize': [(cb) => {
        const copy = net.clone();
        try {
          return copy.quantize('fc2.weight', 2, {}, cb);
        } finally {
          copy.dispose();
        }
      }, () => net.quantize('fc2.weight', 2)],
      'Network.deepCompression': [(cb) => {
        const copy = net.clone();
        try {
          return copy.deepCompression({ images, labels }, { images, labels }, {
            layers: [{ param: 'fc3.weight', sparsity: 0.5, bits: 2 }], pruneSteps: 1,
            quantizedEpochs: 0, train: { maxSteps: 1 },
          }, cb);
        } finally {
          copy.dispose();
        }
      }, () => null],
    };

    for (const [name, [withCallback, without]] of Object.entries(methods)) {
      test(`${name}: the user's error is rethrown, nothing leaks, the module keeps working`, () => {
        const throwing = () => {
          const error = new Error(`stop ${name}`);
          let reports = 0;
          assert.throws(() => withCallback(() => {
            reports += 1;
            throw error;
          }), (e) => e === error, `${name} did not rethrow the callback's own error`);
          assert.equal(reports, 1, 'no report after the callback threw');
        };
        for (let i = 0; i < 5; ++i) throwing();  // warm-up: the heap reaches its working size
        const heap = ql.memoryBytes();
        const rss = process.memoryUsage().rss;
        for (let i = 0; i < (CALLS_OF[name] ?? CALLS); ++i) throwing();
        const heapGrowth = ql.memoryBytes() - heap;
        const rssGrowth = process.memoryUsage().rss - rss;
        assert.ok(heapGrowth <= HEAP_BOUND, `wasm heap grew ${(heapGrowth / MiB).toFixed(1)} MiB`);
        assert.ok(rssGrowth <= RSS_BOUND, `RSS grew ${(rssGrowth / MiB).toFixed(1)} MiB`);
        const out = without();
        out?.dispose?.();
        assert.deepEqual(ql.integerRange({ bits: 8 }), { qMin: -128, qMax: 127 });
      });
    }
  });
}
