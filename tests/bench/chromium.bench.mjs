// Benchmark of issue 16: the kernel and model workloads in headless Chromium (Debian's, driven
// by playwright-core as the browser tests are) on a cross-origin-isolated page, quantlab's
// SIMD128 build against LiteRT.js (XNNPACK, single-thread wasm build, numThreads 1) and
// onnxruntime-web (wasm EP, numThreads 1, SIMD), in the same pass (chromium-page.mjs).
// - kernels: the int8 layers of kernels.bench.mjs (FC 1x784x300 and 64x784x300, GEMM 256^3
//   and 512^3, conv 3x3 32->64 @56, conv 1x1 64->128 @28, depthwise 3x3 96 @56);
// - models: MobileNetV2 224 (models-workloads.mjs, random weights) and the demo models at
//   batch 1 and 64, fp32 and int8 (quantlab's post-training quantization, calibrated here).
// The .tflite files are written from the ONNX files the other two engines run
// (tflite/write_tflite.py, Debian python3-onnx and python3-flatbuffers): same weights, and
// for int8 the scales, zero points and int32 biases quantlab chose. Outputs are checked
// against each other before timing, and the run fails loudly when they disagree.
// quantlab's int8 time is the faster of its uint8- and int8-activation forms (the issue's
// rule), LiteRT.js's kernel time the faster of its qs8 (float I/O) and qu8 (uint8 I/O) forms;
// all are in the JSON. Medians and minima of interleaved runs; speedup = peer_ms / quantlab_ms.
// Writes bench-results/chromium.json (rows with runtime: 'chromium') and chromium-meta.json
// (browser, page, wasm files fetched, load, failures).
// Environment: QL_BENCH_MIN_MS (default 1500), QL_BENCH_ONLY=kernels|models, QL_BENCH_MODELS
// (e.g. mobilenetv2,lenet5).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { load } from '../../wasm/quantlab.mjs';
import { staticServer } from '../e2e/static-server.mjs';
import {
  CONVS, GEMMS, convData, convName, gemmData, gemmName, qlinearConvModel, qlinearMatMulModel,
} from './kernels-workloads.mjs';
import {
  DEMO_BATCHES, DEMO_MODELS, demoModelBytes, fashionImages, mobileNetV2, randomImages,
} from './models-workloads.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const minMs = Number(process.env.QL_BENCH_MIN_MS ?? 1500);
const only = process.env.QL_BENCH_ONLY;
const selected = process.env.QL_BENCH_MODELS?.split(',').filter(Boolean);
const wantedModel = (name) => !selected || selected.includes(name);
const work = join(root, 'build', 'bench-chromium');
mkdirSync(work, { recursive: true });
const rel = (f) => `/${f.slice(root.length + 1)}`;
const fmt = (v, d = 3) => (v === undefined || v === null || Number.isNaN(v) ? '-' : v.toFixed(d));

// --- Files: ONNX for quantlab and onnxruntime-web, TFLite from the same ONNX -------------------
const ql = await load({ simd: true });
const jobs = [];       // write_tflite.py jobs
const kernelSpecs = [];
const modelSpecs = [];

function write(name, bytes) {
  const f = join(work, name);
  writeFileSync(f, bytes);
  return f;
}

if (only !== 'models') {
  GEMMS.forEach((shape, index) => {
    const s8 = write(`${gemmName('int8', shape)}.onnx`, qlinearMatMulModel('int8', shape, gemmData('int8', shape)));
    const u8 = write(`${gemmName('uint8', shape)}.onnx`, qlinearMatMulModel('uint8', shape, gemmData('uint8', shape)));
    const tflite = join(work, `${gemmName('int8', shape)}.tflite`);
    const tfliteQu8 = join(work, `${gemmName('int8', shape)}.qu8.tflite`);
    jobs.push({ onnx: s8, tflite, batch: shape[0], io: 'float32' }, { onnx: s8, tflite: tfliteQu8, qu8: true });
    kernelSpecs.push({ workload: gemmName('int8', shape).replace('_s8', ''), kind: 'gemm', index,
      tflite: rel(tflite), tfliteQu8: rel(tfliteQu8), onnxU8: rel(u8) });
  });
  CONVS.forEach((c, index) => {
    const s8 = write(`${convName('int8', c)}.onnx`, qlinearConvModel('int8', c, convData('int8', c)));
    const u8 = write(`${convName('uint8', c)}.onnx`, qlinearConvModel('uint8', c, convData('uint8', c)));
    const tflite = join(work, `${convName('int8', c)}.tflite`);
    const tfliteQu8 = join(work, `${convName('int8', c)}.qu8.tflite`);
    jobs.push({ onnx: s8, tflite, batch: 1, io: 'float32' }, { onnx: s8, tflite: tfliteQu8, qu8: true });
    kernelSpecs.push({ workload: convName('int8', c).replace('_s8', ''), kind: 'conv', index,
      tflite: rel(tflite), tfliteQu8: rel(tfliteQu8), onnxU8: rel(u8) });
  });
}

/**
 * quantlab's post-training quantization of an fp32 model (min-max, per-channel int8
 * weights, int8 activations: its default form), exported in QOperator form twice: with
 * uint8 activations (q + 128; onnxruntime-web's fast path, and quantlab's uint8 form) and as
 * quantized (int8; quantlab's int8 form and the source of the int8 TFLite file). The same
 * model in every engine.
 */
function quantized(name, fp32Bytes, calibration, calibShape) {
  const m = ql.loadModel(fp32Bytes);
  const q = ql.quantizeModel(m, calibration, calibShape, { method: 'minmax', perChannel: true });
  const files = {
    fp32: write(`${name}.onnx`, fp32Bytes),
    uint8: write(`${name}.int8-u8.onnx`, q.toOnnx('qoperator')),
    int8: write(`${name}.int8-s8.onnx`, q.toOnnx('qoperator', { activations: 'as-quantized' })),
  };
  q.dispose();
  m.dispose();
  return files;
}

function addModel(name, files, batch, input, shape, cols, checkImages = null) {
  const tflite = {};
  for (const k of ['fp32', 'int8']) {
    tflite[k] = join(work, `${name}.${k}.b${batch}.tflite`);
    jobs.push({ onnx: files[k], tflite: tflite[k], batch });
  }
  const inputFile = write(`${name}.input.b${batch}.f32`, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  const checkInput = checkImages && rel(write(`${name}.check.f32`,
    new Uint8Array(checkImages.buffer, checkImages.byteOffset, checkImages.byteLength)));
  modelSpecs.push({
    name, batch, shape, cols, input: rel(inputFile), checkInput,
    onnx: Object.fromEntries(Object.entries(files).map(([k, f]) => [k, rel(f)])),
    tflite: Object.fromEntries(Object.entries(tflite).map(([k, f]) => [k, rel(f)])),
  });
}

if (only !== 'kernels') {
  if (wantedModel('mobilenetv2')) {
    const res = 224, calibN = 8;
    const files = quantized('mobilenetv2', mobileNetV2({ res, seed: 1 }).bytes, randomImages(calibN, res, 1),
      [calibN, 3, res, res]);
    // The int8 check runs 15 more images (seeds 100..): one image's top-1 says little.
    addModel('mobilenetv2', files, 1, randomImages(1, res, 0), [1, 3, res, res], 1000, randomImages(15, res, 100));
  }
  for (const name of DEMO_MODELS.filter(wantedModel)) {
    const files = quantized(name, demoModelBytes(name), fashionImages(256, 1000), [256, 1, 28, 28]);
    for (const batch of DEMO_BATCHES) addModel(name, files, batch, fashionImages(batch), [batch, 1, 28, 28], 10);
  }
}

const jobsFile = write('tflite-jobs.json', JSON.stringify(jobs));
const py = spawnSync('/usr/bin/python3', [join(here, 'tflite', 'write_tflite.py'), jobsFile], { encoding: 'utf8' });
if (py.status !== 0) {
  console.error(`write_tflite.py failed:\n${py.stderr}`);
  process.exit(1);
}
const tfliteInfo = Object.fromEntries(py.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((j) => [rel(j.tflite), j]));

// --- The page --------------------------------------------------------------------------------
const server = await staticServer(root, {
  headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
    'cross-origin-resource-policy': 'same-origin' },
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const page = await browser.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
// LiteRT.js writes its log (INFO / WARNING lines, the missing WebGPU adapter) to
// console.error: counted apart, not errors of the page.
const liteRtLog = /^(INFO|WARNING): |XNNPACK delegate|WebGPU device|No available adapters/;
let liteRtLines = 0;
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (liteRtLog.test(m.text())) ++liteRtLines;
  else pageErrors.push(m.text());
});
page.setDefaultTimeout(0);
await page.goto(`${server.url}tests/bench/chromium-page.html`);
await page.waitForFunction(() => window.bench);
const info = await page.evaluate(() => window.bench.setup());
const chromiumVersion = browser.version();
console.log(`wasm files fetched: ${info.wasm_loaded.join(', ')}`);
if (info.wasm_loaded.some((p) => /litert_wasm_threaded/.test(p))) throw new Error('LiteRT.js loaded its threaded build');
console.log(`Chromium ${chromiumVersion}, crossOriginIsolated ${info.crossOriginIsolated}, timer step ` +
  `${fmt(info.timer_resolution_ms * 1000, 1)} us, quantlab ${info.quantlab_simd ? 'SIMD128' : 'scalar'}, ` +
  `onnxruntime-web ${info.onnxruntime_web}, LiteRT.js ${info.litert.build}`);
if (!info.crossOriginIsolated) throw new Error('the page is not cross-origin isolated');

const rows = [];
const failures = [];
const timing = { minMs, warmup: 5 };
function row(r) {
  const out = { runtime: 'chromium', ...r, speedup: r.peer_ms / r.quantlab_ms };
  rows.push(out);
  return out;
}

// --- Kernels -----------------------------------------------------------------------------------
for (const spec of kernelSpecs) {
  const r = await page.evaluate((s) => window.bench.kernel(s), spec);
  const { checks } = r;
  // quantlab int8 against LiteRT.js: both requantize in fp32 but may round a tie or a last
  // bit differently: at most one step. quantlab uint8 against onnxruntime-web: exact (issue 3).
  const okLite = checks.quantlab_int8_vs_litert.max_steps <= 1 && checks.quantlab_int8_vs_litert_qu8.max_steps <= 1;
  const okOrt = checks.quantlab_uint8_vs_onnxruntime_web.max_steps <= 1;
  if (!okLite) failures.push(`${spec.workload}: quantlab int8 and LiteRT.js differ by ${checks.quantlab_int8_vs_litert.max_steps} steps`);
  if (!okOrt) failures.push(`${spec.workload}: quantlab uint8 and onnxruntime-web differ by ${checks.quantlab_uint8_vs_onnxruntime_web.max_steps} steps`);
  if (!okLite || !okOrt) {
    await page.evaluate(() => window.bench.release());
    console.log(`  ${spec.workload}: OUTPUTS DISAGREE, not timed: ${JSON.stringify(checks)}`);
    continue;
  }
  const t = await page.evaluate((o) => window.bench.time(o), timing);
  const best = t.quantlab_int8.ms <= t.quantlab_uint8.ms ? 'int8' : 'uint8';
  const qlMs = t[`quantlab_${best}`].ms;
  const base = { workload: spec.workload, kind: 'kernel', dtype: 'int8', batch: spec.kind === 'gemm' ? GEMMS[spec.index][0] : 1,
    quantlab_ms: qlMs, quantlab_form: best, quantlab_uint8_ms: t.quantlab_uint8.ms, quantlab_int8_ms: t.quantlab_int8.ms,
    quantlab_min_ms: Math.min(t.quantlab_uint8.min_ms, t.quantlab_int8.min_ms), ukernel: r.ukernel };
  // LiteRT.js: the faster of its two forms, as for quantlab.
  const liteForm = t.litert.ms <= t.litert_qu8.ms ? 'litert' : 'litert_qu8';
  row({ ...base, peer: 'litert.js', peer_ms: t[liteForm].ms, peer_min_ms: t[liteForm].min_ms, peer_reps: t[liteForm].reps,
    peer_form: liteForm === 'litert' ? 'qs8 (float32 I/O)' : 'qu8 (uint8 I/O)',
    peer_qs8_ms: t.litert.ms, peer_qu8_ms: t.litert_qu8.ms,
    peer_io: 'qs8: float32 in and out, QUANTIZE / DEQUANTIZE around the int8 layer (LiteRT.js has no int8 tensors); ' +
      'qu8: the layer in uint8 (per-tensor weights w + 128), uint8 in and out',
    peer_threads: 1, check: checks.quantlab_int8_vs_litert, check_qu8: checks.quantlab_int8_vs_litert_qu8,
    tflite_ops: tfliteInfo[spec.tflite]?.ops });
  row({ ...base, peer: 'onnxruntime-web', peer_ms: t.ort.ms, peer_min_ms: t.ort.min_ms, peer_reps: t.ort.reps,
    peer_io: 'uint8 activations (its fast path)', peer_threads: 1, check: checks.quantlab_uint8_vs_onnxruntime_web });
  console.log(`  ${spec.workload.padEnd(30)} quantlab ${fmt(qlMs)} ms (${best}; u8 ${fmt(t.quantlab_uint8.ms)}, s8 ${fmt(t.quantlab_int8.ms)}), ` +
    `LiteRT.js ${fmt(t[liteForm].ms)} ms x${fmt(t[liteForm].ms / qlMs, 2)} (qs8 ${fmt(t.litert.ms)}, qu8 ${fmt(t.litert_qu8.ms)}), onnxruntime-web ${fmt(t.ort.ms)} ms x${fmt(t.ort.ms / qlMs, 2)}; ` +
    `vs LiteRT ${checks.quantlab_int8_vs_litert.differing}/${checks.quantlab_int8_vs_litert.count} differ (max ${checks.quantlab_int8_vs_litert.max_steps} step)`);
}

// --- Models ------------------------------------------------------------------------------------
for (const spec of modelSpecs) {
  const r = await page.evaluate((s) => window.bench.model(s), spec);
  const { checks } = r;
  const before = failures.length;
  const w = `${spec.name}_b${spec.batch}`;
  // fp32: within 1e-3 of onnxruntime-web relative to the largest logit (MobileNetV2's 52
  // layers accumulate float rounding; 1e-4 for the demo models).
  const tol = spec.name === 'mobilenetv2' ? 1e-3 : 1e-4;
  for (const k of ['fp32_quantlab_vs_ort', 'fp32_litert_vs_ort']) {
    const c = checks[k];
    c.ok = c.max_abs_diff <= tol * Math.max(1, c.max_abs_ref);
    if (!c.ok) failures.push(`${w} ${k}: max |diff| ${c.max_abs_diff} (max |ref| ${c.max_abs_ref})`);
  }
  // int8: the same integer model; quantlab and XNNPACK may round a requantization tie
  // differently, which can move a logit by a step of the output grid: within a step, or the
  // same top-1 on at least 98% of the images.
  const step = tfliteInfo[spec.tflite.int8]?.outputs?.[0]?.step;
  for (const k of ['int8_quantlab_vs_litert', 'int8_quantlab_uint8_vs_ort']) {
    const c = checks[k];
    c.step = step;
    c.ok = (step && c.max_abs_diff <= step * 1.001) || c.top1_agreement >= 0.98;
    if (!c.ok) failures.push(`${w} ${k}: max |diff| ${c.max_abs_diff} (a step: ${step}), top-1 agreement ${c.top1_agreement}`);
  }
  if (failures.length > before) {
    await page.evaluate(() => window.bench.release());
    console.log(`  ${w}: OUTPUTS DISAGREE, not timed: ${JSON.stringify(checks)}`);
    continue;
  }
  const t = await page.evaluate((o) => window.bench.time(o), { ...timing, warmup: 3 });
  const best = t.quantlab_int8.ms <= t.quantlab_uint8.ms ? 'int8' : 'uint8';
  const base = { workload: w, model: spec.name, kind: 'model', batch: spec.batch };
  const q8 = { quantlab_ms: t[`quantlab_${best}`].ms, quantlab_form: best, quantlab_uint8_ms: t.quantlab_uint8.ms,
    quantlab_int8_ms: t.quantlab_int8.ms, quantlab_min_ms: Math.min(t.quantlab_uint8.min_ms, t.quantlab_int8.min_ms) };
  row({ ...base, dtype: 'int8', ...q8, peer: 'litert.js', peer_ms: t.litert_int8.ms, peer_min_ms: t.litert_int8.min_ms,
    peer_io: 'float32', peer_threads: 1, check: checks.int8_quantlab_vs_litert, tflite_ops: tfliteInfo[spec.tflite.int8]?.ops });
  row({ ...base, dtype: 'int8', ...q8, peer: 'onnxruntime-web', peer_ms: t.ort_uint8.ms, peer_min_ms: t.ort_uint8.min_ms,
    peer_io: 'float32 (the uint8-activation export)', peer_threads: 1, check: checks.int8_quantlab_uint8_vs_ort });
  row({ ...base, dtype: 'fp32', quantlab_ms: t.quantlab_fp32.ms, quantlab_min_ms: t.quantlab_fp32.min_ms, peer: 'litert.js', peer_ms: t.litert_fp32.ms,
    peer_min_ms: t.litert_fp32.min_ms, peer_threads: 1, check: checks.fp32_litert_vs_ort });
  row({ ...base, dtype: 'fp32', quantlab_ms: t.quantlab_fp32.ms, quantlab_min_ms: t.quantlab_fp32.min_ms, peer: 'onnxruntime-web', peer_ms: t.ort_fp32.ms,
    peer_min_ms: t.ort_fp32.min_ms, peer_threads: 1, check: checks.fp32_quantlab_vs_ort });
  row({ ...base, dtype: 'int8', ...q8, peer: 'quantlab-fp32', peer_ms: t.quantlab_fp32.ms,
    note: 'quantlab int8 against its own fp32 (speedup > 1: int8 is faster)', check: checks.int8_vs_fp32_quantlab });
  console.log(`  ${w.padEnd(18)} int8: quantlab ${fmt(q8.quantlab_ms)} ms (${best}; u8 ${fmt(t.quantlab_uint8.ms)}, s8 ${fmt(t.quantlab_int8.ms)}), ` +
    `LiteRT.js ${fmt(t.litert_int8.ms)} x${fmt(t.litert_int8.ms / q8.quantlab_ms, 2)}, onnxruntime-web ${fmt(t.ort_uint8.ms)} x${fmt(t.ort_uint8.ms / q8.quantlab_ms, 2)}; ` +
    `fp32: quantlab ${fmt(t.quantlab_fp32.ms)}, LiteRT.js ${fmt(t.litert_fp32.ms)} x${fmt(t.litert_fp32.ms / t.quantlab_fp32.ms, 2)}, ` +
    `onnxruntime-web ${fmt(t.ort_fp32.ms)} x${fmt(t.ort_fp32.ms / t.quantlab_fp32.ms, 2)}; int8/fp32 quantlab x${fmt(t.quantlab_fp32.ms / q8.quantlab_ms, 2)}`);
  console.log(`    checks: int8 vs LiteRT max |diff| ${checks.int8_quantlab_vs_litert.max_abs_diff.toExponential(2)} (step ${fmt(step, 4)}), ` +
    `top-1 ${fmt(100 * checks.int8_quantlab_vs_litert.top1_agreement, 1)}%; fp32 LiteRT vs ORT ${checks.fp32_litert_vs_ort.max_abs_diff.toExponential(2)}, ` +
    `quantlab vs ORT ${checks.fp32_quantlab_vs_ort.max_abs_diff.toExponential(2)}`);
}

const wasmLoaded = await page.evaluate(() => window.bench.wasmLoaded());
console.log(`\nwasm files the page fetched: ${wasmLoaded.join(', ')}`);
await browser.close();
await server.close();

// --- Report ------------------------------------------------------------------------------------
console.log(`\nChromium ${chromiumVersion}, one thread each, medians of interleaved runs (speedup = peer_ms / quantlab_ms)`);
console.log('workload                       dtype  quantlab ms  LiteRT.js ms  x LiteRT  onnxruntime-web ms  x ORT   (ratios of the minima: LiteRT  ORT)');
const keyed = new Map();
for (const r of rows.filter((x) => x.peer === 'litert.js' || x.peer === 'onnxruntime-web')) {
  const k = `${r.workload} ${r.dtype}`;
  keyed.set(k, { ...(keyed.get(k) ?? {}), [r.peer]: r });
}
for (const [k, v] of keyed) {
  const l = v['litert.js'], o = v['onnxruntime-web'];
  const [w, dtype] = k.split(' ');
  console.log(`${w.padEnd(30)} ${dtype.padEnd(5)} ${fmt((l ?? o).quantlab_ms).padStart(11)} ${fmt(l?.peer_ms).padStart(13)} ` +
    `${fmt(l?.speedup, 2).padStart(9)} ${fmt(o?.peer_ms).padStart(19)} ${fmt(o?.speedup, 2).padStart(6)}` +
    `${fmt(l && l.peer_min_ms / l.quantlab_min_ms, 2).padStart(35)} ${fmt(o && o.peer_min_ms / o.quantlab_min_ms, 2).padStart(5)}`);
}
const selfRows = rows.filter((x) => x.peer === 'quantlab-fp32');
if (selfRows.length) {
  console.log('\nint8 against fp32 in each engine (x > 1: int8 is faster)');
  console.log('workload             quantlab int8  fp32     x   LiteRT.js int8  fp32     x   onnxruntime-web int8  fp32     x');
  for (const r of selfRows) {
    const lite = rows.filter((x) => x.workload === r.workload && x.peer === 'litert.js');
    const ortr = rows.filter((x) => x.workload === r.workload && x.peer === 'onnxruntime-web');
    const pair = (rs) => {
      const i8 = rs.find((x) => x.dtype === 'int8')?.peer_ms, f32 = rs.find((x) => x.dtype === 'fp32')?.peer_ms;
      return `${fmt(i8).padStart(14)} ${fmt(f32).padStart(7)} ${fmt(f32 / i8, 2).padStart(5)}`;
    };
    console.log(`${r.workload.padEnd(20)} ${fmt(r.quantlab_ms).padStart(13)} ${fmt(r.peer_ms).padStart(7)} ${fmt(r.speedup, 2).padStart(5)}  ` +
      `${pair(lite)}  ${pair(ortr).padStart(26)}`);
  }
}
const meta = {
  when: new Date().toISOString(), chromium: chromiumVersion, page: info, load_average: os.loadavg(),
  cpu: os.cpus()[0].model, min_ms: minMs, wasm_loaded: wasmLoaded, failures,
};
const outFile = join(root, 'bench-results', 'chromium.json');
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(rows, null, 1)}\n`);
writeFileSync(join(root, 'bench-results', 'chromium-meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
console.log(`\nwrote ${outFile}`);
if (pageErrors.length) console.log(`page errors:\n  ${pageErrors.join('\n  ')}`);
console.log(`(${liteRtLines} lines of LiteRT.js's own log on console.error, not shown)`);
if (failures.length) {
  console.error(`\nOUTPUTS DISAGREE (${failures.length}):\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
if (!existsSync(outFile)) process.exit(1);
