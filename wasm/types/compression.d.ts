// Type declarations of quantlab's compression API (wasm/js/compression.mjs, wasm/js/train.mjs):
// k-means, Huffman, pruning, compressed files, training; re-exported by ../quantlab.d.ts.
import type { NumericArray, Progress } from '../quantlab.js';
import { Handle } from './handle.js';

/** Reports from long work (see Progress). */
export type CompressionProgress = Progress;
export type ProgressCallback = (p: Progress) => void;

export type KMeansMethod = 'lloyd' | 'optimal';
export type KMeansInit = 'linear' | 'density' | 'random' | 'kmeans++';

export interface KMeansOptions {
  /** 'lloyd' or 'optimal': the exact minimum of the MSE (1-D dynamic program). @default 'lloyd' */
  method?: KMeansMethod;
  /** Lloyd's start (Deep Compression's is 'linear'). @default 'linear' */
  init?: KMeansInit;
  /** Lloyd: at most this many steps; stops when no weight changes cluster. @default 300 */
  iterations?: number;
  /** 'random' and 'kmeans++'. @default 0 */
  seed?: number;
  /** Exact zeros are pruned weights: label 0 is pinned at 0. @default false */
  pinnedZero?: boolean;
}

export interface HuffmanOptions {
  /** Longest codeword, 1..15. @default 15 */
  maxLength?: number;
}

/** Weight i is centroids[labels[i]]. */
export interface Codebook {
  centroids: Float32Array;
  labels: Int32Array;
  pinnedZero: boolean;
}

export interface KMeansResult extends Codebook {
  /** Mean squared error of the weights against their centroids. */
  mse: number;
  /** Lloyd steps run (0 for 'optimal'). */
  iterations: number;
}

export interface CodebookInput {
  centroids: NumericArray;
  labels: NumericArray;
  pinnedZero?: boolean;
}

export interface EncodedBits {
  /** ceil(bitCount / 8) bytes, the last one padded with zero bits. */
  bytes: Uint8Array;
  bitCount: number;
}

export interface CodeStatistics {
  symbols: number;
  totalBits: number;
  averageLength: number;
  /** Shannon entropy in bits per symbol: entropy <= averageLength < entropy + 1. */
  entropy: number;
}

export interface HuffmanCompressed extends EncodedBits, CodeStatistics {
  /** Codeword length per symbol (the canonical code follows from them). */
  lengths: Uint8Array;
}

/** A node of a code tree: children [bit 0, bit 1] (-1 for a leaf), symbol (-1 if none). */
export interface CodeTreeNode {
  children: [number, number];
  symbol: number;
  count: number;
}

/** A prefix code with its table-driven decoder. */
export class HuffmanCode extends Handle {
  readonly lengths: Uint8Array;
  readonly codes: Uint32Array;
  /** '0'/'1' strings, as on the lecture's slides ('' for symbols without a codeword). */
  readonly codewords: string[];
  readonly maxLength: number;
  encode(symbols: NumericArray): EncodedBits;
  /** Throws MALFORMED for bits that are no codeword or data that ends too early. */
  decode(bytes: Uint8Array, count: number): Uint16Array;
  /** Milliseconds per decode of `count` symbols, timed inside wasm over `reps` decodes. */
  benchmarkDecode(bytes: Uint8Array, count: number, reps?: number): number;
  statistics(frequencies: NumericArray): CodeStatistics;
  /** Node 0 is the root; counts from `frequencies` if given. */
  tree(frequencies?: NumericArray): CodeTreeNode[];
}

export interface RelativeIndices {
  /** Zeros skipped before each entry (fillers included), each < 2^gapBits. */
  gaps: Uint32Array;
  /** Dense position of each entry. */
  positions: Uint32Array;
  fillers: number;
  entries: number;
  indexBits: number;
  valueBits: number;
  /** ceil(indexBits / 8) + ceil(valueBits / 8) + codebookBytes. */
  bytes: number;
}

/** A tensor for encodeCompressed: raw float32 (bits 0) or a codebook. */
export interface CompressedTensorInput {
  name: string;
  shape: number[];
  /** 0 (raw) or 1..8. @default 0 */
  bits?: number;
  /** 0: dense labels; 1..16: sparse relative indices (needs codebook.pinnedZero). @default 0 */
  gapBits?: number;
  /** Entropy-code streams where that is smaller (false: fixed width). @default true */
  huffman?: boolean;
  /** The entropy coder: the lecture's Huffman, rANS (entropy.hpp), or per stream the
   * smallest of fixed width, Huffman and rANS. @default 'huffman' */
  entropy?: EntropyCoder;
  /** Raw tensors (bits 0): 0 float32; 16 or 32 integers with one scale max|v| / (2^(bits-1) - 1)
   * (for biases). @default 0 */
  biasBits?: number;
  values?: NumericArray;
  codebook?: CodebookInput;
}

/** Which coder entropy-codes the label, gap and PQ-code streams. */
export type EntropyCoder = 'huffman' | 'rans' | 'best';

export interface RansOptions {
  /** Let the encoder pick a table per previous symbol when that is smaller. @default true */
  allowOrder1?: boolean;
  /** Interleaved states for long order-0 streams. @default 4 */
  lanes?: number;
  /** Streams shorter than this use one state. @default 4096 */
  laneThreshold?: number;
  /** Largest precision tried, 1..15 (12: the decode table stays in L1). @default 12 */
  maxScaleBits?: number;
}

/** A rANS stream (layout in core/include/quantlab/entropy.hpp). */
export interface RansStream {
  bytes: Uint8Array;
  context: 'order0' | 'order1';
  scaleBits: number;
  lanes: number;
  /** Ideal code length (bits) of the symbols under the stored quantized model. */
  modelBits: number;
  headerBytes: number;
  tableBytes: number;
  payloadBytes: number;
}

/** Ideal code lengths (bits): static with exact counts (no table), and adaptive KT models. */
export interface EntropyStatistics {
  symbols: number;
  alphabet: number;
  order0Bits: number;
  order1Bits: number;
  adaptiveOrder0Bits: number;
  adaptiveOrder1Bits: number;
}

export interface TensorSizes {
  header: number;
  raw: number;
  codebook: number;
  index: number;
  labels: number;
  tables: number;
  entries: number;
  fillers: number;
  total: number;
}

export interface DecodedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
  bits: number;
  gapBits: number;
  /** A stream was entropy-coded. */
  huffman: boolean;
  /** 'rans' when a stream is rANS-coded. */
  entropy: EntropyCoder;
  /** 16 or 32 for integer-coded values, else 0. */
  biasBits: number;
  sizes: TensorSizes;
}

export interface DecodedCompressed {
  tensors: DecodedTensor[];
  fileBytes: number;
  architectureBytes: number;
  /** The stored network (dense weights), or null; dispose() it. */
  network: Network | null;
}

/** Raw uint8 images [n, c, h, w]: shape and normalization x = (p / 255 - mean) / std. */
export interface DatasetOptions {
  /** @default 1 */
  channels?: number;
  /** @default 28 */
  height?: number;
  /** @default 28 */
  width?: number;
  /** Fashion-MNIST's. @default 0.286 */
  mean?: number;
  /** @default 0.353 */
  std?: number;
  /** Samples per batch (see each method's default). */
  batchSize?: number;
}

export interface EvaluateOptions extends DatasetOptions {
  /** Samples per forward pass. @default 256 */
  batchSize?: number;
}

export interface TrainOptions extends DatasetOptions {
  /** @default 'adam' */
  optimizer?: 'sgd' | 'adam';
  /** @default 0.001 */
  learningRate?: number;
  /** SGD's heavy ball. @default 0.9 */
  momentum?: number;
  /** L2 on dense weights. @default 0 */
  weightDecay?: number;
  /** lr (1 + cos(pi t / T)) / 2 over the run. @default false */
  cosineDecay?: boolean;
  /** @default 1 */
  epochs?: number;
  /** @default 64 */
  batchSize?: number;
  /** Stop after this many steps (0: no limit). @default 0 */
  maxSteps?: number;
  /** Shuffling. @default 0 */
  seed?: number;
}

export interface EncodeOptions {
  /** Gap bits of sparse conv / fc codebooks (0: the smallest per tensor). @default 8 */
  gapBitsConv?: number;
  /** @default 5 */
  gapBitsFc?: number;
  /** Entropy-code streams where smaller. @default true */
  huffman?: boolean;
  /** @default 'huffman' */
  entropy?: EntropyCoder;
  /** Biases of Linear and Conv2d layers: 0 float32, 16 or 32 scaled integers. @default 0 */
  biasBits?: number;
}

export interface NetworkLayer {
  kind: 'Linear' | 'Conv2d' | 'ReLU' | 'MaxPool' | 'AvgPool' | 'GlobalAvgPool' | 'Flatten' | 'BatchNorm';
  name: string;
  params: string[];
  inputShape: number[];
  outputShape: number[];
}

export interface NetworkParam {
  name: string;
  shape: number[];
  size: number;
  trainable: boolean;
  /** Fraction of weights pruned (0 without a mask). */
  sparsity: number;
  /** Codebook bits (0 when not shared). */
  bits: number;
}

export interface NetworkInfo {
  inputShape: number[];
  outputShape: number[];
  layers: NetworkLayer[];
  params: NetworkParam[];
  parameterCount: number;
}

export interface EvalResult {
  /** Percent correct. */
  accuracy: number;
  loss: number;
  predictions: Uint8Array;
}

/** A trainable sequential network (the training engine) in wasm memory. */
export class Network extends Handle {
  info(): NetworkInfo;
  get(name: string): { values: Float32Array; shape: number[]; mask: Uint8Array | null; codebook: Codebook | null };
  set(name: string, values: NumericArray): void;
  forward(x: NumericArray, shape: number[]): { data: Float32Array; shape: number[] };
  evaluate(images: Uint8Array, labels: Uint8Array, options?: EvaluateOptions,
    onProgress?: ProgressCallback): EvalResult;
  train(images: Uint8Array, labels: Uint8Array, options?: TrainOptions,
    onProgress?: ProgressCallback): { steps: number; epochLoss: Float64Array };
  /** Returns each parameter's sparsity after pruning. */
  prune(names: string | string[], sparsity: number, options?: { global?: boolean }): number[];
  setMask(name: string, mask: Uint8Array): void;
  quantize(name: string, bits: number, options?: KMeansOptions,
    onProgress?: ProgressCallback): Codebook & { mse: number };
  clearCodebook(name: string): void;
  foldBatchNorm(): number;
  toOnnx(): Uint8Array;
  encode(options?: EncodeOptions): Uint8Array;
  /** Deep Compression in place: prune + retrain, k-means + fine-tuning, Huffman. */
  deepCompression(train: LabeledImages, test: LabeledImages, options?: DeepCompressionOptions,
    onProgress?: ProgressCallback): DeepCompressionReport;
  clone(): Network;
}

export interface LabeledImages {
  images: Uint8Array;
  labels: Uint8Array;
}

export interface LayerPlan {
  /** A Linear or Conv2d weight, e.g. 'fc1.weight'. */
  param: string;
  /** Fraction pruned at the end of the schedule, in [0, 1). @default 0 */
  sparsity?: number;
  /** Codebook bits 1..8 (0: stays float32). @default 5 */
  bits?: number;
  /** 0: 8 for conv, 5 for fc (the paper's); -1: the smallest file; else 1..16. @default 0 */
  gapBits?: number;
}

export interface DeepCompressionOptions extends DatasetOptions {
  /** Empty: every Linear / Conv2d weight with the defaults below. @default [] */
  layers?: LayerPlan[];
  /** @default 0.6 */
  convSparsity?: number;
  /** @default 0.92 */
  fcSparsity?: number;
  /** @default 8 */
  convBits?: number;
  /** @default 5 */
  fcBits?: number;
  /** @default 3 */
  pruneSteps?: number;
  /** @default 'cubic' */
  schedule?: 'cubic' | 'linear';
  /** @default 1 */
  retrainEpochs?: number;
  /** @default 1 */
  quantizedEpochs?: number;
  /** KMeansOptions with method 'optimal' (ql.defaults().deepCompression.kmeans). */
  kmeans?: KMeansOptions;
  /** Optimizer settings of the retraining (epochs come from the fields above); TrainOptions
   * with cosineDecay true (ql.defaults().deepCompression.train). */
  train?: Omit<TrainOptions, 'epochs' | keyof DatasetOptions>;
  /** Learning rate of the centroid fine-tuning relative to train.learningRate. @default 0.3 */
  quantizedLrScale?: number;
  /** @default true */
  huffman?: boolean;
  /** The coder of the file (the lecture's Huffman); the report shows the 'best' file's size
   * beside it (entropyBytes). @default 'huffman' */
  entropy?: EntropyCoder;
  /** Biases in the file: 16 or 32 scaled integers (half the bytes, error <= max|b| / 65534),
   * 0 float32 (the file decodes to the network exactly). @default 0 */
  biasBits?: number;
  /** Evaluation batches. @default 500 */
  batchSize?: number;
}

export interface StageReport {
  stage: 'fp32' | 'pruned' | 'quantized' | 'huffman';
  bytes: number;
  /** fp32 bytes / bytes. */
  ratio: number;
  /** Percent on the test images. */
  accuracy: number;
  loss: number;
  /** Last stage: bytes of the same file with entropy 'best' (rANS where smaller), else 0. */
  entropyBytes: number;
  /** fp32 bytes / entropyBytes (last stage), else 0. */
  entropyRatio: number;
}

export interface LayerReport {
  param: string;
  size: number;
  kept: number;
  bits: number;
  gapBits: number;
  kmeansMse: number;
  fp32Bytes: number;
  prunedBytes: number;
  quantizedBytes: number;
  huffmanBytes: number;
  /** The tensor's bytes in the entropy 'best' file. */
  entropyBytes: number;
}

export interface DeepCompressionReport {
  stages: StageReport[];
  layers: LayerReport[];
  /** The compressed model file (decodeCompressed reads it). */
  file: Uint8Array;
}

/** The compression methods of Quantlab. */
export interface CompressionMethods {
  kMeansQuantize(weights: NumericArray, bits: number, options?: KMeansOptions,
    onProgress?: ProgressCallback): KMeansResult;
  kMeansInit(weights: NumericArray, k: number, options?: KMeansOptions): Float32Array;
  codebookStorageBytes(n: number, bits: number): number;
  updateCodebook(weights: NumericArray, codebook: CodebookInput): Float32Array;
  clusterGradientSums(grad: NumericArray, codebook: CodebookInput): Float64Array;
  huffmanCode(frequencies: NumericArray, options?: HuffmanOptions): HuffmanCode;
  prefixCode(codewords: string[]): HuffmanCode;
  canonicalCode(lengths: NumericArray): HuffmanCode;
  huffmanCompress(symbols: NumericArray, alphabetSize: number,
    options?: HuffmanOptions): HuffmanCompressed;
  magnitudePruneMask(weights: NumericArray, sparsity: number): Uint8Array;
  globalMagnitudePruneMasks(layers: NumericArray[], sparsity: number): Uint8Array[];
  pruneSchedule(finalSparsity: number, steps: number, kind?: 'cubic' | 'linear'): number[];
  relativeIndices(mask: NumericArray, gapBits: number,
    options?: { valueBits?: number; codebookBytes?: number }): RelativeIndices;
  decodeRelativeIndices(gaps: NumericArray, gapBits: number, denseSize: number): Uint32Array;
  bestGapBits(mask: NumericArray, valueBits: number): number;
  encodeCompressed(tensors: CompressedTensorInput[]): Uint8Array;
  decodeCompressed(bytes: Uint8Array | ArrayBuffer): DecodedCompressed;
  crc32(bytes: NumericArray): number;
  /** rANS-code symbols < alphabetSize (the model is chosen by measured size). */
  ransEncode(symbols: NumericArray, alphabetSize: number, options?: RansOptions): RansStream;
  /** Decode count symbols, each < limit (default 65536). */
  ransDecode(bytes: Uint8Array, count: number, limit?: number): Uint16Array;
  /** Milliseconds per decode of count symbols, over reps decodes in wasm. */
  ransBenchmarkDecode(bytes: Uint8Array, count: number, reps?: number): number;
  entropyStatistics(symbols: NumericArray, alphabetSize: number): EntropyStatistics;
  networkFromOnnx(bytes: Uint8Array | ArrayBuffer): Network;
}
