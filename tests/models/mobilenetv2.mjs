// MobileNetV2-shaped ONNX models with seeded random weights, written in JS (no Python, no
// committed file): the fp32 graph torchvision exports after BatchNorm folding, and the same
// graph in QOperator int8 form. Shared by the export test (tests/js/export.test.mjs) and the
// models benchmark (tests/bench/models-workloads.mjs).
import { graphModel } from './onnx-encode.mjs';

/** Seeded N(0, 1) floats: mulberry32 + Box-Muller, identical in every process. */
export function gaussian(n, seed, std = 1) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const a = 2 * Math.PI * next();
    out[i] = std * r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = std * r * Math.sin(a);
  }
  return out;
}

/** MobileNetV2 inverted-residual settings (t, c, n, s), Sandler et al. 2018, table 2. */
const MOBILENETV2_CONFIG = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
  [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];

/**
 * MobileNetV2 (width 1.0, 1000 classes) as ONNX bytes, opset 13, input "input" [N, 3, res,
 * res] float32, output "logits" [N, 1000]: the graph torchvision's mobilenet_v2 exports
 * after BatchNorm folding:
 * Conv (with bias), Clip(0, 6) whose bounds are initializers, Add, GlobalAveragePool,
 * Flatten, Gemm. 52 convolutions, 3.5 M parameters, ~0.3 G multiply-adds at 224x224.
 *
 * Random weights scaled to keep activations near unit variance without a BatchNorm pass:
 * He-normal convs (std sqrt(2 / fan_in)) before ReLU6; the linear projections get std
 * sqrt(2 / fan_in) too since their inputs are ReLU6 outputs (E[x^2] ~ 1/2); biases N(0, 0.1).
 * Seeded: every process builds the same bytes.
 */
export function mobileNetV2({ res = 224, seed = 1 } = {}) {
  const nodes = [], initializers = [];
  let seq = 0;
  const init = (name, dims, data) => {
    initializers.push({ name, dtype: 'float32', dims, data });
    return name;
  };
  init('relu6_min', [], new Float32Array([0]));
  init('relu6_max', [], new Float32Array([6]));
  let convs = 0, params = 0, macs = 0, hw = res;
  const conv = (x, cIn, cOut, k, stride, groups, act) => {
    const id = convs++;
    const fanIn = (cIn / groups) * k * k;
    const w = gaussian(cOut * fanIn, seed * 1000 + id * 2 + 1, Math.sqrt(2 / fanIn));
    const b = gaussian(cOut, seed * 1000 + id * 2 + 2, 0.1);
    const pad = (k - 1) >> 1;
    const out = `conv${id}`;
    nodes.push({
      op: 'Conv', name: `Conv_${id}`,
      inputs: [x, init(`conv${id}.weight`, [cOut, cIn / groups, k, k], w), init(`conv${id}.bias`, [cOut], b)],
      outputs: [out],
      attributes: { dilations: [1, 1], group: groups, kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride] },
    });
    hw = Math.floor((hw + 2 * pad - k) / stride) + 1;
    params += w.length + b.length;
    macs += cOut * hw * hw * fanIn;
    if (!act) return out;
    nodes.push({ op: 'Clip', name: `Clip_${id}`, inputs: [out, 'relu6_min', 'relu6_max'], outputs: [`relu${id}`] });
    return `relu${id}`;
  };
  let x = conv('input', 3, 32, 3, 2, 1, true);
  let cIn = 32;
  for (const [t, c, n, s] of MOBILENETV2_CONFIG) {
    for (let i = 0; i < n; ++i) {
      const stride = i === 0 ? s : 1;
      const hidden = cIn * t;
      let y = t === 1 ? x : conv(x, cIn, hidden, 1, 1, 1, true);
      y = conv(y, hidden, hidden, 3, stride, hidden, true);
      y = conv(y, hidden, c, 1, 1, 1, false);
      if (stride === 1 && cIn === c) {
        const sum = `add${seq++}`;
        nodes.push({ op: 'Add', name: `Add_${seq}`, inputs: [x, y], outputs: [sum] });
        y = sum;
      }
      x = y;
      cIn = c;
    }
  }
  x = conv(x, cIn, 1280, 1, 1, 1, true);
  nodes.push({ op: 'GlobalAveragePool', name: 'GlobalAveragePool_0', inputs: [x], outputs: ['pool'] });
  nodes.push({ op: 'Flatten', name: 'Flatten_0', inputs: ['pool'], outputs: ['flat'], attributes: { axis: 1 } });
  const fcW = gaussian(1000 * 1280, seed * 1000 + 999, Math.sqrt(1 / 1280));
  const fcB = new Float32Array(1000);
  nodes.push({
    op: 'Gemm', name: 'Gemm_0',
    inputs: ['flat', init('classifier.weight', [1000, 1280], fcW), init('classifier.bias', [1000], fcB)],
    outputs: ['logits'], attributes: { transB: 1 },
  });
  params += fcW.length + fcB.length;
  macs += 1000 * 1280;
  const bytes = graphModel({
    name: 'mobilenetv2', opset: 13, nodes, initializers,
    inputs: [{ name: 'input', dtype: 'float32', dims: ['N', 3, res, res] }],
    outputs: [{ name: 'logits', dtype: 'float32', dims: ['N', 1000] }],
  });
  return { bytes, convs, params, macs, nodes: nodes.length };
}

/** Random N(0, 1) images [n, 3, res, res] (the benchmark input and the calibration data). */
export function randomImages(n, res, seed) {
  return gaussian(n * 3 * res * res, 0x5eed0000 + seed);
}

/** Seeded uniform int8 weights in [-127, 127]. */
function int8Weights(n, seed) {
  const out = new Int8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s >>> 16) % 255) - 127;
  }
  return out;
}

/**
 * The same MobileNetV2 graph written directly in ONNX's QOperator int8 form, with made-up
 * (not calibrated) quantization parameters: QuantizeLinear, 52 QLinearConv (per-channel
 * int8 weights, int32 biases; ReLU6 as the output range [0, 6]), com.microsoft QLinearAdd,
 * DequantizeLinear, then GlobalAveragePool, Flatten and Gemm in fp32. It profiles the int8
 * runtime's operators on MobileNetV2's shapes independently of the post-training quantizer.
 * activations: 'int8' or 'uint8'.
 */
export function mobileNetV2Int8({ res = 224, seed = 1, activations = 'int8' } = {}) {
  const signed = activations === 'int8';
  const Q = signed ? Int8Array : Uint8Array;
  const nodes = [], initializers = [];
  const init = (name, dtype, dims, data) => {
    initializers.push({ name, dtype, dims, data });
    return name;
  };
  // Activation grids: ReLU6 outputs [0, 6], everything else [-8, 8] (as uint8: zero 128).
  const relu6 = { scale: 6 / 255, zp: signed ? -128 : 0 };
  const linear = { scale: 16 / 255, zp: signed ? 0 : 128 };
  const grid = (name, g) => [init(`${name}_scale`, 'float32', [], new Float32Array([g.scale])),
    init(`${name}_zp`, activations, [], new Q([g.zp]))];
  grid('relu6', relu6);
  grid('linear', linear);
  let convs = 0;
  const conv = (x, xg, cIn, cOut, k, stride, groups, act) => {
    const id = convs++;
    const fanIn = (cIn / groups) * k * k;
    const w = int8Weights(cOut * fanIn, seed * 1000 + id);
    const wScale = new Float32Array(cOut).fill(Math.sqrt(2 / fanIn) / 73);
    const bias = Int32Array.from(gaussian(cOut, seed * 1000 + id + 500, 0.1), (v) => Math.round(v / (wScale[0] * xg.scale)));
    const yg = act ? relu6 : linear;
    const yName = act ? 'relu6' : 'linear';
    const xName = xg === relu6 ? 'relu6' : 'linear';
    const pad = (k - 1) >> 1;
    nodes.push({
      op: 'QLinearConv', name: `QLinearConv_${id}`,
      inputs: [x, `${xName}_scale`, `${xName}_zp`, init(`w${id}`, 'int8', [cOut, cIn / groups, k, k], w),
        init(`w${id}_scale`, 'float32', [cOut], wScale), init(`w${id}_zp`, 'int8', [cOut], new Int8Array(cOut)),
        `${yName}_scale`, `${yName}_zp`, init(`b${id}`, 'int32', [cOut], bias)],
      outputs: [`q${id}`],
      attributes: { dilations: [1, 1], group: groups, kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride] },
    });
    return [`q${id}`, yg];
  };
  nodes.push({ op: 'QuantizeLinear', name: 'QuantizeLinear_0', inputs: ['input', 'linear_scale', 'linear_zp'], outputs: ['qin'] });
  let [x, xg] = conv('qin', linear, 3, 32, 3, 2, 1, true);
  let cIn = 32, adds = 0;
  for (const [t, c, n, s] of MOBILENETV2_CONFIG) {
    for (let i = 0; i < n; ++i) {
      const stride = i === 0 ? s : 1;
      const hidden = cIn * t;
      let y = x, yg = xg;
      if (t !== 1) [y, yg] = conv(y, yg, cIn, hidden, 1, 1, 1, true);
      [y, yg] = conv(y, yg, hidden, hidden, 3, stride, hidden, true);
      [y, yg] = conv(y, yg, hidden, c, 1, 1, 1, false);
      if (stride === 1 && cIn === c) {
        const sum = `qadd${adds++}`;
        nodes.push({ op: 'QLinearAdd', domain: 'com.microsoft', name: `QLinearAdd_${adds}`,
          inputs: [x, 'linear_scale', 'linear_zp', y, 'linear_scale', 'linear_zp', 'linear_scale', 'linear_zp'],
          outputs: [sum] });
        y = sum;
      }
      x = y;
      xg = yg;
      cIn = c;
    }
  }
  [x, xg] = conv(x, xg, cIn, 1280, 1, 1, 1, true);
  nodes.push({ op: 'DequantizeLinear', name: 'DequantizeLinear_0', inputs: [x, 'relu6_scale', 'relu6_zp'], outputs: ['features'] });
  nodes.push({ op: 'GlobalAveragePool', name: 'GlobalAveragePool_0', inputs: ['features'], outputs: ['pool'] });
  nodes.push({ op: 'Flatten', name: 'Flatten_0', inputs: ['pool'], outputs: ['flat'], attributes: { axis: 1 } });
  nodes.push({
    op: 'Gemm', name: 'Gemm_0',
    inputs: ['flat', init('classifier.weight', 'float32', [1000, 1280], gaussian(1000 * 1280, seed * 1000 + 999, Math.sqrt(1 / 1280))),
      init('classifier.bias', 'float32', [1000], new Float32Array(1000))],
    outputs: ['logits'], attributes: { transB: 1 },
  });
  return graphModel({
    name: 'mobilenetv2_int8', opset: 13, domains: { 'com.microsoft': 1 }, nodes, initializers,
    inputs: [{ name: 'input', dtype: 'float32', dims: ['N', 3, res, res] }],
    outputs: [{ name: 'logits', dtype: 'float32', dims: ['N', 1000] }],
  });
}
