// Benchmark of issue 4: whole models, quantlab's SIMD128 build against onnxruntime-web's wasm
// backend (numThreads = 1, SIMD) in one Node process, single thread, on identical inputs:
// - each demo model (web/models/{lenet300,lenet5,cnn_bn}.onnx) fp32 and int8 at batch 1 and
//   64 on Fashion-MNIST test images; for int8, onnxruntime-web runs the QOperator ONNX file
//   that quantlab's post-training quantizer exported, so both run the same int8 model;
// - a MobileNetV2 (224x224, random weights, generated in models-workloads.mjs) fp32 in both,
//   int8 quantized by quantlab (calibrated on random images) in both. Target (issue 4):
//   quantlab int8 time <= half of onnxruntime-web's fp32 time, same run;
// - then, in a separate process (ort-node-models-worker.mjs), onnxruntime-node on the same
//   model files: reported, not targeted.
// Prints a table and writes bench-results/models.json and bench-results/models-targets.json.
//
// Timing: medians of interleaved repetitions (timeInterleaved): the functions compared take
// turns so load from other processes hits them alike. Both sides are timed as a user calls
// them: quantlab's Model.run() (copies the input into wasm memory, runs, copies the output
// out) against onnxruntime-web's session.run() (which copies its input in and output out).
// Outputs are checked: fp32 against onnxruntime-web within a tolerance; int8 quantlab
// against onnxruntime-web on the same int8 model (max difference, top-1 agreement).
// Environment: QL_BENCH_MIN_MS (default 1500) milliseconds of samples per measurement;
// QL_BENCH_MODELS=mobilenetv2,lenet5 runs a subset; QL_BENCH_PROFILE=1 prints MobileNetV2's
// per-layer times.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-web';

import { load } from '../../wasm/quantlab.mjs';
import { compare, timeInterleaved } from './kernels-workloads.mjs';
import {
  DEMO_BATCHES, DEMO_MODELS, demoModelBytes, fashionImages, mobileNetV2, mobileNetV2Int8, randomImages, root,
} from './models-workloads.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const minMs = Number(process.env.QL_BENCH_MIN_MS ?? 1500);
const selected = process.env.QL_BENCH_MODELS?.split(',').filter(Boolean);
const wanted = (name) => !selected || selected.includes(name);
const profile = process.env.QL_BENCH_PROFILE === '1';
const modelsDir = join(root, 'build', 'bench-models');  // files for the onnxruntime-node process
mkdirSync(modelsDir, { recursive: true });

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const sessionOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };

const ql = await load({ simd: true });
const rows = [];
const checks = [];       // output comparisons
const nativeJobs = [];   // {workload, model, precision, batch, file, shape, input}
const profiles = {};

const fmt = (v, d = 3) => (v === undefined || v === null || Number.isNaN(v) ? '-' : v.toFixed(d));

/**
 * timeInterleaved over functions that time themselves, so each result also carries the
 * minimum: on a machine shared with other processes the median includes preemptions, the
 * minimum is the undisturbed cost. Returns {name: {ms (median), min, reps}}.
 */
async function timeAll(fns, options) {
  const mins = {};
  const timed = Object.fromEntries(Object.entries(fns).map(([n, fn]) => [n, async () => {
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    mins[n] = Math.min(mins[n] ?? Infinity, dt);
    return dt;
  }]));
  const t = await timeInterleaved(timed, { minMs, ...options });
  for (const n of Object.keys(t)) t[n].min = mins[n];
  return t;
}

function row(r) {
  const out = { ...r, speedup: r.peer_ms / r.quantlab_ms };
  rows.push(out);
  console.log(`  ${r.workload.padEnd(38)} ${r.peer.padEnd(22)} quantlab ${fmt(r.quantlab_ms).padStart(8)} ms, ` +
    `peer ${fmt(r.peer_ms).padStart(8)} ms, x${fmt(out.speedup, 2)}` +
    (r.quantlab_min_ms ? ` (minima ${fmt(r.quantlab_min_ms)} / ${fmt(r.peer_min_ms)} ms)` : ''));
  return out;
}


function check(what, ours, theirs, cols, tolerance) {
  const c = { what, ...compare(ours, theirs, cols) };
  if (tolerance !== undefined) c.ok = c.max_abs_diff <= tolerance * Math.max(1, c.max_abs_ref);
  checks.push(c);
  console.log(`  check ${what}: max |diff| ${c.max_abs_diff.toExponential(2)} (max |ref| ` +
    `${fmt(c.max_abs_ref, 2)}), top-1 agreement ${fmt(100 * c.top1_agreement, 1)}%` +
    `${c.ok === undefined ? '' : (c.ok ? ', ok' : ', OUT OF TOLERANCE')}`);
  return c;
}

/**
 * quantlab post-training quantization (min-max calibration, per-channel int8 weights), or
 * null while the API is missing (the int8 rows are then skipped). calibration: Float32Array
 * of `shape`. Activations uint8 with a zero point: onnxruntime-web's fast QLinearConv /
 * QLinearMatMul path (with int8 activations it falls to a few GOPS, issue 3), so the peer
 * runs the int8 model at its best; quantlab's kernels take either at the same speed.
 */
const PTQ_OPTIONS = { method: 'minmax', activations: 'uint8', perChannel: true };
function quantize(model, calibration, shape) {
  if (typeof ql.quantizeModel !== 'function') return null;
  return ql.quantizeModel(model, calibration, shape, PTQ_OPTIONS);
}

/**
 * Per-layer times of one model: the time between successive progress callbacks (each node
 * reports when it finishes), minimum over `reps` runs: on a machine shared with other
 * processes a preemption only ever adds time, and a layer's minimum is what it costs.
 * Returns [{name, opType, ms}].
 */
function layerTimes(model, x, shape, reps = 15) {
  const steps = model.layers().filter((l) => !l.folded && !l.fused);
  const samples = steps.map(() => []);
  for (let r = 0; r < reps; ++r) {
    let last = performance.now();
    model.run(x, shape, {
      onProgress: (p) => {
        const now = performance.now();
        if (p.stage === 'run' && p.done <= steps.length) samples[p.done - 1].push(now - last);
        last = now;
      },
    });
  }
  return steps.map((l, i) => ({ name: l.name, opType: l.opType, ms: Math.min(...samples[i]) }));
}

function summarizeProfile(layers) {
  const byOp = {};
  for (const l of layers) byOp[l.opType] = (byOp[l.opType] ?? 0) + l.ms;
  return {
    total_ms: layers.reduce((a, l) => a + l.ms, 0), by_op_ms: byOp,
    slowest: [...layers].sort((a, b) => b.ms - a.ms).slice(0, 10),
  };
}

function printProfile(title, layers) {
  const s = summarizeProfile(layers);
  console.log(`  profile ${title}: ${fmt(s.total_ms)} ms (sum of per-layer minima) in ${layers.length} steps; by operator: ` +
    Object.entries(s.by_op_ms).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', '));
  if (profile) {
    for (const l of [...layers].sort((a, b) => b.ms - a.ms).slice(0, 25)) {
      console.log(`    ${l.name.padEnd(28)} ${l.opType.padEnd(22)} ${fmt(l.ms)} ms`);
    }
  }
  return s;
}

// --- Demo models ---------------------------------------------------------------------------
for (const name of DEMO_MODELS.filter(wanted)) {
  console.log(`\n${name}`);
  const bytes = demoModelBytes(name);
  const fp32 = ql.loadModel(bytes);
  const fp32Peer = await ort.InferenceSession.create(bytes, sessionOptions);
  const inName = fp32Peer.inputNames[0], outName = fp32Peer.outputNames[0];
  // Calibration: 256 test images not used as benchmark inputs (those are the first 64).
  const calibShape = [256, 1, 28, 28];
  const q = quantize(fp32, fashionImages(256, 1000), calibShape);
  let int8Bytes = null, int8Peer = null;
  if (q) {
    int8Bytes = q.toOnnx('qoperator');
    int8Peer = await ort.InferenceSession.create(int8Bytes, sessionOptions);
    writeFileSync(join(modelsDir, `${name}.int8.onnx`), int8Bytes);
  } else {
    console.log('  (no ql.quantizeModel yet: int8 rows skipped)');
  }
  for (const batch of DEMO_BATCHES) {
    const shape = [batch, 1, 28, 28];
    const x = fashionImages(batch);
    const feeds = { [inName]: new ort.Tensor('float32', x, shape) };
    const variants = [['fp32', fp32, fp32Peer]];
    if (q) variants.push(['int8', q.model, int8Peer]);
    for (const [precision, model, peer] of variants) {
      const ours = model.run(x, shape).data;
      const theirs = (await peer.run(feeds))[outName].data;
      const c = check(`${name} ${precision} b${batch} quantlab vs onnxruntime-web`, ours, theirs, 10,
        precision === 'fp32' ? 1e-4 : undefined);
      const t = await timeAll({ quantlab: () => model.run(x, shape), peer: () => peer.run(feeds) });
      row({
        workload: `${name}_${precision}_b${batch}`, model: name, precision, batch, peer: 'onnxruntime-web',
        quantlab_ms: t.quantlab.ms, peer_ms: t.peer.ms, quantlab_min_ms: t.quantlab.min,
        peer_min_ms: t.peer.min, reps: t.quantlab.reps, peer_reps: t.peer.reps, max_abs_diff: c.max_abs_diff, top1_agreement: c.top1_agreement,
      });
    }
    nativeJobs.push({ workload: `${name}_fp32_b${batch}`, model: name, precision: 'fp32', batch,
      file: join(root, 'web', 'models', `${name}.onnx`), shape, input: { kind: 'fashion' } });
    if (q) {
      nativeJobs.push({ workload: `${name}_int8_b${batch}`, model: name, precision: 'int8', batch,
        file: join(modelsDir, `${name}.int8.onnx`), shape, input: { kind: 'fashion' } });
    }
  }
  await fp32Peer.release();
  if (int8Peer) await int8Peer.release();
  q?.dispose();
  fp32.dispose();
}

// --- MobileNetV2 ---------------------------------------------------------------------------
if (wanted('mobilenetv2')) {
  const res = 224;
  const net = mobileNetV2({ res, seed: 1 });
  console.log(`\nmobilenetv2: ${net.convs} convolutions, ${(net.params / 1e6).toFixed(2)} M parameters, ` +
    `${(net.macs / 1e6).toFixed(0)} M multiply-adds, ${(net.bytes.length / 1e6).toFixed(1)} MB ONNX`);
  writeFileSync(join(modelsDir, 'mobilenetv2.onnx'), net.bytes);
  const shape = [1, 3, res, res];
  const x = randomImages(1, res, 0);
  const fp32 = ql.loadModel(net.bytes);
  const fp32Peer = await ort.InferenceSession.create(net.bytes, sessionOptions);
  const feeds = { input: new ort.Tensor('float32', x, shape) };
  const oursF = fp32.run(x, shape).data;
  const theirsF = (await fp32Peer.run(feeds)).logits.data;
  check('mobilenetv2 fp32 quantlab vs onnxruntime-web', oursF, theirsF, 1000, 1e-3);

  // int8: calibrated on 8 random images (seeds 1..8; the benchmark input is seed 0).
  const calibN = 8;
  const calib = randomImages(calibN, res, 1);
  const t0 = performance.now();
  const q = quantize(fp32, calib, [calibN, 3, res, res]);
  let qS8 = null;
  let int8Peer = null;
  const fns = { ql_fp32: () => fp32.run(x, shape), ort_fp32: () => fp32Peer.run(feeds) };
  if (q) {
    const sqnr = q.report.map((l) => l.sqnrDb).sort((a, b) => a - b);
    profiles.mobilenetv2_ptq = {
      seconds: (performance.now() - t0) / 1000, quantized_layers: q.report.length,
      sqnr_db_min: sqnr[0], sqnr_db_median: sqnr[sqnr.length >> 1], options: PTQ_OPTIONS,
      calibration: `${calibN} random N(0, 1) images`,
    };
    console.log(`  quantized in ${fmt(profiles.mobilenetv2_ptq.seconds, 1)} s: ${q.report.length} layers, ` +
      `per-layer SQNR min ${fmt(sqnr[0], 1)} dB, median ${fmt(sqnr[sqnr.length >> 1], 1)} dB`);
    const int8Bytes = q.toOnnx('qoperator');
    writeFileSync(join(modelsDir, 'mobilenetv2.int8.onnx'), int8Bytes);
    int8Peer = await ort.InferenceSession.create(int8Bytes, sessionOptions);
    const oursQ = q.model.run(x, shape).data;
    const theirsQ = (await int8Peer.run(feeds)).logits.data;
    check('mobilenetv2 int8 quantlab vs onnxruntime-web (same int8 model)', oursQ, theirsQ, 1000);
    check('mobilenetv2 int8 vs fp32 (quantlab)', oursQ, oursF, 1000);
    fns.ql_int8 = () => q.model.run(x, shape);
    fns.ort_int8 = () => int8Peer.run(feeds);
    // quantlab's default, int8 activations: quantlab only (onnxruntime-web's int8-activation
    // QLinearConv runs at a few GOPS, issue 3; seconds per run).
    qS8 = ql.quantizeModel(fp32, calib, [calibN, 3, res, res], { ...PTQ_OPTIONS, activations: 'int8' });
    fns.ql_int8s8 = () => qS8.model.run(x, shape);
  } else {
    console.log('  (no ql.quantizeModel yet: int8 rows skipped)');
  }
  // The int8 runtime on MobileNetV2's shapes without the quantizer: the QOperator graph
  // written directly with made-up scales (uint8 activations, onnxruntime-web's fast path).
  const synBytes = mobileNetV2Int8({ res, seed: 1, activations: 'uint8' });
  writeFileSync(join(modelsDir, 'mobilenetv2.int8-synthetic.onnx'), synBytes);
  const syn = ql.loadModel(synBytes);
  const synPeer = await ort.InferenceSession.create(synBytes, sessionOptions);
  check('mobilenetv2 synthetic int8 quantlab vs onnxruntime-web (same model)', syn.run(x, shape).data,
    (await synPeer.run(feeds)).logits.data, 1000);
  fns.ql_syn = () => syn.run(x, shape);
  fns.ort_syn = () => synPeer.run(feeds);
  const t = await timeAll(fns, { minMs: Math.max(minMs, 3000), warmup: 3 });
  const base = { model: 'mobilenetv2', batch: 1, resolution: res };
  row({ ...base, workload: 'mobilenetv2_fp32_b1', precision: 'fp32', peer: 'onnxruntime-web',
    quantlab_ms: t.ql_fp32.ms, peer_ms: t.ort_fp32.ms,
    quantlab_min_ms: t.ql_fp32.min, peer_min_ms: t.ort_fp32.min, reps: t.ql_fp32.reps, peer_reps: t.ort_fp32.reps });
  if (q) {
    row({ ...base, workload: 'mobilenetv2_int8_b1', precision: 'int8', peer: 'onnxruntime-web',
      quantlab_ms: t.ql_int8.ms, peer_ms: t.ort_int8.ms,
      quantlab_min_ms: t.ql_int8.min, peer_min_ms: t.ort_int8.min, reps: t.ql_int8.reps, peer_reps: t.ort_int8.reps });
    row({ ...base, workload: 'mobilenetv2_int8_vs_fp32_b1', precision: 'int8', peer: 'onnxruntime-web-fp32',
      quantlab_ms: t.ql_int8.ms, peer_ms: t.ort_fp32.ms, quantlab_min_ms: t.ql_int8.min,
      peer_min_ms: t.ort_fp32.min, note: 'the target: quantlab int8 against onnxruntime-web fp32' });
    row({ ...base, workload: 'mobilenetv2_int8_vs_fp32_b1', precision: 'int8', peer: 'quantlab-fp32',
      quantlab_ms: t.ql_int8.ms, peer_ms: t.ql_fp32.ms, quantlab_min_ms: t.ql_int8.min,
      peer_min_ms: t.ql_fp32.min });
    row({ ...base, workload: 'mobilenetv2_int8s8_vs_fp32_b1', precision: 'int8', peer: 'onnxruntime-web-fp32',
      quantlab_ms: t.ql_int8s8.ms, peer_ms: t.ort_fp32.ms, quantlab_min_ms: t.ql_int8s8.min,
      peer_min_ms: t.ort_fp32.min, note: 'quantlab post-training int8 with int8 activations (its default)' });
  }
  row({ ...base, workload: 'mobilenetv2_int8synthetic_b1', precision: 'int8', peer: 'onnxruntime-web',
    quantlab_ms: t.ql_syn.ms, peer_ms: t.ort_syn.ms,
    quantlab_min_ms: t.ql_syn.min, peer_min_ms: t.ort_syn.min, reps: t.ql_syn.reps, peer_reps: t.ort_syn.reps,
    note: 'QOperator graph written directly with made-up scales (not post-training quantized), ' +
      'uint8 activations: the int8 runtime on MobileNetV2 shapes, independent of the quantizer' });
  row({ ...base, workload: 'mobilenetv2_int8synthetic_vs_fp32_b1', precision: 'int8',
    peer: 'onnxruntime-web-fp32', quantlab_ms: t.ql_syn.ms, peer_ms: t.ort_fp32.ms,
    quantlab_min_ms: t.ql_syn.min, peer_min_ms: t.ort_fp32.min });
  profiles.mobilenetv2_fp32 = printProfile('quantlab fp32', layerTimes(fp32, x, shape));
  profiles.mobilenetv2_int8synthetic = printProfile('quantlab int8 synthetic', layerTimes(syn, x, shape));
  if (q) profiles.mobilenetv2_int8 = printProfile('quantlab int8', layerTimes(q.model, x, shape));
  nativeJobs.push({ workload: 'mobilenetv2_fp32_b1', model: 'mobilenetv2', precision: 'fp32', batch: 1,
    file: join(modelsDir, 'mobilenetv2.onnx'), shape, input: { kind: 'random', seed: 0 } });
  if (q) {
    nativeJobs.push({ workload: 'mobilenetv2_int8_b1', model: 'mobilenetv2', precision: 'int8', batch: 1,
      file: join(modelsDir, 'mobilenetv2.int8.onnx'), shape, input: { kind: 'random', seed: 0 } });
  }
  nativeJobs.push({ workload: 'mobilenetv2_int8synthetic_b1', model: 'mobilenetv2', precision: 'int8',
    batch: 1, file: join(modelsDir, 'mobilenetv2.int8-synthetic.onnx'), shape, input: { kind: 'random', seed: 0 } });
  await fp32Peer.release();
  await synPeer.release();
  if (int8Peer) await int8Peer.release();
  syn.dispose();
  q?.dispose();
  qS8?.dispose();
  fp32.dispose();
}

// --- Native: onnxruntime-node on the same files (separate process) ---------------------------
const nativeRows = [];
if (nativeJobs.length && process.env.QL_BENCH_NATIVE !== '0') {
  console.log('\nnative: onnxruntime-node (session.run, one thread) on the same model files, separate process');
  const jobsFile = join(modelsDir, 'jobs.json');
  writeFileSync(jobsFile, JSON.stringify(nativeJobs));
  const peer = spawnSync(process.execPath, [join(here, 'ort-node-models-worker.mjs'), jobsFile],
    { encoding: 'utf8', env: { ...process.env, QL_BENCH_MIN_MS: String(minMs) } });
  if (peer.status !== 0) {
    console.log(`  onnxruntime-node worker failed (reported, not targeted):\n${peer.stderr.slice(-2000)}`);
  } else {
    for (const line of peer.stdout.trim().split('\n').filter(Boolean)) {
      const p = JSON.parse(line);
      const wasm = rows.find((r) => r.workload === p.workload && r.peer === 'onnxruntime-web');
      const r = {
        workload: `native_${p.workload}`, model: p.model, precision: p.precision, batch: p.batch,
        peer: 'onnxruntime-node', quantlab_ms: wasm?.quantlab_ms, peer_ms: p.ms, peer_reps: p.reps,
        note: 'quantlab_ms is quantlab\'s wasm SIMD128 time from the same workload above; ' +
          'onnxruntime-node runs natively (reported, not targeted)',
      };
      r.speedup = r.quantlab_ms ? r.peer_ms / r.quantlab_ms : undefined;
      rows.push(r);
      nativeRows.push(r);
      console.log(`  ${r.workload.padEnd(34)} onnxruntime-node ${fmt(r.peer_ms).padStart(8)} ms`);
    }
  }
}

// --- Export (issue 11): each export form in onnxruntime-web against the fp32 original -------
// quantlab's default PTQ (int8 activations), written as the file a user downloads: the
// default export (activations as uint8, identical outputs) and as quantized (int8), each in
// QOperator and QDQ form. Each is run by onnxruntime-web beside the fp32 original in the same
// pass (peer_ms), and checked for exactness against quantlab's int8 outputs.
const exportRows = [];
for (const name of DEMO_MODELS.filter(wanted)) {
  if (typeof ql.quantizeModel !== 'function') break;
  const bytes = demoModelBytes(name);
  const fp32 = ql.loadModel(bytes);
  const q = ql.quantizeModel(fp32, fashionImages(256, 1000), [256, 1, 28, 28], { method: 'minmax' });
  const fp32Peer = await ort.InferenceSession.create(bytes, sessionOptions);
  const inName = fp32Peer.inputNames[0], outName = fp32Peer.outputNames[0];
  console.log(`\n${name}: export forms in onnxruntime-web against the fp32 original`);
  for (const activations of ['uint8', 'as-quantized']) {
    for (const form of ['qoperator', 'qdq']) {
      const session = await ort.InferenceSession.create(q.toOnnx(form, { activations }), sessionOptions);
      for (const batch of DEMO_BATCHES) {
        const shape = [batch, 1, 28, 28];
        const x = fashionImages(batch);
        const feeds = { [inName]: new ort.Tensor('float32', x, shape) };
        const ours = q.model.run(x, shape).data;
        const theirs = (await session.run(feeds))[outName].data;
        let differ = 0;
        for (let i = 0; i < ours.length; ++i) differ += ours[i] !== theirs[i] ? 1 : 0;
        const t = await timeAll({ quantlab: () => session.run(feeds), peer: () => fp32Peer.run(feeds) });
        const r = {
          workload: `${name}_export_${form}_${activations === 'uint8' ? 'u8' : 'i8'}_b${batch}`, model: name, form,
          activations: activations === 'uint8' ? 'uint8 (default export)' : 'int8 (as quantized)', batch,
          peer: 'onnxruntime-web fp32 original', quantlab_ms: t.quantlab.ms, peer_ms: t.peer.ms,
          exact_logits: differ === 0, differing_logits: differ, logits: ours.length,
          note: 'quantlab_ms: onnxruntime-web running quantlab\'s int8 export; peer_ms: onnxruntime-web running the fp32 original; speedup > 1: the export is faster than fp32',
        };
        r.speedup = r.peer_ms / r.quantlab_ms;
        rows.push(r);
        exportRows.push(r);
        console.log(`  ${r.workload.padEnd(34)} export ${fmt(r.quantlab_ms).padStart(8)} ms, fp32 ${fmt(r.peer_ms).padStart(8)} ms, ` +
          `x${fmt(r.speedup, 2)}, ${differ} of ${ours.length} logits differ from quantlab`);
      }
      await session.release();
    }
  }
  await fp32Peer.release();
  q.dispose();
  fp32.dispose();
}

// --- Report ----------------------------------------------------------------------------------
console.log(`\nquantlab ${ql.simd ? 'SIMD128' : 'scalar'} vs onnxruntime-web ${ort.env.versions?.web ?? ''} ` +
  `(wasm, 1 thread), Node ${process.versions.node}, ${os.cpus()[0].model}, load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
console.log('workload                                peer                   quantlab ms    peer ms  speedup   (minima: quantlab    peer)');
for (const r of rows) {
  console.log(`${r.workload.padEnd(39)} ${r.peer.padEnd(22)} ${fmt(r.quantlab_ms).padStart(11)} ` +
    `${fmt(r.peer_ms).padStart(10)} ${fmt(r.speedup, 2).padStart(8)}            ` +
    `${fmt(r.quantlab_min_ms).padStart(8)} ${fmt(r.peer_min_ms).padStart(8)}`);
}

const targets = [];
const mt = rows.find((r) => r.workload === 'mobilenetv2_int8_vs_fp32_b1' && r.peer === 'onnxruntime-web-fp32');
if (mt) {
  targets.push({
    target: 'MobileNetV2 224x224: quantlab int8 <= 0.5 x onnxruntime-web fp32 (same run)',
    met: mt.quantlab_ms <= 0.5 * mt.peer_ms,
    detail: `quantlab int8 ${fmt(mt.quantlab_ms, 1)} ms, onnxruntime-web fp32 ${fmt(mt.peer_ms, 1)} ms: ` +
      `${fmt(mt.quantlab_ms / mt.peer_ms, 2)} of it (x${fmt(mt.speedup, 2)}); minima ${fmt(mt.quantlab_min_ms, 1)} / ` +
      `${fmt(mt.peer_min_ms, 1)} ms = ${fmt(mt.quantlab_min_ms / mt.peer_min_ms, 2)}`,
  });
} else if (wanted('mobilenetv2')) {
  targets.push({ target: 'MobileNetV2 224x224: quantlab int8 <= 0.5 x onnxruntime-web fp32 (same run)',
    met: false, detail: 'not measured: quantlab int8 (ql.quantizeModel) unavailable' });
}
if (exportRows.length) {
  const defaults = exportRows.filter((r) => r.activations.startsWith('uint8'));
  targets.push({ target: 'the default export runs in onnxruntime-web with quantlab\'s int8 outputs exactly',
    met: defaults.every((r) => r.exact_logits),
    detail: defaults.filter((r) => !r.exact_logits).map((r) => `${r.workload}: ${r.differing_logits}`).join('; ') || `${defaults.length} runs` });
  targets.push({ target: 'the default export no slower than the fp32 original in onnxruntime-web (reported)',
    met: defaults.every((r) => r.speedup >= 1),
    detail: defaults.map((r) => `${r.workload} x${fmt(r.speedup, 2)}`).join(', ') });
}
const badChecks = checks.filter((c) => c.ok === false);
targets.push({ target: 'fp32 outputs equal onnxruntime-web\'s within tolerance', met: badChecks.length === 0,
  detail: badChecks.length ? badChecks.map((c) => c.what).join('; ') : `${checks.filter((c) => c.ok).length} checks` });
console.log('\ntargets');
for (const t of targets) console.log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.detail}`);

const loadAverage = os.loadavg();
const out = join(root, 'bench-results', 'models.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(rows.map((r) => ({ runtime: 'node', ...r, load_average: loadAverage })), null, 1)}\n`);
writeFileSync(join(root, 'bench-results', 'models-targets.json'), `${JSON.stringify({
  when: new Date().toISOString(), load_average: loadAverage, cpu: os.cpus()[0].model,
  node: process.versions.node, onnxruntime_web: ort.env.versions, min_ms: minMs, ptq_options: PTQ_OPTIONS,
  targets, checks, profiles,
}, null, 1)}\n`);
console.log(`\nwrote ${out}`);
