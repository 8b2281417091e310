// The playground's heavy work, run inside the Web Worker (worker.mjs): loading the demo
// models and data, fp32 and int8 inference over the test subset, post-training quantization,
// the bit-width sweep and Deep Compression. Every number comes from the quantlab core; this
// file only moves bytes, takes argmaxes and counts. No DOM here.
//
// A task is `async (args, progress) => ({result, transfer?})`; `progress(fraction, message,
// data)` reaches the page while the (synchronous) wasm call is still running.
import { assetUrl } from './assets.mjs';
import { CALIBRATION_SEED, CALIBRATION_VALUES, freeDims, inputShapes, INPUT_SEED, isImageClassifier, seededNormal } from './model-inputs.mjs';

const PIXELS = 28 * 28;

/** Fashion-MNIST normalization of the demo models: x = (p / 255 - mean) / std in float32,
 * the same arithmetic as web/models/train.py and tests/js/model.test.mjs. */
export function normalize(pixels, mean = 0.286, std = 0.353) {
  const x = new Float32Array(pixels.length);
  const m = Math.fround(mean);
  const s = Math.fround(std);
  for (let i = 0; i < x.length; ++i) x[i] = Math.fround(Math.fround(pixels[i] / 255) - m) / s;
  return x;
}

/** Index of the largest logit of each row. */
export function argmaxRows(logits, rows, cols) {
  const out = new Uint8Array(rows);
  for (let r = 0; r < rows; ++r) {
    let best = 0;
    for (let c = 1; c < cols; ++c) if (logits[r * cols + c] > logits[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

function percent(hits, count) {
  return (100 * hits) / count;
}

function countEqual(a, b, n) {
  let same = 0;
  for (let i = 0; i < n; ++i) same += a[i] === b[i] ? 1 : 0;
  return same;
}

/** Counts of (true label, prediction) pairs: row-major classes x classes. */
export function confusionMatrix(labels, predictions, n, classes = 10) {
  const m = new Uint32Array(classes * classes);
  for (let i = 0; i < n; ++i) m[labels[i] * classes + predictions[i]] += 1;
  return m;
}

/**
 * Per-node times of one model on one batch: the time between successive progress reports
 * (each node reports when it finishes), the minimum over `reps` runs (a preemption only ever
 * adds time). As tests/bench/models.bench.mjs profiles. Returns [{name, opType, ms}].
 */
function layerTimes(model, x, shape, reps) {
  const steps = model.layers().filter((l) => !l.folded && !l.fused);
  const samples = steps.map(() => Infinity);
  for (let r = 0; r < reps; ++r) {
    let last = performance.now();
    model.run(x, shape, {
      onProgress: (p) => {
        const now = performance.now();
        if (p.stage === 'run' && p.done >= 1 && p.done <= steps.length) samples[p.done - 1] = Math.min(samples[p.done - 1], now - last);
        last = now;
      },
    });
  }
  return steps.map((l, i) => ({ name: l.name, opType: l.opType, ms: samples[i] }));
}

function fail(code, message) {
  return Object.assign(new Error(message), { code });
}

const MODEL_NAMES = ['lenet300', 'lenet5', 'cnn_bn'];

function checkModelName(name) {
  if (!MODEL_NAMES.includes(name)) throw fail('INVALID_ARGUMENT', `unknown demo model '${name}'`);
  return name;
}

function clampCount(count, max, what) {
  const n = Math.floor(Number(count ?? max));
  if (!(n >= 1 && n <= max)) throw fail('INVALID_ARGUMENT', `${what} must be in [1, ${max}], got ${count}`);
  return n;
}

/**
 * Deep Compression's progress in the core's own units. Training dominates the run: each
 * prune step retrains (retrainEpochs) and the codebooks are fine-tuned (quantizedEpochs),
 * and every training report counts batches of its phase (done / total); so the bar is the
 * batches trained over all the phases' batches (95% of the bar), then encoding and the last
 * evaluation. Without training, it follows the stages. The bar only moves forward.
 */
export function deepCompressionProgress({ pruneSteps, retrainEpochs, quantizedEpochs }, progress) {
  const phases = (retrainEpochs > 0 ? pruneSteps : 0) + (quantizedEpochs > 0 ? 1 : 0);
  const stages = ['prune', 'train', 'k-means', 'encode', 'evaluate'];
  let phase = -1;
  let previous = Infinity;
  let trained = false;
  let last = 0;
  return (p) => {
    let fraction;
    if (p.stage === 'train' && phases > 0 && p.total > 0) {
      if (p.done < previous) phase += 1;   // a new phase starts counting from its first batch
      previous = p.done;
      trained = phase + 1 >= phases && p.done === p.total;
      fraction = 0.95 * Math.min(1, (phase * p.total + p.done) / (phases * p.total));
    } else if (phases > 0) {
      fraction = trained ? (p.stage === 'encode' ? 0.96 : p.stage === 'evaluate' ? 0.98 : last) : last;
    } else {
      const k = Math.max(0, stages.indexOf(p.stage));
      fraction = Math.min(0.95, (k + (p.total ? p.done / p.total : 0)) / stages.length);
    }
    last = Math.max(last, fraction);
    const step = p.stage === 'train' && phases > 0 ? ` (phase ${phase + 1} of ${phases})` : '';
    progress(last, `${p.stage} ${p.done} / ${p.total}${step}${Number.isFinite(p.value) ? ` (${p.value.toFixed(4)})` : ''}`);
  };
}

/** fetch(url) as bytes, each URL fetched once (a failed fetch is forgotten, so it can retry). */
export function bytesFetcher() {
  const files = new Map();   // URL -> Promise<Uint8Array>
  return function fetchBytes(url) {
    const key = String(url);
    if (!files.has(key)) {
      files.set(key, fetch(url).then(async (response) => {
        if (!response.ok) throw fail('INVALID_ARGUMENT', `could not fetch ${key}: HTTP ${response.status}`);
        return new Uint8Array(await response.arrayBuffer());
      }));
      files.get(key).catch(() => files.delete(key));
    }
    return files.get(key);
  };
}

export function createTasks(ql, quantlab) {
  const fetchBytes = bytesFetcher();

  // Loaded fp32 runtime models and their last fp32 predictions, by key: a demo model's name,
  // or 'upload:<id>' for a file the page sent (args {model: 'upload', upload: {id, fileName,
  // bytes}}, the bytes transferred with every call, so that a fresh worker after Stop has them).
  // The promise is cached, so two lessons asking at once load the model once.
  const loaded = new Map();   // key -> Promise<{model, fp32: {count, predictions} | null, bytes?, fileName?}>

  /** The model key of a task's args (demo name or upload), loading an upload once. */
  function modelKey({ model: name, upload }) {
    if (name !== 'upload') return checkModelName(name);
    if (!upload || !Number.isInteger(upload.id)) {
      throw fail('INVALID_ARGUMENT', 'no .onnx file chosen: pick one with "your model" or drop it on the lesson');
    }
    const key = `upload:${upload.id}`;
    if (!loaded.has(key)) {
      const { bytes, fileName = 'model.onnx' } = upload;
      if (!(bytes instanceof Uint8Array)) throw fail('INVALID_ARGUMENT', 'upload.bytes must be a Uint8Array');
      // The core validates the file (UNSUPPORTED lists every operator it does not run).
      const entry = Promise.resolve().then(() => ({ model: ql.loadModel(bytes), fp32: null, bytes, fileName }));
      loaded.set(key, entry);
      entry.then(() => {
        // Only the newest upload stays loaded (a failed one leaves the previous one alone).
        for (const [k, other] of loaded) {
          if (k === key || !k.startsWith('upload:')) continue;
          loaded.delete(k);
          other.then((e) => e.model.dispose(), () => {});
        }
      }, () => loaded.delete(key));
    }
    return key;
  }

  const modelBytes = async (name) => (name.startsWith('upload:') ? (await loaded.get(name)).bytes
    : fetchBytes(assetUrl(`models/${checkModelName(name)}.onnx`)));

  /** The first `count` images and labels of a bundled subset ('test-2000', 'train-6000'). */
  async function subset(name, count, what) {
    const [images, labels] = await Promise.all(['images', 'labels']
      .map((part) => fetchBytes(assetUrl(`data/fashion-${name}.${part}.u8`))));
    const n = clampCount(count, labels.length, what);
    return { images: images.subarray(0, n * PIXELS), labels: labels.subarray(0, n), count: n };
  }
  const testSet = (count = 2000) => subset('test-2000', count, 'test images');
  const trainSet = (count = 6000) => subset('train-6000', count, 'training images');

  function fp32Model(name) {
    if (!loaded.has(name)) {
      const entry = modelBytes(name).then((bytes) => ({ model: ql.loadModel(bytes), fp32: null }));
      loaded.set(name, entry);
      entry.catch(() => loaded.delete(name));
    }
    return loaded.get(name);
  }
  let quantized = null;       // the last PTQ result {name, result}
  let compressedNet = null;   // the last Deep Compression network

  /** Run `model` over the first `count` test images in batches, reporting progress. */
  function runPredictions(model, x, count, progress, from, to, label) {
    const fixed = model.inputs[0]?.shape?.[0];
    const out = model.run(x, [count, 1, 28, 28], {
      batchSize: typeof fixed === 'number' ? fixed : 250,
      onProgress: (p) => progress(from + ((to - from) * p.done) / p.total, `${label}: ${p.done} / ${p.total} images`),
    });
    return argmaxRows(out.data, count, out.shape[1]);
  }

  const tasks = {
    /** Which build runs and which optional APIs it has. */
    async about() {
      return { result: { simd: ql.simd, ptq: typeof ql.quantizeModel === 'function' } };
    },

    /** The model's layers as the runtime sees them, and the file size. */
    async modelInfo(args) {
      const name = modelKey(args);
      const { model, fileName = null } = await fp32Model(name);
      const bytes = await modelBytes(name);
      // An upload's input shapes, free dimensions from `dims` (checked here, once per change;
      // a bad size is reported with the info, so that the page keeps the field to fix it).
      let shapes = null;
      let shapesError = null;
      if (name.startsWith('upload:')) {
        try {
          shapes = inputShapes(model.inputs, args.dims);
        } catch (e) {
          shapesError = { code: e.code ?? 'INVALID_ARGUMENT', message: e.message };
        }
      }
      return {
        result: {
          name,
          fileName,
          fileBytes: bytes.length,
          data: isImageClassifier(model.inputs, model.outputs) ? 'images' : 'random',
          free: freeDims(model.inputs),
          shapes,
          shapesError,
          opset: model.opset,
          inputs: model.inputs,
          outputs: model.outputs,
          layers: model.layers(),
        },
      };
    },

    /** Pixels and labels of a few test images (for drawing). */
    async samples({ indices }) {
      const { images, labels } = await testSet();
      if (!Array.isArray(indices) || !indices.every((i) => Number.isInteger(i) && i >= 0 && i < labels.length)) {
        throw fail('INVALID_ARGUMENT', `indices must be test image numbers in [0, ${labels.length})`);
      }
      const pixels = new Uint8Array(indices.length * PIXELS);
      indices.forEach((idx, k) => pixels.set(images.subarray(idx * PIXELS, (idx + 1) * PIXELS), k * PIXELS));
      return { result: { pixels, labels: Uint8Array.from(indices, (i) => labels[i]) }, transfer: [pixels.buffer] };
    },

    /** fp32 inference of a demo model on the first `count` test images. */
    async runFp32({ model, upload, count = 2000 }, progress) {
      const name = modelKey({ model, upload });
      progress(0, 'loading the model and the test images');
      const test = await testSet(count);
      const entry = await fp32Model(name);
      const t0 = performance.now();
      const predictions = runPredictions(entry.model, normalize(test.images), test.count, progress, 0, 1, 'fp32');
      const ms = performance.now() - t0;
      entry.fp32 = { count: test.count, predictions };
      const correct = countEqual(predictions, test.labels, test.count);
      return {
        result: {
          count: test.count, correct, accuracy: percent(correct, test.count), ms, predictions: predictions.slice(),
          confusion: confusionMatrix(test.labels, predictions, test.count),
        },
      };
    },

    /**
     * Post-training static quantization to int8 (ql.quantizeModel), calibrated on the first
     * `calibration` training images; then int8 inference on the same test images as fp32.
     */
    async quantize({ model, upload, count = 2000, calibration = 256, options = {}, mixedBudget = null }, progress) {
      const name = modelKey({ model, upload });
      if (typeof ql.quantizeModel !== 'function') {
        throw fail('UNSUPPORTED', 'this build of quantlab has no post-training quantization (ql.quantizeModel) yet');
      }
      const entry = await fp32Model(name);
      const test = await testSet(count);
      if (!entry.fp32 || entry.fp32.count !== test.count) {
        entry.fp32 = { count: test.count, predictions: runPredictions(entry.model, normalize(test.images), test.count, progress, 0, 0.3, 'fp32') };
      }
      const train = await trainSet(calibration);
      const calib = normalize(train.images);
      progress(0.3, 'calibrating');
      quantized?.result.dispose();
      quantized = null;
      const t0 = performance.now();
      // Mixed precision: the smallest weights (bits per layer) within mixedBudget points of
      // top-1 on the calibration images (ql.mixedPrecision), then quantized with those widths.
      let mixed = null;
      if (mixedBudget != null) {
        progress(0.3, 'mixed precision: measuring layers');
        const m = ql.mixedPrecision(entry.model, calib, [train.count, 1, 28, 28], {
          ...options, labels: train.labels, evalSamples: train.count, maxAccuracyDrop: mixedBudget, bits: [8, 6, 5, 4, 3, 2],
        });
        mixed = { budget: mixedBudget, layers: m.layers, weightBits: m.weightBits, int8WeightBits: m.int8WeightBits,
          accuracy: m.accuracy, fp32Accuracy: m.sensitivity.fp32Accuracy, measured: m.measured };
        options = { ...options, layers: m.layers };
      }
      const result = ql.quantizeModel(entry.model, calib, [train.count, 1, 28, 28], {
        ...options,
        onProgress: (p) => progress(0.3 + 0.3 * (p.total ? p.done / p.total : 0), `${p.stage} ${p.done} / ${p.total}`),
      });
      const quantizeMs = performance.now() - t0;
      quantized = { name, result };
      const t1 = performance.now();
      const predictions = runPredictions(result.model, normalize(test.images), test.count, progress, 0.6, 1, 'int8');
      const ms = performance.now() - t1;
      const correct = countEqual(predictions, test.labels, test.count);
      const agree = countEqual(predictions, entry.fp32.predictions, test.count);
      const fp32Correct = countEqual(entry.fp32.predictions, test.labels, test.count);
      return {
        result: {
          count: test.count,
          correct,
          accuracy: percent(correct, test.count),
          agreement: percent(agree, test.count),
          fp32: { correct: fp32Correct, accuracy: percent(fp32Correct, test.count) },
          fp32Predictions: entry.fp32.predictions.slice(),
          predictions,
          confusion: confusionMatrix(test.labels, predictions, test.count),
          fp32Confusion: confusionMatrix(test.labels, entry.fp32.predictions, test.count),
          report: result.report,
          layers: result.model.layers(),
          foldedBatchNorms: result.foldedBatchNorms ?? 0,
          mixed,
          quantizeMs,
          ms,
        },
      };
    },

    /**
     * An uploaded model that the bundled images do not fit, on seeded N(0, 1) data of the
     * user's input shape (free dimensions from `dims`): every output's statistics. With
     * `quantize`, also post-training int8 quantization calibrated on other seeded data of the
     * same shape (at most CALIBRATION_VALUES values, `calibration` samples) and the int8 run
     * on the same input: per output the SQNR against fp32 and the largest difference.
     */
    async runRandom({ model, upload, dims = {}, quantize = false, calibration = 256, options = {} }, progress) {
      const name = modelKey({ model, upload });
      const entry = await fp32Model(name);
      const shapes = inputShapes(entry.model.inputs, dims);
      const sizes = shapes.map((s) => s.reduce((a, d) => a * d, 1));
      const inputs = shapes.map((shape, k) => {
        if (entry.model.inputs[k].dtype !== 'float32') {
          throw fail('UNSUPPORTED', `input '${entry.model.inputs[k].name}' is ${entry.model.inputs[k].dtype}: this page makes float32 data only`);
        }
        return { data: seededNormal(sizes[k], INPUT_SEED + k), shape };
      });
      progress(0, 'fp32 on the random input');
      const t0 = performance.now();
      const fp32 = entry.model.runAll(inputs);
      const ms = performance.now() - t0;
      const out = {
        shapes,
        seed: INPUT_SEED,
        ms,
        outputs: fp32.map((o) => ({ name: o.name, shape: o.shape, dtype: o.dtype, fp32: o.dtype === 'float32' ? ql.arrayStats(o.data) : null })),
      };
      if (!quantize) return { result: out };
      if (inputs.length !== 1) throw fail('UNSUPPORTED', `quantizeModel calibrates models of one input; this one has ${inputs.length}`);
      const [shape] = shapes;
      const samples = Math.max(1, Math.min(calibration, Math.floor(CALIBRATION_VALUES / sizes[0])));
      const calibShape = [samples * shape[0], ...shape.slice(1)];
      progress(0.1, 'calibrating');
      quantized?.result.dispose();
      quantized = null;
      const t1 = performance.now();
      const result = ql.quantizeModel(entry.model, seededNormal(samples * sizes[0], CALIBRATION_SEED), calibShape, {
        ...options,
        onProgress: (p) => progress(0.1 + 0.8 * (p.total ? p.done / p.total : 0), `${p.stage} ${p.done} / ${p.total}`),
      });
      const quantizeMs = performance.now() - t1;
      quantized = { name, result };
      const t2 = performance.now();
      const int8 = result.model.runAll(inputs);
      const int8Ms = performance.now() - t2;
      out.outputs.forEach((o, k) => {
        if (!o.fp32) return;
        Object.assign(o, { int8: ql.arrayStats(int8[k].data), ...ql.compareArrays(fp32[k].data, int8[k].data) });
      });
      Object.assign(out, {
        calibrationData: { samples, shape: calibShape, seed: CALIBRATION_SEED },
        report: result.report,
        layers: result.model.layers(),
        foldedBatchNorms: result.foldedBatchNorms ?? 0,
        quantizeMs,
        int8Ms,
      });
      return { result: out };
    },

    /**
     * Which layer hurts (ql.quantizationSensitivity): each quantized layer alone at 8, 4 and 2
     * weight bits against fp32, on the first `calibration` training images with their labels.
     */
    async sensitivity({ model, upload, calibration = 256, options = {}, dims = null }, progress) {
      const name = modelKey({ model, upload });
      const entry = await fp32Model(name);
      const onProgress = (p) => progress(p.total ? p.done / p.total : 0, `${p.stage} ${p.done} / ${p.total}`);
      if (dims) {
        // A random-input model: runRandom's calibration data, no labels (SQNR only).
        const [shape] = inputShapes(entry.model.inputs, dims);
        const size = shape.reduce((a, d) => a * d, 1);
        const samples = Math.max(1, Math.min(calibration, Math.floor(CALIBRATION_VALUES / size)));
        const result = ql.quantizationSensitivity(entry.model, seededNormal(samples * size, CALIBRATION_SEED),
          [samples * shape[0], ...shape.slice(1)], { ...options, bits: [8, 4, 2], evalSamples: samples * shape[0], onProgress });
        return { result: { ...result, random: true } };
      }
      const train = await trainSet(calibration);
      const result = ql.quantizationSensitivity(entry.model, normalize(train.images), [train.count, 1, 28, 28], {
        ...options,
        bits: [8, 4, 2],
        labels: train.labels,
        evalSamples: train.count,
        onProgress,
      });
      return { result };
    },

    /**
     * Per-layer latency of the fp32 model and of the last quantized one on the same batch of
     * `batch` test images (minimum of `reps` runs each): which nodes int8 makes faster, and
     * what the QuantizeLinear / DequantizeLinear at its edges cost.
     */
    async layerProfile({ model, upload, batch = 256, reps = 3, dims = null }, progress) {
      const name = modelKey({ model, upload });
      if (!quantized || quantized.name !== name) throw fail('INVALID_ARGUMENT', `quantize ${name} first`);
      const entry = await fp32Model(name);
      // `dims`: a random-input model, timed on runRandom's input (the user's shape).
      let x;
      let shape;
      if (dims) {
        [shape] = inputShapes(entry.model.inputs, dims);
        x = seededNormal(shape.reduce((a, d) => a * d, 1), INPUT_SEED);
      } else {
        const test = await testSet(batch);
        x = normalize(test.images);
        shape = [test.count, 1, 28, 28];
      }
      progress(0, 'timing the fp32 layers');
      const fp32 = layerTimes(entry.model, x, shape, reps);
      progress(0.5, 'timing the int8 layers');
      const int8 = layerTimes(quantized.result.model, x, shape, reps);
      return { result: { batch: shape[0], random: Boolean(dims), reps, fp32, int8 } };
    },

    /**
     * One output channel of a quantized layer: its fp32 weights (from the model file) and the
     * int8 grid they were put on, r = S_c q (q over the int8 range, dequantized by the core),
     * with the levels in use and the error. A conv followed by a BatchNorm is quantized with
     * the BatchNorm folded into its weights: then the file's weights are not the ones on the
     * grid, and only they are returned (grid null, folded true).
     */
    async weightGrid({ model, upload, layer, channel = 0 }) {
      const name = modelKey({ model, upload });
      if (!quantized || quantized.name !== name) throw fail('INVALID_ARGUMENT', `quantize ${name} first`);
      const report = quantized.result.report.find((l) => l.name === layer);
      if (!report) throw fail('INVALID_ARGUMENT', `'${layer}' is not a quantized layer of ${name}`);
      const nodes = (await fp32Model(name)).model.layers();
      const at = nodes.findIndex((l) => l.name === layer);
      const weight = nodes[at].inputs.find((v, i) => i === 1 && v?.constant)?.name;
      const folded = nodes[at + 1]?.opType === 'BatchNormalization';
      const net = ql.networkFromOnnx(await modelBytes(name));
      try {
        const { values, shape } = net.get(weight);
        const channels = shape[0];
        if (!(Number.isInteger(channel) && channel >= 0 && channel < channels)) {
          throw fail('INVALID_ARGUMENT', `channel must be in [0, ${channels - 1}], got ${channel}`);
        }
        const c = channel;
        const per = values.length / channels;
        const w = values.slice(c * per, (c + 1) * per);
        const scales = report.weightScales;
        const scale = scales.length === 1 ? scales[0] : scales[c];
        const range = ql.integerRange({ bits: 8, signed: true, symmetric: true });
        const params = { scale, zeroPoint: 0, ...range, bits: 8, signed: true };
        const out = { layer, weight, channel: c, channels, perChannel: scales.length > 1, scale, values: w, folded, grid: null };
        if (!folded) {
          const q = ql.quantize(w, params);
          const used = new Set(q).size;
          const levels = Int32Array.from({ length: range.qMax - range.qMin + 1 }, (_, i) => range.qMin + i);
          Object.assign(out, { grid: ql.dequantize(levels, params), used, levels: levels.length, split: ql.quantizationError(w, params) });
        }
        return { result: out };
      } finally {
        net.dispose();
      }
    },

    /** The last quantized model as ONNX ('qoperator' or 'qdq'). */
    async exportInt8({ form = 'qoperator' }) {
      if (!quantized) throw fail('INVALID_ARGUMENT', 'quantize a model first');
      const bytes = quantized.result.toOnnx(form);
      return { result: { name: quantized.name, form, bytes }, transfer: [bytes.buffer] };
    },

    /** What onnxruntime reproduces of each export of the last quantized model (exportChecks). */
    async exportChecks() {
      if (!quantized) throw fail('INVALID_ARGUMENT', 'quantize a model first');
      return { result: quantized.result.exportChecks };
    },

    /**
     * Section 5.5's sweep: accuracy against bits for the conv weights only and the FC weights
     * only, with K-means (Network.quantize) and linear quantization (calibrate, quantize,
     * dequantize; per tensor or per output channel), biases kept in fp32. So that the lesson
     * does not open empty, every point is first measured on the first `first` test images
     * (a preview, about a tenth of the time) and then on all `count`; each quantized network
     * is built once and evaluated twice. Progress data, as soon as it is measured:
     * {fp32, members, count, preview} for the fp32 accuracy of a pass, then {point: {group,
     * method, bits, accuracy, count, preview}}. Progress counts images evaluated.
     */
    async bitsSweep({ model: name, count = 1000, first = 100, bits = [1, 2, 3, 4, 5, 6, 7, 8],
      groups = ['conv', 'fc'], methods = ['kmeans', 'linear'], kmeans = 'optimal', linear = 'per-channel' }, progress) {
      const test = await testSet(count);
      const passes = first >= 1 && first < test.count ? [await testSet(first), test] : [test];
      const base = ql.networkFromOnnx(await modelBytes(name));
      const nets = [];
      try {
        const info = base.info();
        const weightsOf = (kind) => info.layers.filter((l) => l.kind === kind)
          .map((l) => l.params.find((p) => p.endsWith('weight'))).filter(Boolean);
        const members = { conv: weightsOf('Conv2d'), fc: weightsOf('Linear') };
        const shapes = Object.fromEntries(info.params.map((p) => [p.name, p.shape]));
        const jobs = [];
        for (const group of groups) {
          if (members[group].length === 0) continue;
          for (const method of methods) for (const b of bits) jobs.push({ group, method, bits: b });
        }
        // The network of one job, quantized once (null: the core's linear grid needs at least 2 bits).
        const quantized = (job) => {
          if (job.method === 'linear' && job.bits < 2) return null;
          const net = base.clone();
          nets.push(net);
          for (const param of members[job.group]) {
            if (job.method === 'kmeans') {
              net.quantize(param, job.bits, kmeans === 'optimal' ? { method: 'optimal' } : { method: 'lloyd', init: 'linear' });
            } else {
              const w = net.get(param).values;
              const spec = { bits: job.bits, signed: true, symmetric: false };
              if (linear === 'per-channel') {
                const params = ql.perChannelParams(w, shapes[param], 0, spec);
                net.set(param, ql.dequantizePerChannel(ql.quantizePerChannel(w, shapes[param], 0, params), shapes[param], 0, params));
              } else {
                const r = ql.calibrate(w, spec);
                const p = ql.paramsFromRange(r.rMin, r.rMax, spec);
                net.set(param, ql.dequantize(ql.quantize(w, p), p));
              }
            }
          }
          return net;
        };
        const total = passes.reduce((a, set) => a + set.count * (jobs.length + 1), 0);
        let done = 0;
        let fp32 = null;
        let points = [];
        const built = new Map();
        for (const [k, set] of passes.entries()) {
          const preview = k < passes.length - 1;
          fp32 = base.evaluate(set.images, set.labels).accuracy;
          done += set.count;
          progress(done / total, `fp32 on ${set.count} images`, { fp32, members, count: set.count, preview });
          points = [];
          for (const job of jobs) {
            if (!built.has(job)) built.set(job, quantized(job));
            const net = built.get(job);
            const accuracy = net ? net.evaluate(set.images, set.labels).accuracy : null;
            const point = { ...job, accuracy, count: set.count, preview };
            points.push(point);
            done += set.count;
            progress(done / total, `${job.group} ${job.method} ${job.bits} bits on ${set.count} images`, { point });
          }
        }
        return { result: { model: name, count: test.count, fp32, members, points } };
      } finally {
        for (const net of nets) net.dispose();
        base.dispose();
      }
    },

    /**
     * Deep Compression (Network.deepCompression) on a demo model with the bundled training
     * subset: the stage table, the per-layer report, the compressed file, and per layer the
     * fp32 weights and the final codebook with its cluster sizes (for the histograms).
     * `plan` {fcSparsity, convSparsity, outputSparsity, fcBits, convBits} builds the
     * per-layer options.layers.
     * The file is decoded again and evaluated, to show that it holds the model.
     */
    async deepCompression({ model: name = 'lenet300', trainCount = 6000, testCount = 2000, options = {}, plan = null }, progress) {
      const train = await trainSet(trainCount);
      const test = await testSet(testCount);
      compressedNet?.dispose();
      compressedNet = null;
      const net = ql.networkFromOnnx(await modelBytes(name));
      const info = net.info();
      const weights = info.layers.filter((l) => l.kind === 'Linear' || l.kind === 'Conv2d')
        .map((l) => ({ kind: l.kind, param: l.params.find((p) => p.endsWith('weight')) })).filter((w) => w.param);
      const dcOptions = { ...options };
      if (plan) {
        // One plan row per weight: conv / FC sparsity and bits, the output layer pruned less
        // (Deep Compression's LeNet-300-100: 92%, 91%, 74%).
        dcOptions.layers = weights.map((w, i) => ({
          param: w.param,
          sparsity: i === weights.length - 1 ? plan.outputSparsity : w.kind === 'Conv2d' ? plan.convSparsity : plan.fcSparsity,
          bits: w.kind === 'Conv2d' ? plan.convBits : plan.fcBits,
        }));
      }
      const before = new Map(weights.map((w) => [w.param, net.get(w.param).values]));
      const t0 = performance.now();
      const report = net.deepCompression(train, test, dcOptions, deepCompressionProgress(dcOptions, progress));
      const ms = performance.now() - t0;
      compressedNet = net;
      const histograms = weights.map(({ param }) => {
        const after = net.get(param);
        const codebook = after.codebook;
        const clusterSizes = new Uint32Array(codebook ? codebook.centroids.length : 0);
        if (codebook) for (const l of codebook.labels) clusterSizes[l] += 1;
        return {
          param,
          before: before.get(param),
          centroids: codebook ? codebook.centroids : null,
          clusterSizes,
          pinnedZero: codebook?.pinnedZero ?? false,
          mask: after.mask,
        };
      });
      progress(0.99, 'decoding the compressed file');
      const decoded = ql.decodeCompressed(report.file);
      let decodedAccuracy = null;
      try {
        decodedAccuracy = decoded.network?.evaluate(test.images, test.labels).accuracy ?? null;
      } finally {
        decoded.network?.dispose();
      }
      const file = report.file;
      return {
        result: {
          model: name,
          trainCount: train.count,
          testCount: test.count,
          options: dcOptions,
          stages: report.stages,
          layers: report.layers,
          file,
          fileBytes: file.length,
          decodedAccuracy,
          tensors: decoded.tensors.map(({ values, ...t }) => t),
          histograms,
          ms,
        },
        transfer: [file.buffer],
      };
    },
    /**
     * Product quantization of one layer of a demo model (pqCompress with that layer alone
     * and no fine-tuning), once per objective ('weight', 'activation') on copies of the
     * network, calibrated on the first `calibrationCount` training images and measured on
     * the test subset: per objective the core's layer report (bytes, weight MSE, held-out
     * output MSE), accuracy before and after, and the PQ layer (codebook, codes); plus the
     * layer's fp32 weights and shape for drawing.
     */
    async pqLayer({ model: name = 'lenet5', param = 'conv2.weight', d = 25, k = 64, trainCount = 1000,
      testCount = 1000, calibrationCount = 512, iterations }, progress) {
      const train = await trainSet(trainCount);
      const test = await testSet(testCount);
      const base = ql.networkFromOnnx(await modelBytes(name));
      try {
        const { values, shape } = base.get(param);
        const out = { model: name, param, shape, weights: values, calibrationCount: Math.min(calibrationCount, train.count),
          testCount: test.count, objectives: {} };
        const objectives = ['weight', 'activation'];
        for (const [i, objective] of objectives.entries()) {
          const net = base.clone();
          try {
            const t0 = performance.now();
            const r = ql.pqCompress(net, train, test, {
              layers: [{ param, d, k }], finetuneEpochs: 0, calibrationCount: Math.min(calibrationCount, train.count),
              heldoutCount: test.count, pq: { objective, ...(iterations ? { iterations } : {}) },
            }, (p) => progress((i + (p.total ? p.done / p.total : 0) * 0.9) / objectives.length,
              `${objective}: ${p.stage} ${p.done} / ${p.total}`));
            out.objectives[objective] = { ...r.layers[0], layer: r.pq[0], decoded: ql.pqDecode(r.pq[0]), fp32Accuracy: r.fp32Accuracy,
              accuracy: r.accuracy, ratio: r.ratio, ms: performance.now() - t0 };
          } finally {
            net.dispose();
          }
        }
        return { result: out };
      } finally {
        base.dispose();
      }
    },

    /** The worker's quantlab memory: tensors and malloc in use, and the wasm memory size. */
    async memoryUsage() {
      return { result: { ...ql.memoryUsage(), wasmBytes: ql.memoryBytes() } };
    },
  };
  return tasks;
}
