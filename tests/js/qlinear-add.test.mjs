// com.microsoft QLinearAdd against onnxruntime-node, value for value: random int8 and uint8
// pairs under random scales and zero points (where the rounding of near-ties shows), and the
// broadcast forms (a scalar and a per-channel operand). quantlab follows onnxruntime's x86-64
// AVX2 kernel (fused multiply-adds; what this machine runs); ONNX's unfused formula differs in
// about 1 of 100,000 here.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import ort from 'onnxruntime-node';

import { load } from '../../wasm/quantlab.mjs';
import { graphModel } from '../models/onnx-encode.mjs';

const f = Math.fround;

function addModel(dtype, aDims, bDims, p) {
  const T = dtype === 'uint8' ? Uint8Array : Int8Array;
  const scalar = (name, type, v) => ({ name, dtype: type, dims: [], data: type === 'float32' ? new Float32Array([v]) : new T([v]) });
  return graphModel({
    nodes: [{ op: 'QLinearAdd', domain: 'com.microsoft', inputs: ['a', 'sa', 'za', 'b', 'sb', 'zb', 'sc', 'zc'], outputs: ['c'] }],
    initializers: [scalar('sa', 'float32', p.sa), scalar('za', dtype, p.za), scalar('sb', 'float32', p.sb), scalar('zb', dtype, p.zb),
      scalar('sc', 'float32', p.sc), scalar('zc', dtype, p.zc)],
    domains: { 'com.microsoft': 1 },
    inputs: [{ name: 'a', dtype, dims: aDims }, { name: 'b', dtype, dims: bDims }],
    outputs: [{ name: 'c', dtype, dims: aDims.length >= bDims.length ? aDims : bDims }],
  });
}

test('QLinearAdd equals onnxruntime-node exactly (int8, uint8; elementwise, scalar and per-channel broadcast)', async () => {
  const ql = await load({ simd: true });
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  let compared = 0;
  for (let trial = 0; trial < 12; ++trial) {
    for (const dtype of ['uint8', 'int8']) {
      const T = dtype === 'uint8' ? Uint8Array : Int8Array;
      const lo = dtype === 'uint8' ? 0 : -128;
      const zp = () => lo + Math.floor(rand() * 256);
      const p = { sa: f(0.005 + rand() * 0.05), sb: f(0.005 + rand() * 0.05), sc: f(0.01 + rand() * 0.05), za: zp(), zb: zp(), zc: zp() };
      const shapes = [[[1, 8, 64, 64], [1, 8, 64, 64]], [[1, 8, 64, 64], []], [[1, 8, 64, 64], [1, 8, 1, 1]]];
      for (const [aDims, bDims] of shapes) {
        const count = (d) => d.reduce((x, y) => x * y, 1);
        const a = T.from({ length: count(aDims) }, () => lo + Math.floor(rand() * 256));
        const b = T.from({ length: count(bDims) }, () => lo + Math.floor(rand() * 256));
        const bytes = addModel(dtype, aDims, bDims, p);
        const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
        const want = (await session.run({ a: new ort.Tensor(dtype, a, aDims), b: new ort.Tensor(dtype, b, bDims) })).c.data;
        await session.release();
        const model = ql.loadModel(bytes);
        const got = model.runAll([{ data: a, shape: aDims }, { data: b, shape: bDims }])[0].data;
        model.dispose();
        let differ = 0;
        for (let i = 0; i < want.length; ++i) differ += want[i] !== got[i] ? 1 : 0;
        assert.equal(differ, 0, `${dtype} ${JSON.stringify(p)} a ${aDims} b ${bDims}: ${differ} of ${want.length} differ`);
        compared += want.length;
      }
    }
  }
  console.log(`# QLinearAdd: ${compared} outputs equal onnxruntime-node's`);
});
