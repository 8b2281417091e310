// Layer control of post-training quantization through the JS API (issue 11): per-layer
// weight bits, the calibration table handed back as given ranges (the same model, bit for
// bit), the sensitivity report and the mixed-precision search on LeNet-5 with labels, and
// clear errors for bad options. Prints the sensitivity table and the mixed-precision result.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';

import { argmaxRows, CALIB, calibration, modelBytes, percentEqual, sqnrDb, TEST, testImages,
  testLabels } from './demo-data.mjs';
import { readFileSync } from 'node:fs';

const trainLabels = new Int32Array(readFileSync(new URL('../../web/data/fashion-train-6000.labels.u8', import.meta.url)).subarray(0, CALIB));
const shape = [CALIB, 1, 28, 28];

describe('PTQ layer control (SIMD128 build)', async () => {
  const ql = await load({ simd: true });
  const fp32 = ql.loadModel(modelBytes('lenet5'));
  const ref = fp32.run(testImages, [TEST, 1, 28, 28], { batchSize: 500 }).data;

  test('per-layer weight bits: the report and the int8 weights follow', () => {
    const base = ql.quantizeModel(fp32, calibration, shape, { batchSize: 128 });
    const conv1 = base.report[0].name;
    const q = ql.quantizeModel(fp32, calibration, shape, {
      batchSize: 128, layers: [{ node: conv1, weightBits: 3, weights: 'per-tensor' }],
    });
    assert.equal(q.report[0].weightBits, 3);
    assert.equal(q.report[0].perChannel, false);
    assert.equal(q.report[0].weightScales.length, 1);
    assert.deepEqual(q.report.slice(1).map((l) => l.weightBits), [8, 8, 8, 8]);
    assert.ok(q.report[0].sqnrDb < base.report[0].sqnrDb - 15, `${q.report[0].sqnrDb} vs ${base.report[0].sqnrDb}`);
    assert.throws(() => ql.quantizeModel(fp32, calibration, shape, { layers: [{ node: 'nope', weightBits: 4 }] }),
      (e) => e.code === 'INVALID_ARGUMENT' && e.message.includes("'nope' is not a quantized layer") && e.message.includes(conv1));
    assert.throws(() => ql.quantizeModel(fp32, calibration, shape, { weightBits: 12 }),
      (e) => e.code === 'INVALID_ARGUMENT' && /weightBits must be 2..8/.test(e.message));
    assert.throws(() => ql.quantizeModel(fp32, calibration, shape, { layers: [{ node: conv1, weights: 'per-row' }] }),
      (e) => e.code === 'INVALID_ARGUMENT' && /weight granularity/.test(e.message));
    q.dispose();
    base.dispose();
  });

  test('the calibration table handed back as ranges reproduces the model bit for bit', () => {
    const q = ql.quantizeModel(fp32, calibration, shape, { batchSize: 128, method: 'percentile', percentile: 99.9 });
    const table = q.ranges;
    assert.ok(table.length >= 6);
    assert.ok(table.every((r) => !r.given && r.scale > 0));
    // As an object {name: {scale, zeroPoint}}, calibrated on other data with another method.
    const given = Object.fromEntries(table.map((r) => [r.value, { scale: r.scale, zeroPoint: r.zeroPoint }]));
    const other = calibration.subarray(0, 32 * 784);
    const again = ql.quantizeModel(fp32, other, [32, 1, 28, 28], { ranges: given });
    assert.deepEqual(again.toOnnx(), q.toOnnx());
    assert.ok(again.ranges.every((r) => r.given));
    // [min, max] form: the input's S and Z follow from the range.
    const input = fp32.inputs[0].name;
    const r = ql.quantizeModel(fp32, calibration, shape, { ranges: { [input]: [-1.08, 2.12] } });
    const p = ql.paramsFromRange(-1.08, 2.12);
    assert.equal(r.report[0].inputScale, p.scale);
    assert.equal(r.report[0].inputZeroPoint, p.zeroPoint);
    assert.throws(() => ql.quantizeModel(fp32, calibration, shape, { ranges: { nothing: [0, 1] } }),
      (e) => e.code === 'INVALID_ARGUMENT' && e.message.includes("no value 'nothing'"));
    assert.throws(() => ql.quantizeModel(fp32, calibration, shape, { ranges: { [input]: [0, 1, 2] } }),
      (e) => e.code === 'INVALID_ARGUMENT' && e.message.includes('[min, max]'));
    for (const m of [q, again, r]) m.dispose();
  });

  test('sensitivity report: which layer hurts, at 8, 4 and 2 bits', () => {
    const s = ql.quantizationSensitivity(fp32, calibration, shape, { bits: [8, 4, 2], labels: trainLabels, evalSamples: 512 });
    assert.equal(s.layers.length, 5);
    assert.equal(s.samples, 512);
    console.log(`# LeNet-5 sensitivity (512 training images; fp32 accuracy ${(100 * s.fp32Accuracy).toFixed(2)}%, ` +
      `all int8 ${(100 * s.allAccuracy).toFixed(2)}%, output SQNR ${s.allSqnrDb.toFixed(1)} dB)`);
    console.log('# layer        weights  SQNR@8  SQNR@4  SQNR@2   acc@8   acc@4   acc@2  accumulated');
    for (const l of s.layers) {
      console.log(`# ${l.name.padEnd(12)} ${String(l.weights).padStart(7)} ${[...l.sqnrDb].map((v) => v.toFixed(1).padStart(7)).join('')} ` +
        `${[...l.accuracy].map((v) => (100 * v).toFixed(1).padStart(7)).join(' ')}  ${l.accumulatedSqnrDb.toFixed(1).padStart(6)}`);
      assert.ok(l.sqnrDb[0] > l.sqnrDb[1] && l.sqnrDb[1] > l.sqnrDb[2], `${l.name}: ${l.sqnrDb}`);
      assert.ok(l.accuracy[0] >= s.fp32Accuracy - 0.01);
    }
    // About 6 dB a bit for the weights' share of the error (less: the layer's 8-bit
    // activations add their own).
    for (const l of s.layers) {
      const drop = l.sqnrDb[0] - l.sqnrDb[1];
      assert.ok(drop > 10 && drop < 30, `${l.name}: 8 -> 4 bits costs ${drop.toFixed(1)} dB`);
    }
  });

  test('mixed precision within 1 point of accuracy: smaller than int8, measured on the test set', () => {
    const r = ql.mixedPrecision(fp32, calibration, shape, { maxAccuracyDrop: 1, bits: [8, 6, 4, 3], labels: trainLabels, evalSamples: 512 });
    assert.ok(r.accuracy >= r.sensitivity.fp32Accuracy - 0.01 - 1e-9);
    assert.ok(r.weightBits < r.int8WeightBits / 2, `${r.weightBits} of ${r.int8WeightBits}`);
    const q = ql.quantizeModel(fp32, calibration, shape, { batchSize: 128, layers: r.layers });
    const out = q.model.run(testImages, [TEST, 1, 28, 28], { batchSize: 500 }).data;
    const acc = percentEqual(argmaxRows(out, TEST, 10), testLabels);
    const acc32 = percentEqual(argmaxRows(ref, TEST, 10), testLabels);
    const base = ql.quantizeModel(fp32, calibration, shape, { batchSize: 128 });
    const acc8 = percentEqual(argmaxRows(base.model.run(testImages, [TEST, 1, 28, 28], { batchSize: 500 }).data, TEST, 10), testLabels);
    console.log(`# mixed precision (budget 1 point on 512 training images, ${r.measured} models measured): ` +
      r.layers.map((l) => `${l.node} ${l.weightBits}`).join(', '));
    console.log(`# weights ${(r.weightBits / 8 / 1024).toFixed(1)} KiB against ${(r.int8WeightBits / 8 / 1024).toFixed(1)} KiB at int8 ` +
      `(${(r.int8WeightBits / r.weightBits).toFixed(2)}x smaller); test accuracy fp32 ${acc32.toFixed(2)}%, int8 ${acc8.toFixed(2)}%, ` +
      `mixed ${acc.toFixed(2)}%, SQNR ${sqnrDb(ref, out).toFixed(1)} dB`);
    // The budget holds on the images it was measured on; on unseen images within 2 points.
    assert.ok(acc >= acc32 - 2, `mixed ${acc}% against fp32 ${acc32}% on the test set`);
    q.dispose();
    base.dispose();
  });
});
