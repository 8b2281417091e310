// Compression methods of Quantlab: k-means weight sharing (quantlab/kmeans.hpp), Huffman
// codes (quantlab/huffman.hpp), pruning and relative indices (quantlab/prune.hpp), and the
// compressed model file (quantlab/compressed.hpp).
import { asArray, asCounts, asInt, asNumber, asShape, asSize, bytesOf, codebookOf, optionsOf } from './check.mjs';
import { call, fail } from './errors.mjs';
import { withCallback } from './guard.mjs';
import { DEFAULTS, Handle, MODULE } from './handle.mjs';
import { Network } from './train.mjs';

/** A prefix code (Huffman or given) with its table-driven decoder; dispose() frees it. */
export class HuffmanCode extends Handle {
  constructor(module, id) {
    super(module, id, 'code', 'dcCodeDispose');
    const info = call(module.dcCodeInfo, id);
    /** Codeword length of each symbol (0: none). */
    this.lengths = info.lengths;
    /** Codewords as integers, most significant bit first. */
    this.codes = info.codes;
    /** Codewords as '0'/'1' strings ('' for none). */
    this.codewords = info.codewords;
    this.maxLength = info.maxLength;
  }

  /** Code symbols back to back: {bytes, bitCount}. */
  encode(symbols) {
    return call(this[MODULE].dcCodeEncode, this._id(), asArray(symbols, Uint16Array, 'symbols'));
  }

  /** Decode `count` symbols: a Uint16Array (throws MALFORMED on invalid or short data). */
  decode(bytes, count) {
    return call(this[MODULE].dcCodeDecode, this._id(), asArray(bytes, Uint8Array, 'bytes'),
      asSize(count, 'count')).symbols;
  }

  /** Milliseconds per decode of `count` symbols, timed over `reps` decodes inside wasm. */
  benchmarkDecode(bytes, count, reps = 20) {
    return call(this[MODULE].dcCodeBenchmark, this._id(), asArray(bytes, Uint8Array, 'bytes'),
      asSize(count, 'count'), asInt(reps, 'reps'));
  }

  /** {symbols, totalBits, averageLength, entropy} on a distribution. */
  statistics(frequencies) {
    return call(this[MODULE].dcCodeStatistics, this._id(), asCounts(frequencies, 'frequencies'));
  }

  /** The code tree for drawing: node 0 is the root; {children: [bit0, bit1], symbol, count}. */
  tree(frequencies) {
    const f = frequencies === undefined ? null : asCounts(frequencies, 'frequencies');
    return call(this[MODULE].dcCodeTree, this._id(), f);
  }
}

function maxLengthOf(ql, options) {
  return asInt(optionsOf(options)?.maxLength ?? ql[DEFAULTS].huffman.maxLength, 'maxLength');
}

export const compressionMethods = {
  /**
   * K-means weight quantization: 2^bits centroids and one label per weight. Options
   * (KMeansOptions, defaults in ql.defaults().kMeans): method, init, iterations, seed,
   * pinnedZero. onProgress({stage, done, total, value?}) is called during long runs.
   */
  kMeansQuantize(weights, bits, options, onProgress) {
    const m = this[MODULE];
    const w = asArray(weights, Float32Array, 'weights');
    const b = asInt(bits, 'bits');
    const o = optionsOf(options);
    return withCallback(onProgress, (report) => call(m.dcKMeans, w, b, o, report));
  },

  /** The k initial centroids Lloyd starts from (options: init, seed). */
  kMeansInit(weights, k, options) {
    return call(this[MODULE].dcKMeansInit, asArray(weights, Float32Array, 'weights'), asInt(k, 'k'),
      optionsOf(options));
  },

  /** Bytes of n bits-bit labels plus 2^bits float32 centroids (the lecture's 20 B example). */
  codebookStorageBytes(n, bits) {
    return call(this[MODULE].dcCodebookStorageBytes, asSize(n, 'n'), asInt(bits, 'bits'));
  },

  /** The lecture's fine-tuning update: each centroid moves by its cluster's mean error. */
  updateCodebook(weights, codebook) {
    return call(this[MODULE].dcUpdateCodebook, asArray(weights, Float32Array, 'weights'),
      codebookOf(codebook));
  },

  /** Deep Compression's trained quantization: dL/dW summed per cluster (Float64Array). */
  clusterGradientSums(grad, codebook) {
    return call(this[MODULE].dcClusterGradients, asArray(grad, Float32Array, 'grad'),
      codebookOf(codebook));
  },

  /** Canonical Huffman code of frequencies (options: maxLength 1..15). */
  huffmanCode(frequencies, options) {
    const m = this[MODULE];
    return new HuffmanCode(m, call(m.dcHuffmanCode, asCounts(frequencies, 'frequencies'),
      maxLengthOf(this, options)));
  },

  /** A prefix code in the lecture's notation, ['01', '10', '111']; rejects non-prefix codes. */
  prefixCode(codewords) {
    if (!Array.isArray(codewords)) fail('codewords must be an array of strings');
    codewords.forEach((w, i) => { if (typeof w !== 'string') fail(`codewords[${i}] is not a string`); });
    const m = this[MODULE];
    return new HuffmanCode(m, call(m.dcPrefixCode, codewords));
  },

  /** The canonical code with the given codeword lengths (0: no codeword). */
  canonicalCode(lengths) {
    const m = this[MODULE];
    return new HuffmanCode(m, call(m.dcCanonicalCode, asArray(lengths, Uint8Array, 'lengths')));
  },

  /** Frequencies, code, coded bytes and statistics in one call. */
  huffmanCompress(symbols, alphabetSize, options) {
    return call(this[MODULE].dcHuffmanCompress, asArray(symbols, Uint16Array, 'symbols'),
      asInt(alphabetSize, 'alphabetSize'), maxLengthOf(this, options));
  },

  /** Keep the largest |w|: a Uint8Array mask (1 kept) with round(sparsity n) zeros. */
  magnitudePruneMask(weights, sparsity) {
    return call(this[MODULE].dcPruneMask, asArray(weights, Float32Array, 'weights'),
      asNumber(sparsity, 'sparsity'));
  },

  /** One magnitude threshold over several layers: one mask per layer. */
  globalMagnitudePruneMasks(layers, sparsity) {
    if (!Array.isArray(layers)) fail('layers must be an array of weight arrays');
    return call(this[MODULE].dcGlobalPruneMasks,
      layers.map((w, i) => asArray(w, Float32Array, `layers[${i}]`)), asNumber(sparsity, 'sparsity'));
  },

  /** Target sparsities of an iterative schedule ('cubic' default, or 'linear'). */
  pruneSchedule(finalSparsity, steps, kind) {
    return call(this[MODULE].dcPruneSchedule, asNumber(finalSparsity, 'finalSparsity'),
      asInt(steps, 'steps'), kind === undefined ? undefined : String(kind));
  },

  /**
   * Relative-index (gap) encoding of a mask with gapBits-bit gaps and filler zeros, and its
   * storage with valueBits per value (default 32) plus codebookBytes (default 0).
   */
  relativeIndices(mask, gapBits, options = {}) {
    return call(this[MODULE].dcRelativeIndices, asArray(mask, Uint8Array, 'mask'), asInt(gapBits, 'gapBits'),
      asInt(options.valueBits ?? 32, 'valueBits'), asNumber(options.codebookBytes ?? 0, 'codebookBytes'));
  },

  /** Dense positions from gaps. */
  decodeRelativeIndices(gaps, gapBits, denseSize) {
    return call(this[MODULE].dcDecodeRelativeIndices, asArray(gaps, Uint32Array, 'gaps'),
      asInt(gapBits, 'gapBits'), asNumber(denseSize, 'denseSize'));
  },

  /** The gap width 1..16 that stores the mask in the fewest bytes. */
  bestGapBits(mask, valueBits) {
    return call(this[MODULE].dcBestGapBits, asArray(mask, Uint8Array, 'mask'), asInt(valueBits, 'valueBits'));
  },

  /** Write a compressed model file from tensors (see CompressedTensorInput). */
  encodeCompressed(tensors) {
    if (!Array.isArray(tensors)) fail('tensors must be an array');
    const list = tensors.map((t, i) => {
      if (!t || typeof t !== 'object') fail(`tensors[${i}] must be an object`);
      if (typeof t.name !== 'string') fail(`tensors[${i}].name must be a string`);
      const bits = t.bits ?? this[DEFAULTS].compressedTensor.bits;
      asInt(bits, `tensors[${i}].bits`);
      return {
        ...t,
        shape: asShape(t.shape),
        values: bits === 0 ? asArray(t.values, Float32Array, `tensors[${i}].values`) : undefined,
        codebook: bits === 0 ? undefined : codebookOf(t.codebook),
      };
    });
    return call(this[MODULE].dcEncodeCompressed, list);
  },

  /** Read a compressed model file; its network (if stored) is a Network to dispose(). */
  decodeCompressed(bytes) {
    const m = this[MODULE];
    const r = call(m.dcDecodeCompressed, bytesOf(bytes));
    return { ...r, network: r.network === null ? null : new Network(m, r.network) };
  },

  /** rANS-code symbols < alphabetSize: {bytes, context, scaleBits, lanes, modelBits, ...}. */
  ransEncode(symbols, alphabetSize, options) {
    return call(this[MODULE].dcRansEncode, asArray(symbols, Uint16Array, 'symbols'),
      asInt(alphabetSize, 'alphabetSize'), optionsOf(options));
  },

  /** Decode count symbols (each < limit, default 65536) from a rANS stream. */
  ransDecode(bytes, count, limit = 65536) {
    return call(this[MODULE].dcRansDecode, asArray(bytes, Uint8Array, 'bytes'), asSize(count, 'count'),
      asInt(limit, 'limit'));
  },

  /** Milliseconds per decode of count symbols, timed in wasm over reps decodes. */
  ransBenchmarkDecode(bytes, count, reps = 20) {
    return call(this[MODULE].dcRansBenchmark, asArray(bytes, Uint8Array, 'bytes'), asSize(count, 'count'),
      65536, asInt(reps, 'reps'));
  },

  /** Ideal code lengths: order-0 / order-1 empirical entropies and adaptive (KT) models. */
  entropyStatistics(symbols, alphabetSize) {
    return call(this[MODULE].dcEntropyStatistics, asArray(symbols, Uint16Array, 'symbols'),
      asInt(alphabetSize, 'alphabetSize'));
  },

  /** CRC-32 (as zlib). */
  crc32(bytes) {
    return call(this[MODULE].dcCrc32, asArray(bytes, Uint8Array, 'bytes'));
  },

  /** A trainable Network from an ONNX model's bytes (sequential demo models). */
  networkFromOnnx(bytes) {
    const m = this[MODULE];
    return new Network(m, call(m.dcNetworkFromOnnx, bytesOf(bytes)));
  },
};
