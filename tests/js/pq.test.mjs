// JS API of product quantization (issue 12, lecture 5.7): the lecture's byte count, the
// d = 1 and d = whole-row special cases, weight-only against activation-aware PQ on a real
// layer of LeNet-300-100, decoding, inference from the codes, the network pipeline, errors
// and cancellation, on both builds, through the public entry point.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { load, QuantlabError } from '../../wasm/quantlab.mjs';
import { normalized } from './demo-data.mjs';

const root = new URL('../../', import.meta.url);
const read = (path) => new Uint8Array(readFileSync(new URL(path, root)));

/** Deterministic pseudo-normal weights (sum of uniforms from an LCG). */
function weights(n, seed = 1) {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float32Array.from({ length: n }, () => (u() + u() + u() + u() - 2) * 0.05);
}

function throwsCode(fn, code, message) {
  assert.throws(fn, (e) => e instanceof QuantlabError && e.code === code &&
    (message === undefined || message.test(e.message)), `expected ${code}`);
}

/** Mean over the batch x rows outputs of (x W^T - x Q^T)^2; x Layout (batch, cols). */
function outputMse(x, batch, w, q, rows, cols) {
  let sum = 0;
  for (let b = 0; b < batch; ++b) {
    const xb = x.subarray(b * cols, (b + 1) * cols);
    for (let o = 0; o < rows; ++o) {
      let e = 0;
      for (let i = 0; i < cols; ++i) e += (w[o * cols + i] - q[o * cols + i]) * xb[i];
      sum += e * e;
    }
  }
  return sum / (batch * rows);
}

const CAL = 1000;
const HELD = 500;
const trainRaw = read('web/data/fashion-train-6000.images.u8');
const testRaw = read('web/data/fashion-test-2000.images.u8');
const calibration = normalized(trainRaw, CAL);
const heldout = normalized(testRaw, HELD);

for (const simd of [true, false]) {
  describe(`product quantization, ${simd ? 'SIMD128' : 'scalar'} build`, async () => {
    const ql = await load({ simd });
    assert.equal(ql.simd, simd);

    test('the lecture example: 128x128x3x3 at k = 256, d = 9 takes 16,384 B + 4,608 B', () => {
      const subvectors = (128 * 128 * 3 * 3) / 9;
      const b = ql.pqStorageBytes(subvectors, 256, 9, 'fp16');
      assert.deepEqual(b, { indices: 16384, codebook: 4608, total: 20992 });
      assert.equal(ql.pqStorageBytes(subvectors, 256, 9).codebook, 4608, 'fp16 is the default');
      assert.equal(ql.pqStorageBytes(subvectors, 256, 9, 'fp32').codebook, 9216);
      assert.equal(ql.pqIndexBits(256), 8);
      assert.equal(ql.pqIndexBits(257), 9);
      assert.equal(ql.pqStorageBytes(10, 3, 4, 'fp32').indices, 3, '10 x 2 bits rounded up');
    });

    test('the result: codebook (k, d), codes per subvector, bytes, ratio, decoding', () => {
      const rows = 32;
      const cols = 36;
      const w = weights(rows * cols, 7);
      const progress = [];
      const r = ql.productQuantize(w, rows, cols, { d: 9, k: 16, seed: 3 }, (p) => progress.push(p));
      assert.ok(r.codebook instanceof Float32Array);
      assert.equal(r.codebook.length, 16 * 9);
      assert.ok(r.codes instanceof Uint8Array);
      assert.equal(r.codes.length, rows * 4);
      assert.equal(r.M, 4);
      assert.equal(r.nbits, 4);
      assert.equal(r.precision, 'fp16');
      assert.deepEqual(r.bytes, ql.pqStorageBytes(rows * 4, 16, 9, 'fp16'));
      assert.equal(r.ratio, (4 * rows * cols) / r.bytes.total);
      assert.ok(r.iterations >= 1 && r.iterations <= ql.defaults().pq.iterations);
      assert.ok(progress.length >= 1 && progress.every((p) => p.stage === 'pq'));
      const decoded = ql.pqDecode(r);
      assert.equal(decoded.length, rows * cols);
      let mse = 0;
      for (let i = 0; i < w.length; ++i) mse += (w[i] - decoded[i]) ** 2;
      assert.ok(Math.abs(mse / w.length - r.weightMse) <= 1e-9 + 1e-6 * r.weightMse);
      // Each subvector decodes to its codeword.
      for (const s of [0, 5, rows * 4 - 1]) {
        const c = r.codes[s];
        assert.deepEqual(decoded.subarray(s * 9, s * 9 + 9), r.codebook.subarray(c * 9, c * 9 + 9));
      }
      // Same seed, same result; k > 256 gives Uint16Array codes.
      assert.deepEqual(ql.productQuantize(w, rows, cols, { d: 9, k: 16, seed: 3 }).codes, r.codes);
      const wide = ql.productQuantize(weights(1024, 2), 1, 1024, { d: 1, k: 300, iterations: 2 });
      assert.ok(wide.codes instanceof Uint16Array);
      assert.equal(wide.nbits, 9);
      assert.equal(ql.pqDecode(wide).length, 1024);
    });

    test('d = 1 is scalar k-means: the same codebook and labels as kMeansQuantize', () => {
      const w = weights(2000, 11);
      for (const seed of [0, 5]) {
        const pq = ql.productQuantize(w, 40, 50, { d: 1, k: 16, seed, precision: 'fp32', iterations: 300 });
        const km = ql.kMeansQuantize(w, 4, { init: 'kmeans++', seed, iterations: 300 });
        assert.deepEqual(pq.codebook, km.centroids);
        assert.deepEqual(Int32Array.from(pq.codes), km.labels);
      }
    });

    test('d = the whole row is vector quantization: one codeword per row', () => {
      const w = weights(64 * 20, 4);
      const r = ql.productQuantize(w, 64, 20, { d: 20, k: 8 });
      assert.equal(r.M, 1);
      assert.equal(r.codes.length, 64);
      assert.equal(r.codebook.length, 8 * 20);
      assert.deepEqual(r.bytes, ql.pqStorageBytes(64, 8, 20, 'fp16'));
    });

    test('LeNet-300-100 fc1: the activation-aware objective has the lower held-out output MSE', () => {
      const net = ql.networkFromOnnx(read('web/models/lenet300.onnx'));
      const { values, shape } = net.get('fc1.weight');
      net.dispose();
      const [rows, cols] = shape;
      assert.deepEqual(shape, [300, 784]);
      const d = 4;
      const k = 64;
      const stats = ql.pqInputStats(calibration, CAL, cols, d);
      assert.equal(stats.M, cols / d);
      assert.equal(stats.count, CAL);
      assert.equal(stats.sums.length, (cols / d) * d * d);
      const weight = ql.productQuantize(values, rows, cols, { d, k, iterations: 10 });
      const act = ql.productQuantize(values, rows, cols, { d, k, iterations: 10, objective: 'activation', stats });
      assert.deepEqual(act.bytes, weight.bytes, 'the same size');
      const mseW = outputMse(heldout, HELD, values, ql.pqDecode(weight), rows, cols);
      const mseA = outputMse(heldout, HELD, values, ql.pqDecode(act), rows, cols);
      assert.ok(mseA < mseW, `output MSE activation ${mseA} < weight ${mseW}`);
      assert.ok(weight.weightMse <= act.weightMse, 'weight-only minimizes the weight MSE');
      // Inference from the codes equals the decoded layer's product.
      const y = ql.pqLinearLut(act, heldout.subarray(0, 4 * cols), 4);
      assert.equal(y.length, 4 * rows);
      throwsCode(() => ql.productQuantize(values, rows, cols, { d: 8, k, objective: 'activation', stats }),
        'SHAPE_MISMATCH', /d = 4/);
      throwsCode(() => ql.productQuantize(values, rows, cols, { d, k, objective: 'activation' }),
        'INVALID_ARGUMENT', /statistics/);
    });

    test('conv input statistics: im2col rows of an NCHW batch', () => {
      const x = Float32Array.from(weights(2 * 3 * 8 * 8, 9));
      const s = ql.pqConvInputStats(x, [2, 3, 8, 8], { kernelShape: [3, 3], pads: [1, 1, 1, 1] }, 9);
      assert.equal(s.M, 3);
      assert.equal(s.count, 2 * 8 * 8);
      const w = weights(16 * 27, 3);
      const r = ql.productQuantize(w, 16, 27, { d: 9, k: 8, objective: 'activation', stats: s });
      assert.equal(r.codes.length, 48);
      throwsCode(() => ql.pqConvInputStats(x.subarray(0, 48), [2, 3, 8], {}, 9), 'INVALID_ARGUMENT', /NCHW/);
      throwsCode(() => ql.pqConvInputStats(x, [2, 3, 8, 8], { kernelShape: [3, 3] }, 4), 'INVALID_ARGUMENT');
    });

    test('the network pipeline on LeNet-300-100 fc3: report, file, output MSE per objective', () => {
      const train = { images: trainRaw.subarray(0, 512 * 784), labels: read('web/data/fashion-train-6000.labels.u8').subarray(0, 512) };
      const testSet = { images: testRaw.subarray(0, 300 * 784), labels: read('web/data/fashion-test-2000.labels.u8').subarray(0, 300) };
      const out = {};
      for (const objective of ['weight', 'activation']) {
        const net = ql.networkFromOnnx(read('web/models/lenet300.onnx'));
        const stages = new Set();
        const r = ql.pqCompress(net, train, testSet, {
          layers: [{ param: 'fc3.weight', d: 4, k: 64 }], finetuneEpochs: 0, calibrationCount: 256,
          heldoutCount: 200, pq: { objective, iterations: 10 },
        }, (p) => stages.add(p.stage.split(' ')[0]));
        assert.equal(r.layers.length, 1);
        assert.equal(r.layers[0].param, 'fc3.weight');
        assert.ok(r.ratio > 1 && r.file instanceof Uint8Array && r.file.length > 0);
        assert.equal(r.fileAccuracy, r.accuracyFt);
        assert.ok(stages.has('pq'), [...stages].join());
        out[objective] = r.layers[0];
        net.dispose();
      }
      assert.ok(out.activation.outputMse < out.weight.outputMse,
        `${out.activation.outputMse} < ${out.weight.outputMse}`);
    });

    test('errors carry codes; a throwing onProgress or an abort cancels', () => {
      const w = weights(10 * 12, 1);
      throwsCode(() => ql.productQuantize(w, 10, 12, { d: 5, k: 4 }), 'INVALID_ARGUMENT', /d = 5 does not divide the row length 12/);
      throwsCode(() => ql.productQuantize(w, 10, 12, { d: 4, k: 64 }), 'INVALID_ARGUMENT', /30 subvectors .* fewer than k = 64/);
      throwsCode(() => ql.productQuantize(w, 10, 11, { d: 4, k: 4 }), 'SHAPE_MISMATCH');
      throwsCode(() => ql.productQuantize(w, 10, 12, { objective: 'output' }), 'INVALID_ARGUMENT', /weight/);
      throwsCode(() => ql.productQuantize(w, 10, 12, { d: 1.5 }), 'INVALID_ARGUMENT');
      const bad = w.slice();
      bad[3] = NaN;
      throwsCode(() => ql.productQuantize(bad, 10, 12, { d: 4, k: 4 }), 'NOT_FINITE');
      throwsCode(() => ql.productQuantize('w', 10, 12), 'INVALID_ARGUMENT');
      throwsCode(() => ql.productQuantize(w, -1, 12), 'INVALID_ARGUMENT');
      throwsCode(() => ql.productQuantize(w, 10, 12, { d: 4, k: 4 }, 5), 'INVALID_ARGUMENT');
      const boom = new Error('stop');
      assert.throws(() => ql.productQuantize(weights(4000, 2), 100, 40, { d: 4, k: 32 }, () => { throw boom; }),
        (e) => e === boom);
      const ac = new AbortController();
      throwsCode(() => ql.productQuantize(weights(4000, 2), 100, 40, { d: 4, k: 32, signal: ac.signal },
        () => ac.abort()), 'CANCELLED');
      throwsCode(() => ql.pqStorageBytes(10, 4, 2, 'fp8'), 'INVALID_ARGUMENT');
      // Still usable.
      assert.equal(ql.productQuantize(w, 10, 12, { d: 4, k: 4 }).codes.length, 30);
    });
  });
}
