// Determinism (issue 18): the same inputs and seed give byte-identical results across runs
// (two instances of each build) and between the SIMD128 and scalar builds, for the integer
// paths: linear quantization, seeded k-means (labels and centroids), post-training
// quantization of the LeNet-5 demo model with its calibration (the exported .onnx bytes) and
// the int8 model's output on the bundled test images.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';

import { CALIB, calibration, modelBytes, testImages } from './demo-data.mjs';

const RUN_IMAGES = 200;

function bytesOf(a) {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function digest(parts) {
  const h = createHash('sha256');
  for (const [name, p] of Object.entries(parts)) h.update(name).update(bytesOf(p));
  return h.digest('hex');
}

/** A deterministic weight vector (no Math.random): a sum of sines. */
function weights(n) {
  const w = new Float32Array(n);
  for (let i = 0; i < n; ++i) w[i] = Math.sin(i * 0.37) + 0.5 * Math.sin(i * 1.91 + 1);
  return w;
}

/** Every integer path's result as bytes, from one fresh instance. */
async function results(simd) {
  const ql = await load({ simd });
  const out = {};
  const w = weights(4096);
  const params = ql.paramsFromRange(-1.5, 1.5, { bits: 8 });
  out.quantize = ql.quantize(w, params);
  // Three Lloyd iterations: short of convergence, so the result depends on the seed.
  for (const init of ['random', 'kmeans++']) {
    out[`kmeans init ${init}`] = ql.kMeansInit(w, 16, { init, seed: 1234 });
    const cb = ql.kMeansQuantize(w, 4, { method: 'lloyd', init, seed: 1234, iterations: 3 });
    out[`kmeans ${init} labels`] = cb.labels;
    out[`kmeans ${init} centroids`] = cb.centroids;
  }
  out['kmeans random, another seed'] =
    ql.kMeansQuantize(w, 4, { method: 'lloyd', init: 'random', seed: 7, iterations: 3 }).centroids;
  const fp32 = ql.loadModel(modelBytes('lenet5'));
  const q = ql.quantizeModel(fp32, calibration, [CALIB, 1, 28, 28], { batchSize: 128 });
  try {
    out.qoperator = q.toOnnx('qoperator');
    out.qdq = q.toOnnx('qdq');
    const images = testImages.subarray(0, RUN_IMAGES * 28 * 28);
    out.int8Run = q.model.run(images, [RUN_IMAGES, 1, 28, 28]).data;
  } finally {
    q.dispose();
    fp32.dispose();
  }
  return out;
}

test('the same seed gives byte-identical results across runs and builds', async () => {
  const simdA = await results(true);
  const simdB = await results(true);
  const scalarA = await results(false);
  const scalarB = await results(false);
  for (const name of Object.keys(simdA)) {
    assert.ok(simdA[name].byteLength > 0, name);
    assert.ok(bytesOf(simdA[name]).equals(bytesOf(simdB[name])), `${name}: SIMD128 run 1 != run 2`);
    assert.ok(bytesOf(scalarA[name]).equals(bytesOf(scalarB[name])), `${name}: scalar run 1 != run 2`);
    assert.ok(bytesOf(simdA[name]).equals(bytesOf(scalarA[name])), `${name}: SIMD128 != scalar`);
  }
  assert.equal(digest(simdA), digest(scalarA));
  // The seed is used: another seed gives other centroids.
  assert.ok(!bytesOf(simdA['kmeans random centroids']).equals(bytesOf(simdA['kmeans random, another seed'])));
});
