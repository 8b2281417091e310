// The workloads of the kernels benchmark (issue 3), shared by kernels.bench.mjs (quantlab and
// onnxruntime-web in one process) and ort-node-worker.mjs (onnxruntime-node in its own): the
// shapes, deterministic inputs and quantization parameters, the one-node ONNX models, and the
// timing loop.
import { oneNodeModel } from '../models/onnx-encode.mjs';

/** QLinearMatMul (M, K, N). */
export const GEMMS = [[1, 784, 300], [64, 784, 300], [256, 256, 256], [512, 512, 512]];

/** QLinearConv / Conv at batch 1, square images, stride 1, "same" padding. */
export const CONVS = [
  { name: 'conv3x3_32x64_56', cIn: 32, cOut: 64, hw: 56, k: 3, pad: 1, groups: 1 },
  { name: 'conv1x1_64x128_28', cIn: 64, cOut: 128, hw: 28, k: 1, pad: 0, groups: 1 },
  { name: 'dwconv3x3_96_56', cIn: 96, cOut: 96, hw: 56, k: 3, pad: 1, groups: 96 },
];

export const ACTIVATION_TYPES = ['uint8', 'int8'];

/** Deterministic bytes (LCG) so every process builds the same inputs. */
export function randomBytes(n, seed, Type) {
  const out = new Type(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 24) - (Type === Int8Array ? 128 : 0);
  }
  return out;
}

export const gemmName = (xType, [m, k, n]) => `qlinearmatmul_${xType === 'uint8' ? 'u8' : 's8'}_${m}x${k}x${n}`;
export const convName = (xType, c) => `qlinearconv_${c.name}_${xType === 'uint8' ? 'u8' : 's8'}`;

/** Multiply-adds x 2. */
export const gemmOps = ([m, k, n]) => 2 * m * k * n;
export const convOps = (c) => 2 * c.cOut * c.hw * c.hw * (c.cIn / c.groups) * c.k * c.k;

/**
 * Scales and zero points: full-range activations around their zero point, full-range int8
 * weights, and an output scale that maps about +-2 standard deviations of the accumulators
 * onto the grid (so the output is neither constant nor saturated).
 */
function quantParams(xType, depth) {
  const xScale = 0.02, wScale = 0.004;
  const xZeroPoint = xType === 'uint8' ? 128 : 0;
  const yZeroPoint = xType === 'uint8' ? 128 : 0;
  const accStd = Math.sqrt(depth) * 74 * 74;
  const yScale = (xScale * wScale * 2 * accStd) / 127;
  return { xScale, wScale, xZeroPoint, yScale, yZeroPoint };
}

export function gemmData(xType, [m, k, n]) {
  const X = xType === 'uint8' ? Uint8Array : Int8Array;
  const a = randomBytes(m * k, 11 + m, X);
  const w = randomBytes(n * k, 23 + n, Int8Array);  // quantlab layout [N, K]
  const bKN = new Int8Array(k * n);                  // ONNX MatMul layout [K, N]
  for (let i = 0; i < n; ++i) for (let j = 0; j < k; ++j) bKN[j * n + i] = w[i * k + j];
  return { a, w, bKN, ...quantParams(xType, k) };
}

export function convData(xType, c) {
  const X = xType === 'uint8' ? Uint8Array : Int8Array;
  const depth = (c.cIn / c.groups) * c.k * c.k;
  const x = randomBytes(c.cIn * c.hw * c.hw, 31 + c.cIn, X);
  const w = randomBytes(c.cOut * depth, 37 + c.cOut, Int8Array);  // OIHW
  return { x, w, ...quantParams(xType, depth) };
}

const scalar = (dtype, v) => ({
  dtype, dims: [], data: dtype === 'float32' ? new Float32Array([v])
    : (dtype === 'uint8' ? new Uint8Array([v]) : new Int8Array([v])),
});

export function qlinearMatMulModel(xType, shape, d) {
  const [m, k, n] = shape;
  return oneNodeModel({
    op: 'QLinearMatMul',
    inputs: [{ name: 'a', dtype: xType, dims: [m, k] }],
    outputs: [{ name: 'y', dtype: xType, dims: [m, n] }],
    initializers: [
      { name: 'a_scale', ...scalar('float32', d.xScale) },
      { name: 'a_zero_point', ...scalar(xType, d.xZeroPoint) },
      { name: 'b', dtype: 'int8', dims: [k, n], data: d.bKN },
      { name: 'b_scale', ...scalar('float32', d.wScale) },
      { name: 'b_zero_point', ...scalar('int8', 0) },
      { name: 'y_scale', ...scalar('float32', d.yScale) },
      { name: 'y_zero_point', ...scalar(xType, d.yZeroPoint) },
    ],
    nodeInputs: ['a', 'a_scale', 'a_zero_point', 'b', 'b_scale', 'b_zero_point', 'y_scale',
      'y_zero_point'],
  });
}

const convAttributes = (c) => ({
  kernel_shape: [c.k, c.k], pads: [c.pad, c.pad, c.pad, c.pad], strides: [1, 1],
  dilations: [1, 1], group: c.groups,
});

export function qlinearConvModel(xType, c, d) {
  const dims = [1, c.cIn, c.hw, c.hw];
  return oneNodeModel({
    op: 'QLinearConv',
    inputs: [{ name: 'x', dtype: xType, dims }],
    outputs: [{ name: 'y', dtype: xType, dims: [1, c.cOut, c.hw, c.hw] }],
    initializers: [
      { name: 'x_scale', ...scalar('float32', d.xScale) },
      { name: 'x_zero_point', ...scalar(xType, d.xZeroPoint) },
      { name: 'w', dtype: 'int8', dims: [c.cOut, c.cIn / c.groups, c.k, c.k], data: d.w },
      { name: 'w_scale', ...scalar('float32', d.wScale) },
      { name: 'w_zero_point', ...scalar('int8', 0) },
      { name: 'y_scale', ...scalar('float32', d.yScale) },
      { name: 'y_zero_point', ...scalar(xType, d.yZeroPoint) },
    ],
    nodeInputs: ['x', 'x_scale', 'x_zero_point', 'w', 'w_scale', 'w_zero_point', 'y_scale',
      'y_zero_point'],
    attributes: convAttributes(c),
  });
}

/** The fp32 model of the same layer: dequantized weights, dequantized input. */
export function convF32Data(c, d) {
  const wf = Float32Array.from(d.w, (v) => v * d.wScale);
  const xf = Float32Array.from(d.x, (v) => (v - d.xZeroPoint) * d.xScale);
  return { wf, xf };
}

export function convF32Model(c, wf) {
  return oneNodeModel({
    op: 'Conv',
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, c.cIn, c.hw, c.hw] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: [1, c.cOut, c.hw, c.hw] }],
    initializers: [{ name: 'w', dtype: 'float32', dims: [c.cOut, c.cIn / c.groups, c.k, c.k], data: wf }],
    nodeInputs: ['x', 'w'],
    attributes: convAttributes(c),
  });
}

/**
 * Medians of interleaved timings: after `warmup` calls each, the functions take turns in
 * rounds of a few calls until each has at least minReps samples and minMs of samples, so a
 * burst of load from other processes hits all of them alike. fns: {name: () => void |
 * Promise | number}; a function that returns a number has timed itself (ms), e.g. a loop
 * timed inside WebAssembly. Returns {name: {ms (median), reps}}.
 */
export async function timeInterleaved(fns, { warmup = 5, minReps = 30, minMs = 1500, maxReps = 3000 } = {}) {
  const names = Object.keys(fns);
  for (const n of names) for (let i = 0; i < warmup; ++i) await fns[n]();
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const spent = Object.fromEntries(names.map((n) => [n, 0]));
  const done = (n) => samples[n].length >= maxReps ||
    (samples[n].length >= minReps && spent[n] >= minMs);
  while (!names.every(done)) {
    for (const n of names) {
      if (done(n)) continue;
      for (let i = 0; i < 3; ++i) {
        const t0 = performance.now();
        const own = await fns[n]();
        const dt = typeof own === 'number' ? own : performance.now() - t0;
        samples[n].push(dt);
        spent[n] += dt;
      }
    }
  }
  const out = {};
  for (const n of names) {
    const s = samples[n].sort((x, y) => x - y);
    out[n] = { ms: s[s.length >> 1], reps: s.length };
  }
  return out;
}

/** Float outputs of two engines: max |a - b|, the reference's max |b|, and the top-1
 *  agreement over rows of `cols` (models.bench.mjs in Node, chromium-page.mjs in the page). */
export function compare(a, b, cols) {
  let maxAbs = 0, maxRef = 0, agree = 0;
  const n = a.length / cols;
  for (let r = 0; r < n; ++r) {
    let ia = 0, ib = 0;
    for (let c = 0; c < cols; ++c) {
      const i = r * cols + c;
      maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
      maxRef = Math.max(maxRef, Math.abs(b[i]));
      if (a[i] > a[r * cols + ia]) ia = c;
      if (b[i] > b[r * cols + ib]) ib = c;
    }
    agree += ia === ib ? 1 : 0;
  }
  return { max_abs_diff: maxAbs, max_abs_ref: maxRef, top1_agreement: agree / n };
}
