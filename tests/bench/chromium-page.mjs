// The Chromium benchmark's page (issue 16): quantlab (SIMD128 build), LiteRT.js (XNNPACK, its
// single-thread wasm build, numThreads 1) and onnxruntime-web (wasm EP, numThreads 1, SIMD)
// on the same workloads in one page, outputs checked against each other before timing, then
// timed interleaved (timeInterleaved: the engines take turns, so load from other processes
// hits them alike). chromium.bench.mjs drives it through window.bench.
//
// Every engine is timed as a user calls it: its input copied in, the run, its output copied
// out (quantlab run(), onnxruntime-web session.run(), LiteRT.js new Tensor + run +
// toTypedArray). LiteRT.js takes float32, int32 and uint8 tensors only, so each int8 kernel
// layer runs in two forms: qs8 with float32 I/O (QUANTIZE and DEQUANTIZE around the int8
// layer, run by XNNPACK; a uint8 input requantized to int8 measured 1.3-3x slower, TFLite's
// own kernel outside the delegate) and qu8, the same layer in uint8 with uint8 I/O. Its
// models take float32, as quantlab's and onnxruntime-web's do.
import { Tensor, loadAndCompile, loadLiteRt } from '@litertjs/core';
import * as ort from 'onnxruntime-web';

import { env, load } from '../../wasm/quantlab.mjs';
import { CONVS, GEMMS, compare, convData, gemmData, timeInterleaved } from './kernels-workloads.mjs';

let ql = null;
let current = null;  // the prepared workload: {fns, dispose}
const litertCompile = { accelerator: 'wasm', cpuOptions: { numThreads: 1 } };
const sessionOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };

async function setup() {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.logLevel = 'error';
  // threads: false loads litert_wasm_internal.wasm, the build without pthreads.
  await loadLiteRt('/node_modules/@litertjs/core/wasm/', { threads: false });
  env.wasmPaths = '/dist/';
  ql = await load({ simd: true });
  document.getElementById('status').textContent = 'ready';
  return {
    crossOriginIsolated: self.crossOriginIsolated, userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency, quantlab_simd: ql.simd,
    onnxruntime_web: ort.env.versions?.web ?? null,
    litert: { build: 'litert_wasm_internal (no threads)', numThreads: 1 },
    timer_resolution_ms: timerResolution(),
    // Which wasm files the engines fetched: LiteRT.js's must be the build without threads.
    wasm_loaded: wasmLoaded(),
  };
}

function wasmLoaded() {
  return performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)
    .filter((p) => p.endsWith('.wasm'));
}

/** The smallest non-zero step of performance.now() seen (5 us when isolated, 100 us not). */
function timerResolution() {
  let best = Infinity;
  for (let i = 0; i < 200; ++i) {
    const a = performance.now();
    let b = a;
    while (b === a) b = performance.now();
    best = Math.min(best, b - a);
  }
  return best;
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** NCHW -> NHWC (n, c, h, w) for any typed array. */
function toNhwc(x, [n, c, h, w]) {
  const y = new x.constructor(x.length);
  for (let b = 0; b < n; ++b) for (let ch = 0; ch < c; ++ch) for (let i = 0; i < h * w; ++i) {
    y[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i];
  }
  return y;
}

const fromNhwc = (y, [n, c, h, w]) => {
  const x = new y.constructor(y.length);
  for (let b = 0; b < n; ++b) for (let ch = 0; ch < c; ++ch) for (let i = 0; i < h * w; ++i) {
    x[(b * c + ch) * h * w + i] = y[(b * h * w + i) * c + ch];
  }
  return x;
};

/** An engine call that times itself and keeps its minimum beside timeInterleaved's median. */
async function timeAll(fns, options) {
  const mins = {};
  const timed = Object.fromEntries(Object.entries(fns).map(([n, fn]) => [n, async () => {
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    mins[n] = Math.min(mins[n] ?? Infinity, dt);
    return dt;
  }]));
  const t = await timeInterleaved(timed, options);
  return Object.fromEntries(Object.keys(t).map((n) => [n, { ms: t[n].ms, min_ms: mins[n], reps: t[n].reps }]));
}

function litertRunner(model, data, shape) {
  return async () => {
    const input = new Tensor(data, shape);
    const outs = await model.run(input);
    input.delete();
    const y = outs[0].toTypedArray();
    for (const o of outs) o.delete();
    return y;
  };
}

/** Integer outputs: how many differ and by how many steps at most. a, b: same length. */
function stepDiff(a, b, offsetB = 0) {
  let max = 0, differ = 0;
  for (let i = 0; i < a.length; ++i) {
    const d = Math.abs(a[i] - (b[i] - offsetB));
    if (d) ++differ;
    if (d > max) max = d;
  }
  return { max_steps: max, differing: differ, count: a.length };
}


/**
 * One int8 kernel workload: quantlab's QGemm / QConv2d in both activation forms (uint8 and
 * int8), onnxruntime-web's QLinearMatMul / QLinearConv on uint8 (its fast path), LiteRT.js
 * on the int8 TFLite file of the same layer (float I/O) and on its uint8 form (qu8, uint8
 * I/O). spec: {kind: 'gemm' | 'conv', index, tflite, tfliteQu8, onnxU8}. Returns the outputs checks; time() then times it.
 */
async function kernel(spec) {
  const { kind, index, tflite, onnxU8 } = spec;
  const d8 = kind === 'gemm' ? gemmData('int8', GEMMS[index]) : convData('int8', CONVS[index]);
  const du = kind === 'gemm' ? gemmData('uint8', GEMMS[index]) : convData('uint8', CONVS[index]);
  const layers = {};
  let shape, xName, nhwc = null;
  for (const [form, d] of [['uint8', du], ['int8', d8]]) {
    if (kind === 'gemm') {
      const [m, k, n] = GEMMS[index];
      layers[form] = ql.createQGemm({
        weights: d.w, n, k, weightScales: d.wScale, inputType: form, inputScale: d.xScale,
        inputZeroPoint: d.xZeroPoint,
        output: { type: form, scale: d.yScale, zeroPoint: d.yZeroPoint, requant: 'fp32' },
      });
      shape = [m, k];
      xName = 'a';
    } else {
      const c = CONVS[index];
      layers[form] = ql.createQConv2d({
        weights: d.w, cOut: c.cOut, cIn: c.cIn, kernelShape: [c.k, c.k],
        pads: [c.pad, c.pad, c.pad, c.pad], groups: c.groups, weightScales: d.wScale,
        inputType: form, inputScale: d.xScale, inputZeroPoint: d.xZeroPoint,
        output: { type: form, scale: d.yScale, zeroPoint: d.yZeroPoint, requant: 'fp32' },
      });
      shape = [1, c.cIn, c.hw, c.hw];
      xName = 'x';
      nhwc = shape;
    }
  }
  const x8 = kind === 'gemm' ? d8.a : d8.x, xu = kind === 'gemm' ? du.a : du.x;
  const qlRun = (form, x) => (kind === 'gemm' ? layers[form].run(x, shape[0]) : layers[form].run(x, shape).data);
  // LiteRT.js: the int8 input dequantized (its QUANTIZE gives back q exactly), NHWC for
  // convolutions; its DEQUANTIZEd output is turned back into q below for the check.
  const xLite = Float32Array.from(nhwc ? toNhwc(x8, nhwc) : x8, (v) => (v - d8.xZeroPoint) * d8.xScale);
  const liteShape = nhwc ? [1, nhwc[2], nhwc[3], nhwc[1]] : shape;
  const lite = await loadAndCompile(await fetchBytes(tflite), litertCompile);
  const liteRun = litertRunner(lite, xLite, liteShape);
  // LiteRT.js's other form: the layer in uint8 throughout (XNNPACK's qu8 kernels), uint8 I/O.
  const liteU8 = await loadAndCompile(await fetchBytes(spec.tfliteQu8), litertCompile);
  const liteU8Run = litertRunner(liteU8, Uint8Array.from(nhwc ? toNhwc(x8, nhwc) : x8, (v) => v + 128), liteShape);
  const session = await ort.InferenceSession.create(await fetchBytes(onnxU8), sessionOptions);
  const feeds = { [xName]: new ort.Tensor('uint8', xu, shape) };

  // Checks: quantlab int8 against LiteRT.js (int8 arithmetic, its requantization may round
  // differently by a step), quantlab uint8 against onnxruntime-web (the same arithmetic).
  const outS8 = qlRun('int8', x8);
  let outLite = Int32Array.from(await liteRun(), (v) => Math.round(v / d8.yScale) + d8.yZeroPoint);
  let outLiteU8 = await liteU8Run();
  if (nhwc) {
    outLite = fromNhwc(outLite, [1, outS8.length / (nhwc[2] * nhwc[3]), nhwc[2], nhwc[3]]);
    outLiteU8 = fromNhwc(outLiteU8, [1, outS8.length / (nhwc[2] * nhwc[3]), nhwc[2], nhwc[3]]);
  }
  const checks = {
    quantlab_int8_vs_litert: stepDiff(outS8, outLite),
    quantlab_int8_vs_litert_qu8: stepDiff(outS8, outLiteU8, 128),
    quantlab_uint8_vs_onnxruntime_web: stepDiff(qlRun('uint8', xu), (await session.run(feeds)).y.data),
    quantlab_int8_vs_uint8: stepDiff(outS8, qlRun('uint8', xu), 128),
  };
  current = {
    fns: {
      quantlab_uint8: () => qlRun('uint8', xu),
      quantlab_int8: () => qlRun('int8', x8),
      litert: liteRun,
      litert_qu8: liteU8Run,
      ort: () => session.run(feeds),
    },
    async dispose() {
      for (const l of Object.values(layers)) l.dispose();
      lite.delete();
      liteU8.delete();
      await session.release();
    },
  };
  return { checks, ukernel: layers.int8?.ukernel };
}

/**
 * One model: spec {onnx: {fp32, uint8, int8}, tflite: {fp32, int8}, input, shape, cols,
 * batch}. quantlab runs the fp32 file and both int8 exports (uint8 and int8 activations);
 * onnxruntime-web the fp32 file and the uint8 export (its fast path); LiteRT.js the fp32 and
 * int8 TFLite files (float input and output). Returns the outputs checks; time() then times it.
 */
async function model(spec) {
  const { onnx, tflite, shape, cols } = spec;
  const x = new Float32Array((await fetchBytes(spec.input)).buffer);
  const xNhwc = shape.length === 4 ? toNhwc(x, shape) : x;
  const liteShape = shape.length === 4 ? [shape[0], shape[2], shape[3], shape[1]] : shape;
  const qm = {}, sessions = {}, lites = {};
  for (const [k, url] of Object.entries(onnx)) qm[k] = ql.loadModel(await fetchBytes(url));
  for (const k of ['fp32', 'uint8']) sessions[k] = await ort.InferenceSession.create(await fetchBytes(onnx[k]), sessionOptions);
  for (const [k, url] of Object.entries(tflite)) lites[k] = await loadAndCompile(await fetchBytes(url), litertCompile);
  const inName = sessions.fp32.inputNames[0];
  const feeds = { [inName]: new ort.Tensor('float32', x, shape) };
  const fns = {
    quantlab_fp32: () => qm.fp32.run(x, shape),
    quantlab_uint8: () => qm.uint8.run(x, shape),
    quantlab_int8: () => qm.int8.run(x, shape),
    litert_fp32: litertRunner(lites.fp32, xNhwc, liteShape),
    litert_int8: litertRunner(lites.int8, xNhwc, liteShape),
    ort_fp32: () => sessions.fp32.run(feeds),
    ort_uint8: () => sessions.uint8.run(feeds),
  };
  const outs = {
    quantlab_fp32: qm.fp32.run(x, shape).data, quantlab_uint8: qm.uint8.run(x, shape).data,
    quantlab_int8: qm.int8.run(x, shape).data, litert_fp32: await fns.litert_fp32(),
    litert_int8: await fns.litert_int8(),
    ort_fp32: Object.values(await sessions.fp32.run(feeds))[0].data,
    ort_uint8: Object.values(await sessions.uint8.run(feeds))[0].data,
  };
  if (spec.checkInput) {  // more images through the batch-1 files, for the int8 agreement
    const more = new Float32Array((await fetchBytes(spec.checkInput)).buffer);
    const per = x.length;
    const qs = [outs.quantlab_int8], ls = [outs.litert_int8];
    for (let i = 0; i < more.length / per; ++i) {
      const xi = more.subarray(i * per, (i + 1) * per);
      qs.push(qm.int8.run(xi, shape).data);
      ls.push(await litertRunner(lites.int8, toNhwc(xi, shape), liteShape)());
    }
    const cat = (list) => {
      const out = new Float32Array(list.reduce((a, l) => a + l.length, 0));
      let o = 0;
      for (const l of list) { out.set(l, o); o += l.length; }
      return out;
    };
    outs.quantlab_int8_all = cat(qs);
    outs.litert_int8_all = cat(ls);
  }
  const checks = {
    fp32_quantlab_vs_ort: compare(outs.quantlab_fp32, outs.ort_fp32, cols),
    fp32_litert_vs_ort: compare(outs.litert_fp32, outs.ort_fp32, cols),
    int8_quantlab_vs_litert: compare(outs.quantlab_int8_all ?? outs.quantlab_int8, outs.litert_int8_all ?? outs.litert_int8, cols),
    int8_quantlab_uint8_vs_ort: compare(outs.quantlab_uint8, outs.ort_uint8, cols),
    int8_quantlab_uint8_vs_int8: compare(outs.quantlab_uint8, outs.quantlab_int8, cols),
    int8_vs_fp32_quantlab: compare(outs.quantlab_int8, outs.quantlab_fp32, cols),
  };
  current = {
    fns,
    async dispose() {
      for (const m of Object.values(qm)) m.dispose();
      for (const s of Object.values(sessions)) await s.release();
      for (const l of Object.values(lites)) l.delete();
    },
  };
  return { checks };
}

/** Times the workload kernel() or model() prepared (after the driver accepted its checks),
 * then frees it. Returns {engine: {ms (median), min_ms, reps}}. */
async function time(options) {
  try {
    return await timeAll(current.fns, options);
  } finally {
    await release();
  }
}

async function release() {
  const c = current;
  current = null;
  await c?.dispose();
}

window.bench = { setup, kernel, model, time, release, wasmLoaded };
