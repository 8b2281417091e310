// Calibration methods on the demo models (issue 11): each model quantized with min-max,
// percentile, MSE and KL activation ranges (512 calibration images), evaluated on the 2,000
// bundled test images: accuracy, top-1 agreement with fp32, and the logits' SQNR against fp32.
// KL must never mislead: its agreement stays within 0.5 point of min-max's, and a layer
// whose range KL's guard replaced says so in the report (rangeNote).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';

import { argmaxRows, CALIB, calibration, modelBytes, models, percentEqual, sqnrDb, TEST, testImages,
  testLabels } from './demo-data.mjs';

const METHODS = [{ method: 'minmax' }, { method: 'percentile', percentile: 99.99 }, { method: 'mse' }, { method: 'kl' }];
// A MobileNet-style depthwise-separable CNN (web/models/train.py --models dwsep), trained on
// the full Fashion-MNIST: per-channel and per-tensor weights, where depthwise layers suffer.
const DWSEP = {
  name: 'dwsep',
  bytes: new Uint8Array(readFileSync(new URL('../fixtures/dwsep/dwsep.onnx', import.meta.url))),
  variants: [...METHODS, ...METHODS.map((m) => ({ ...m, perChannel: false, key: `${m.method} per-tensor` }))],
};

describe('calibration methods on the demo models (SIMD128 build)', async () => {
  const ql = await load({ simd: true });
  const table = [];

  for (const info of [...models.models, DWSEP]) {
    test(`${info.name}: KL's int8 agreement with fp32 within 0.5 point of min-max's`, () => {
      const fp32 = ql.loadModel(info.bytes ?? modelBytes(info.name));
      const ref = fp32.run(testImages, [TEST, 1, 28, 28], { batchSize: 500 }).data;
      const refPred = argmaxRows(ref, TEST, 10);
      const rows = {};
      for (const options of info.variants ?? METHODS) {
        const q = ql.quantizeModel(fp32, calibration, [CALIB, 1, 28, 28], { batchSize: 128, ...options });
        const out = q.model.run(testImages, [TEST, 1, 28, 28], { batchSize: 500 }).data;
        const pred = argmaxRows(out, TEST, 10);
        const notes = q.report.filter((l) => l.rangeNote).map((l) => l.name);
        rows[options.key ?? options.method] = {
          accuracy: percentEqual(pred, testLabels), agreement: percentEqual(pred, refPred), sqnr: sqnrDb(ref, out), notes,
        };
        for (const l of q.report) {
          if (options.method !== 'kl') assert.equal(l.rangeNote, undefined, `${l.name}: ${options.method} has no guard`);
          else if (l.rangeNote) assert.match(l.rangeNote, /MSE-optimal range/);
        }
        q.dispose();
      }
      fp32.dispose();
      for (const [method, r] of Object.entries(rows)) {
        table.push(`${info.name.padEnd(9)} ${method.padEnd(10)} accuracy ${r.accuracy.toFixed(2)}%  agreement ` +
          `${r.agreement.toFixed(2)}%  SQNR ${r.sqnr.toFixed(1)} dB${r.notes.length ? `  (KL guard: ${r.notes.join(', ')})` : ''}`);
      }
      for (const suffix of info.variants ? ['', ' per-tensor'] : ['']) {
        const kl = rows[`kl${suffix}`];
        const mm = rows[`minmax${suffix}`];
        assert.ok(kl.agreement >= mm.agreement - 0.5, `KL${suffix} agreement ${kl.agreement}% against min-max ${mm.agreement}%`);
        assert.ok(kl.sqnr >= mm.sqnr - 13, `KL${suffix} SQNR ${kl.sqnr} dB against ${mm.sqnr} dB`);
      }
    });
  }

  test('the table', () => {
    for (const line of table) console.log(`# ${line}`);
    assert.equal(table.length, models.models.length * METHODS.length + DWSEP.variants.length);
  });
});
