// JS API, models: load the demo ONNX models from bytes, list their layers, run fp32 on the
// 2,000-image Fashion-MNIST subset (predictions must match PyTorch's .pred.u8), and errors as
// QuantlabError that leave the module usable. Both builds (SIMD128 and scalar).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { load, Model, QuantlabError } from '../../wasm/quantlab.mjs';
import { argmaxRows, normalized } from './demo-data.mjs';

const root = new URL('../../', import.meta.url);
const models = JSON.parse(readFileSync(new URL('web/models/models.json', root)));
const images = readFileSync(new URL('web/data/fashion-test-2000.images.u8', root));
const labels = readFileSync(new URL('web/data/fashion-test-2000.labels.u8', root));
const COUNT = 2000;
const PIXELS = 28 * 28;

const input = normalized(images, COUNT);

function modelBytes(name) {
  return new Uint8Array(readFileSync(new URL(`web/models/${name}.onnx`, root)));
}

const ONNX_TESTS = '/usr/share/libonnx-testdata/data/node';

for (const simd of [true, false]) {
  describe(`models, ${simd ? 'SIMD128' : 'scalar'} build`, async () => {
    const ql = await load({ simd });

    for (const info of models.models) {
      test(`${info.name}: layers, parameters, and PyTorch's predictions on 2,000 images`, () => {
        const model = ql.loadModel(modelBytes(info.name));
        assert.ok(model instanceof Model);
        try {
          assert.deepEqual(model.inputs.map((v) => [v.name, v.dtype, v.shape]),
            [[info.input_name, 'float32', ['N', 1, 28, 28]]]);
          assert.deepEqual(model.outputs.map((v) => [v.name, v.shape]),
            [[info.output_name, ['N', 10]]]);
          assert.equal(model.opset, info.onnx.opset);
          const layers = model.layers();
          const counts = {};
          for (const l of layers) counts[l.opType] = (counts[l.opType] ?? 0) + 1;
          assert.deepEqual(counts, info.onnx.op_counts);
          // Every weight is an initializer read by exactly one node. PyTorch's count leaves
          // out BatchNorm's running mean and variance (buffers, not parameters); ONNX has them.
          const bnStats = layers.filter((l) => l.opType === 'BatchNormalization')
            .reduce((a, l) => a + 2 * l.inputs[3].shape[0], 0);
          const total = info.parameters + bnStats;
          assert.equal(layers.reduce((a, l) => a + l.parameters, 0), total);
          assert.equal(layers.reduce((a, l) => a + l.bytes, 0), 4 * total);
          const last = layers[layers.length - 1];
          assert.equal(last.opType, 'Gemm');
          assert.deepEqual(last.outputs[0].shape, ['N', 10]);
          assert.ok(layers.every((l) => typeof l.name === 'string' && l.name.length > 0));

          const progress = [];
          const out = model.run(input, [COUNT, 1, 28, 28], {
            batchSize: 500,
            onProgress: (p) => progress.push(p),
          });
          assert.ok(out.data instanceof Float32Array);
          assert.deepEqual(out.shape, [COUNT, 10]);
          assert.deepEqual(progress.map((p) => [p.stage, p.done, p.total]),
            [['batch', 500, 2000], ['batch', 1000, 2000], ['batch', 1500, 2000],
              ['batch', 2000, 2000]]);
          const pred = argmaxRows(out.data, COUNT, 10);
          const torch = readFileSync(new URL(`web/models/${info.name}.pred.u8`, root));
          let same = 0;
          let correct = 0;
          for (let i = 0; i < COUNT; ++i) {
            same += pred[i] === torch[i] ? 1 : 0;
            correct += pred[i] === labels[i] ? 1 : 0;
          }
          assert.ok(same >= 0.999 * COUNT, `${info.name}: ${same} / ${COUNT} agree with PyTorch`);
          assert.ok(correct / COUNT > 0.85, `${info.name}: accuracy ${correct / COUNT}`);
          // (A copy: a Buffer may sit at any offset of Node's shared pool.)
          const logits100 = new Float32Array(new Uint8Array(
            readFileSync(new URL(`web/models/${info.name}.logits100.f32`, root))).buffer);
          for (let i = 0; i < 1000; ++i) {
            assert.ok(Math.abs(out.data[i] - logits100[i]) <= 1e-4,
              `${info.name} logit ${i}: ${out.data[i]} vs ${logits100[i]}`);
          }
          // The same batch in one run gives the same logits, and per-node progress.
          const nodes = [];
          const whole = model.run(input.subarray(0, 7 * PIXELS), [7, 1, 28, 28],
            { onProgress: (p) => nodes.push(p) });
          assert.deepEqual(whole.data, out.data.subarray(0, 70));
          assert.equal(nodes.length, layers.filter((l) => !l.folded && !l.fused).length);
          // Each Relu right after a Conv / Gemm runs inside it (cnn_bn's follow BatchNorm).
          assert.deepEqual(layers.map((l) => l.fused), layers.map((l, i) => l.opType === 'Relu' &&
            i > 0 && ['Conv', 'Gemm'].includes(layers[i - 1].opType)));
          assert.ok(nodes.every((p, i) => p.stage === 'run' && p.done === i + 1 &&
            p.total === nodes.length));
        } finally {
          model.dispose();
        }
        assert.equal(model.disposed, true);
        model.dispose();  // twice is harmless
      });
    }

    test('errors are QuantlabError with the node and problem, and the module stays usable', () => {
      const expectError = (fn, code, ...mentions) => {
        assert.throws(fn, (e) => {
          assert.ok(e instanceof QuantlabError, String(e));
          assert.equal(e.code, code, e.message);
          for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" lacks "${m}"`);
          return true;
        });
      };
      const bytes = modelBytes('lenet5');
      expectError(() => ql.loadModel(new Uint8Array([1, 2, 3, 4, 5])), 'MALFORMED');
      expectError(() => ql.loadModel(bytes.subarray(0, bytes.length >> 1)), 'MALFORMED');
      expectError(() => ql.loadModel('lenet5.onnx'), 'INVALID_ARGUMENT');
      expectError(() => ql.loadModel(bytes, { requantMode: 'float64' }), 'INVALID_ARGUMENT');
      if (existsSync(`${ONNX_TESTS}/test_det_2d/model.onnx`)) {
        expectError(() => ql.loadModel(new Uint8Array(
          readFileSync(`${ONNX_TESTS}/test_det_2d/model.onnx`))), 'UNSUPPORTED', 'Det');
      }

      const model = ql.loadModel(bytes);
      const x = input.subarray(0, 2 * PIXELS);
      expectError(() => model.run(x, [2, 1, 28, 29]), 'SHAPE_MISMATCH', 'input');
      expectError(() => model.run(x, [2, 1, 28, 28, 1]), 'SHAPE_MISMATCH', "'input'", '[N, 1, 28, 28]');
      expectError(() => model.run(new Float64Array(2 * PIXELS), [2, 1, 28, 28]), 'INVALID_ARGUMENT');
      expectError(() => model.run(new Uint8Array(2 * PIXELS), [2, 1, 28, 28]), 'INVALID_ARGUMENT',
        'float32');
      expectError(() => model.run(x, [2, -1, 28, 28]), 'INVALID_ARGUMENT');
      expectError(() => model.run(x, [2 ** 32, 1, 28, 28]), 'SHAPE_MISMATCH');
      // A progress callback that throws: its error surfaces, nothing breaks.
      assert.throws(() => model.run(x, [2, 1, 28, 28], {
        onProgress: () => { throw new Error('stop'); },
      }), /stop/);
      // Still usable: the same model, and the rest of the API.
      const ok = model.run(x, [2, 1, 28, 28]);
      assert.deepEqual(ok.shape, [2, 10]);
      assert.deepEqual(ql.integerRange({ bits: 8 }), { qMin: -128, qMax: 127 });
      model.dispose();
      expectError(() => model.run(x, [2, 1, 28, 28]), 'INVALID_ARGUMENT', 'disposed');
      const again = ql.loadModel(bytes);
      assert.deepEqual(again.run(x, [2, 1, 28, 28]).data, ok.data);
      again.dispose();
    });

    test('supported operators', () => {
      const ops = ql.supportedOperators();
      const names = new Set(ops.map((o) => (o.domain ? `${o.domain}.` : '') + o.opType));
      for (const n of ['Conv', 'Gemm', 'MatMul', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger',
        'ConvInteger', 'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear',
        'BatchNormalization', 'com.microsoft.QLinearAdd']) {
        assert.ok(names.has(n), n);
      }
      assert.deepEqual(ops.find((o) => o.opType === 'Conv').versions, [1, 11]);
    });
  });
}
