// Numbers at the JS -> wasm boundary (issue 18): every value is checked before it crosses,
// so nothing is wrapped, truncated or read as zero. Each row: the call, what it did before
// the checks (for the record), and the code it must throw now.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { load, QuantlabError } from '../../wasm/quantlab.mjs';
import { graphModel } from '../models/onnx-encode.mjs';

const CASES = [
  ['dequantize([1.7])', 'read q = 1', (ql) => ql.dequantize([1.7], params), 'INVALID_ARGUMENT'],
  ['dequantize([NaN])', 'returned 0', (ql) => ql.dequantize([NaN], params), 'INVALID_ARGUMENT'],
  ['dequantize([2**31])', 'wrapped to -2^31', (ql) => ql.dequantize([2 ** 31], params), 'INVALID_ARGUMENT'],
  ['createQGemm int8 weight 200', 'computed with -56',
    (ql) => ql.createQGemm({ weights: [200, 1, 2, 3], n: 2, k: 2, weightScales: [1], inputScale: 1, output: { scale: 1 } }),
    'INVALID_ARGUMENT'],
  ['createQGemm weights as a Uint8Array of 200', 'computed with -56',
    (ql) => ql.createQGemm({ weights: new Uint8Array([200, 1, 2, 3]), n: 2, k: 2, weightScales: [1], inputScale: 1, output: { scale: 1 } }),
    'INVALID_ARGUMENT'],
  ['kMeansQuantize(w, 2**32 + 3)', 'ran with 3 bits',
    (ql) => ql.kMeansQuantize(new Float32Array([0, 1, 2, 3]), 2 ** 32 + 3), 'INVALID_ARGUMENT'],
  ['kMeansQuantize(w, 2.5)', 'ran with 2 bits',
    (ql) => ql.kMeansQuantize(new Float32Array([0, 1, 2, 3]), 2.5), 'INVALID_ARGUMENT'],
  ['huffmanCode([Infinity, 1])', 'left the most frequent symbol without a codeword',
    (ql) => ql.huffmanCode([Infinity, 1]), 'INVALID_ARGUMENT'],
  ['huffmanCode([-1, 1, 1])', 'counted -1 as 0', (ql) => ql.huffmanCode([-1, 1, 1]), 'INVALID_ARGUMENT'],
  ['huffmanCode([NaN, 1])', 'counted NaN as 0', (ql) => ql.huffmanCode([NaN, 1]), 'INVALID_ARGUMENT'],
  ['canonicalCode([1, 300])', 'wrapped 300 to 44', (ql) => ql.canonicalCode([1, 300]), 'INVALID_ARGUMENT'],
  ['code.decode(bytes, 2**33)', 'wrapped the count', (ql) => ql.canonicalCode([1, 1]).decode(new Uint8Array(1), 2 ** 33),
    'MALFORMED'],
  ['code.benchmarkDecode(oneByte, 1e9)', 'allocated 2 GB, then said MALFORMED (1.1e9: aborted)',
    (ql) => ql.canonicalCode([1, 1]).benchmarkDecode(new Uint8Array(1), 1.1e9), 'MALFORMED'],
  ['code.decode(bytes, 1.5)', 'truncated the count', (ql) => ql.canonicalCode([1, 1]).decode(new Uint8Array(1), 1.5),
    'INVALID_ARGUMENT'],
  ['codebookStorageBytes(-1, 4)', 'wrapped to 2^32 - 1', (ql) => ql.codebookStorageBytes(-1, 4), 'INVALID_ARGUMENT'],
];

/** x [N, 4] -> Relu -> y, and c = a + b, a constant [2, 2] that does not follow the batch. */
function constantOutputModel() {
  return graphModel({
    name: 'const-out', opset: 13,
    nodes: [
      { op: 'Relu', name: 'relu', inputs: ['x'], outputs: ['y'] },
      { op: 'Add', name: 'add', inputs: ['a', 'b'], outputs: ['c'] },
    ],
    initializers: [
      { name: 'a', dtype: 'float32', dims: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'b', dtype: 'float32', dims: [2, 2], data: new Float32Array([1, 1, 1, 1]) },
    ],
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 4] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: ['N', 4] }, { name: 'c', dtype: 'float32', dims: [2, 2] }],
  });
}

let params;  // S = 0.5, Z = 0 (set per test from the core)

for (const simd of [true, false]) {
  describe(`JS boundary (${simd ? 'SIMD128' : 'scalar'})`, () => {
    for (const [name, before, fn, code] of CASES) {
      test(`${name} is ${code} (before: ${before})`, async () => {
        const ql = await load({ simd });
        // The call would be valid but for the one value under test.
        params = ql.paramsFromRange(-64, 63.5, { bits: 8 });
        assert.throws(() => fn(ql), (e) => e instanceof QuantlabError && e.code === code,
          `${name} should throw ${code}`);
        // The instance keeps working: the lecture's example.
        const p = ql.paramsFromRange(-1.08, 2.12, { bits: 2 });
        assert.equal(p.zeroPoint, -1);
      });
    }

    test('the accepted forms still work: integers in range, typed arrays of the right type', async () => {
      const ql = await load({ simd });
      params = ql.paramsFromRange(-64, 63.5, { bits: 8 });
      assert.equal(params.scale, 0.5);
      assert.equal(params.zeroPoint, 0);
      assert.deepEqual(Array.from(ql.dequantize([1, -2], params)), [0.5, -1]);
      assert.deepEqual(Array.from(ql.dequantize(new Int8Array([3]), params)), [1.5]);
      assert.equal(ql.codebookStorageBytes(16, 2), 20);  // the lecture's 4 x 4 example: 4 B + 16 B
    });

    test('codebookStorageBytes(2**33, 4) is 2^32 + 64, computed in 64 bits (before: 64)', async () => {
      const ql = await load({ simd });
      assert.equal(ql.codebookStorageBytes(2 ** 33, 4), 2 ** 32 + 64);
      assert.equal(ql.codebookStorageBytes(2 ** 40, 8), 2 ** 40 + 1024);
    });

    test('runAll({batchSize}) refuses an output that does not follow the batch (it came back [6, 2])', async () => {
      const ql = await load({ simd });
      const model = ql.loadModel(constantOutputModel());
      try {
        const x = Float32Array.from({ length: 12 }, (_, i) => i - 6);
        const whole = model.runAll([{ data: x, shape: [3, 4] }]);
        assert.deepEqual(whole[1].shape, [2, 2]);
        assert.deepEqual(Array.from(whole[1].data), [2, 3, 4, 5]);
        assert.throws(() => model.runAll([{ data: x, shape: [3, 4] }], { batchSize: 1 }),
          (e) => e instanceof QuantlabError && e.code === 'UNSUPPORTED' && /'c'/.test(e.message));
      } finally {
        model.dispose();
      }
    });
  });
}
