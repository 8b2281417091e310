// ONNX export of post-training quantized models (issue 4), checked by a peer runtime:
// onnxruntime-node (devDependency; this file never imports onnxruntime-web) runs the
// QOperator and QDQ .onnx files quantlab writes, and its outputs must equal quantlab's int8
// outputs exactly (fp32 requantization, ONNX's definition).
//
// Weights are quantized with reduceRange (7 bits, [-63, 63]) for the exactness checks: this
// machine's CPU has AVX2 without VNNI, where onnxruntime's u8s8 / s8s8 kernels multiply with
// vpmaddubsw, whose int16 pair sums saturate for full-range int8 weights (255 * 127 * 2 >
// 32767); with 7-bit weights every pair sum fits (255 * 63 * 2 < 32767) and the arithmetic
// is exact. Full-range weights are run too: exact with int8 activations (s8s8), and with
// uint8 activations the saturation shows (printed; top-1 agreement bounded).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import ort from 'onnxruntime-node';

import { load } from '../../wasm/quantlab.mjs';
import { mobileNetV2 } from '../models/mobilenetv2.mjs';

import { CALIB, calibration, modelBytes, models, TEST, testImages } from './demo-data.mjs';

async function ortRun(bytes, inputName, data, shape) {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
  try {
    const out = await session.run({ [inputName]: new ort.Tensor('float32', data, shape) });
    return out[session.outputNames[0]].data;
  } finally {
    await session.release();
  }
}

/** Elements that differ, the largest difference, and argmax agreement over rows of `cols`. */
function compare(a, b, cols) {
  assert.equal(a.length, b.length);
  let differ = 0;
  let maxDiff = 0;
  let agree = 0;
  for (let i = 0; i < a.length; ++i) {
    if (a[i] !== b[i]) {
      ++differ;
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    }
  }
  const rows = a.length / cols;
  for (let r = 0; r < rows; ++r) {
    let ba = 0;
    let bb = 0;
    for (let c = 1; c < cols; ++c) {
      if (a[r * cols + c] > a[r * cols + ba]) ba = c;
      if (b[r * cols + c] > b[r * cols + bb]) bb = c;
    }
    agree += ba === bb ? 1 : 0;
  }
  return { differ, maxDiff, agreement: (100 * agree) / rows };
}

// The tests below export the activations as quantized (int8 or uint8); the default export
// (uint8, re-expressed exactly) has its own test after them.
const AS_QUANTIZED = { activations: 'as-quantized' };
// u8s8 products are exact in onnxruntime where the CPU has VNNI (vpdpbusd); without it,
// AVX2's vpmaddubsw saturates int16 pair sums of full-range weights.
const vnni = /\b(avx512_vnni|avx_vnni)\b/.test((() => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
})());

/**
 * The claim q.exportChecks makes for this export must hold: 'exact' (and 'cpu-dependent'
 * where the CPU has VNNI) means no differing value. Returns the claim.
 */
function holdsClaim(q, form, activations, c, what) {
  const claim = q.exportChecks.find((e) => e.form === form && e.activations === activations);
  assert.ok(claim, `${what}: no export check for ${form} / ${activations}`);
  if (claim.exactness === 'exact' || (claim.exactness === 'cpu-dependent' && vnni)) {
    assert.equal(c.differ, 0, `${what} ${form} ${activations}: exportChecks says ${claim.exactness}, ` +
      `but ${c.differ} values differ (max ${c.maxDiff})`);
  }
  assert.equal(claim.exactness === 'exact', claim.reasons.length === 0, `${what}: ${JSON.stringify(claim)}`);
  return claim;
}

describe('ONNX export checked by onnxruntime-node', async () => {
  const ql = await load({ simd: true });
  const table = [];

  test('the default export (uint8 activations): onnxruntime equals quantlab exactly, both forms, full-range weights',
    async () => {
      for (const info of models.models) {
        const fp32 = ql.loadModel(modelBytes(info.name));
        for (const activations of ['int8', 'uint8']) {
          const q = ql.quantizeModel(fp32, calibration, [CALIB, 1, 28, 28], { activations, batchSize: 128 });
          const ours = q.model.run(testImages, [TEST, 1, 28, 28]).data;
          // quantlab's own runtime reads the re-expressed file to the same outputs.
          const again = ql.loadModel(q.toOnnx());
          assert.deepEqual(again.run(testImages, [TEST, 1, 28, 28]).data, ours);
          again.dispose();
          for (const form of ['qoperator', 'qdq']) {
            const theirs = await ortRun(q.toOnnx(form), info.input_name, testImages, [TEST, 1, 28, 28]);
            const c = compare(ours, theirs, 10);
            table.push({ model: info.name, activations: `${activations}->u8`, weights: '8-bit', form, ...c });
            const claim = holdsClaim(q, form, 'uint8', c, info.name);
            // Full-range weights on uint8: the one CPU-dependent case (AVX2 without VNNI).
            assert.equal(claim.exactness, 'cpu-dependent', JSON.stringify(claim));
            if (vnni) assert.equal(c.differ, 0, `${info.name} ${activations} ${form}: ${c.differ} logits differ (max ${c.maxDiff})`);
            else assert.ok(c.agreement >= 90, `${info.name} ${activations} ${form}: top-1 agreement ${c.agreement}%`);
          }
          q.dispose();
        }
        fp32.dispose();
      }
    });

  for (const info of models.models) {
    for (const activations of ['int8', 'uint8']) {
      test(`${info.name} (${activations} activations, 7-bit weights): onnxruntime equals quantlab exactly`,
        async () => {
          const fp32 = ql.loadModel(modelBytes(info.name));
          const q = ql.quantizeModel(fp32, calibration, [CALIB, 1, 28, 28],
            { activations, reduceRange: true });
          try {
            const ours = q.model.run(testImages, [TEST, 1, 28, 28]).data;
            for (const form of ['qoperator', 'qdq']) {
              const theirs = await ortRun(q.toOnnx(form, AS_QUANTIZED), info.input_name, testImages, [TEST, 1, 28, 28]);
              const c = compare(ours, theirs, 10);
              table.push({ model: info.name, activations, weights: '7-bit', form, ...c });
              const claim = holdsClaim(q, form, 'as-quantized', c, info.name);
              assert.equal(claim.exactness, form === 'qdq' && activations === 'int8' ? 'inexact' : 'exact',
                JSON.stringify(claim));
              if (form === 'qdq' && activations === 'int8') {
                // onnxruntime does not turn every int8-activation QDQ group back into the
                // integer operator: a handful of logits (about 0.05%) move by one output step.
                assert.ok(c.differ <= ours.length / 500, `${form}: ${c.differ} logits differ`);
                assert.ok(c.agreement >= 99.9, `${form}: top-1 agreement ${c.agreement}%`);
              } else {
                assert.equal(c.differ, 0, `${form}: ${c.differ} of ${ours.length} logits differ ` +
                  `(max ${c.maxDiff})`);
              }
            }
          } finally {
            q.dispose();
            fp32.dispose();
          }
        });
      test(`${info.name} (${activations} activations, full-range 8-bit weights): QOperator in onnxruntime`,
        async () => {
          const fp32 = ql.loadModel(modelBytes(info.name));
          const q = ql.quantizeModel(fp32, calibration, [CALIB, 1, 28, 28], { activations });
          try {
            const ours = q.model.run(testImages, [TEST, 1, 28, 28]).data;
            const theirs = await ortRun(q.toOnnx('qoperator', AS_QUANTIZED), info.input_name, testImages, [TEST, 1, 28, 28]);
            const c = compare(ours, theirs, 10);
            table.push({ model: info.name, activations, weights: '8-bit', form: 'qoperator', ...c });
            holdsClaim(q, 'qoperator', 'as-quantized', c, info.name);
            if (activations === 'int8') {
              // s8s8 on this machine: exact even with full-range weights.
              assert.equal(c.differ, 0, `${c.differ} logits differ (max ${c.maxDiff})`);
            } else {
              // u8s8 on AVX2 without VNNI: saturating int16 pair sums change many logits
              // (the reason for reduceRange); predictions mostly survive.
              assert.ok(c.agreement >= 90, `top-1 agreement ${c.agreement}%`);
            }
          } finally {
            q.dispose();
            fp32.dispose();
          }
        });
    }
  }

  test('MobileNetV2 (224x224, random weights, tests/models/mobilenetv2.mjs): exact in onnxruntime',
    async (t) => {
      // Written in JS (no Python): the graph torchvision exports after BatchNorm folding.
      const fp32 = ql.loadModel(mobileNetV2({ res: 224, seed: 1 }).bytes);
      // Calibration: 4 images of a fixed pseudo-random N(0, 1) (Box-Muller over an LCG).
      let seed = 12345;
      const uniform = () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed + 1) / 4294967297;
      };
      const images = (n) => {
        const x = new Float32Array(n * 3 * 224 * 224);
        for (let i = 0; i < x.length; ++i) {
          x[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
        }
        return x;
      };
      const calib = images(4);
      const held = images(2);
      for (const activations of ['int8', 'uint8']) {
        const q = ql.quantizeModel(fp32, calib, [4, 3, 224, 224],
          { activations, reduceRange: true, batchSize: 2 });
        try {
          const ops = q.model.layers().map((l) => l.opType);
          assert.equal(ops.filter((o) => o === 'QLinearConv').length, 53);  // 52 convs + classifier
          assert.equal(ops.filter((o) => o === 'QLinearAdd').length, 10);
          assert.ok(!ops.includes('Clip') && !ops.includes('Constant'));
          const ours = q.model.run(held, [2, 3, 224, 224]).data;
          const ref = fp32.run(held, [2, 3, 224, 224]).data;
          let s = 0;
          let e = 0;
          for (let i = 0; i < ref.length; ++i) {
            s += ref[i] * ref[i];
            e += (ref[i] - ours[i]) ** 2;
          }
          // A random-weight MobileNetV2 is chaotic: fp32 with 1% input noise (40 dB) already
          // gives only ~17 dB at the logits, so int8's ~12 dB is the expected amplification.
          const sqnr = 10 * Math.log10(s / e);
          t.diagnostic(`${activations}: int8 vs fp32 logits SQNR ${sqnr.toFixed(1)} dB`);
          assert.ok(sqnr > 6, `SQNR ${sqnr}`);
          for (const form of ['qoperator', 'qdq']) {
            const theirs = await ortRun(q.toOnnx(form, AS_QUANTIZED), 'input', held, [2, 3, 224, 224]);
            const c = compare(ours, theirs, 1000);
            table.push({ model: 'mobilenetv2', activations, weights: '7-bit', form, ...c });
            const claim = holdsClaim(q, form, 'as-quantized', c, 'mobilenetv2');
            assert.equal(claim.exactness, form === 'qdq' && activations === 'int8' ? 'inexact' : 'exact',
              JSON.stringify(claim));
            // onnxruntime turns uint8 QDQ groups back into exactly the QOperator arithmetic,
            // not all int8 ones (a few values move by a step, which this chaotic network
            // spreads to every logit): that case is reported, not asserted.
            if (form === 'qdq' && activations === 'int8') continue;
            // uint8 is exact too since QLinearAdd follows onnxruntime's x86-64 kernel (fused
            // multiply-adds): with ONNX's unfused formula 558 of 2,000 logits differed.
            assert.equal(c.differ, 0, `${form}: ${c.differ} of ${ours.length} logits differ (max ${c.maxDiff})`);
          }
          // int8 activations re-expressed as uint8 (the default export) pass 10 QLinearAdds:
          // the report says the export is not exact, and why.
          const theirs = await ortRun(q.toOnnx('qoperator'), 'input', held, [2, 3, 224, 224]);
          const c = compare(ours, theirs, 1000);
          table.push({ model: 'mobilenetv2', activations: `${activations}->u8`, weights: '7-bit', form: 'qoperator', ...c });
          const claim = holdsClaim(q, 'qoperator', 'uint8', c, 'mobilenetv2');
          if (activations === 'int8') {
            assert.equal(claim.exactness, 'inexact');
            assert.ok(claim.reasons.some((r) => r.includes('QLinearAdd')), JSON.stringify(claim));
          } else {
            assert.equal(claim.exactness, 'exact', JSON.stringify(claim));
          }
        } finally {
          q.dispose();
        }
      }
      fp32.dispose();
    });

  test('exportChecks: integer requantization is reported as not reproducible in onnxruntime', async () => {
    const info = models.models.find((m) => m.name === 'lenet5');
    const fp32 = ql.loadModel(modelBytes(info.name));
    const q = ql.quantizeModel(fp32, calibration, [CALIB, 1, 28, 28],
      { requantMode: 'fixed-point', reduceRange: true });
    try {
      const checks = q.exportChecks;
      assert.equal(checks.length, 4);
      for (const e of checks) {
        assert.equal(e.exactness, 'inexact', JSON.stringify(e));
        assert.ok(e.reasons[0].includes("requantMode 'fp32'"), e.reasons[0]);
      }
      const c = compare(q.model.run(testImages, [TEST, 1, 28, 28]).data,
        await ortRun(q.toOnnx('qoperator'), info.input_name, testImages, [TEST, 1, 28, 28]), 10);
      table.push({ model: info.name, activations: 'int8->u8', weights: '7-bit, fixed-point', form: 'qoperator', ...c });
    } finally {
      q.dispose();
      fp32.dispose();
    }
  });

  test('summary', () => {
    console.log('[export] onnxruntime-node vs quantlab int8 (fp32 requantization), 2,000 test images');
    for (const r of table) {
      console.log(`  ${r.model.padEnd(11)} ${r.activations.padEnd(5)} ${r.weights} ${r.form.padEnd(9)} ` +
        `differing logits ${r.differ}, max |diff| ${r.maxDiff.toPrecision(3)}, top-1 agreement ` +
        `${r.agreement.toFixed(2)}%`);
    }
  });
});
