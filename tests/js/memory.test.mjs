// Tensor memory from JS (issue 18): a budget set at load, a model over it refused with
// RESOURCE_EXHAUSTED naming the cause, and the instance keeps computing right afterwards.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { load, QuantlabError } from '../../wasm/quantlab.mjs';
import { graphModel } from '../models/onnx-encode.mjs';

/** MatMul of zero-element initializers [m, 0] x [0, n], folded at load into an m x n constant:
 * issue 18's 82-byte file with m = 32768, n = 16384 (2 GiB). */
function foldedMatMul(m, n) {
  return graphModel({
    name: 'folded', opset: 13,
    nodes: [{ op: 'MatMul', name: 'mm', inputs: ['a', 'b'], outputs: ['y'] }],
    initializers: [
      { name: 'a', dtype: 'float32', dims: [m, 0], data: new Float32Array(0) },
      { name: 'b', dtype: 'float32', dims: [0, n], data: new Float32Array(0) },
    ],
    inputs: [],
    outputs: [{ name: 'y', dtype: 'float32', dims: [m, n] }],
  });
}

for (const simd of [true, false]) {
  describe(`tensor memory (${simd ? 'SIMD128' : 'scalar'})`, () => {
    test('a folded constant over the budget is RESOURCE_EXHAUSTED; the next calls are right', async () => {
      const ql = await load({ simd, maxMemory: 256 << 20 });
      assert.equal(ql.memoryUsage().budget, 256 << 20);
      const bytes = foldedMatMul(32768, 16384);
      assert.ok(bytes.length < 200, `${bytes.length} bytes`);
      assert.throws(() => ql.loadModel(bytes), (e) => e instanceof QuantlabError &&
        e.code === 'RESOURCE_EXHAUSTED' && /budget/.test(e.message));
      const p = ql.paramsFromRange(-1.08, 2.12, { bits: 2 });
      assert.ok(Math.abs(p.scale - 1.0667) < 1e-4);
      assert.equal(p.zeroPoint, -1);
      const small = ql.loadModel(foldedMatMul(4, 3));
      const [y] = small.runAll([]);
      small.dispose();
      assert.deepEqual(y.shape, [4, 3]);
      assert.ok(y.data.every((v) => v === 0));
    });

    test('the default budget refuses the 2 GiB constant too, without corrupting the heap', async () => {
      const ql = await load({ simd });
      assert.throws(() => ql.loadModel(foldedMatMul(32768, 16384)), (e) => e instanceof QuantlabError &&
        (e.code === 'RESOURCE_EXHAUSTED' || e.code === 'TOO_LARGE'));
      const p = ql.paramsFromRange(-1, 1, { bits: 8 });
      assert.ok(Number.isFinite(p.scale) && p.scale > 0);
      await assert.rejects(load({ maxMemory: -1 }), (e) => e instanceof QuantlabError &&
        e.code === 'INVALID_ARGUMENT');
    });
  });
}
