// Benchmark of issue 5 (Deep Compression): writes bench-results/compression.json.
//  1. The pipeline (prune -> quantize -> Huffman) on LeNet-300-100 and LeNet-5, natively on
//     the full Fashion-MNIST (60,000 training, 10,000 test images): bytes, ratio and accuracy
//     after each stage; the targets (>= 40x / >= 30x at <= 0.5 points loss).
//  2. K-means on the demo models' weights: every initialization's MSE against the exact
//     optimum (native), and the optimum's time on LeNet-300 fc1 at k = 256, native and in
//     WebAssembly (target < 1 s in wasm).
//  3. Huffman decoding speed: quantlab's table decoder against zlib's inflate of a
//     Huffman-only deflate stream of the same symbols, natively (libz) and in wasm (Node's
//     zlib, the peer in the same process); targets 200 M and 100 M symbols/s.
//  4. Section 5.5's bit-width sweep: accuracy against bits 1..8, conv only and FC only,
//     k-means and linear quantization.
//  5. Issue 17's coder comparison per layer and stream of both pipelines' files: symbols,
//     order-0 / order-1 / adaptive ideal code lengths, Huffman and rANS bytes, deflate
//     (node:zlib level 9), xz (-9e, raw format) and zstd (-19, no checksum) of the same
//     bit-packed streams, rANS decode speed native and in wasm; rANS decoding of the big
//     label streams of part 3 (target >= 100 M symbols/s in wasm).
// Environment: QL_NATIVE_BUILD (default build/native), QL_BENCH_MIN_MS (default 1500),
// QL_BENCH_QUICK=1 (skip the pipelines and the sweep: minutes of training).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, deflateSync, inflateSync } from 'node:zlib';

import { load } from '../../wasm/quantlab.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const minMs = Number(process.env.QL_BENCH_MIN_MS ?? 1500);
const quick = process.env.QL_BENCH_QUICK === '1';
const nativeDir = process.env.QL_NATIVE_BUILD ?? join(root, 'build', 'native');
const nativeBench = join(nativeDir, 'quantlab_compression_bench');

// The pipelines' per-layer plans: parameter:sparsity:bits:gap (gap -1: the smallest file).
const PLANS = {
  lenet300: {
    // Issue 17: int16 biases (820 B instead of 1,640) and fc1 at 95% reach 51.9x at -0.12
    // points (the 94.5% plan of issue 5 gave 48.8x at -0.27 with int16 biases).
    plan: 'fc1.weight:0.95:5:-1,fc2.weight:0.91:5:-1,fc3.weight:0.7:5:-1',
    args: ['--steps', '3', '--retrain', '3', '--qepochs', '2'],
    biasBits: 16,
    target: { ratio: 50, loss: 0.5 },
  },
  lenet5: {
    // 4-bit FC codebooks let more weights stay (the paper's 5 bits at 95% sparsity lost ~1
    // point here); retraining with batch 128 and lr 2e-3, as the model was trained.
    // Issue 17: int16 biases, a 4-bit conv1 codebook and a third fine-tuning epoch: 32.5x at
    // -0.35 points (fc1 at 94% reached 35.1x but lost 0.68 points).
    plan: 'conv1.weight:0.2:4:-1,conv2.weight:0.65:5:-1,fc1.weight:0.93:4:-1,fc2.weight:0.915:4:-1,fc3.weight:0.65:4:-1',
    args: ['--steps', '3', '--retrain', '4', '--qepochs', '3', '--batch', '128', '--lr', '0.002'],
    biasBits: 16,
    target: { ratio: 35, loss: 0.5 },
  },
};

const rows = [];
const targets = [];
const coderRows = [];
const target = (name, met, detail) => targets.push({ target: name, met, detail });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function native(args) {
  const r = spawnSync(nativeBench, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    console.error(`native benchmark ${args.join(' ')} failed:\n${r.stderr}`);
    return null;
  }
  return JSON.parse(r.stdout);
}

// --- 1. Pipelines --------------------------------------------------------------------------------
if (!existsSync(nativeBench)) {
  console.log(`${nativeBench} is not built: native parts skipped (run 'npm run build')`);
} else if (!quick) {
  for (const [model, cfg] of Object.entries(PLANS)) {
    console.log(`\npipeline ${model} (native, full Fashion-MNIST; minutes)`);
    const t0 = Date.now();
    const streams = mkdtempSync(join(os.tmpdir(), `ql-streams-${model}-`));
    const r = native(['--pipeline', model, '--plan', cfg.plan, ...cfg.args, '--bias-bits', String(cfg.biasBits ?? 0),
      '--streams', streams]);
    if (!r) continue;
    coderRows.push(...r.coders.map((c) => ({ model, ...c, dir: streams })));
    const fp32 = r.stages[0];
    for (const s of r.stages) {
      rows.push({ model, stage: s.stage, bytes: s.bytes, ratio: s.ratio, accuracy: s.accuracy,
        accuracy_delta: +(s.accuracy - fp32.accuracy).toFixed(2),
        ...(s.entropy_bytes ? { entropy_bytes: s.entropy_bytes, entropy_ratio: s.entropy_ratio } : {}) });
      console.log(`  ${s.stage.padEnd(10)} ${String(s.bytes).padStart(9)} B  ${s.ratio.toFixed(1).padStart(6)}x  ` +
        `${s.accuracy.toFixed(2)} %` + (s.entropy_bytes ? `   (rANS/best: ${s.entropy_bytes} B, ${s.entropy_ratio.toFixed(1)}x)` : ''));
    }
    rows.push({ model, workload: 'pipeline_layers', layers: r.layers, plan: cfg.plan,
      seconds: (Date.now() - t0) / 1000 });
    const last = r.stages.at(-1);
    target(`${model} >= ${cfg.target.ratio}x at <= ${cfg.target.loss} points loss`,
      last.ratio >= cfg.target.ratio && fp32.accuracy - last.accuracy <= cfg.target.loss,
      `${last.ratio.toFixed(1)}x, ${(last.accuracy - fp32.accuracy).toFixed(2)} points`);
    target(`${model} >= ${cfg.target.ratio}x at <= ${cfg.target.loss} points loss, rANS/best file`,
      last.entropy_ratio >= cfg.target.ratio && fp32.accuracy - last.accuracy <= cfg.target.loss,
      `${last.entropy_ratio.toFixed(1)}x (${last.entropy_bytes} B), ${(last.accuracy - fp32.accuracy).toFixed(2)} points`);
  }
}

// --- 2 and 3 natively: k-means table, Huffman decoding --------------------------------------
let nativeKm = null;
if (existsSync(nativeBench)) {
  console.log('\nnative: k-means (every init vs the optimum) and Huffman decoding vs zlib');
  nativeKm = native(['--min-ms', String(minMs), ...(quick ? ['--quick'] : [])]);
}
if (nativeKm) {
  console.log('model     layer          n       bits  optimal MSE  linear  density  random  k-means++  (MSE / optimum)');
  for (const k of nativeKm.kmeans) {
    rows.push({ workload: `kmeans_mse_${k.model}_${k.layer}_${k.bits}bit`, ...k });
    console.log(`${k.model.padEnd(9)} ${k.layer.padEnd(14)} ${String(k.n).padStart(6)}  ${String(k.bits).padStart(4)}  ` +
      `${k.optimal_mse.toExponential(3)}  ${k.linear_ratio.toFixed(2).padStart(6)}  ${k.density_ratio.toFixed(2).padStart(7)}  ` +
      `${k.random_ratio.toFixed(2).padStart(6)}  ${k['kmeans++_ratio'].toFixed(2).padStart(9)}`);
  }
  const fc1 = nativeKm.kmeans.find((k) => k.model === 'lenet300' && k.layer === 'fc1.weight' && k.bits === 8);
  rows.push({ workload: 'kmeans_optimal_lenet300_fc1_k256_native', quantlab_ms: fc1.optimal_ms,
    peer: 'Lloyd, linear init (Deep Compression)', peer_ms: fc1.linear_ms, speedup: fc1.linear_ms / fc1.optimal_ms,
    peer_mse_ratio: fc1.linear_ratio, kmeanspp_mse_ratio: fc1['kmeans++_ratio'] });
  for (const h of nativeKm.huffman) {
    rows.push({ workload: `huffman_decode_native_${h.bits}bit`, decoder: h.decoder, ms: h.ms, msym_per_s: h.msym_per_s,
      symbols: h.symbols, entropy: h.entropy, average_length: h.average_length, bytes: h.bytes });
  }
  for (const bits of [4, 5, 8]) {
    const ours = nativeKm.huffman.find((h) => h.bits === bits && h.decoder.includes('scalar_table'));
    const peer = nativeKm.huffman.find((h) => h.bits === bits && h.decoder.startsWith('zlib'));
    rows.push({ workload: `huffman_decode_native_${bits}bit_vs_zlib`, quantlab_ms: ours.ms, peer: 'zlib inflate (Z_HUFFMAN_ONLY)',
      peer_ms: peer.ms, speedup: peer.ms / ours.ms, msym_per_s: ours.msym_per_s });
    console.log(`huffman native ${bits}-bit labels: ${ours.msym_per_s.toFixed(0)} M symbols/s (zlib ${peer.msym_per_s.toFixed(0)}), ` +
      `average ${ours.average_length.toFixed(3)} bits vs entropy ${ours.entropy.toFixed(3)}`);
    if (bits !== 8) {
      target(`native Huffman decoding >= 200 M symbols/s (${bits}-bit labels)`, ours.msym_per_s >= 200,
        `${ours.msym_per_s.toFixed(0)} M symbols/s`);
    }
    const rans = nativeKm.huffman.find((h) => h.bits === bits && h.decoder.startsWith('rans'));
    if (rans) {
      rows.push({ workload: `rans_decode_native_${bits}bit`, decoder: rans.decoder, ms: rans.ms, msym_per_s: rans.msym_per_s,
        symbols: rans.symbols, bits_per_symbol: rans.average_length, entropy: rans.entropy, bytes: rans.bytes,
        huffman_msym_per_s: ours.msym_per_s, huffman_bytes: ours.bytes });
      console.log(`rANS native ${bits}-bit labels: ${rans.msym_per_s.toFixed(0)} M symbols/s, ` +
        `${rans.average_length.toFixed(3)} bits/symbol (Huffman ${ours.average_length.toFixed(3)}, entropy ${rans.entropy.toFixed(3)})`);
    }
  }
}

// --- 2 and 3 in WebAssembly (SIMD128 build) ------------------------------------------------------
const ql = await load({ simd: true });
const lenet300 = readFileSync(join(root, 'web', 'models', 'lenet300.onnx'));
const net = ql.networkFromOnnx(lenet300);
const fc1 = net.get('fc1.weight').values;
net.dispose();
const times = [];
let best = null;
for (let i = 0; i < 5; ++i) {
  const t0 = performance.now();
  best = ql.kMeansQuantize(fc1, 8, { method: 'optimal' });
  times.push(performance.now() - t0);
}
const lloydTimes = [];
let lloyd = null;
for (let i = 0; i < 3; ++i) {
  const t0 = performance.now();
  lloyd = ql.kMeansQuantize(fc1, 8, { method: 'lloyd', init: 'linear' });
  lloydTimes.push(performance.now() - t0);
}
const wasmKm = median(times);
rows.push({ workload: 'kmeans_optimal_lenet300_fc1_k256_wasm', quantlab_ms: wasmKm, peer: 'Lloyd, linear init (Deep Compression)',
  peer_ms: median(lloydTimes), speedup: median(lloydTimes) / wasmKm, mse: best.mse, peer_mse: lloyd.mse,
  peer_mse_ratio: lloyd.mse / best.mse });
console.log(`\nwasm: optimal k-means, LeNet-300 fc1 (235,200 weights), k = 256: ${wasmKm.toFixed(0)} ms ` +
  `(MSE ${best.mse.toExponential(4)}; Lloyd from linear init ${median(lloydTimes).toFixed(0)} ms, ` +
  `${(lloyd.mse / best.mse).toFixed(2)}x the MSE)`);
target('optimal k-means, LeNet-300 fc1 at k = 256, < 1 s in wasm', wasmKm < 1000, `${wasmKm.toFixed(0)} ms`);

for (const bits of [4, 5, 8]) {
  const cb = bits === 8 ? best : ql.kMeansQuantize(fc1, bits, { method: 'optimal' });
  const sym = new Uint16Array(cb.labels.length * 8);
  for (let c = 0; c < 8; ++c) sym.set(cb.labels, c * cb.labels.length);
  const h = ql.huffmanCompress(sym, 1 << bits);
  const code = ql.canonicalCode(h.lengths);
  const z = deflateSync(Uint8Array.from(sym), { strategy: constants.Z_HUFFMAN_ONLY, level: 9 });
  const ours = [];
  const peer = [];
  const started = performance.now();
  while (ours.length < 15 || performance.now() - started < minMs) {  // interleaved
    ours.push(code.benchmarkDecode(h.bytes, sym.length, 1));
    const t0 = performance.now();
    inflateSync(z);
    peer.push(performance.now() - t0);
    if (ours.length > 2000) break;
  }
  code.dispose();
  const rs = ql.ransEncode(sym, 1 << bits);
  const back = ql.ransDecode(rs.bytes, sym.length, 1 << bits);
  if (!back.every((v, i) => v === sym[i])) throw new Error('rANS decoded wrongly in wasm');
  const rms = [];
  for (let i = 0; i < 15; ++i) rms.push(ql.ransBenchmarkDecode(rs.bytes, sym.length, 1));
  const rmsym = sym.length / (median(rms) * 1e3);
  rows.push({ workload: `rans_decode_wasm_${bits}bit`, ms: median(rms), msym_per_s: rmsym, symbols: sym.length,
    bits_per_symbol: 8 * rs.bytes.length / sym.length, context: rs.context, lanes: rs.lanes, entropy: h.entropy });
  console.log(`wasm rANS ${bits}-bit labels: ${rmsym.toFixed(0)} M symbols/s, ${(8 * rs.bytes.length / sym.length).toFixed(3)} ` +
    `bits/symbol (${rs.context}, ${rs.lanes} lanes; entropy ${h.entropy.toFixed(3)})`);
  if (bits !== 8) target(`wasm rANS decoding >= 100 M symbols/s (${bits}-bit labels)`, rmsym >= 100, `${rmsym.toFixed(0)} M symbols/s`);
  const ms = median(ours), pms = median(peer);
  const msym = sym.length / (ms * 1e3);
  rows.push({ workload: `huffman_decode_wasm_${bits}bit_vs_zlib`, quantlab_ms: ms, peer: 'node:zlib inflateSync (Z_HUFFMAN_ONLY)',
    peer_ms: pms, speedup: pms / ms, msym_per_s: msym, peer_msym_per_s: sym.length / (pms * 1e3),
    entropy: h.entropy, average_length: h.averageLength, symbols: sym.length });
  console.log(`wasm Huffman ${bits}-bit labels: ${msym.toFixed(0)} M symbols/s (node:zlib ${(sym.length / (pms * 1e3)).toFixed(0)}), ` +
    `average ${h.averageLength.toFixed(3)} bits vs entropy ${h.entropy.toFixed(3)}`);
  if (bits !== 8) target(`wasm Huffman decoding >= 100 M symbols/s (${bits}-bit labels)`, msym >= 100, `${msym.toFixed(0)} M symbols/s`);
}

// --- 4. Bit-width sweep --------------------------------------------------------------------------
if (existsSync(nativeBench) && !quick) {
  for (const model of ['lenet5', 'lenet300']) {
    console.log(`\nbit-width sweep, ${model} (10,000 test images, no retraining)`);
    const s = native(['--sweep', model]);
    if (!s) continue;
    for (const r of s.rows) rows.push({ workload: 'bit_sweep', model, fp32_accuracy: s.fp32_accuracy, ...r });
    for (const layers of ['conv', 'fc']) {
      for (const method of ['kmeans_optimal', 'kmeans_lloyd_linear', 'linear']) {
        const line = s.rows.filter((r) => r.layers === layers && r.method === method);
        if (line.length) {
          console.log(`  ${layers.padEnd(4)} ${method.padEnd(20)} ${line.map((r) => `${r.bits}b ${r.accuracy.toFixed(1)}`).join('  ')}`);
        }
      }
    }
  }
}

// --- 5. Coder comparison (issue 17) -----------------------------------------------------------
function external(cmd, args, file) {
  const r = spawnSync(cmd, [...args, file], { maxBuffer: 1 << 26 });
  return r.status === 0 ? r.stdout.length : null;
}
const haveXz = spawnSync('xz', ['--version']).status === 0;
const haveZstd = spawnSync('zstd', ['--version']).status === 0;
if (!haveXz || !haveZstd) console.log(`xz ${haveXz ? 'found' : 'NOT installed'}, zstd ${haveZstd ? 'found' : 'NOT installed'}`);
if (coderRows.length) {
  console.log('\ncoder comparison (bytes; ideal = min(adaptive order-0, order-1) KT code length):');
  console.log('model    param          stream  symbols  H0 B    ideal B  Huffman  rANS  (+% ideal)  deflate  xz     zstd   ' +
    'rANS M sym/s native / wasm');
  for (const c of coderRows) {
    const base = join(c.dir, `${c.model}.${c.param}.${c.stream}`);
    const packed = readFileSync(`${base}.packed`);
    const deflate = deflateSync(packed, { level: 9 }).length;
    const xz = haveXz ? external('xz', ['-9e', '--format=raw', '-c'], `${base}.packed`) : null;
    const zstd = haveZstd ? external('zstd', ['-19', '--no-check', '-q', '-c'], `${base}.packed`) : null;
    const sym = new Uint16Array(new Uint8Array(readFileSync(`${base}.u16`)).buffer);
    const rs = ql.ransEncode(sym, c.alphabet);
    const reps = Math.max(1, Math.min(200, Math.round(2e6 / Math.max(1, sym.length))));
    const wasmMs = median(Array.from({ length: 7 }, () => ql.ransBenchmarkDecode(rs.bytes, sym.length, reps)));
    const wasmMsym = sym.length / (wasmMs * 1e3);
    const ideal = Math.min(c.adaptive_order0_bits, c.adaptive_order1_bits) / 8;
    const row = { workload: 'coder_comparison', model: c.model, param: c.param, stream: c.stream, symbols: c.symbols,
      width: c.width, alphabet: c.alphabet, order0_bytes: c.order0_bits / 8, order1_bytes: c.order1_bits / 8,
      adaptive_order0_bytes: c.adaptive_order0_bits / 8, adaptive_order1_bytes: c.adaptive_order1_bits / 8,
      fixed_bytes: c.fixed_bytes, huffman_bytes: c.huffman_bytes, rans_bytes: c.rans_bytes, rans_context: c.rans_context,
      rans_table_bytes: c.rans_table_bytes, rans_payload_over_model_pct: c.rans_payload_over_model_pct,
      rans_over_adaptive_pct: c.rans_over_adaptive_pct, deflate_bytes: deflate, xz_bytes: xz, zstd_bytes: zstd,
      rans_decode_msym_per_s_native: c.rans_decode_msym_per_s, rans_decode_msym_per_s_wasm: wasmMsym,
      huffman_decode_msym_per_s_native: c.huffman_decode_msym_per_s };
    rows.push(row);
    console.log(`${c.model.padEnd(8)} ${c.param.padEnd(14)} ${c.stream.padEnd(7)} ${String(c.symbols).padStart(7)} ` +
      `${(c.order0_bits / 8).toFixed(0).padStart(7)} ${ideal.toFixed(0).padStart(8)} ${String(c.huffman_bytes).padStart(8)} ` +
      `${String(c.rans_bytes).padStart(6)} (${c.rans_over_adaptive_pct >= 0 ? '+' : ''}${c.rans_over_adaptive_pct.toFixed(1)}%) ` +
      `${String(deflate).padStart(8)} ${String(xz).padStart(6)} ${String(zstd).padStart(6)}   ` +
      `${c.rans_decode_msym_per_s.toFixed(0)} / ${wasmMsym.toFixed(0)}`);
  }
  const within = coderRows.filter((c) => c.rans_over_adaptive_pct <= 2).length;
  target('rANS streams within 2% of the adaptive model\'s ideal code length (every layer)', within === coderRows.length,
    `${within} of ${coderRows.length} streams`);
  const xzRows = rows.filter((r) => r.workload === 'coder_comparison' && r.xz_bytes !== null);
  const belowXz = xzRows.filter((r) => r.rans_bytes < r.xz_bytes).length;
  target('rANS smaller than xz on every layer', xzRows.length > 0 && belowXz === xzRows.length,
    `${belowXz} of ${xzRows.length} streams`);
  for (const dir of new Set(coderRows.map((c) => c.dir))) rmSync(dir, { recursive: true, force: true });
}

// --- Report ----------------------------------------------------------------------------------
console.log(`\ntargets (${os.cpus()[0].model}, Node ${process.versions.node}):`);
for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'NOT MET'} ${t.target}: ${t.detail}`);
mkdirSync(join(root, 'bench-results'), { recursive: true });
writeFileSync(join(root, 'bench-results', 'compression.json'),
  `${JSON.stringify({ generated: new Date().toISOString(), cpu: os.cpus()[0].model, node: process.versions.node,
    rows, targets }, null, 1)}\n`);
console.log('wrote bench-results/compression.json');
