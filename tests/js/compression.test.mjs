// JS API of the compression section (issue 5): k-means, Huffman, pruning, the compressed
// file and the training engine, on both builds, through the public entry point.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { HuffmanCode, load, Network, QuantlabError } from '../../wasm/quantlab.mjs';

const root = new URL('../../', import.meta.url);
const read = (path) => new Uint8Array(readFileSync(new URL(path, root)));

// Lecture 5's 4x4 matrix and its 2-bit cluster indices.
const W = [2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12, -0.91, 1.92, 0, -1.03, 1.87, 0, 1.53,
  1.49];
const LABELS = [3, 0, 2, 1, 1, 1, 0, 3, 0, 3, 1, 0, 3, 1, 2, 2];

/** Deterministic pseudo-normal weights (sum of uniforms from an LCG). */
function weights(n, seed = 1) {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float32Array.from({ length: n }, () => (u() + u() + u() + u() - 2) * 0.05);
}

function throwsCode(fn, code) {
  assert.throws(fn, (e) => e instanceof QuantlabError && e.code === code);
}

const testImages = read('web/data/fashion-test-2000.images.u8').subarray(0, 500 * 784);
const testLabels = read('web/data/fashion-test-2000.labels.u8').subarray(0, 500);
const trainImages = read('web/data/fashion-train-6000.images.u8').subarray(0, 1000 * 784);
const trainLabels = read('web/data/fashion-train-6000.labels.u8').subarray(0, 1000);

for (const simd of [true, false]) {
  describe(`compression, ${simd ? 'SIMD128' : 'scalar'} build`, async () => {
    const ql = await load({ simd });

    test('lecture example: 2-bit k-means, 64 B -> 20 B', () => {
      for (const method of ['optimal', 'lloyd']) {
        const r = ql.kMeansQuantize(W, 2, { method });
        assert.ok(r.centroids instanceof Float32Array);
        assert.ok(r.labels instanceof Int32Array);
        assert.deepEqual(Array.from(r.labels), LABELS);
        [-1, 0, 1.5, 2].forEach((c, i) => assert.ok(Math.abs(r.centroids[i] - c) < 1e-6));
      }
      assert.equal(ql.codebookStorageBytes(16, 2), 20);
    });

    test('the optimum is at most every Lloyd variant, and reports progress', () => {
      const w = weights(4000, 7);
      const reports = [];
      const best = ql.kMeansQuantize(w, 5, { method: 'optimal' }, (p) => reports.push(p));
      assert.ok(reports.length > 0);
      assert.equal(reports.at(-1).done, reports.at(-1).total);
      assert.equal(reports[0].stage, 'k-means');
      for (const init of ['linear', 'density', 'random', 'kmeans++']) {
        const r = ql.kMeansQuantize(w, 5, { init, seed: 3 });
        assert.ok(best.mse <= r.mse * (1 + 1e-9), `${init}: ${best.mse} > ${r.mse}`);
      }
      const init = ql.kMeansInit([0, 1, 2, 3, 4], 3, { init: 'linear' });
      assert.deepEqual(Array.from(init), [0, 2, 4]);
      throwsCode(() => ql.kMeansQuantize(w, 9), 'INVALID_ARGUMENT');
      throwsCode(() => ql.kMeansQuantize([], 2), 'EMPTY_INPUT');
      throwsCode(() => ql.kMeansQuantize(w, 2, { init: 'nope' }), 'INVALID_ARGUMENT');
    });

    test('fine-tuning updates: mean error per cluster, gradient sums per cluster', () => {
      const cb = ql.kMeansQuantize(W, 2, { method: 'optimal' });
      const moved = Float32Array.from(W, (w, i) => (cb.labels[i] === 3 ? w + 0.1 : w));
      const c = ql.updateCodebook(moved, cb);
      assert.ok(Math.abs(c[3] - 2.1) < 1e-6);
      const sums = ql.clusterGradientSums(new Float32Array(16).fill(1), cb);
      assert.deepEqual(Array.from(sums), [4, 5, 3, 4]);
    });

    test('lecture example: prefix codes', () => {
      throwsCode(() => ql.prefixCode(['01', '101', '010']), 'INVALID_ARGUMENT');
      const code = ql.prefixCode(['01', '10', '111']);
      assert.ok(code instanceof HuffmanCode);
      const abc = code.encode([0, 1, 2]);
      assert.equal(abc.bitCount, 7);
      assert.deepEqual(Array.from(abc.bytes), [0b01101110]);
      assert.deepEqual(Array.from(code.decode(abc.bytes, 3)), [0, 1, 2]);
      throwsCode(() => code.decode(new Uint8Array([0]), 1), 'MALFORMED');
      const tree = code.tree([5, 3, 2]);
      assert.equal(tree[0].count, 10);
      let n = 0;
      for (const bit of [1, 1, 1]) n = tree[n].children[bit];
      assert.equal(tree[n].symbol, 2);
      code.dispose();
      assert.ok(code.disposed);
      throwsCode(() => code.encode([0]), 'INVALID_ARGUMENT');
      code.dispose();  // twice is fine
    });

    test('Huffman: round trip, lengths within the limit, length beside entropy', () => {
      const symbols = Uint16Array.from({ length: 20000 }, (_, i) => Math.min(31, Math.floor(-Math.log2((i * 7919 % 20000 + 1) / 20001))));
      const h = ql.huffmanCompress(symbols, 32);
      assert.ok(h.entropy <= h.averageLength && h.averageLength < h.entropy + 1);
      assert.equal(h.bytes.length, Math.ceil(h.bitCount / 8));
      const code = ql.canonicalCode(h.lengths);
      assert.deepEqual(code.decode(h.bytes, symbols.length), symbols);
      const ms = code.benchmarkDecode(h.bytes, symbols.length, 3);
      assert.ok(ms > 0);
      code.dispose();
      const fib = [1, 1];
      while (fib.length < 25) fib.push(fib.at(-1) + fib.at(-2));
      const limited = ql.huffmanCode(fib, { maxLength: 8 });
      assert.equal(limited.maxLength, 8);
      assert.equal(limited.codewords.filter((w) => w.length > 0).length, 25);
      limited.dispose();
    });

    test('pruning: masks and relative indices with filler zeros', () => {
      const w = weights(1000, 3);
      const mask = ql.magnitudePruneMask(w, 0.9);
      assert.ok(mask instanceof Uint8Array);
      assert.equal(mask.reduce((a, b) => a + b, 0), 100);
      const masks = ql.globalMagnitudePruneMasks([w, w.map((x) => x * 3)], 0.5);
      assert.ok(masks[0].reduce((a, b) => a + b, 0) < masks[1].reduce((a, b) => a + b, 0));
      const m = new Uint8Array(20);
      m[1] = m[4] = m[15] = 1;
      const r = ql.relativeIndices(m, 3);
      assert.deepEqual(Array.from(r.gaps), [1, 2, 7, 2]);
      assert.deepEqual(Array.from(r.positions), [1, 4, 12, 15]);
      assert.equal(r.fillers, 1);
      assert.equal(r.bytes, 18);
      assert.deepEqual(Array.from(ql.decodeRelativeIndices(r.gaps, 3, 20)), [1, 4, 12, 15]);
      assert.deepEqual(ql.pruneSchedule(0.9, 3, 'linear').map((x) => +x.toFixed(6)), [0.3, 0.6, 0.9]);
      assert.ok(ql.bestGapBits(mask, 5) >= 1);
    });

    test('compressed file: round trip, corruption is MALFORMED, the module stays usable', () => {
      const w = weights(600, 5);
      const mask = ql.magnitudePruneMask(w, 0.8);
      const pruned = w.map((x, i) => (mask[i] ? x : 0));
      const cb = ql.kMeansQuantize(pruned, 4, { method: 'optimal', pinnedZero: true });
      const bias = weights(6, 9);
      const file = ql.encodeCompressed([
        { name: 'fc.weight', shape: [6, 100], bits: 4, gapBits: 5, codebook: cb },
        { name: 'fc.bias', shape: [6], values: bias },
      ]);
      assert.ok(file instanceof Uint8Array);
      const back = ql.decodeCompressed(file);
      assert.equal(back.network, null);
      assert.equal(back.fileBytes, file.length);
      assert.deepEqual(back.tensors[0].values, Float32Array.from(cb.labels, (l) => cb.centroids[l]));
      assert.deepEqual(back.tensors[1].values, bias);
      assert.equal(back.tensors[0].gapBits, 5);
      const total = back.architectureBytes + back.tensors.reduce((a, t) => a + t.sizes.total, 0);
      assert.equal(total, file.length);
      const bad = file.slice();
      bad[30] ^= 0xff;
      throwsCode(() => ql.decodeCompressed(bad), 'MALFORMED');
      throwsCode(() => ql.decodeCompressed(file.subarray(0, 10)), 'MALFORMED');
      assert.equal(ql.crc32(new TextEncoder().encode('123456789')), 0xCBF43926);
      assert.equal(ql.decodeCompressed(file).tensors.length, 2);
    });

    test('rANS: round trip, the entropy choice in files, integer biases, bad options', () => {
      const sym = Uint16Array.from({ length: 5000 }, (_, i) => ((i * 7919) % 13 < 9 ? 0 : (i * 31) % 16));
      const rs = ql.ransEncode(sym, 16);
      assert.ok(rs.bytes instanceof Uint8Array);
      assert.equal(rs.bytes.length, rs.headerBytes + rs.tableBytes + rs.payloadBytes);
      assert.deepEqual(ql.ransDecode(rs.bytes, sym.length, 16), sym);
      throwsCode(() => ql.ransDecode(rs.bytes, sym.length + 1, 16), 'MALFORMED');
      throwsCode(() => ql.ransEncode(sym, 4), 'OUT_OF_RANGE');
      throwsCode(() => ql.ransEncode(sym, 16, { lanes: 9 }), 'INVALID_ARGUMENT');
      assert.ok(ql.ransBenchmarkDecode(rs.bytes, sym.length, 2) >= 0);
      const st = ql.entropyStatistics(sym, 16);
      // No static model beats the empirical entropy of its context (this stream is periodic).
      assert.ok(st.order0Bits > 0 && Math.min(st.order0Bits, st.order1Bits) <= 8 * rs.bytes.length);
      const w = weights(3000, 5);
      const mask = ql.magnitudePruneMask(w, 0.9);
      const cb = ql.kMeansQuantize(w.map((x, i) => (mask[i] ? x : 0)), 5, { method: 'optimal', pinnedZero: true });
      const bias = weights(30, 9);
      const tensors = (entropy) => [
        { name: 'fc.weight', shape: [30, 100], bits: 5, gapBits: 4, codebook: cb, entropy },
        { name: 'fc.bias', shape: [30], values: bias, biasBits: 16 },
      ];
      const huff = ql.encodeCompressed(tensors('huffman'));
      const best = ql.encodeCompressed(tensors('best'));
      assert.ok(best.length <= huff.length);
      const back = ql.decodeCompressed(best);
      assert.deepEqual(back.tensors[0].values, ql.decodeCompressed(huff).tensors[0].values);
      assert.equal(back.tensors[1].biasBits, 16);
      const maxB = Math.max(...bias.map(Math.abs));
      for (let i = 0; i < 30; ++i) assert.ok(Math.abs(back.tensors[1].values[i] - bias[i]) <= maxB / 32767);
      throwsCode(() => ql.encodeCompressed(tensors('zip')), 'INVALID_ARGUMENT');
      assert.equal(ql.defaults().compressedTensor.entropy, 'huffman');
      assert.equal(ql.defaults().deepCompression.biasBits, 0);
    });

    test('Deep Compression from JS: every stage smaller, the file decodes to the model', () => {
      const net = ql.networkFromOnnx(read('web/models/lenet300.onnx'));
      const seen = new Set();
      const r = net.deepCompression({ images: trainImages, labels: trainLabels },
        { images: testImages, labels: testLabels }, {
          layers: [{ param: 'fc1.weight', sparsity: 0.94, gapBits: -1 }, { param: 'fc2.weight', sparsity: 0.9 },
            { param: 'fc3.weight', sparsity: 0.7, bits: 4 }],
          pruneSteps: 1, retrainEpochs: 1, quantizedEpochs: 1, train: { maxSteps: 4 },
        }, (p) => seen.add(p.stage));
      assert.deepEqual(r.stages.map((s) => s.stage), ['fp32', 'pruned', 'quantized', 'huffman']);
      for (let i = 1; i < 4; ++i) assert.ok(r.stages[i].bytes < r.stages[i - 1].bytes);
      assert.ok(r.stages[3].ratio > 35);
      assert.equal(r.stages[3].bytes, r.file.length);
      assert.equal(r.stages[3].accuracy, r.stages[2].accuracy);
      assert.ok(r.stages[3].entropyBytes > 0 && r.stages[3].entropyBytes <= r.stages[3].bytes);
      for (const l of r.layers) assert.ok(l.entropyBytes > 0 && l.entropyBytes <= l.huffmanBytes);
      for (const s of ['prune', 'train', 'k-means', 'encode', 'evaluate']) assert.ok(seen.has(s), s);
      const back = ql.decodeCompressed(r.file);
      assert.deepEqual(back.network.get('fc1.weight').values, net.get('fc1.weight').values);
      assert.deepEqual(r.layers.map((l) => l.bits), [5, 5, 4]);
      back.network.dispose();
      net.dispose();
    });

    test('training engine: a demo model from ONNX, pruned, shared, fine-tuned, stored', () => {
      const net = ql.networkFromOnnx(read('web/models/lenet300.onnx'));
      assert.ok(net instanceof Network);
      const info = net.info();
      assert.deepEqual(info.inputShape, [1, 28, 28]);
      assert.equal(info.parameterCount, 266610);
      const pred = read('web/models/lenet300.pred.u8');
      const dense = net.evaluate(testImages, testLabels);
      assert.deepEqual(dense.predictions, pred.subarray(0, 500));
      const sparsity = net.prune(['fc1.weight', 'fc2.weight', 'fc3.weight'], 0.9);
      assert.ok(sparsity.every((s) => Math.abs(s - 0.9) < 1e-3));
      const q = net.quantize('fc1.weight', 4, { method: 'lloyd', init: 'linear' });
      assert.equal(q.pinnedZero, true);
      assert.equal(q.centroids[0], 0);
      for (const name of ['fc2.weight', 'fc3.weight']) net.quantize(name, 5, { method: 'optimal' });
      assert.deepEqual(net.info().params.map((p) => p.bits), [4, 0, 5, 0, 5, 0]);
      const progress = [];
      const t = net.train(trainImages, trainLabels, { maxSteps: 8, batchSize: 32 }, (p) => progress.push(p));
      assert.equal(t.steps, 8);
      assert.ok(progress.length > 0 && progress.at(-1).done === 8);
      const fc1 = net.get('fc1.weight');
      assert.ok(new Set(fc1.values).size <= 16);
      assert.ok(fc1.values.filter((v) => v === 0).length >= 0.9 * 235200 - 1);
      const after = net.evaluate(testImages, testLabels);
      // The compressed file decodes to the same network.
      const file = net.encode();
      assert.ok(file.length < 266610 * 4 / 20, `${file.length} bytes`);  // > 20x smaller
      const back = ql.decodeCompressed(file);
      assert.ok(back.network instanceof Network);
      assert.deepEqual(back.network.evaluate(testImages, testLabels).predictions, after.predictions);
      // And exported to ONNX, the model runtime computes the same logits.
      const model = ql.loadModel(net.toOnnx());
      const x = Float32Array.from(testImages.subarray(0, 2 * 784), (p) => (p / 255 - 0.286) / 0.353);
      const mine = net.forward(x, [2, 1, 28, 28]);
      const theirs = model.run(x, [2, 1, 28, 28]);
      const out = theirs.data;
      mine.data.forEach((v, i) => assert.ok(Math.abs(v - out[i]) < 1e-4));
      model.dispose();
      back.network.dispose();
      const copy = net.clone();
      net.dispose();
      throwsCode(() => net.info(), 'INVALID_ARGUMENT');
      assert.equal(copy.info().parameterCount, 266610);
      copy.dispose();
    });
  });
}
