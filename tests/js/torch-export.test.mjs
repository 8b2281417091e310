// Models exported by torch.onnx.export the usual way (issue 10): LeNet-5 and LeNet-300-100 with
// x.reshape(x.shape[0], -1) (Shape -> Gather -> Unsqueeze -> Concat -> Reshape), opsets 13 and
// 17, dynamic batch N (tests/fixtures/torch, made by tests/models/make_torch_exports.py; the
// references by tests/models/ref-outputs.mjs with onnxruntime-node). In both builds each file
// loads, matches onnxruntime within 1e-4 relative at batch 1 and 3, quantizes, and its int8
// export runs in onnxruntime-node with the results quantlab's int8 model gives.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import ort from 'onnxruntime-node';

import { load } from '../../wasm/quantlab.mjs';

import { sqnrDb } from './demo-data.mjs';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'torch');
const record = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));

/** max |a - b| / max |b|: the error relative to the output's scale. */
function relativeError(a, b) {
  assert.equal(a.length, b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; ++i) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

/** n calibration images, uniform in [0, 1) as the fixtures' inputs (torch.rand), from a
 *  seeded mulberry32 (an LCG's correlated neighbours would not span the same activations). */
function calibration(n) {
  let seed = 10;
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; ++i) {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    x[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return x;
}

async function ortRun(bytes, data, shape) {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3,
  });
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, shape) });
    return out[session.outputNames[0]].data;
  } finally {
    await session.release();
  }
}

const table = [];
const CALIB = 64;
const calib = calibration(CALIB);

for (const simd of [true, false]) {
  describe(`torch.onnx exports (${simd ? 'wasm-simd' : 'wasm-scalar'})`, async () => {
    const ql = await load({ simd });
    for (const [file, entry] of Object.entries(record.models)) {
      test(`${file}: loads with batch N, matches onnxruntime at batch 1 and 3, quantizes`, async () => {
        const model = ql.loadModel(readFileSync(join(dir, file)));
        try {
          const ops = model.layers().map((l) => l.opType);
          for (const op of ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']) {
            assert.ok(ops.includes(op), `${op} in ${ops.join(' ')}`);
          }
          let worst = 0;
          for (const [batch, values] of Object.entries(record.inputs)) {
            const shape = [Number(batch), 1, 28, 28];
            const out = model.run(Float32Array.from(values), shape);
            assert.deepEqual(out.shape, [Number(batch), 10]);
            const rel = relativeError(out.data, entry.onnxruntime[batch]);
            worst = Math.max(worst, rel);
            assert.ok(rel <= 1e-4, `batch ${batch}: relative error ${rel}`);
          }
          const q = ql.quantizeModel(model, calib, [CALIB, 1, 28, 28],
            { activations: 'int8', reduceRange: true });
          try {
            const x3 = Float32Array.from(record.inputs['3']);
            const ours = q.model.run(x3, [3, 1, 28, 28]).data;
            const theirs = await ortRun(q.toOnnx('qoperator'), x3, [3, 1, 28, 28]);
            let differ = 0;
            for (let i = 0; i < ours.length; ++i) differ += ours[i] === theirs[i] ? 0 : 1;
            const int8Sqnr = sqnrDb(entry.onnxruntime['3'], ours);
            table.push({ file, simd, worst, int8Sqnr, differ, n: ours.length });
            assert.equal(differ, 0, `${differ} of ${ours.length} int8 logits differ from onnxruntime`);
            assert.ok(int8Sqnr > 20, `int8 vs fp32 SQNR ${int8Sqnr} dB`);
          } finally {
            q.dispose();
          }
        } finally {
          model.dispose();
        }
      });
    }
  });
}

test('summary', () => {
  console.log('[torch-export] quantlab vs onnxruntime-node, batch 1 and 3');
  for (const r of table) {
    console.log(`  ${r.file.padEnd(22)} ${r.simd ? 'simd  ' : 'scalar'} fp32 max relative error ` +
      `${r.worst.toExponential(2)}, int8 (7-bit weights) vs fp32 SQNR ${r.int8Sqnr.toFixed(1)} dB, ` +
      `int8 logits differing from onnxruntime's int8 run ${r.differ} / ${r.n}`);
  }
});
