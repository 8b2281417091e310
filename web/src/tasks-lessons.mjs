// Worker tasks of the lecture-5 lessons added for issue 13: K-means weight quantization
// (5.6.1), Huffman coding of cluster indices (5.6.4) and the integer-only layer (5.9).
// Registered next to tasks.mjs by worker.mjs. Every number comes from the quantlab core; this
// file only moves bytes, looks centroids up by index, counts and takes differences. No DOM.
import { assetUrl } from './assets.mjs';
import { bytesFetcher, normalize } from './tasks.mjs';

const PIXELS = 28 * 28;

// The lecture's 4x4 weight matrix (the same as ql-linear's).
export const LECTURE_W = [2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12, -0.91, 1.92, 0, -1.03,
  1.87, 0, 1.53, 1.49];

// The gradient dL/dW of the lecture's (and Deep Compression's, fig. 3) fine-tuning example.
export const LECTURE_G = [-0.03, -0.01, 0.03, 0.02, -0.01, 0.01, -0.02, 0.12, -0.01, 0.02, 0.04, 0.01,
  -0.07, -0.02, 0.01, -0.02];

export const LESSON_MODELS = ['lenet300', 'lenet5', 'cnn_bn'];

/** The integer-only lesson's layers: the input of a later FC layer comes from the earlier ones. */
export const INTEGER_LAYERS = {
  fc1: { model: 'lenet300', param: 'fc1', kind: 'fc', before: [], label: 'LeNet-300-100 fc1 (784 → 300)' },
  fc2: { model: 'lenet300', param: 'fc2', kind: 'fc', before: ['fc1'], label: 'LeNet-300-100 fc2 (300 → 100)' },
  fc3: { model: 'lenet300', param: 'fc3', kind: 'fc', before: ['fc1', 'fc2'], label: 'LeNet-300-100 fc3 (100 → 10)' },
  conv1: { model: 'lenet5', param: 'conv1', kind: 'conv', before: [], hw: 28, pads: [2, 2, 2, 2], label: 'LeNet-5 conv1 (1 → 6 channels, 5×5)' },
};

function fail(code, message) {
  return Object.assign(new Error(message), { code });
}

/** Equal-width histogram of `values` in `bins` bins: {x: centers, counts}. */
export function histogram(values, bins = 60) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) hi = lo + 1;
  const width = (hi - lo) / bins;
  const counts = new Uint32Array(bins);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))] += 1;
  return { x: Float64Array.from({ length: bins }, (_, i) => lo + (i + 0.5) * width), counts };
}

/** How many weights each centroid holds. */
export function clusterSizes(labels, k) {
  const sizes = new Uint32Array(k);
  for (const l of labels) sizes[l] += 1;
  return sizes;
}

/** The byte account of `n` weights as a 2^bits codebook, from the core's storage rule. */
export function codebookAccount(ql, n, bits) {
  const total = ql.codebookStorageBytes(n, bits);
  const codebook = ql.codebookStorageBytes(0, bits);   // the centroids alone (fp32 each)
  const fp32 = 4 * n;
  return { n, bits, fp32, indices: total - codebook, codebook, total, ratio: fp32 / total };
}

export function createLessonTasks(ql) {
  const fetchBytes = bytesFetcher();
  const networks = new Map();   // model -> Promise<Network> (read-only here: never trained)
  function network(name) {
    if (!LESSON_MODELS.includes(name)) throw fail('INVALID_ARGUMENT', `unknown demo model '${name}'`);
    if (!networks.has(name)) {
      const p = fetchBytes(assetUrl(`models/${name}.onnx`)).then((bytes) => ql.networkFromOnnx(bytes));
      networks.set(name, p);
      p.catch(() => networks.delete(name));
    }
    return networks.get(name);
  }
  /** A model's weight tensors (Linear and Conv2d) in order: [{param, kind, layer, shape, n}]. */
  function weightParams(net) {
    const info = net.info();
    const shapes = Object.fromEntries(info.params.map((p) => [p.name, p.shape]));
    return info.layers.filter((l) => l.kind === 'Linear' || l.kind === 'Conv2d').map((l) => {
      const param = l.params.find((p) => p.endsWith('weight'));
      return { param, kind: l.kind, layer: l.name, shape: shapes[param], n: shapes[param].reduce((a, b) => a * b, 1) };
    });
  }
  async function pickLayer(model, layer) {
    const net = await network(model);
    const params = weightParams(net);
    const found = params.find((p) => p.param === layer) ?? params[0];
    return { net, params, layer: found };
  }

  /** The first `count` bits of `bytes` (most significant bit first) as a '0'/'1' string. */
  const bitString = (bytes, count) => Array.from({ length: count }, (_, i) => ((bytes[i >> 3] >> (7 - (i & 7))) & 1)).join('');

  /** A prefix code from '0'/'1' codewords, checked by the core: {codewords, ok, error?, encoded?}. */
  function checkCode(codewords) {
    let code = null;
    try {
      code = ql.prefixCode(codewords);
      const symbols = codewords.map((_, i) => i);
      const e = code.encode(symbols);
      return { codewords, ok: true, bits: bitString(e.bytes, e.bitCount), bitCount: e.bitCount, decoded: Array.from(code.decode(e.bytes, symbols.length)) };
    } catch (e) {
      if (!e?.code) throw e;
      return { codewords, ok: false, error: `${e.code}: ${e.message}` };
    } finally {
      code?.dispose();
    }
  }

  async function testImage(index) {
    const images = await fetchBytes(assetUrl('data/fashion-test-2000.images.u8'));
    const labels = await fetchBytes(assetUrl('data/fashion-test-2000.labels.u8'));
    if (!(Number.isInteger(index) && index >= 0 && index < labels.length)) throw fail('INVALID_ARGUMENT', `image must be in [0, ${labels.length})`);
    return { pixels: images.slice(index * PIXELS, (index + 1) * PIXELS), label: labels[index] };
  }

  /**
   * The fp32 input of `layer` for one image: the normalized pixels, or for a later FC layer of
   * LeNet-300-100 the previous layers run by the core's fp32 kernels (with their ReLU).
   */
  async function layerInput(spec, pixels) {
    const net = await network(spec.model);
    let x = normalize(pixels);
    for (const prev of spec.before) {
      const w = net.get(`${prev}.weight`);
      const f = ql.createGemmF32({ weights: w.values, n: w.shape[0], k: w.shape[1], bias: net.get(`${prev}.bias`).values, activation: 'relu' });
      try {
        x = f.run(x, 1);
      } finally {
        f.dispose();
      }
    }
    return { net, x };
  }

  async function subset(name, count) {
    const [images, labels] = await Promise.all(['images', 'labels'].map((part) => fetchBytes(assetUrl(`data/fashion-${name}.${part}.u8`))));
    const n = Math.min(count, labels.length);
    return { images: images.subarray(0, n * PIXELS), labels: labels.subarray(0, n) };
  }

  /**
   * Milliseconds per call of `fn`: after one warm-up call, as many calls as fit in `budget` ms
   * (at least 3), total time over calls. Browsers coarsen performance.now() (to 0.1 ms without
   * cross-origin isolation), so short calls are timed in bulk.
   */
  function timeMs(fn, budget = 60) {
    fn();
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    while (calls < 3 || t - t0 < budget) {
      fn();
      calls += 1;
      t = performance.now();
    }
    return (t - t0) / calls;
  }

  return {
    /**
     * 5.6.3, measured on LeNet-300-100 fc1: (a) one inference of a batch with K-means weights
     * (decode the stored codebook + indices back to fp32 with the core's decoder, then the fp32
     * kernel) against the int8 linear kernel and the fp32 kernel with the weights kept dense;
     * (b) the layer's output activations on real test images: their range and their own
     * K-means codebook move from input to input, and finding a codebook costs a k-means run.
     */
    async kmeansLimits({ bits = 4, batch = 16, images = 12 }, progress) {
      const net = await network('lenet300');
      const W = net.get('fc1.weight');
      const b = net.get('fc1.bias').values;
      const [n, k] = W.shape;
      const test = await subset('test-2000', Math.max(batch, images));
      const x = normalize(test.images);
      progress(0.05, 'K-means on the weights');
      const km = ql.kMeansQuantize(W.values, bits, { method: 'lloyd', init: 'linear' });
      const files = {
        dense: ql.encodeCompressed([{ name: 'fc1.weight', shape: W.shape, bits, huffman: false, codebook: km }]),
        huffman: ql.encodeCompressed([{ name: 'fc1.weight', shape: W.shape, bits, huffman: true, codebook: km }]),
      };
      progress(0.2, 'decoding the codebook layer');
      const decodeMs = { dense: timeMs(() => ql.decodeCompressed(files.dense), 200), huffman: timeMs(() => ql.decodeCompressed(files.huffman), 200) };
      const decoded = ql.decodeCompressed(files.dense).tensors[0].values;
      progress(0.5, 'timing the kernels');
      const xb = x.subarray(0, batch * k);
      const fp32 = ql.createGemmF32({ weights: decoded, n, k, bias: b });
      const s8 = { bits: 8, signed: true, symmetric: true, narrowRange: true };
      const u8 = { bits: 8, signed: false, symmetric: false };
      const rW = ql.calibrate(W.values, s8);
      const pW = ql.paramsFromRange(rW.rMin, rW.rMax, s8);
      const rX = ql.calibrate(xb, u8);
      const pX = ql.paramsFromRange(rX.rMin, rX.rMax, u8);
      const int8 = ql.createQGemm({ weights: Int8Array.from(ql.quantize(W.values, pW)), n, k, weightScales: pW.scale, inputScale: pX.scale, inputZeroPoint: pX.zeroPoint, output: { type: 'uint8', scale: 0.05, zeroPoint: 0 } });
      let fp32Ms;
      let int8Ms;
      let quantizeInputMs;
      let acts;
      try {
        fp32Ms = timeMs(() => fp32.run(xb, batch));
        const qX = Uint8Array.from(ql.quantize(xb, pX));
        int8Ms = timeMs(() => int8.run(qX, batch));
        quantizeInputMs = timeMs(() => ql.quantize(xb, pX));
        // (b) The layer's outputs after ReLU on single images.
        progress(0.8, 'activations of real inputs');
        const relu = ql.createGemmF32({ weights: W.values, n, k, bias: b, activation: 'relu' });
        try {
          acts = Array.from({ length: images }, (_, i) => {
            const a = relu.run(x.subarray(i * k, (i + 1) * k), 1);
            const range = ql.calibrate(a, u8);
            const own = ql.kMeansQuantize(a, bits, { method: 'lloyd', init: 'linear' });
            return { image: i, label: test.labels[i], rMin: range.rMin, rMax: range.rMax, centroids: own.centroids, kmeansMs: timeMs(() => ql.kMeansQuantize(a, bits, { method: 'lloyd', init: 'linear' }), 20) };
          });
        } finally {
          relu.dispose();
        }
      } finally {
        fp32.dispose();
        int8.dispose();
      }
      return {
        result: {
          layer: 'fc1.weight', n, k, bits, batch,
          bytes: { fp32: 4 * n * k, int8: n * k, dense: files.dense.length, huffman: files.huffman.length },
          ms: { decodeDense: decodeMs.dense, decodeHuffman: decodeMs.huffman, fp32: fp32Ms, int8: int8Ms, quantizeInput: quantizeInputMs },
          activations: acts,
        },
      };
    },

    /**
     * 5.6.2 on the lecture's example: the gradient grouped by cluster index (the optimal
     * 2-bit codebook of the 4x4 weights), reduced per cluster (the core's sums; the mean is the
     * sum over the cluster's size), times the learning rate, and the updated centroids.
     */
    async finetuneToy({ reduce = 'sum', lr = 1 }) {
      const km = ql.kMeansQuantize(LECTURE_W, 2, { method: 'optimal' });
      const sums = ql.clusterGradientSums(LECTURE_G, km);
      const sizes = clusterSizes(km.labels, 4);
      const reduced = Float64Array.from(sums, (v, j) => (reduce === 'mean' ? (sizes[j] ? v / sizes[j] : 0) : v));
      const step = Float64Array.from(reduced, (v) => lr * v);
      return {
        result: {
          w: Float32Array.from(LECTURE_W), grad: Float32Array.from(LECTURE_G), labels: km.labels, centroids: km.centroids,
          sizes, sums, reduced, step, updated: Float64Array.from(km.centroids, (c, j) => c - step[j]), reduce, lr,
        },
      };
    },

    /**
     * 5.6.2 on a real network: every weight tensor of `model` shared through a `bits`-bit
     * K-means codebook, then trained (the core moves each centroid by its cluster's summed
     * gradient) in `rounds` rounds of `steps` batches, evaluated after each round. Each round
     * arrives as progress data.
     */
    async finetuneNetwork({ model = 'lenet300', bits = 1, optimizer = 'adam', learningRate = 1e-3, rounds = 6, steps = 20, testCount = 500, track = 'fc3.weight' }, progress) {
      const base = await network(model);
      const net = base.clone();
      try {
        const test = await subset('test-2000', testCount);
        const train = await subset('train-6000', 6000);
        const fp32 = base.evaluate(test.images, test.labels);
        const params = weightParams(net).map((p) => p.param);
        for (const p of params) net.quantize(p, bits);
        const trackParam = params.includes(track) ? track : params[params.length - 1];
        const history = [];
        const record = (round, done) => {
          const e = net.evaluate(test.images, test.labels);
          const point = { round, steps: done, accuracy: e.accuracy, loss: e.loss, centroids: net.get(trackParam).codebook.centroids };
          history.push(point);
          progress(round / rounds, `round ${round} / ${rounds}: accuracy ${e.accuracy.toFixed(1)}%`, { point });
        };
        progress(0, 'K-means', { fp32: { accuracy: fp32.accuracy, loss: fp32.loss }, track: trackParam });
        record(0, 0);
        const perRound = steps * 50;
        let done = 0;
        for (let r = 1; r <= rounds; ++r) {
          const from = ((r - 1) * perRound) % train.labels.length;
          const t = net.train(train.images.subarray(from * PIXELS, (from + perRound) * PIXELS), train.labels.subarray(from, from + perRound),
            { optimizer, learningRate, epochs: 1, batchSize: 50, maxSteps: steps, seed: r });
          done += t.steps;
          record(r, done);
        }
        return { result: { model, bits, fp32: { accuracy: fp32.accuracy, loss: fp32.loss }, track: trackParam, history } };
      } finally {
        net.dispose();
      }
    },

    /**
     * 5.9: one real input through one FC or conv layer with integer-only arithmetic, every
     * intermediate of the lecture's graph from the core: q_X, q_W (symmetric int8, per tensor for
     * FC and per output channel for conv), q_b (int32, scale S_W S_X), the int32 accumulators
     * sum q_W q_X (kernel, Z_X = 0, no bias), the folded q_bias = q_b - Z_X sum q_W (the kernel
     * on a zero input), their sum (the kernel with Z_X and q_b), M = S_W S_X / S_Y as M0 and a
     * shift, the rescaled, zero-point-shifted and clamped q_Y (requantize, fixed point and
     * fp32), the int8 runtime kernel's own q_Y, and the fp32 layer for comparison.
     */
    async integerLesson({ layer = 'fc1', image = 0, out = 0 }) {
      const spec = INTEGER_LAYERS[layer];
      if (!spec) throw fail('INVALID_ARGUMENT', `layer must be one of ${Object.keys(INTEGER_LAYERS).join(', ')}`);
      const { pixels, label } = await testImage(image);
      const { net, x } = await layerInput(spec, pixels);
      const W = net.get(`${spec.param}.weight`);
      const b = net.get(`${spec.param}.bias`).values;
      const conv = spec.kind === 'conv';
      const u8 = { bits: 8, signed: false, symmetric: false };
      const s8 = { bits: 8, signed: true, symmetric: true, narrowRange: true };
      const rX = ql.calibrate(x, u8);
      const pX = ql.paramsFromRange(rX.rMin, rX.rMax, u8);
      const qX = Uint8Array.from(ql.quantize(x, pX));
      let pW;
      let qW;
      if (conv) {
        pW = ql.perChannelParams(W.values, W.shape, 0, s8);
        qW = Int8Array.from(ql.quantizePerChannel(W.values, W.shape, 0, pW));
      } else {
        const rW = ql.calibrate(W.values, s8);
        pW = [ql.paramsFromRange(rW.rMin, rW.rMax, s8)];
        qW = Int8Array.from(ql.quantize(W.values, pW[0]));
      }
      const cOut = W.shape[0];
      const sW = (c) => pW[conv ? c : 0].scale;
      // q_b = round(b / (S_W S_X)), int32, per output channel.
      const qB = Int32Array.from(b, (v, c) => ql.quantize([v], { scale: sW(c) * pX.scale, zeroPoint: 0, qMin: -(2 ** 31), qMax: 2 ** 31 - 1, bits: 32, signed: true })[0]);
      const geometry = conv
        ? { cOut, cIn: W.shape[1], kernelShape: [W.shape[2], W.shape[3]], pads: spec.pads }
        : { n: cOut, k: W.shape[1] };
      const inShape = conv ? [1, W.shape[1], spec.hw, spec.hw] : null;
      const make = (opts) => (conv
        ? ql.createQConv2d({ weights: qW, ...geometry, weightScales: pW.map((p) => p.scale), inputScale: pX.scale, ...opts })
        : ql.createQGemm({ weights: qW, ...geometry, weightScales: pW[0].scale, inputScale: pX.scale, ...opts }));
      const fp32 = conv
        ? ql.createConv2dF32({ weights: W.values, bias: b, ...geometry })
        : ql.createGemmF32({ weights: W.values, bias: b, ...geometry });
      const run = (kernel, input) => {
        try {
          const r = conv ? kernel.run(input, inShape) : kernel.run(input, 1);
          return conv ? r.data : r;
        } finally {
          kernel.dispose();
        }
      };
      const y = run(fp32, x);
      const rY = ql.calibrate(y, u8);
      const pY = ql.paramsFromRange(rY.rMin, rY.rMax, u8);
      const int32 = { type: 'int32' };
      const products = run(make({ inputZeroPoint: 0, output: int32 }), qX);
      const qBias = run(make({ inputZeroPoint: pX.zeroPoint, bias: qB, output: int32 }), new Uint8Array(qX.length));
      const acc = run(make({ inputZeroPoint: pX.zeroPoint, bias: qB, output: int32 }), qX);
      const perOut = y.length / cOut;   // outputs per channel (1 for FC)
      const channels = Array.from({ length: conv ? cOut : 1 }, (_, c) => {
        const M = (sW(c) * pX.scale) / pY.scale;
        const fm = ql.quantizeMultiplier(M);
        return { sW: sW(c), M, M0: fm.M0, shift: fm.shift, value: fm.value };
      });
      const wide = { qMin: -(2 ** 31), qMax: 2 ** 31 - 1 };
      const stages = { fixed: {}, fp32: {} };
      for (const mode of ['fixed', 'fp32']) {
        const parts = { scaled: new Int32Array(y.length), shifted: new Int32Array(y.length), qY: new Int32Array(y.length) };
        channels.forEach((ch, c) => {
          const from = conv ? c * perOut : 0;
          const slice = conv ? acc.subarray(from, from + perOut) : acc;
          const m = mode === 'fixed' ? { mode, M0: ch.M0, shift: ch.shift } : { mode, multiplier: ch.M };
          parts.scaled.set(ql.requantize(slice, { ...m, zeroPoint: 0, ...wide }), from);
          parts.shifted.set(ql.requantize(slice, { ...m, zeroPoint: pY.zeroPoint, ...wide }), from);
          parts.qY.set(ql.requantize(slice, { ...m, zeroPoint: pY.zeroPoint, qMin: pY.qMin, qMax: pY.qMax }), from);
        });
        const output = { type: 'uint8', scale: pY.scale, zeroPoint: pY.zeroPoint, requant: mode };
        parts.runtime = run(make({ inputZeroPoint: pX.zeroPoint, bias: qB, output }), qX);
        parts.dequantized = ql.dequantize(parts.qY, pY);
        stages[mode] = parts;
      }
      const o = Math.min(Math.max(0, out), y.length - 1);
      const c = conv ? Math.floor(o / perOut) : o;
      const k = qW.length / cOut;
      return {
        result: {
          layer, spec, image, label, pixels, out: o, channel: c, perOut,
          shapes: { x: conv ? inShape : [1, x.length], w: W.shape, y: conv ? [1, cOut, spec.hw, spec.hw] : [1, cOut] },
          pX, pY, pW, rX, rY,
          x, qX, y,
          qWRow: qW.slice(c * k, c * k + k),
          wRow: W.values.slice(c * k, c * k + k),
          qB, products, qBias, acc, channels, stages,
        },
      };
    },

    /** 5.6.4: a student's own codewords, checked by the core. */
    async prefixCheck({ codewords }) {
      if (!Array.isArray(codewords) || !codewords.every((c) => typeof c === 'string')) throw fail('INVALID_ARGUMENT', 'codewords must be strings');
      return { result: checkCode(codewords) };
    },

    /**
     * 5.6.4: Huffman coding of the cluster indices of one layer quantized to `bits` with
     * K-means (Lloyd, linear start): the index frequencies, the code, its tree, the average
     * length against the entropy and the fixed width, a few indices encoded and decoded back;
     * and the lecture's two codeword examples checked by the core.
     */
    async huffmanLesson({ model = 'lenet5', layer = 'fc1.weight', bits = 3, sample = 12 }) {
      const { net, layer: picked } = await pickLayer(model, layer);
      const values = net.get(picked.param).values;
      const k = 2 ** bits;
      const km = ql.kMeansQuantize(values, bits, { method: 'lloyd', init: 'linear' });
      const frequencies = clusterSizes(km.labels, k);
      const code = ql.huffmanCode(frequencies);
      try {
        const stats = code.statistics(frequencies);
        const symbols = km.labels.slice(0, sample);
        const encoded = code.encode(symbols);
        const decoded = code.decode(encoded.bytes, symbols.length);
        const packed = ql.huffmanCompress(km.labels, k);
        return {
          result: {
            model, param: picked.param, shape: picked.shape, n: values.length, bits,
            centroids: km.centroids,
            frequencies,
            lengths: code.lengths.slice(),
            codewords: code.codewords.slice(),
            tree: code.tree(frequencies),
            stats,
            fixedBits: bits * values.length,
            huffmanBytes: packed.bytes.length,
            fixedBytes: ql.codebookStorageBytes(values.length, bits) - ql.codebookStorageBytes(0, bits),
            sample: { symbols, bits: bitString(encoded.bytes, encoded.bitCount), bitCount: encoded.bitCount, decoded },
            examples: [checkCode(['01', '101', '010']), checkCode(['01', '10', '111'])],
          },
        };
      } finally {
        code.dispose();
      }
    },

    /**
     * 5.6.1: the 4x4 example after `steps` Lloyd steps from `init` (and the exact optimum),
     * and one layer of a demo model at the same bits.
     */
    async kmeansLesson({ w = LECTURE_W, bits = 2, init = 'linear', steps = 0, seed = 1, model = 'lenet5', layer = 'fc1.weight' }) {
      const k = 2 ** bits;
      const weights = Float32Array.from(w);
      const start = ql.kMeansInit(weights, k, { init, seed });
      const lloyd = ql.kMeansQuantize(weights, bits, { method: 'lloyd', init, seed, iterations: steps });
      const converged = ql.kMeansQuantize(weights, bits, { method: 'lloyd', init, seed });
      const optimal = ql.kMeansQuantize(weights, bits, { method: 'optimal' });
      const rec = Float32Array.from(lloyd.labels, (l) => lloyd.centroids[l]);
      const toy = {
        w: weights, bits, start, steps,
        lloyd: { centroids: lloyd.centroids, labels: lloyd.labels, mse: lloyd.mse, iterations: lloyd.iterations },
        convergedAt: converged.iterations,
        convergedMse: converged.mse,
        optimal: { centroids: optimal.centroids, labels: optimal.labels, mse: optimal.mse },
        rec,
        err: Float32Array.from(weights, (v, i) => v - rec[i]),
        account: codebookAccount(ql, weights.length, bits),
      };
      const { net, params, layer: picked } = await pickLayer(model, layer);
      const values = net.get(picked.param).values;
      const real = ql.kMeansQuantize(values, bits, { method: 'lloyd', init });
      const best = ql.kMeansQuantize(values, bits, { method: 'optimal' });
      const real0 = {
        model, param: picked.param, kind: picked.kind, shape: picked.shape, n: values.length,
        histogram: histogram(values),
        centroids: real.centroids,
        sizes: clusterSizes(real.labels, k),
        mse: real.mse,
        iterations: real.iterations,
        optimalMse: best.mse,
        account: codebookAccount(ql, values.length, bits),
      };
      const layers = params.map((p) => ({ param: p.param, kind: p.kind, shape: p.shape, ...codebookAccount(ql, p.n, bits) }));
      return { result: { toy, layer: real0, layers, params: params.map((p) => p.param) } };
    },
  };
}
