// Memory over time (issue 18): 1,000 cycles of load -> quantize -> run -> dispose, and 1,000
// create/dispose cycles of each handle type, leave the instance's malloc heap where it was,
// its WebAssembly memory unchanged after the first cycles, and the process memory bounded.
// Each cycle also checks its result, so a cycle that silently stops working fails too.
//
// heapInUse (mallinfo's in-use bytes) is exact: after a warm-up cycle (which sizes the
// allocator's scratch and caches) it must come back to the same value after every cycle
// but for a small slack (a few kB of allocator bookkeeping).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';

import { calibration, modelBytes, PIXELS, testImages } from './demo-data.mjs';

const CYCLES = 1000;
const HEAP_SLACK = 64 << 10;      // bytes malloc may still hold after 1,000 cycles
const RSS_SLACK = 64 << 20;       // process growth allowed over the 1,000 cycles

/** Runs `cycle(i)` CYCLES times after one warm-up; returns the heap and memory figures. */
function measure(ql, cycle) {
  cycle(-1);
  globalThis.gc?.();
  const heap0 = ql.memoryUsage().heapInUse;
  const wasm0 = ql.memoryBytes();
  const rss0 = process.memoryUsage().rss;
  let worst = 0;
  for (let i = 0; i < CYCLES; ++i) {
    cycle(i);
    worst = Math.max(worst, ql.memoryUsage().heapInUse - heap0);
  }
  globalThis.gc?.();
  return {
    heapGrowth: ql.memoryUsage().heapInUse - heap0, worst,
    wasmGrowth: ql.memoryBytes() - wasm0, rssGrowth: process.memoryUsage().rss - rss0,
    tensors: ql.memoryUsage().inUse,
  };
}

function assertFlat(r, what) {
  const mb = (b) => (b / 2 ** 20).toFixed(2);
  console.log(`# ${what}: ${CYCLES} cycles, heap growth ${r.heapGrowth} B (worst ${r.worst} B), ` +
    `wasm memory +${mb(r.wasmGrowth)} MiB, process +${mb(r.rssGrowth)} MiB, live tensors ${r.tensors} B`);
  assert.ok(r.heapGrowth <= HEAP_SLACK, `${what}: the heap grew by ${r.heapGrowth} B`);
  assert.equal(r.wasmGrowth, 0, `${what}: WebAssembly memory grew by ${r.wasmGrowth} B`);
  assert.ok(r.rssGrowth <= RSS_SLACK, `${what}: the process grew by ${mb(r.rssGrowth)} MiB`);
  assert.equal(r.tensors, 0, `${what}: tensors still held`);
}

describe('memory stays flat over 1,000 cycles (SIMD128 build)', async () => {
  const ql = await load({ simd: true });
  const lenet300 = modelBytes('lenet300');
  const calib = calibration.subarray(0, 64 * PIXELS);
  const image = testImages.subarray(0, PIXELS);

  test('load -> quantize -> run -> dispose', () => {
    let first = null;
    const r = measure(ql, () => {
      const fp32 = ql.loadModel(lenet300);
      const q = ql.quantizeModel(fp32, calib, [64, 1, 28, 28], { reportSamples: 8 });
      const int8 = ql.loadModel(q.toOnnx());
      const y = int8.run(image, [1, 1, 28, 28]).data;
      int8.dispose();
      q.dispose();
      fp32.dispose();
      first ??= Array.from(y);
      assert.deepEqual(Array.from(y), first);  // every cycle computes the same logits
    });
    assertFlat(r, 'load -> quantize -> run -> dispose (LeNet-300-100)');
  });

  const handles = {
    Model: () => {
      const m = ql.loadModel(lenet300);
      assert.equal(m.run(image, [1, 1, 28, 28]).data.length, 10);
      return m;
    },
    QGemm: () => {
      const g = ql.createQGemm({
        weights: new Int8Array([1, -1, 2, 0]), n: 2, k: 2, weightScales: 0.5, bias: [5, -3],
        inputType: 'uint8', inputScale: 2, inputZeroPoint: 1,
        output: { type: 'uint8', scale: 1, zeroPoint: 10, requant: 'fixed' },
      });
      assert.deepEqual(Array.from(g.run(new Uint8Array([1, 2, 3, 4]), 2)), [14, 7, 14, 11]);
      return g;
    },
    GemmF32: () => {
      const f = ql.createGemmF32({ weights: [1, 2, 3, 4], n: 2, k: 2, bias: [0.5, -20], activation: 'relu' });
      assert.deepEqual(Array.from(f.run(new Float32Array([1, 1]), 1)), [3.5, 0]);
      return f;
    },
    QConv2d: () => {
      const c = ql.createQConv2d({ weights: new Int8Array(2 * 3 * 9).fill(1), cOut: 2, cIn: 3, kernelShape: [3, 3],
        weightScales: 0.5, inputScale: 1, inputZeroPoint: 0, inputType: 'int8',
        output: { type: 'int8', scale: 1, zeroPoint: 0, requant: 'fixed' } });
      const { data } = c.run(new Int8Array(3 * 9).fill(2), [1, 3, 3, 3]);
      assert.deepEqual(Array.from(data), [27, 27]);  // 27 taps of 1 x 2, times 0.5
      return c;
    },
    Conv2dF32: () => {
      const c = ql.createConv2dF32({ weights: [1, 1, 1, 1], cOut: 1, cIn: 1, kernelShape: [2, 2] });
      assert.deepEqual(Array.from(c.run(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]).data), [10]);
      return c;
    },
    HuffmanCode: () => {
      const h = ql.huffmanCode([5, 1, 1, 3]);
      const { bytes } = h.encode([0, 3, 1, 2, 0]);
      assert.deepEqual(Array.from(h.decode(bytes, 5)), [0, 3, 1, 2, 0]);
      return h;
    },
    Network: () => {
      const net = ql.networkFromOnnx(lenet300);
      assert.equal(net.forward(image, [1, 1, 28, 28]).data.length, 10);
      return net;
    },
  };
  for (const [kind, make] of Object.entries(handles)) {
    test(`${kind}: create -> use -> dispose`, () => {
      assertFlat(measure(ql, () => make().dispose()), kind);
    });
  }
});
