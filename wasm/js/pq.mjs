// Product quantization methods of Quantlab (quantlab/pq.hpp): a layer's weights cut into
// d-value subvectors sharing one codebook of k codewords, the activation-aware objective's
// input statistics, decoding, byte accounting, inference from the codes and the network
// pipeline (sequential PQ, then codeword fine-tuning).
import { asArray, asInt, asShape, asSize, labeledOf, optionsOf } from './check.mjs';
import { call, fail } from './errors.mjs';
import { withCallback } from './guard.mjs';
import { MODULE } from './handle.mjs';
import { Network } from './train.mjs';

/** A PQ layer (productQuantize's result or the same fields) as the core reads it. */
function layerOf(l) {
  if (!l || typeof l !== 'object') fail('layer must be {rows, cols, d, k, precision?, codebook, codes}');
  const codes = l.codes instanceof Uint8Array ? Uint16Array.from(l.codes) : asArray(l.codes, Uint16Array, 'layer.codes');
  return {
    rows: asSize(l.rows, 'layer.rows'),
    cols: asSize(l.cols, 'layer.cols'),
    d: asInt(l.d, 'layer.d'),
    k: asInt(l.k, 'layer.k'),
    precision: l.precision === undefined ? undefined : String(l.precision),
    codebook: asArray(l.codebook, Float32Array, 'layer.codebook'),
    codes,
  };
}

/** Input statistics (pqInputStats / pqConvInputStats) as the core reads them. */
function statsOf(s) {
  if (!s || typeof s !== 'object') fail('stats must be the result of pqInputStats or pqConvInputStats');
  return {
    d: asInt(s.d, 'stats.d'),
    M: asSize(s.M, 'stats.M'),
    count: asSize(s.count, 'stats.count'),
    sums: asArray(s.sums, Float64Array, 'stats.sums'),
    meanSums: asArray(s.meanSums, Float64Array, 'stats.meanSums'),
  };
}

/**
 * work(report, cancel) with onProgress guarded; the core polls cancel(), which turns true
 * once the callback threw (so the core stops at once) or `signal` (an AbortSignal) aborted.
 */
function cancellable(onProgress, signal, work) {
  if (signal !== undefined && signal !== null && typeof signal.aborted !== 'boolean') {
    fail('signal must be an AbortSignal');
  }
  let threw = false;
  const user = typeof onProgress === 'function'
    ? (p) => {
      try {
        onProgress(p);
      } catch (e) {
        threw = true;
        throw e;
      }
    }
    : onProgress;
  const cancel = () => threw || Boolean(signal?.aborted);
  return withCallback(user, (report) => work(report, cancel));
}

/** {signal, stats} split off the options the core reads. */
function splitOptions(options) {
  const o = optionsOf(options);
  if (!o) return { core: undefined, signal: undefined, stats: undefined };
  const { signal, stats, ...core } = o;
  return { core, signal, stats };
}

export const pqMethods = {
  /**
   * Product-quantizes weights, Layout (rows, cols): {codebook (k, d), codes (rows, M; a
   * Uint8Array for k <= 256, else Uint16Array), rows, cols, d, k, M, nbits, precision,
   * bytes {indices, codebook, total}, ratio (fp32 / total), weightMse, objective,
   * iterations, reseeded}. Options: PQParameters (ql.defaults().pq), plus stats (the
   * activation objective's input statistics) and signal (an AbortSignal, polled).
   * onProgress({stage: 'pq', done, total, value}) per Lloyd step; throwing from it cancels.
   */
  productQuantize(weights, rows, cols, options, onProgress) {
    const m = this[MODULE];
    const w = asArray(weights, Float32Array, 'weights');
    const r = asSize(rows, 'rows');
    const c = asSize(cols, 'cols');
    const { core, signal, stats } = splitOptions(options);
    const st = stats === undefined || stats === null ? null : statsOf(stats);
    return cancellable(onProgress, signal,
      (report, cancel) => call(m.pqQuantize, w, r, c, core, st, report, cancel));
  },

  /** Exact bytes of a PQ layer of `subvectors` subvectors: {indices, codebook, total}. */
  pqStorageBytes(subvectors, k, d, precision) {
    return call(this[MODULE].pqStorage, asSize(subvectors, 'subvectors'), asInt(k, 'k'), asInt(d, 'd'),
      precision === undefined ? undefined : String(precision));
  },

  /** Bits per index: ceil(log2 k). */
  pqIndexBits(k) {
    return call(this[MODULE].pqIndexBits, asInt(k, 'k'));
  },

  /** The decoded weights, Layout (rows, cols). */
  pqDecode(layer) {
    return call(this[MODULE].pqDecode, layerOf(layer));
  },

  /** Input statistics of a fully-connected layer from its inputs x, Layout (batch, cols). */
  pqInputStats(x, batch, cols, d) {
    return call(this[MODULE].pqInputStats, asArray(x, Float32Array, 'x'), asSize(batch, 'batch'),
      asSize(cols, 'cols'), asInt(d, 'd'));
  },

  /** Input statistics of a conv layer (im2col rows) from x NCHW of `shape` and its geometry. */
  pqConvInputStats(x, shape, geometry, d) {
    return call(this[MODULE].pqConvInputStats, asArray(x, Float32Array, 'x'), asShape(shape),
      optionsOf(geometry, 'geometry'), asInt(d, 'd'));
  },

  /** The bias change that cancels the mean output error of quantization (Float32Array). */
  pqBiasCorrection(weights, layer, stats) {
    return call(this[MODULE].pqBiasCorrection, asArray(weights, Float32Array, 'weights'),
      layerOf(layer), statsOf(stats));
  },

  /** y = x q(W)^T + b from the codes by table lookups; x Layout (batch, cols). */
  pqLinearLut(layer, x, batch, bias) {
    return call(this[MODULE].pqLinearLut, layerOf(layer), asArray(x, Float32Array, 'x'),
      asSize(batch, 'batch'), bias === undefined ? undefined : asArray(bias, Float32Array, 'bias'));
  },

  /**
   * Product-quantizes a Network's layers in order (each from the inputs through the already
   * quantized earlier layers), then fine-tunes the codewords; the network ends decoded.
   * Options: PQCompressOptions (ql.defaults().pqCompress) plus signal. Returns {layers,
   * pq, fp32Bytes, bytes, ratio, file, fileAccuracy, fp32Accuracy, accuracy, accuracyFt}.
   */
  pqCompress(network, train, test, options, onProgress) {
    if (!(network instanceof Network)) fail('network must be a Network');
    const id = network._id();
    const { core, signal } = splitOptions(options);
    if (core?.layers !== undefined && !Array.isArray(core.layers)) fail('layers must be an array');
    const args = [labeledOf(train, 'train'), labeledOf(test, 'test'), core];
    const m = this[MODULE];
    return cancellable(onProgress, signal,
      (report, cancel) => call(m.pqNetworkCompress, id, ...args, report, cancel));
  },
};
