// quantlab's JavaScript entry point: loads the WebAssembly core (SIMD128 when the engine
// has it, else scalar) and exposes it with camelCase names over typed arrays. Errors from
// the core become QuantlabError with a stable .code. Works in browsers, workers and Node.

/** An error from quantlab: `code` is stable ("INVALID_ARGUMENT", "NOT_FINITE", ...). */
export class QuantlabError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'QuantlabError';
    this.code = code;
  }
}

// The smallest module using v128 (i8x16.splat, i8x16.popcnt): engines without SIMD128
// reject it.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253,
  15, 253, 98, 11,
]);

/** True when this engine validates SIMD128 code. */
export function simdSupported() {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

async function readNodeFile(url) {
  const { readFile } = await import(/* @vite-ignore */ 'node:fs/promises');
  return readFile(url);
}

function unwrap(result) {
  if (result && typeof result === 'object' && 'code' in result) {
    throw new QuantlabError(result.code, result.message);
  }
  return result.value;
}

// Embind's own errors (wrong argument types) become INVALID_ARGUMENT.
function call(fn, ...args) {
  let result;
  try {
    result = fn(...args);
  } catch (e) {
    if (e instanceof QuantlabError) throw e;
    throw new QuantlabError('INVALID_ARGUMENT', String(e?.message ?? e));
  }
  return unwrap(result);
}

function fail(message) {
  throw new QuantlabError('INVALID_ARGUMENT', message);
}

function asArray(x, Type, what) {
  if (x instanceof Type) return x;
  if (ArrayBuffer.isView(x) || Array.isArray(x)) {
    for (let i = 0; i < x.length; ++i) {
      if (typeof x[i] !== 'number' && typeof x[i] !== 'bigint') {
        fail(`${what}[${i}] is not a number`);
      }
    }
    return Type.from(x, Number);
  }
  return fail(`${what} must be an array or a typed array`);
}

function asShape(shape) {
  if (!Array.isArray(shape) && !ArrayBuffer.isView(shape)) fail('shape must be an array');
  return Array.from(shape, Number);
}

function asInt(x, what) {
  if (!Number.isInteger(x)) fail(`${what} must be an integer, got ${x}`);
  return x;
}

function asNumber(x, what) {
  if (typeof x !== 'number') fail(`${what} must be a number, got ${typeof x}`);
  return x;
}

/** Fill a QuantSpec's defaults: 8 bits, signed, asymmetric, full range. */
function specOf(spec = {}) {
  const s = {
    bits: spec.bits ?? 8,
    signed: spec.signed ?? true,
    symmetric: spec.symmetric ?? false,
    narrowRange: spec.narrowRange ?? false,
  };
  asInt(s.bits, 'bits');
  return s;
}

function paramsOf(p) {
  if (!p || typeof p !== 'object') fail('params must be an object from paramsFromRange');
  const q = {
    scale: asNumber(p.scale, 'scale'),
    zeroPoint: asInt(p.zeroPoint, 'zeroPoint'),
    qMin: asInt(p.qMin, 'qMin'),
    qMax: asInt(p.qMax, 'qMax'),
    bits: asInt(p.bits ?? 8, 'bits'),
    signed: p.signed ?? true,
  };
  return q;
}

const METHODS = ['minmax', 'percentile', 'mse', 'kl'];

function calibrationOf(o = {}) {
  const c = {
    method: o.method ?? 'minmax',
    percentile: o.percentile ?? 99.99,
    histogramBins: o.histogramBins ?? 2048,
    mseSteps: o.mseSteps ?? 200,
  };
  if (!METHODS.includes(c.method)) {
    fail(`unknown calibration method '${c.method}' (expected ${METHODS.join(', ')})`);
  }
  asNumber(c.percentile, 'percentile');
  asInt(c.histogramBins, 'histogramBins');
  asInt(c.mseSteps, 'mseSteps');
  return c;
}

/** The quantlab API over one loaded WebAssembly instance. */
class Quantlab {
  #m;

  constructor(module, simd) {
    this.#m = module;
    /** Whether this instance runs the SIMD128 build. */
    this.simd = simd;
  }

  // --- Linear quantization ------------------------------------------------------------

  /** [qMin, qMax] of a grid: bits 2..8 (or 32), signed or unsigned, narrow range. */
  integerRange(spec) {
    return call(this.#m.integerRange, specOf(spec));
  }

  /** S and Z from a real range [rMin, rMax] (widened to contain 0) and a spec. */
  paramsFromRange(rMin, rMax, spec) {
    return call(this.#m.paramsFromRange, asNumber(rMin, 'rMin'), asNumber(rMax, 'rMax'),
      specOf(spec));
  }

  /** q = clamp(round(r / S) + Z): an Int32Array. */
  quantize(data, params) {
    return call(this.#m.quantize, asArray(data, Float32Array, 'data'), paramsOf(params));
  }

  /** r = S (q - Z): a Float32Array. */
  dequantize(q, params) {
    return call(this.#m.dequantize, asArray(q, Int32Array, 'q'), paramsOf(params));
  }

  /** {roundMse, clipMse, totalMse, clipped, count} of data under params. */
  quantizationError(data, params) {
    return call(this.#m.quantizationError, asArray(data, Float32Array, 'data'), paramsOf(params));
  }

  /** Round, clip and total MSE for clipping ranges [a rMin, a rMax], a = 1/steps .. 1. */
  errorSweep(data, spec, steps = 100) {
    return call(this.#m.errorSweep, asArray(data, Float32Array, 'data'), specOf(spec),
      asInt(steps, 'steps'));
  }

  /** The clipping range {rMin, rMax} chosen by method minmax, percentile, mse or kl. */
  calibrate(data, spec, options) {
    return call(this.#m.calibrate, asArray(data, Float32Array, 'data'), specOf(spec),
      calibrationOf(options));
  }

  /** One params object per index of `axis` (negative counts from the end). */
  perChannelParams(data, shape, axis, spec, options) {
    return call(this.#m.perChannelParams, asArray(data, Float32Array, 'data'), asShape(shape),
      asInt(axis, 'axis'), specOf(spec), calibrationOf(options));
  }

  quantizePerChannel(data, shape, axis, params) {
    if (!Array.isArray(params)) fail('params must be an array (one per channel)');
    return call(this.#m.quantizePerChannel, asArray(data, Float32Array, 'data'), asShape(shape),
      asInt(axis, 'axis'), params.map(paramsOf));
  }

  dequantizePerChannel(q, shape, axis, params) {
    if (!Array.isArray(params)) fail('params must be an array (one per channel)');
    return call(this.#m.dequantizePerChannel, asArray(q, Int32Array, 'q'), asShape(shape),
      asInt(axis, 'axis'), params.map(paramsOf));
  }

  // --- Requantization --------------------------------------------------------------------

  /** M = M0 * 2^(shift - 31), M0 in [2^30, 2^31): {M0, shift, value}. */
  quantizeMultiplier(M) {
    return call(this.#m.quantizeMultiplier, asNumber(M, 'M'));
  }

  /**
   * Requantize int32 accumulators: mode 'fixed' with {M0, shift} or 'fp32' with
   * {multiplier}; plus {zeroPoint, qMin, qMax}. Returns an Int32Array.
   */
  requantize(acc, options) {
    const o = options ?? {};
    const mode = o.mode ?? 'fixed';
    const args = {
      mode,
      zeroPoint: asInt(o.zeroPoint ?? 0, 'zeroPoint'),
      qMin: asInt(o.qMin ?? -128, 'qMin'),
      qMax: asInt(o.qMax ?? 127, 'qMax'),
      M0: mode === 'fixed' ? asInt(o.M0, 'M0') : 0,
      shift: mode === 'fixed' ? asInt(o.shift, 'shift') : 0,
      multiplier: mode === 'fp32' ? asNumber(o.multiplier, 'multiplier') : 0,
    };
    return call(this.#m.requantize, asArray(acc, Int32Array, 'acc'), args);
  }

  // --- Models: ONNX import and runtime (issue 4; implementation in the Models section) ----

  /**
   * Load an ONNX model from its bytes (Uint8Array or ArrayBuffer). Options: requantMode
   * 'fp32' (ONNX's definition, default) or 'fixed' (M0 / shift) for int8 layers;
   * fuseActivations (default true): run a Relu / Clip(0, 6) inside the fp32 layer before it.
   * fuseQdq (default false): run DequantizeLinear -> Conv / Add -> QuantizeLinear groups as
   * QLinearConv / QLinearAdd (integer arithmetic, as onnxruntime's optimizer).
   * Returns a Model; call dispose() when done.
   */
  loadModel(bytes, options = {}) {
    return loadModelInto(this.#m, bytes, options);
  }

  /** Operators the runtime implements: [{domain, opType, versions}]. */
  supportedOperators() {
    return call(this.#m.supportedOperators);
  }

  // --- Kernels: int8 / fp32 GEMM and convolution (issue 3; see the Kernels section) -------

  /** Kernel variants compiled into this module, slowest first ('scalar', 'xsimd', 'wasmsimd'). */
  kernelVariants() {
    return call(this.#m.kernelVariants);
  }

  /** Pack an int8 layer y = x W^T + b for repeated run()s (see QGemmOptions). */
  createQGemm(options) {
    return new QGemm(this.#m, call(this.#m.qgemmCreate, qgemmOptions(options)));
  }

  /** Pack an int8 NCHW convolution (see QConv2dOptions). */
  createQConv2d(options) {
    return new QConv2d(this.#m, call(this.#m.qconvCreate, qconvOptions(options)));
  }

  /** The fp32 baseline of createQGemm: y = x W^T + b, then the activation. */
  createGemmF32(options) {
    return new GemmF32(this.#m, call(this.#m.gemmF32Create, gemmF32Options(options)));
  }

  /** The fp32 baseline of createQConv2d. */
  createConv2dF32(options) {
    return new Conv2dF32(this.#m, call(this.#m.convF32Create, convF32Options(options)));
  }

  // --- Compression: k-means, Huffman, pruning, compressed files, training (issue 5; see the
  // Compression section) ----------------------------------------------------------------------

  /**
   * K-means weight quantization: 2^bits centroids and one label per weight. Options: method
   * 'lloyd' (default) or 'optimal' (the exact 1-D optimum), init 'linear' (default),
   * 'density', 'random' or 'kmeans++', iterations (300), seed (0), pinnedZero (false).
   * onProgress({stage, done, total, value}) is called during long runs.
   */
  kMeansQuantize(weights, bits, options, onProgress) {
    return dcKMeansQuantize(this.#m, weights, bits, options, onProgress);
  }

  /** The k initial centroids Lloyd starts from (options: init, seed). */
  kMeansInit(weights, k, options) {
    return call(this.#m.dcKMeansInit, asArray(weights, Float32Array, 'weights'), asInt(k, 'k'),
      kMeansOptionsOf(options));
  }

  /** Bytes of n bits-bit labels plus 2^bits float32 centroids (the lecture's 20 B example). */
  codebookStorageBytes(n, bits) {
    return call(this.#m.dcCodebookStorageBytes, asNumber(n, 'n'), asInt(bits, 'bits'));
  }

  /** The lecture's fine-tuning update: each centroid moves by its cluster's mean error. */
  updateCodebook(weights, codebook) {
    return call(this.#m.dcUpdateCodebook, asArray(weights, Float32Array, 'weights'),
      codebookOf(codebook));
  }

  /** Deep Compression's trained quantization: dL/dW summed per cluster (Float64Array). */
  clusterGradientSums(grad, codebook) {
    return call(this.#m.dcClusterGradients, asArray(grad, Float32Array, 'grad'),
      codebookOf(codebook));
  }

  /** Canonical Huffman code of frequencies (options: maxLength 1..15, default 15). */
  huffmanCode(frequencies, options = {}) {
    const max = asInt(options.maxLength ?? 15, 'maxLength');
    return new HuffmanCode(this.#m, call(this.#m.dcHuffmanCode,
      asArray(frequencies, Float64Array, 'frequencies'), max));
  }

  /** A prefix code in the lecture's notation, ['01', '10', '111']; rejects non-prefix codes. */
  prefixCode(codewords) {
    if (!Array.isArray(codewords)) fail('codewords must be an array of strings');
    codewords.forEach((w, i) => { if (typeof w !== 'string') fail(`codewords[${i}] is not a string`); });
    return new HuffmanCode(this.#m, call(this.#m.dcPrefixCode, codewords));
  }

  /** The canonical code with the given codeword lengths (0: no codeword). */
  canonicalCode(lengths) {
    return new HuffmanCode(this.#m, call(this.#m.dcCanonicalCode, asArray(lengths, Uint8Array, 'lengths')));
  }

  /** Frequencies, code, coded bytes and statistics in one call. */
  huffmanCompress(symbols, alphabetSize, options = {}) {
    return call(this.#m.dcHuffmanCompress, asArray(symbols, Uint16Array, 'symbols'),
      asInt(alphabetSize, 'alphabetSize'), asInt(options.maxLength ?? 15, 'maxLength'));
  }

  /** Keep the largest |w|: a Uint8Array mask (1 kept) with round(sparsity n) zeros. */
  magnitudePruneMask(weights, sparsity) {
    return call(this.#m.dcPruneMask, asArray(weights, Float32Array, 'weights'),
      asNumber(sparsity, 'sparsity'));
  }

  /** One magnitude threshold over several layers: one mask per layer. */
  globalMagnitudePruneMasks(layers, sparsity) {
    if (!Array.isArray(layers)) fail('layers must be an array of weight arrays');
    return call(this.#m.dcGlobalPruneMasks, layers.map((w, i) => asArray(w, Float32Array, `layers[${i}]`)),
      asNumber(sparsity, 'sparsity'));
  }

  /** Target sparsities of an iterative schedule ('cubic' default, or 'linear'). */
  pruneSchedule(finalSparsity, steps, kind = 'cubic') {
    return call(this.#m.dcPruneSchedule, asNumber(finalSparsity, 'finalSparsity'), asInt(steps, 'steps'),
      String(kind));
  }

  /**
   * Relative-index (gap) encoding of a mask with gapBits-bit gaps and filler zeros, and its
   * storage with valueBits per value (default 32) plus codebookBytes (default 0).
   */
  relativeIndices(mask, gapBits, options = {}) {
    return call(this.#m.dcRelativeIndices, asArray(mask, Uint8Array, 'mask'), asInt(gapBits, 'gapBits'),
      asInt(options.valueBits ?? 32, 'valueBits'), asNumber(options.codebookBytes ?? 0, 'codebookBytes'));
  }

  /** Dense positions from gaps. */
  decodeRelativeIndices(gaps, gapBits, denseSize) {
    return call(this.#m.dcDecodeRelativeIndices, asArray(gaps, Uint32Array, 'gaps'),
      asInt(gapBits, 'gapBits'), asNumber(denseSize, 'denseSize'));
  }

  /** The gap width 1..16 that stores the mask in the fewest bytes. */
  bestGapBits(mask, valueBits) {
    return call(this.#m.dcBestGapBits, asArray(mask, Uint8Array, 'mask'), asInt(valueBits, 'valueBits'));
  }

  /** Write a compressed model file from tensors (see CompressedTensorInput). */
  encodeCompressed(tensors) {
    return dcEncodeCompressed(this.#m, tensors);
  }

  /** Read a compressed model file; its network (if stored) is a Network to dispose(). */
  decodeCompressed(bytes) {
    return dcDecodeCompressed(this.#m, bytes);
  }

  /** CRC-32 (as zlib). */
  crc32(bytes) {
    return call(this.#m.dcCrc32, asArray(bytes, Uint8Array, 'bytes'));
  }

  /** A trainable Network from an ONNX model's bytes (sequential demo models). */
  networkFromOnnx(bytes) {
    return new Network(this.#m, call(this.#m.dcNetworkFromOnnx, bytesOf(bytes)));
  }

  // --- Post-training quantization (issue 4; see the post-training quantization section) --

  /**
   * Post-training static quantization of a loaded fp32 Model. calibration: Float32Array of
   * `shape` (e.g. [512, 1, 28, 28]) for the model's single input, fed in chunks of
   * options.batchSize (default 64). Options: method 'minmax' | 'percentile' | 'mse' | 'kl',
   * percentile, activations 'int8' | 'uint8', perChannel (true), reduceRange (false: 7-bit
   * weights when true), requantMode 'fp32' | 'fixed-point', onProgress({stage, done, total}).
   * Returns a QuantizedModel: .model, .report, .toOnnx(form), .dispose().
   */
  quantizeModel(model, calibration, shape, options = {}) {
    return quantizeModelWith(this.#m, model, calibration, shape, options);
  }
}

// ===== Models: ONNX import and runtime (issue 4) ===========================================

const INPUT_ARRAYS = [Float32Array, Uint8Array, Int8Array, Int32Array, BigInt64Array];

function modelInputOf(input, i) {
  if (!input || typeof input !== 'object') fail(`input ${i} must be {data, shape}`);
  const { data, shape } = input;
  if (!INPUT_ARRAYS.some((T) => data instanceof T)) {
    fail(`input ${i} data must be a Float32Array, Uint8Array, Int8Array, Int32Array or ` +
      'BigInt64Array');
  }
  const dims = asShape(shape);
  dims.forEach((d, k) => {
    if (!Number.isInteger(d) || d < 0) fail(`input ${i} shape[${k}] must be an integer >= 0`);
  });
  return { data, shape: dims };
}

function copyLayer(l) {
  return {
    ...l,
    inputs: l.inputs.map((v) => (v ? { ...v, shape: v.shape && [...v.shape] } : null)),
    outputs: l.outputs.map((v) => (v ? { ...v, shape: v.shape && [...v.shape] } : null)),
  };
}

// Set by Model's static block: the handle id of a live Model (post-training quantization).
let modelIdOf;

/**
 * A loaded ONNX model. Its weights live in WebAssembly memory until dispose(). Results are
 * copies (never views into wasm memory).
 */
export class Model {
  #m;
  #id;
  #info;

  // Post-training quantization reads the handle id of a live model.
  static {
    modelIdOf = (model) => {
      model.#live();
      return model.#id;
    };
  }

  constructor(module, id) {
    this.#m = module;
    this.#id = id;
    this.#info = call(module.modelInfo, id);
  }

  #live() {
    if (this.#id === 0) throw new QuantlabError('INVALID_ARGUMENT', 'the model was disposed');
  }

  /** Graph inputs to feed: [{name, dtype, shape}]; a symbolic size is its name ('N'). */
  get inputs() {
    return this.#info.inputs.map((v) => ({ ...v, shape: v.shape && [...v.shape] }));
  }

  /** Graph outputs: [{name, dtype, shape}]. */
  get outputs() {
    return this.#info.outputs.map((v) => ({ ...v, shape: v.shape && [...v.shape] }));
  }

  /** The ai.onnx opset the model imports. */
  get opset() {
    return this.#info.opset;
  }

  /**
   * Every node in execution order: {name, opType, domain, version, inputs, outputs,
   * parameters, bytes, folded, fused}. parameters / bytes count the node's constant inputs
   * (weights, biases, scales, zero points); folded nodes were computed at load time; fused
   * activations run inside the previous layer's kernel.
   */
  layers() {
    return this.#info.layers.map(copyLayer);
  }

  /**
   * Run on one batch: data (a typed array) of the given shape, for a model with one input.
   * Returns the first output as {name, data, shape, dtype}. See runAll for the options.
   */
  run(data, shape, options) {
    return this.runAll([{ data, shape }], options)[0];
  }

  /**
   * Run on one tensor per input ({data, shape}). Options: onProgress({stage, done, total})
   * (called synchronously: stage 'run' after each node, or 'batch' after each chunk);
   * batchSize (single-input models: run the batch in chunks of this many along dimension 0,
   * which bounds memory and reports progress per chunk). Returns every output.
   */
  runAll(inputs, options = {}) {
    this.#live();
    if (!Array.isArray(inputs)) fail('inputs must be an array of {data, shape}');
    const ins = inputs.map(modelInputOf);
    const onProgress = options.onProgress;
    if (onProgress !== undefined && typeof onProgress !== 'function') {
      fail('onProgress must be a function');
    }
    const batchSize = options.batchSize;
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
      fail('batchSize must be an integer >= 1');
    }
    // A callback that throws must not unwind through WebAssembly frames: remember the error
    // and rethrow it once the core has returned.
    let callbackError = null;
    const report = (p) => {
      if (callbackError || !onProgress) return;
      try {
        onProgress(p);
      } catch (e) {
        callbackError = e;
      }
    };
    const runOnce = (chunk, progress) => {
      const out = call(this.#m.modelRun, this.#id, chunk, progress);
      if (callbackError) throw callbackError;
      return out;
    };
    const n = ins.length === 1 && ins[0].shape.length > 0 ? ins[0].shape[0] : 0;
    if (!batchSize || ins.length !== 1 || n <= batchSize) {
      return runOnce(ins, onProgress ? report : undefined);
    }
    const { data, shape } = ins[0];
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    if (data.length !== n * per) {
      throw new QuantlabError('SHAPE_MISMATCH', `input 0 has ${data.length} values but its ` +
        `shape [${shape.join(', ')}] holds ${n * per}`);
    }
    const parts = [];
    for (let first = 0; first < n; first += batchSize) {
      const rows = Math.min(batchSize, n - first);
      parts.push(runOnce([{ data: data.subarray(first * per, (first + rows) * per),
        shape: [rows, ...shape.slice(1)] }], undefined));
      report({ stage: 'batch', done: first + rows, total: n });
    }
    // Concatenate each output along dimension 0.
    return parts[0].map((o, k) => {
      const total = parts.reduce((a, p) => a + p[k].data.length, 0);
      const joined = new o.data.constructor(total);
      let at = 0;
      for (const p of parts) {
        joined.set(p[k].data, at);
        at += p[k].data.length;
      }
      const rowsTotal = parts.reduce((a, p) => a + p[k].shape[0], 0);
      return { ...o, data: joined, shape: [rowsTotal, ...o.shape.slice(1)] };
    });
  }

  /** Free the model's memory; later calls throw. Safe to call twice. */
  dispose() {
    if (this.#id !== 0) {
      call(this.#m.modelDispose, this.#id);
      this.#id = 0;
    }
  }

  get disposed() {
    return this.#id === 0;
  }
}

function loadModelInto(module, bytes, options = {}) {
  let b = bytes;
  if (b instanceof ArrayBuffer) b = new Uint8Array(b);
  if (!(b instanceof Uint8Array)) fail('model bytes must be a Uint8Array or an ArrayBuffer');
  const requantMode = options.requantMode ?? 'fp32';
  if (requantMode !== 'fp32' && requantMode !== 'fixed') {
    fail(`requantMode must be 'fp32' or 'fixed', got '${requantMode}'`);
  }
  const fuseActivations = options.fuseActivations ?? true;
  if (typeof fuseActivations !== 'boolean') fail('fuseActivations must be a boolean');
  const fuseQdq = options.fuseQdq ?? false;
  if (typeof fuseQdq !== 'boolean') fail('fuseQdq must be a boolean');
  const id = call(module.modelLoad, b, { requantMode, fuseActivations, fuseQdq });
  try {
    return new Model(module, id);
  } catch (e) {
    call(module.modelDispose, id);
    throw e;
  }
}

// ===== End of models ===========================================================================

// ===== Kernels: int8 / fp32 GEMM and convolution handles (issue 3) ========================

const ACTIVATIONS = ['none', 'relu', 'relu6'];

function typedOf(x, Type, what) {
  if (x instanceof Type) return x;
  return asArray(x, Type, what);
}

function scalesOf(s, what) {
  return typeof s === 'number' ? new Float32Array([s]) : typedOf(s, Float32Array, what);
}

function oneOf(value, allowed, what) {
  if (!allowed.includes(value)) {
    fail(`${what} must be ${allowed.map((a) => `'${a}'`).join(', ')}, got '${value}'`);
  }
  return value;
}

function pairOf(v, dflt, what) {
  const p = v ?? dflt;
  if (!Array.isArray(p) || p.length !== 2 || !p.every(Number.isInteger)) {
    fail(`${what} must be two integers`);
  }
  return p;
}

function outputOf(o = {}) {
  return {
    type: oneOf(o.type ?? 'uint8', ['uint8', 'int8', 'int32'], 'output.type'),
    scale: asNumber(o.scale ?? 1, 'output.scale'),
    zeroPoint: asInt(o.zeroPoint ?? 0, 'output.zeroPoint'),
    requant: oneOf(o.requant ?? 'fp32', ['fp32', 'fixed'], 'output.requant'),
    activation: oneOf(o.activation ?? 'none', ACTIVATIONS, 'output.activation'),
  };
}

function quantInputOf(o) {
  return {
    inputType: oneOf(o.inputType ?? 'uint8', ['uint8', 'int8'], 'inputType'),
    inputScale: asNumber(o.inputScale, 'inputScale'),
    inputZeroPoint: asInt(o.inputZeroPoint ?? 0, 'inputZeroPoint'),
  };
}

function geometryOf(o) {
  const pads = o.pads ?? [0, 0, 0, 0];
  if (!Array.isArray(pads) || pads.length !== 4 || !pads.every(Number.isInteger)) {
    fail('pads must be four integers [top, left, bottom, right]');
  }
  return {
    cOut: asInt(o.cOut, 'cOut'),
    cIn: asInt(o.cIn, 'cIn'),
    kernelShape: pairOf(o.kernelShape, undefined, 'kernelShape'),
    strides: pairOf(o.strides, [1, 1], 'strides'),
    pads,
    dilations: pairOf(o.dilations, [1, 1], 'dilations'),
    groups: asInt(o.groups ?? 1, 'groups'),
  };
}

function optionsObject(o) {
  if (!o || typeof o !== 'object') fail('options must be an object');
  return o;
}

function qgemmOptions(options) {
  const o = optionsObject(options);
  return {
    weights: typedOf(o.weights, Int8Array, 'weights'),
    n: asInt(o.n, 'n'),
    k: asInt(o.k, 'k'),
    weightScales: scalesOf(o.weightScales, 'weightScales'),
    bias: typedOf(o.bias ?? [], Int32Array, 'bias'),
    ...quantInputOf(o),
    output: outputOf(o.output),
    variant: o.variant ?? '',
  };
}

function qconvOptions(options) {
  const o = optionsObject(options);
  return {
    weights: typedOf(o.weights, Int8Array, 'weights'),
    ...geometryOf(o),
    weightScales: scalesOf(o.weightScales, 'weightScales'),
    bias: typedOf(o.bias ?? [], Int32Array, 'bias'),
    ...quantInputOf(o),
    output: outputOf(o.output),
    variant: o.variant ?? '',
  };
}

function gemmF32Options(options) {
  const o = optionsObject(options);
  return {
    weights: typedOf(o.weights, Float32Array, 'weights'),
    n: asInt(o.n, 'n'),
    k: asInt(o.k, 'k'),
    bias: typedOf(o.bias ?? [], Float32Array, 'bias'),
    activation: oneOf(o.activation ?? 'none', ACTIVATIONS, 'activation'),
    variant: o.variant ?? '',
  };
}

function convF32Options(options) {
  const o = optionsObject(options);
  return {
    weights: typedOf(o.weights, Float32Array, 'weights'),
    ...geometryOf(o),
    bias: typedOf(o.bias ?? [], Float32Array, 'bias'),
    activation: oneOf(o.activation ?? 'none', ACTIVATIONS, 'activation'),
    variant: o.variant ?? '',
  };
}

/** A packed layer in WebAssembly memory; dispose() frees it. */
class KernelLayer {
  #m;
  #id;
  #info;

  constructor(module, id) {
    this.#m = module;
    this.#id = id;
    this.#info = call(module.kernelInfo, id);
  }

  #live() {
    if (this.#id === 0) throw new QuantlabError('INVALID_ARGUMENT', 'the layer was disposed');
  }

  /** The kernel variant running this layer ('scalar', 'xsimd' or 'wasmsimd'). */
  get variant() {
    return this.#info.variant;
  }

  /** The micro-kernel's name, e.g. ql_qs8_gemm_minmax_fp32_ukernel_4x8c2__wasmsimd_dot16x2. */
  get ukernel() {
    return this.#info.ukernel;
  }

  /** Convolutions: true when the depthwise kernels run this layer. */
  get depthwise() {
    return Boolean(this.#info.depthwise);
  }

  _run(x, dims) {
    this.#live();
    return call(this.#m.kernelRun, this.#id, x, dims);
  }

  /**
   * Kernel-only timing: `reps` runs on the last input inside WebAssembly, after `warmup`
   * untimed ones. Returns {medianMs, minMs, reps}. Call run() once first.
   */
  benchmark(reps = 50, warmup = 2) {
    this.#live();
    return call(this.#m.kernelBenchmark, this.#id, asInt(reps, 'reps'), asInt(warmup, 'warmup'));
  }

  /** Free the packed weights; later calls throw. Safe to call twice. */
  dispose() {
    if (this.#id !== 0) {
      call(this.#m.kernelDispose, this.#id);
      this.#id = 0;
    }
  }

  get disposed() {
    return this.#id === 0;
  }
}

/** int8 fully-connected layer: run(x [m, k], m) -> y [m, n] (a new typed array). */
export class QGemm extends KernelLayer {
  run(x, m) {
    return this._run(x, [asInt(m, 'm')]).data;
  }
}

/** fp32 fully-connected layer: run(x [m, k], m) -> Float32Array [m, n]. */
export class GemmF32 extends KernelLayer {
  run(x, m) {
    return this._run(typedOf(x, Float32Array, 'x'), [asInt(m, 'm')]).data;
  }
}

function convRun(layer, x, shape) {
  const s = asShape(shape);
  if (s.length !== 4) fail('shape must be [batch, channels, height, width]');
  return layer._run(x, [s[0], s[2], s[3]]);
}

/** int8 NCHW convolution: run(x, [batch, cIn, h, w]) -> {data, shape} of the output. */
export class QConv2d extends KernelLayer {
  run(x, shape) {
    return convRun(this, x, shape);
  }
}

/** fp32 NCHW convolution: run(x, [batch, cIn, h, w]) -> {data: Float32Array, shape}. */
export class Conv2dF32 extends KernelLayer {
  run(x, shape) {
    return convRun(this, typedOf(x, Float32Array, 'x'), shape);
  }
}

// ===== End of kernels ========================================================================

// ===== Compression: k-means, Huffman, pruning, compressed files, training (issue 5) =========

const KMEANS_METHODS = ['lloyd', 'optimal'];
const KMEANS_INITS = ['linear', 'density', 'random', 'kmeans++'];

function kMeansOptionsOf(o = {}) {
  const k = {
    method: o.method ?? 'lloyd',
    init: o.init ?? 'linear',
    iterations: o.iterations ?? 300,
    seed: o.seed ?? 0,
    pinnedZero: Boolean(o.pinnedZero ?? false),
  };
  if (!KMEANS_METHODS.includes(k.method)) fail(`k-means method must be one of ${KMEANS_METHODS.join(', ')}`);
  if (!KMEANS_INITS.includes(k.init)) fail(`k-means init must be one of ${KMEANS_INITS.join(', ')}`);
  asInt(k.iterations, 'iterations');
  if (!Number.isInteger(k.seed) || k.seed < 0 || k.seed > 0xFFFFFFFF) fail('seed must be an integer 0..2^32-1');
  return k;
}

function progressOf(fn) {
  if (fn === undefined || fn === null) return undefined;
  if (typeof fn !== 'function') fail('onProgress must be a function');
  return fn;
}

function codebookOf(c) {
  if (!c || typeof c !== 'object') fail('codebook must be {centroids, labels, pinnedZero?}');
  return {
    centroids: asArray(c.centroids, Float32Array, 'codebook.centroids'),
    labels: asArray(c.labels, Int32Array, 'codebook.labels'),
    pinnedZero: Boolean(c.pinnedZero ?? false),
  };
}

function bytesOf(b) {
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (b instanceof Uint8Array) return b;
  return fail('bytes must be a Uint8Array or an ArrayBuffer');
}

function dcKMeansQuantize(module, weights, bits, options, onProgress) {
  return call(module.dcKMeans, asArray(weights, Float32Array, 'weights'), asInt(bits, 'bits'),
    kMeansOptionsOf(options), progressOf(onProgress));
}

function dcEncodeCompressed(module, tensors) {
  if (!Array.isArray(tensors)) fail('tensors must be an array');
  const list = tensors.map((t, i) => {
    if (!t || typeof t !== 'object') fail(`tensors[${i}] must be an object`);
    if (typeof t.name !== 'string') fail(`tensors[${i}].name must be a string`);
    const bits = asInt(t.bits ?? 0, `tensors[${i}].bits`);
    return {
      name: t.name,
      shape: asShape(t.shape),
      bits,
      gapBits: asInt(t.gapBits ?? 0, `tensors[${i}].gapBits`),
      huffman: Boolean(t.huffman ?? true),
      values: bits === 0 ? asArray(t.values, Float32Array, `tensors[${i}].values`) : undefined,
      codebook: bits === 0 ? undefined : codebookOf(t.codebook),
    };
  });
  return call(module.dcEncodeCompressed, list);
}

function dcDecodeCompressed(module, bytes) {
  const r = call(module.dcDecodeCompressed, bytesOf(bytes));
  return { ...r, network: r.network === null ? null : new Network(module, r.network) };
}

/** A prefix code (Huffman or given) with its table-driven decoder; dispose() frees it. */
export class HuffmanCode {
  #m;
  #id;

  constructor(module, id) {
    this.#m = module;
    this.#id = id;
    const info = call(module.dcCodeInfo, id);
    /** Codeword length of each symbol (0: none). */
    this.lengths = info.lengths;
    /** Codewords as integers, most significant bit first. */
    this.codes = info.codes;
    /** Codewords as '0'/'1' strings ('' for none). */
    this.codewords = info.codewords;
    this.maxLength = info.maxLength;
  }

  #live() {
    if (this.#id === 0) throw new QuantlabError('INVALID_ARGUMENT', 'the code was disposed');
    return this.#id;
  }

  /** Code symbols back to back: {bytes, bitCount}. */
  encode(symbols) {
    return call(this.#m.dcCodeEncode, this.#live(), asArray(symbols, Uint16Array, 'symbols'));
  }

  /** Decode `count` symbols: a Uint16Array (throws MALFORMED on invalid or short data). */
  decode(bytes, count) {
    return call(this.#m.dcCodeDecode, this.#live(), asArray(bytes, Uint8Array, 'bytes'),
      asNumber(count, 'count')).symbols;
  }

  /** Milliseconds per decode of `count` symbols, timed over `reps` decodes inside wasm. */
  benchmarkDecode(bytes, count, reps = 20) {
    return call(this.#m.dcCodeBenchmark, this.#live(), asArray(bytes, Uint8Array, 'bytes'),
      asNumber(count, 'count'), asInt(reps, 'reps'));
  }

  /** {symbols, totalBits, averageLength, entropy} on a distribution. */
  statistics(frequencies) {
    return call(this.#m.dcCodeStatistics, this.#live(), asArray(frequencies, Float64Array, 'frequencies'));
  }

  /** The code tree for drawing: node 0 is the root; {children: [bit0, bit1], symbol, count}. */
  tree(frequencies) {
    const f = frequencies === undefined ? null : asArray(frequencies, Float64Array, 'frequencies');
    return call(this.#m.dcCodeTree, this.#live(), f);
  }

  dispose() {
    if (this.#id !== 0) {
      call(this.#m.dcCodeDispose, this.#id);
      this.#id = 0;
    }
  }

  get disposed() {
    return this.#id === 0;
  }
}

const FASHION = { channels: 1, height: 28, width: 28, mean: 0.286, std: 0.353 };

function datasetOptionsOf(o = {}, batchSize) {
  const d = {
    channels: asInt(o.channels ?? FASHION.channels, 'channels'),
    height: asInt(o.height ?? FASHION.height, 'height'),
    width: asInt(o.width ?? FASHION.width, 'width'),
    mean: asNumber(o.mean ?? FASHION.mean, 'mean'),
    std: asNumber(o.std ?? FASHION.std, 'std'),
    batchSize: asInt(o.batchSize ?? batchSize, 'batchSize'),
  };
  return d;
}

/**
 * A trainable sequential network in WebAssembly memory (the training engine); dispose()
 * frees it. Images are raw uint8 pixels [n, c, h, w], normalized as the demo models expect.
 */
export class Network {
  #m;
  #id;

  constructor(module, id) {
    this.#m = module;
    this.#id = id;
  }

  #live() {
    if (this.#id === 0) throw new QuantlabError('INVALID_ARGUMENT', 'the network was disposed');
    return this.#id;
  }

  /** {inputShape, outputShape, layers, params, parameterCount}. */
  info() {
    return call(this.#m.dcNetworkInfo, this.#live());
  }

  /** A parameter: {values, shape, mask (or null), codebook (or null)}. */
  get(name) {
    return call(this.#m.dcNetworkGet, this.#live(), String(name));
  }

  /** Replace a parameter's values (drops its weight sharing; keeps its mask). */
  set(name, values) {
    call(this.#m.dcNetworkSet, this.#live(), String(name), asArray(values, Float32Array, 'values'));
  }

  /** Logits for float input x of the given shape ([n, ...inputShape]): {data, shape}. */
  forward(x, shape) {
    return call(this.#m.dcNetworkForward, this.#live(), asArray(x, Float32Array, 'x'), asShape(shape));
  }

  /** {accuracy (percent), loss, predictions} on uint8 images and labels. */
  evaluate(images, labels, options = {}, onProgress) {
    return call(this.#m.dcNetworkEvaluate, this.#live(), asArray(images, Uint8Array, 'images'),
      asArray(labels, Uint8Array, 'labels'), datasetOptionsOf(options, 256), progressOf(onProgress));
  }

  /**
   * Train (or fine-tune) on uint8 images and labels. Options: optimizer 'sgd' | 'adam'
   * (default 'adam'), learningRate (1e-3), momentum (0.9), weightDecay (0), epochs (1),
   * batchSize (64), maxSteps (0: no limit), seed (0), cosineDecay (false), plus the image
   * shape and normalization. Masks and codebooks are kept. Returns {steps, epochLoss}.
   */
  train(images, labels, options = {}, onProgress) {
    const d = datasetOptionsOf(options, 64);
    const optimizer = options.optimizer ?? 'adam';
    if (optimizer !== 'sgd' && optimizer !== 'adam') fail("optimizer must be 'sgd' or 'adam'");
    const t = {
      ...d,
      optimizer,
      learningRate: asNumber(options.learningRate ?? 1e-3, 'learningRate'),
      momentum: asNumber(options.momentum ?? 0.9, 'momentum'),
      weightDecay: asNumber(options.weightDecay ?? 0, 'weightDecay'),
      cosineDecay: Boolean(options.cosineDecay ?? false),
      epochs: asInt(options.epochs ?? 1, 'epochs'),
      maxSteps: asInt(options.maxSteps ?? 0, 'maxSteps'),
      seed: asInt(options.seed ?? 0, 'seed'),
    };
    return call(this.#m.dcNetworkTrain, this.#live(), asArray(images, Uint8Array, 'images'),
      asArray(labels, Uint8Array, 'labels'), t, progressOf(onProgress));
  }

  /**
   * Magnitude-prune parameters to `sparsity` (each on its own, or with one threshold when
   * options.global); earlier pruning is kept. Returns each parameter's sparsity.
   */
  prune(names, sparsity, options = {}) {
    const list = Array.isArray(names) ? names.map(String) : [String(names)];
    return call(this.#m.dcNetworkPrune, this.#live(), list, asNumber(sparsity, 'sparsity'),
      Boolean(options.global ?? false));
  }

  setMask(name, mask) {
    call(this.#m.dcNetworkSetMask, this.#live(), String(name), asArray(mask, Uint8Array, 'mask'));
  }

  /**
   * Share a parameter's weights through a k-means codebook of 2^bits centroids (k-means
   * options as kMeansQuantize; a pruned parameter gets a pinned zero). Training then moves
   * the centroids. Returns {centroids, labels, pinnedZero, mse}.
   */
  quantize(name, bits, options, onProgress) {
    return call(this.#m.dcNetworkQuantize, this.#live(), String(name), asInt(bits, 'bits'),
      kMeansOptionsOf(options), progressOf(onProgress));
  }

  clearCodebook(name) {
    call(this.#m.dcNetworkClearCodebook, this.#live(), String(name));
  }

  /** Fold BatchNorm into the layer before it; returns how many were folded. */
  foldBatchNorm() {
    return call(this.#m.dcNetworkFoldBatchNorm, this.#live());
  }

  /** The network as ONNX bytes (for loadModel). */
  toOnnx() {
    return call(this.#m.dcNetworkToOnnx, this.#live());
  }

  /**
   * The compressed model file: codebook-shared parameters as labels (sparse with relative
   * indices when pruned; options gapBitsConv 8, gapBitsFc 5, 0 = best), others raw;
   * Huffman-coded streams where smaller (options.huffman, default true).
   */
  encode(options = {}) {
    return call(this.#m.dcNetworkEncode, this.#live(), {
      gapBitsConv: asInt(options.gapBitsConv ?? 8, 'gapBitsConv'),
      gapBitsFc: asInt(options.gapBitsFc ?? 5, 'gapBitsFc'),
      huffman: Boolean(options.huffman ?? true),
    });
  }

  /**
   * Deep Compression on this network (pruned, shared and fine-tuned in place): train and
   * test are {images, labels}; options as DeepCompressionOptions. Returns {stages: [{stage,
   * bytes, ratio, accuracy, loss}], layers, file} with the compressed file's bytes.
   */
  deepCompression(train, test, options = {}, onProgress) {
    const dataOf = (d, what) => {
      if (!d || typeof d !== 'object') fail(`${what} must be {images, labels}`);
      return { images: asArray(d.images, Uint8Array, `${what}.images`), labels: asArray(d.labels, Uint8Array, `${what}.labels`) };
    };
    const layers = (options.layers ?? []).map((l, i) => ({
      param: String(l.param),
      sparsity: asNumber(l.sparsity ?? 0, `layers[${i}].sparsity`),
      bits: asInt(l.bits ?? 5, `layers[${i}].bits`),
      gapBits: asInt(l.gapBits ?? 0, `layers[${i}].gapBits`),
    }));
    const t = options.train ?? {};
    const o = {
      layers,
      convSparsity: asNumber(options.convSparsity ?? 0.6, 'convSparsity'),
      fcSparsity: asNumber(options.fcSparsity ?? 0.92, 'fcSparsity'),
      convBits: asInt(options.convBits ?? 8, 'convBits'),
      fcBits: asInt(options.fcBits ?? 5, 'fcBits'),
      pruneSteps: asInt(options.pruneSteps ?? 3, 'pruneSteps'),
      schedule: String(options.schedule ?? 'cubic'),
      retrainEpochs: asInt(options.retrainEpochs ?? 1, 'retrainEpochs'),
      quantizedEpochs: asInt(options.quantizedEpochs ?? 1, 'quantizedEpochs'),
      kmeans: kMeansOptionsOf({ method: 'optimal', ...options.kmeans }),
      train: {
        optimizer: t.optimizer ?? 'adam',
        learningRate: asNumber(t.learningRate ?? 1e-3, 'learningRate'),
        momentum: asNumber(t.momentum ?? 0.9, 'momentum'),
        weightDecay: asNumber(t.weightDecay ?? 0, 'weightDecay'),
        cosineDecay: Boolean(t.cosineDecay ?? true),
        epochs: 1,
        batchSize: asInt(t.batchSize ?? 64, 'batchSize'),
        maxSteps: asInt(t.maxSteps ?? 0, 'maxSteps'),
        seed: asInt(t.seed ?? 0, 'seed'),
      },
      quantizedLrScale: asNumber(options.quantizedLrScale ?? 0.3, 'quantizedLrScale'),
      huffman: Boolean(options.huffman ?? true),
      dataset: datasetOptionsOf(options, 500),
    };
    return call(this.#m.dcNetworkDeepCompression, this.#live(), dataOf(train, 'train'), dataOf(test, 'test'), o,
      progressOf(onProgress));
  }

  /** An independent copy (dispose it too). */
  clone() {
    return new Network(this.#m, call(this.#m.dcNetworkClone, this.#live()));
  }

  dispose() {
    if (this.#id !== 0) {
      call(this.#m.dcNetworkDispose, this.#id);
      this.#id = 0;
    }
  }

  get disposed() {
    return this.#id === 0;
  }
}

// ===== End of compression =====================================================================

// ===== Post-training quantization (issue 4) ===================================================

const PTQ_METHODS = ['minmax', 'percentile', 'mse', 'kl'];

function quantizeModelWith(module, model, calibration, shape, options = {}) {
  if (!(model instanceof Model)) fail('model must be a Model (from loadModel)');
  const id = modelIdOf(model);
  if (!(calibration instanceof Float32Array)) fail('calibration must be a Float32Array');
  const dims = asShape(shape);
  dims.forEach((d, k) => {
    if (!Number.isInteger(d) || d < 0) fail(`shape[${k}] must be an integer >= 0`);
  });
  if (options === null || typeof options !== 'object') fail('options must be an object');
  const method = options.method ?? 'minmax';
  if (!PTQ_METHODS.includes(method)) {
    fail(`method must be one of ${PTQ_METHODS.map((m) => `'${m}'`).join(', ')}, got '${method}'`);
  }
  const percentile = asNumber(options.percentile ?? 99.99, 'percentile');
  const activations = options.activations ?? 'int8';
  if (activations !== 'int8' && activations !== 'uint8') {
    fail(`activations must be 'int8' or 'uint8', got '${activations}'`);
  }
  const perChannel = options.perChannel ?? true;
  const reduceRange = options.reduceRange ?? false;
  if (typeof perChannel !== 'boolean') fail('perChannel must be a boolean');
  if (typeof reduceRange !== 'boolean') fail('reduceRange must be a boolean');
  let requantMode = options.requantMode ?? 'fp32';
  if (requantMode === 'fixed') requantMode = 'fixed-point';
  if (requantMode !== 'fp32' && requantMode !== 'fixed-point') {
    fail(`requantMode must be 'fp32' or 'fixed-point', got '${requantMode}'`);
  }
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) fail('batchSize must be an integer >= 1');
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    fail('onProgress must be a function');
  }
  // A callback that throws must not unwind through WebAssembly frames.
  let callbackError = null;
  const progress = onProgress && ((p) => {
    if (callbackError) return;
    try {
      onProgress(p);
    } catch (e) {
      callbackError = e;
    }
  });
  const out = call(module.ptqQuantize, id, calibration, dims,
    { method, percentile, activations, perChannel, reduceRange, requantMode, batchSize },
    progress);
  if (callbackError) {
    call(module.ptqDispose, out.id);
    call(module.modelDispose, out.modelId);
    throw callbackError;
  }
  return new QuantizedModel(module, out);
}

function copyReportLayer(l) {
  return {
    ...l,
    outputRange: [...l.outputRange],
    weightScales: l.weightScales.slice(),
    multipliers: l.multipliers.slice(),
    m0: l.m0.slice(),
    shift: l.shift.slice(),
  };
}

/**
 * The result of quantizeModel: the int8 graph as an ordinary Model (.model), the per-layer
 * report, and ONNX export in QOperator or QDQ form. dispose() frees both.
 */
export class QuantizedModel {
  #m;
  #id;
  #model;
  #report;
  #folded;

  constructor(module, out) {
    this.#m = module;
    this.#id = out.id;
    this.#report = out.report;
    this.#folded = out.foldedBatchNorms;
    try {
      this.#model = new Model(module, out.modelId);
    } catch (e) {
      call(module.modelDispose, out.modelId);
      call(module.ptqDispose, out.id);
      throw e;
    }
  }

  #live() {
    if (this.#id === 0) throw new QuantlabError('INVALID_ARGUMENT', 'the quantized model was disposed');
  }

  /** The int8 model (QOperator graph): layers(), run(), runAll() as any Model. */
  get model() {
    this.#live();
    return this.#model;
  }

  /**
   * One entry per quantized Conv / Gemm / MatMul, in execution order: {name, opType,
   * inputScale, inputZeroPoint, outputScale, outputZeroPoint, outputRange: [rMin, rMax],
   * weightScales, multipliers (M = S_W S_X / S_Y), m0, shift (M ~= m0 2^(shift - 31)), mse,
   * sqnrDb} (fp32 against int8 on the first 32 calibration samples).
   */
  get report() {
    return this.#report.map(copyReportLayer);
  }

  /** BatchNormalization nodes folded into the conv before them. */
  get foldedBatchNorms() {
    return this.#folded;
  }

  /** The int8 model as .onnx bytes: 'qoperator' (default) or 'qdq'. */
  toOnnx(form = 'qoperator') {
    this.#live();
    if (form !== 'qoperator' && form !== 'qdq') {
      fail(`form must be 'qoperator' or 'qdq', got '${form}'`);
    }
    return call(this.#m.ptqToOnnx, this.#id, form);
  }

  /** Free the quantized model and its .model; safe to call twice. */
  dispose() {
    if (this.#id !== 0) {
      this.#model.dispose();
      call(this.#m.ptqDispose, this.#id);
      this.#id = 0;
    }
  }

  get disposed() {
    return this.#id === 0;
  }
}

// ===== End of post-training quantization ======================================================

/**
 * Load quantlab. Options: simd ('auto' | true | false), wasmBinary (bytes of the matching
 * .wasm, to skip fetching), locateFile (path -> URL of the module's files).
 */
export async function load(options = {}) {
  const wantSimd = options.simd ?? 'auto';
  const simd = wantSimd === 'auto' ? simdSupported() : Boolean(wantSimd);
  if (simd && !simdSupported()) {
    throw new QuantlabError('UNSUPPORTED', 'this engine does not support WebAssembly SIMD128');
  }
  const name = simd ? 'quantlab-simd' : 'quantlab-scalar';
  const factory = simd
    ? (await import('../dist/quantlab-simd.mjs')).default
    : (await import('../dist/quantlab-scalar.mjs')).default;
  const wasmUrl = new URL(`../dist/${name}.wasm`, import.meta.url);
  const moduleOptions = {};
  if (options.wasmBinary) {
    moduleOptions.wasmBinary = options.wasmBinary;
  } else if (isNode) {
    moduleOptions.wasmBinary = await readNodeFile(wasmUrl);
  }
  moduleOptions.locateFile = options.locateFile ?? ((path) => new URL(`../dist/${path}`,
    import.meta.url).href);
  const module = await factory(moduleOptions);
  return new Quantlab(module, simd);
}

export default load;
