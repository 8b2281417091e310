// Models exported by torch.onnx.export the usual way (issue 10): LeNet-5 and LeNet-300-100 with
// x.reshape(x.shape[0], -1) (Shape -> Gather -> Unsqueeze -> Concat -> Reshape), and torchvision's
// SqueezeNet 1.1 (Concat), ShuffleNetV2 (Split, channel shuffle), MobileNetV2, ResNet-18, a
// U-Net (ConvTranspose, Resize), MobileNetV3-Small, EfficientNet-B0, a keyword-spotting CNN, a
// transformer encoder, an LSTM keyword spotter and a bidirectional GRU at reduced width; opsets 13 and 17, dynamic batch N
// (tests/fixtures/torch, made by tests/models/make_torch_exports.py; the references by
// tests/models/ref-outputs.mjs with onnxruntime-node). In both builds each file loads, matches
// onnxruntime within 1e-4 relative at batch 1 and 3, quantizes, and its int8 export runs in
// onnxruntime-node with the results quantlab's int8 model gives.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import ort from 'onnxruntime-node';

import { load } from '../../wasm/quantlab.mjs';

import { fixedInput, inputShape, uniform } from '../models/torch-inputs.mjs';

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

/** Operators each architecture must show after loading (the export patterns under test). */
const expectedOps = {
  lenet5: ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape'],
  lenet300: ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape'],
  squeezenet11: ['Concat', 'MaxPool', 'GlobalAveragePool'],
  shufflenetv2: ['Split', 'Transpose', 'Reshape', 'Concat'],
  mobilenetv2: ['Add', 'GlobalAveragePool'],
  resnet18: ['Add', 'Reshape'],
  unet: ['ConvTranspose', 'Resize', 'Concat'],
  mobilenetv3: ['HardSigmoid', 'Mul', 'GlobalAveragePool'],
  efficientnet_b0: ['Sigmoid', 'Mul', 'GlobalAveragePool'],
  kws_cnn: ['MaxPool', 'GlobalAveragePool'],
  transformer: ['MatMul', 'Softmax', 'Erf', 'Gather', 'Transpose'],
  kws_lstm: ['LSTM', 'ConstantOfShape', 'Slice'],
  vad_gru: ['GRU', 'Sigmoid'],
};

/** Architectures whose outputs come from fp32 layers after the last quantized one: SqueezeNet's
 *  averaging (DequantizeLinear -> GlobalAveragePool), where the int8 part is identical and the
 *  fp32 sum may round differently; the GRU detector, which PTQ leaves all fp32 (its GRU and its
 *  per-frame MatMul are not quantized), so the export is its fp32 graph and differs from
 *  onnxruntime's by fp32 rounding only. */
const fp32Tail = new Set(['squeezenet11', 'vad_gru']);

/** n calibration samples of `shape`, uniform in [0, 1) as the fixtures' inputs (torch.rand),
 *  from a seeded mulberry32 (an LCG's correlated neighbours would not span the same
 *  activations). */
function calibration(shape) {
  return uniform(shape.reduce((a, b) => a * b, 1), 10);
}

/** Fastest of `runs` calls of f after a warm-up (ms): the machine may be shared, and the
 *  minimum is the least disturbed estimate. */
async function timeIt(f, runs = 10) {
  await f();
  let best = Infinity;
  for (let i = 0; i < runs; ++i) {
    const t0 = performance.now();
    await f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

async function ortSession(bytes) {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3,
  });
}

async function ortRun(bytes, data, shape, timing) {
  const session = await ortSession(bytes);
  try {
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };
    const out = await session.run(feeds);
    if (timing) timing.ms = await timeIt(() => session.run(feeds));
    return out[session.outputNames[0]].data;
  } finally {
    await session.release();
  }
}

const table = [];

for (const simd of [true, false]) {
  describe(`torch.onnx exports (${simd ? 'wasm-simd' : 'wasm-scalar'})`, async () => {
    const ql = await load({ simd });
    for (const [file, entry] of Object.entries(record.models)) {
      const arch = file.replace(/_opset\d+\.onnx$/, '');
      // LeNet: 64 calibration images as before; the larger inputs: 8 (the test's runtime).
      const nCalib = entry.input_shape ? 8 : 64;
      // Timings once per architecture, in the SIMD build (opset 13 files).
      const timed = simd && file.includes('opset13');
      test(`${file}: loads with batch N, matches onnxruntime at batch 1 and 3, quantizes`, async () => {
        const bytes = readFileSync(join(dir, file));
        const model = ql.loadModel(bytes);
        try {
          const ops = model.layers().map((l) => l.opType);
          for (const op of expectedOps[arch]) {
            assert.ok(ops.includes(op), `${op} in ${ops.join(' ')}`);
          }
          let worst = 0;
          for (const batch of [1, 3]) {
            const shape = inputShape(record, entry, batch);
            const out = model.run(fixedInput(record, entry, batch), shape);
            assert.equal(out.shape[0], batch);
            const rel = relativeError(out.data, entry.onnxruntime[batch]);
            worst = Math.max(worst, rel);
            assert.ok(rel <= 1e-4, `batch ${batch}: relative error ${rel}`);
          }
          const calibShape = inputShape(record, entry, nCalib);
          const q = ql.quantizeModel(model, calibration(calibShape), calibShape,
            { activations: 'int8', reduceRange: true });
          try {
            const x3 = fixedInput(record, entry, 3);
            const shape3 = inputShape(record, entry, 3);
            const ours = q.model.run(x3, shape3).data;
            const int8Bytes = q.toOnnx('qoperator');
            const theirs = await ortRun(int8Bytes, x3, shape3);
            let differ = 0;
            let tail = 0;
            let scale = 0;
            for (let i = 0; i < ours.length; ++i) {
              differ += ours[i] === theirs[i] ? 0 : 1;
              tail = Math.max(tail, Math.abs(ours[i] - theirs[i]));
              scale = Math.max(scale, Math.abs(theirs[i]));
            }
            const int8Sqnr = sqnrDb(entry.onnxruntime['3'], ours);
            const row = { file, simd, worst, int8Sqnr, differ, n: ours.length, params: entry.parameters,
              kb: bytes.length / 1024 };
            if (timed) {
              const x1 = fixedInput(record, entry, 1);
              const shape1 = inputShape(record, entry, 1);
              row.fp32Ms = await timeIt(() => model.run(x1, shape1));
              row.int8Ms = await timeIt(() => q.model.run(x1, shape1));
              const f = {};
              const i8 = {};
              await ortRun(bytes, x1, shape1, f);
              await ortRun(int8Bytes, x1, shape1, i8);
              row.ortFp32Ms = f.ms;
              row.ortInt8Ms = i8.ms;
            }
            table.push(row);
            if (fp32Tail.has(arch)) {
              assert.ok(tail <= 1e-6 * scale, `int8 outputs differ from onnxruntime's by ${tail} after the fp32 tail`);
            } else {
              assert.equal(differ, 0, `${differ} of ${ours.length} int8 outputs differ from onnxruntime`);
            }
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
    console.log(`  ${r.file.padEnd(26)} ${r.simd ? 'simd  ' : 'scalar'} fp32 max relative error ` +
      `${r.worst.toExponential(2)}, int8 (7-bit weights) vs fp32 SQNR ${r.int8Sqnr.toFixed(1)} dB, ` +
      `int8 outputs differing from onnxruntime's int8 run ${r.differ} / ${r.n}`);
  }
  console.log('[torch-export] fixture table (batch 1, ms per run: quantlab wasm-simd in Node vs ' +
    'onnxruntime-node CPU, 1 thread)');
  console.log('  model           params    KB  max rel err  int8 SQNR  fp32 ms (ort)    int8 ms (ort)');
  for (const r of table.filter((t) => t.fp32Ms !== undefined)) {
    console.log(`  ${r.file.replace('_opset13.onnx', '').padEnd(14)} ${String(r.params).padStart(7)} ` +
      `${r.kb.toFixed(0).padStart(5)}  ${r.worst.toExponential(2).padStart(11)}  ` +
      `${r.int8Sqnr.toFixed(1).padStart(7)} dB  ${r.fp32Ms.toFixed(2).padStart(6)} (${r.ortFp32Ms.toFixed(2)})` +
      `  ${r.int8Ms.toFixed(2).padStart(7)} (${r.ortInt8Ms.toFixed(2)})`);
  }
});
