// Trainable networks (quantlab/train.hpp) and Deep Compression on them
// (quantlab/deep_compression.hpp).
import { asArray, asInt, asNumber, asShape, labeledOf, optionsOf } from './check.mjs';
import { call, fail } from './errors.mjs';
import { withCallback } from './guard.mjs';
import { Handle, MODULE } from './handle.mjs';

/**
 * A trainable sequential network in WebAssembly memory (the training engine); dispose()
 * frees it. Images are raw uint8 pixels [n, c, h, w], normalized as the demo models expect.
 */
export class Network extends Handle {
  constructor(module, id) {
    super(module, id, 'network', 'dcNetworkDispose');
  }

  /** {inputShape, outputShape, layers, params, parameterCount}. */
  info() {
    return call(this[MODULE].dcNetworkInfo, this._id());
  }

  /** A parameter: {values, shape, mask (or null), codebook (or null)}. */
  get(name) {
    return call(this[MODULE].dcNetworkGet, this._id(), String(name));
  }

  /** Replace a parameter's values (drops its weight sharing; keeps its mask). */
  set(name, values) {
    call(this[MODULE].dcNetworkSet, this._id(), String(name), asArray(values, Float32Array, 'values'));
  }

  /** Logits for float input x of the given shape ([n, ...inputShape]): {data, shape}. */
  forward(x, shape) {
    return call(this[MODULE].dcNetworkForward, this._id(), asArray(x, Float32Array, 'x'), asShape(shape));
  }

  /**
   * {accuracy (percent), loss, predictions} on uint8 images and labels. Options
   * (EvaluateOptions, defaults in ql.defaults().evaluate): the image shape and
   * normalization, batchSize.
   */
  evaluate(images, labels, options, onProgress) {
    const id = this._id();
    const args = [asArray(images, Uint8Array, 'images'), asArray(labels, Uint8Array, 'labels'),
      optionsOf(options)];
    return withCallback(onProgress, (report) => call(this[MODULE].dcNetworkEvaluate, id, ...args, report));
  }

  /**
   * Train (or fine-tune) on uint8 images and labels. Options (TrainOptions, defaults in
   * ql.defaults().train): optimizer, learningRate, momentum, weightDecay, epochs, batchSize,
   * maxSteps (0: no limit), seed, cosineDecay, plus the image shape and normalization.
   * Masks and codebooks are kept. Returns {steps, epochLoss}.
   */
  train(images, labels, options, onProgress) {
    const id = this._id();
    const args = [asArray(images, Uint8Array, 'images'), asArray(labels, Uint8Array, 'labels'),
      optionsOf(options)];
    return withCallback(onProgress, (report) => call(this[MODULE].dcNetworkTrain, id, ...args, report));
  }

  /**
   * Magnitude-prune parameters to `sparsity` (each on its own, or with one threshold when
   * options.global); earlier pruning is kept. Returns each parameter's sparsity.
   */
  prune(names, sparsity, options = {}) {
    const list = Array.isArray(names) ? names.map(String) : [String(names)];
    return call(this[MODULE].dcNetworkPrune, this._id(), list, asNumber(sparsity, 'sparsity'),
      Boolean(options.global));
  }

  setMask(name, mask) {
    call(this[MODULE].dcNetworkSetMask, this._id(), String(name), asArray(mask, Uint8Array, 'mask'));
  }

  /**
   * Share a parameter's weights through a k-means codebook of 2^bits centroids (k-means
   * options as kMeansQuantize; a pruned parameter gets a pinned zero). Training then moves
   * the centroids. Returns {centroids, labels, pinnedZero, mse}.
   */
  quantize(name, bits, options, onProgress) {
    const id = this._id();
    const args = [String(name), asInt(bits, 'bits'), optionsOf(options)];
    return withCallback(onProgress, (report) => call(this[MODULE].dcNetworkQuantize, id, ...args, report));
  }

  clearCodebook(name) {
    call(this[MODULE].dcNetworkClearCodebook, this._id(), String(name));
  }

  /** Fold BatchNorm into the layer before it; returns how many were folded. */
  foldBatchNorm() {
    return call(this[MODULE].dcNetworkFoldBatchNorm, this._id());
  }

  /** The network as ONNX bytes (for loadModel). */
  toOnnx() {
    return call(this[MODULE].dcNetworkToOnnx, this._id());
  }

  /**
   * The compressed model file: codebook-shared parameters as labels (sparse with relative
   * indices when pruned), others raw; Huffman-coded streams where smaller (EncodeOptions,
   * defaults in ql.defaults().encode).
   */
  encode(options) {
    return call(this[MODULE].dcNetworkEncode, this._id(), optionsOf(options));
  }

  /**
   * Deep Compression on this network (pruned, shared and fine-tuned in place): train and
   * test are {images, labels}; options as DeepCompressionOptions (defaults in
   * ql.defaults().deepCompression). Returns {stages: [{stage, bytes, ratio, accuracy,
   * loss}], layers, file} with the compressed file's bytes.
   */
  deepCompression(train, test, options, onProgress) {
    const id = this._id();
    const o = optionsOf(options);
    if (o?.layers !== undefined && !Array.isArray(o.layers)) fail('layers must be an array');
    const args = [labeledOf(train, 'train'), labeledOf(test, 'test'), o];
    return withCallback(onProgress,
      (report) => call(this[MODULE].dcNetworkDeepCompression, id, ...args, report));
  }

  /** An independent copy (dispose it too). */
  clone() {
    const m = this[MODULE];
    return new Network(m, call(m.dcNetworkClone, this._id()));
  }
}
