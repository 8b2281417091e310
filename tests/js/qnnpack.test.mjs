// Bit-exact against PyTorch (issue 11): a LeNet-5 quantized by torch's eager-mode PTQ on the
// qnnpack backend (tests/models/make_qnnpack_fixture.py wrote the fixture; this test needs no
// Python). quantizeModel on the fp32 export, with the scales torch chose given as ranges,
// uint8 activations, per-tensor weights and requantMode 'qnnpack', reproduces torch's int8
// logits exactly, on both builds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';

const dir = new URL('../fixtures/qnnpack/', import.meta.url);
const meta = JSON.parse(readFileSync(new URL('qparams.json', dir)));
const onnx = new Uint8Array(readFileSync(new URL('lenet5.onnx', dir)));
const qin = readFileSync(new URL('input.u8', dir));
const want = readFileSync(new URL('logits.u8', dir));
const { scale: sIn, zeroPoint: zIn } = meta.ranges[meta.input];
const { scale: sOut, zeroPoint: zOut } = meta.ranges[meta.output];
// The on-grid input torch was fed: s (q - z) in float32.
const x = Float32Array.from(qin, (q) => Math.fround(Math.fround(sIn) * (q - zIn)));
const ranges = Object.fromEntries(Object.entries(meta.ranges).map(([v, r]) => [v, { scale: r.scale, zeroPoint: r.zeroPoint }]));

/** The int8 logits behind the dequantized output: round(y / S) + Z. */
function ints(y) {
  return Uint8Array.from(y, (v) => Math.round(v / Math.fround(sOut)) + zOut);
}

for (const simd of [true, false]) {
  test(`torch qnnpack LeNet-5 reproduced bit for bit (${simd ? 'SIMD128' : 'scalar'} build)`, async () => {
    const ql = await load({ simd });
    const fp32 = ql.loadModel(onnx);
    const options = { activations: 'uint8', perChannel: false, ranges };
    const q = ql.quantizeModel(fp32, x, meta.inputShape, { ...options, requantMode: 'qnnpack' });
    assert.ok(q.ranges.every((r) => r.given), 'every activation range is torch\'s');
    const got = ints(q.model.run(x, meta.inputShape).data);
    let differ = 0;
    for (let i = 0; i < want.length; ++i) differ += got[i] !== want[i] ? 1 : 0;
    assert.equal(differ, 0, `${differ} of ${want.length} int8 logits differ from torch's`);
    // The same scales with onnxruntime's conventions (weight grid, multiplier, bias rounding).
    const ort = ql.quantizeModel(fp32, x, meta.inputShape, options);
    const other = ints(ort.model.run(x, meta.inputShape).data);
    let changed = 0;
    for (let i = 0; i < want.length; ++i) changed += other[i] !== want[i] ? 1 : 0;
    console.log(`# torch qnnpack int8 logits: ${differ} of ${want.length} differ with requantMode 'qnnpack'; ` +
      `${changed} differ with the onnxruntime convention`);
    for (const m of [q, ort, fp32]) m.dispose();
  });
}
