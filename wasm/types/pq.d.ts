// Type declarations of quantlab's product quantization (wasm/js/pq.mjs; quantlab/pq.hpp, lecture
// 5.7): the quantizer's options, layers and reports; re-exported by ../quantlab.d.ts.
import type { Conv2dGeometryOptions, NumericArray, Progress } from '../quantlab.js';
import type { DatasetOptions, Network, ProgressCallback, TrainOptions } from './compression.js';

/** How a PQ layer's codewords are stored. */
export type CodebookPrecision = 'fp16' | 'fp32';

/** One layer's product quantizer (the core's PQParameters; names as faiss's). */
export interface PQOptions {
  /** dsub: values per subvector; must divide the row length (cols). @default 9 */
  d?: number;
  /** ksub: codewords, 1..65536; at most the layer's number of subvectors. @default 256 */
  k?: number;
  /** 'weight': ||W - q(W)||^2; 'activation': ||x (W - q(W))||^2 (needs stats). @default 'weight' */
  objective?: 'weight' | 'activation';
  /** Codewords are rounded to this before the final assignment. @default 'fp16' */
  precision?: CodebookPrecision;
  /** At most this many Lloyd steps (stops when no subvector changes codeword). @default 25 */
  iterations?: number;
  /** k-means++ draws from mt19937(seed). @default 0 */
  seed?: number;
  /** 'activation': H_j + damping mean(diag H_j) I. @default 0.0001 */
  damping?: number;
  /** 'activation': weight by the input covariance around the mean instead of the second moment. @default false */
  center?: boolean;
}

/** productQuantize's extra options (not the core's: read by the JS wrapper). */
export interface PQQuantizeOptions extends PQOptions {
  /** The layer's input statistics (pqInputStats / pqConvInputStats), for 'activation'. */
  stats?: PQInputStats | null;
  /** Polled between Lloyd steps: aborting stops the call with CANCELLED. */
  signal?: AbortSignal;
}

export interface PQStorage {
  /** Indices packed at ceil(log2 k) bits, rounded up to whole bytes. */
  indices: number;
  /** k x d codewords at 2 (fp16) or 4 (fp32) bytes. */
  codebook: number;
  total: number;
}

/** A product-quantized layer. */
export interface PQLayer {
  rows: number;
  /** Row length, M x d. */
  cols: number;
  d: number;
  k: number;
  /** Subvector positions per row. */
  M: number;
  /** Bits per index. */
  nbits: number;
  precision: CodebookPrecision;
  /** Layout: (k, d). */
  codebook: Float32Array;
  /** Layout: (rows, M); a Uint8Array when k <= 256. */
  codes: Uint8Array | Uint16Array;
  bytes: PQStorage;
  /** 4 rows cols / bytes.total. */
  ratio: number;
}

export interface PQResult extends PQLayer {
  /** Mean over the weights of (w - decoded)^2. */
  weightMse: number;
  /** Mean over subvectors of the objective's distance to their codeword. */
  objective: number;
  iterations: number;
  reseeded: number;
}

/** Second moments of a layer's input subvectors: one d x d matrix per position. */
export interface PQInputStats {
  d: number;
  M: number;
  /** Input rows accumulated. */
  count: number;
  /** Layout: (M, d, d): sums of x x^T. */
  sums: Float64Array;
  /** Layout: (M, d): sums of x. */
  meanSums: Float64Array;
}

export interface PQLayerPlan {
  /** 'fc1.weight'. */
  param: string;
  /** 0: K x K for Conv2d, fcD for Linear. @default 0 */
  d?: number;
  /** 0: the options' k, lowered to a power of two <= subvectors. @default 0 */
  k?: number;
}

export interface PQCompressOptions extends DatasetOptions {
  /** Empty: every Linear and Conv2d weight. @default [] */
  layers?: PQLayerPlan[];
  /** Default d of Linear layers. @default 4 */
  fcD?: number;
  /** Default codewords. @default 256 */
  k?: number;
  /** Objective, precision, iterations, seed, damping of every layer (ql.defaults().pqCompress.pq). */
  pq?: PQOptions;
  /** First train images driving the activation objective. @default 1024 */
  calibrationCount?: number;
  /** First test images on which each layer's output MSE is measured. @default 500 */
  heldoutCount?: number;
  /** Epochs of codeword fine-tuning (0: none). @default 1 */
  finetuneEpochs?: number;
  /** Optimizer of the fine-tuning: Adam at 1e-4, batch 64 (ql.defaults().pqCompress.train). */
  train?: Omit<TrainOptions, keyof DatasetOptions>;
  /** Evaluation batches. @default 500 */
  batchSize?: number;
  /** Polled between Lloyd steps and layers: aborting stops the call with CANCELLED. */
  signal?: AbortSignal;
}

export interface PQLayerReport {
  param: string;
  d: number;
  k: number;
  weights: number;
  fp32Bytes: number;
  bytes: PQStorage;
  /** Before fine-tuning. */
  weightMse: number;
  /** Mean over held-out samples and outputs of the layer's output error. */
  outputMse: number;
  objective: number;
  seconds: number;
}

export interface PQCompressReport {
  layers: PQLayerReport[];
  /** The final (fine-tuned) layers, in plan order. */
  pq: PQLayer[];
  fp32Bytes: number;
  bytes: number;
  ratio: number;
  /** The compressed container (decodeCompressed reads it). */
  file: Uint8Array;
  fileAccuracy: number;
  /** Percent on `test`. */
  fp32Accuracy: number;
  accuracy: number;
  accuracyFt: number;
}

/** The product-quantization methods of a loaded module (Quantlab extends this). */
export interface PQMethods {
  /**
   * Product-quantizes weights, Layout (rows, cols). onProgress({stage: 'pq', done, total,
   * value}) per Lloyd step; a throwing callback cancels. Throws INVALID_ARGUMENT (d not
   * dividing cols, fewer subvectors than k, ...), SHAPE_MISMATCH, NOT_FINITE, CANCELLED.
   */
  productQuantize(weights: NumericArray, rows: number, cols: number, options?: PQQuantizeOptions,
    onProgress?: (p: Progress<'pq'>) => void): PQResult;
  /** Exact bytes of a layer of `subvectors` subvectors (rows x cols / d). */
  pqStorageBytes(subvectors: number, k: number, d: number, precision?: CodebookPrecision): PQStorage;
  /** ceil(log2 k). */
  pqIndexBits(k: number): number;
  /** Decoded weights, Layout (rows, cols). */
  pqDecode(layer: Omit<PQLayer, 'M' | 'nbits' | 'bytes' | 'ratio'>): Float32Array;
  /** Statistics of fully-connected inputs x, Layout (batch, cols). */
  pqInputStats(x: NumericArray, batch: number, cols: number, d: number): PQInputStats;
  /** Statistics of conv inputs x NCHW over their im2col rows. */
  pqConvInputStats(x: NumericArray, shape: number[], geometry: Conv2dGeometryOptions,
    d: number): PQInputStats;
  /** Bias change cancelling the mean output error of quantization. */
  pqBiasCorrection(weights: NumericArray, layer: PQLayer, stats: PQInputStats): Float32Array;
  /** y = x q(W)^T + b by table lookups from the codes; x Layout (batch, cols). */
  pqLinearLut(layer: PQLayer, x: NumericArray, batch: number, bias?: NumericArray): Float32Array;
  /** PQ of a network in layer order, then codeword fine-tuning; the network ends decoded. */
  pqCompress(network: Network, train: { images: Uint8Array; labels: Uint8Array },
    test: { images: Uint8Array; labels: Uint8Array }, options?: PQCompressOptions,
    onProgress?: ProgressCallback): PQCompressReport;
}
