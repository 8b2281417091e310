// Type declarations for quantlab's JavaScript entry point (wasm/quantlab.mjs).

/** Stable error codes; `QuantlabError.code` is one of these. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FINITE'
  | 'EMPTY_INPUT'
  | 'SHAPE_MISMATCH'
  | 'OUT_OF_RANGE'
  | 'UNSUPPORTED'
  | 'MALFORMED'
  | 'TOO_LARGE'
  | 'INTERNAL';

/** Thrown for any invalid input; the instance stays usable afterwards. */
export class QuantlabError extends Error {
  readonly name: 'QuantlabError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string);
}

/** Numbers in: plain arrays or typed arrays (copied into wasm memory). */
export type NumericArray = ArrayLike<number>;

/** The integer grid. Defaults: 8 bits, signed, asymmetric, full range. */
export interface QuantSpec {
  /** 2..8, or 32 for int32 biases. */
  bits?: number;
  /** Signed [-2^(b-1), 2^(b-1)-1] or unsigned [0, 2^b-1]. */
  signed?: boolean;
  /** Z is the middle of the grid (0 when signed), S = max|r| / (qMax - Z). */
  symmetric?: boolean;
  /** Drop the most negative signed level ([-127, 127] for int8). */
  narrowRange?: boolean;
}

/** r = scale * (q - zeroPoint), q in [qMin, qMax]. */
export interface QuantParams {
  scale: number;
  zeroPoint: number;
  qMin: number;
  qMax: number;
  bits: number;
  signed: boolean;
}

export interface ClipRange {
  rMin: number;
  rMax: number;
}

export type CalibrationMethod = 'minmax' | 'percentile' | 'mse' | 'kl';

export interface CalibrationOptions {
  /** Default 'minmax'. */
  method?: CalibrationMethod;
  /** Upper percentile for 'percentile', in (50, 100]; default 99.99. */
  percentile?: number;
  /** Histogram bins for 'kl'; default 2048. */
  histogramBins?: number;
  /** Candidate ranges for 'mse'; default 200. */
  mseSteps?: number;
}

/** Mean squared errors; roundMse + clipMse === totalMse. */
export interface ErrorSplit {
  roundMse: number;
  clipMse: number;
  totalMse: number;
  /** Elements more than S/2 beyond the grid's last level. */
  clipped: number;
  count: number;
}

/** Parallel arrays, one entry per clipping range a * [rMin, rMax]. */
export interface ErrorSweep {
  clipMin: Float32Array;
  clipMax: Float32Array;
  roundMse: Float64Array;
  clipMse: Float64Array;
  totalMse: Float64Array;
}

/** M ~= M0 * 2^(shift - 31), M0 in [2^30, 2^31). */
export interface FixedPointMultiplier {
  M0: number;
  shift: number;
  /** The real value M0 * 2^(shift - 31). */
  value: number;
}

export type RequantizeOptions =
  | { mode?: 'fixed'; M0: number; shift: number; zeroPoint?: number; qMin?: number; qMax?: number }
  | { mode: 'fp32'; multiplier: number; zeroPoint?: number; qMin?: number; qMax?: number };

export interface Quantlab {
  /** Whether this instance runs the SIMD128 build. */
  readonly simd: boolean;

  integerRange(spec?: QuantSpec): { qMin: number; qMax: number };
  /** S and Z from [rMin, rMax] (widened to contain 0), as in the lecture. */
  paramsFromRange(rMin: number, rMax: number, spec?: QuantSpec): QuantParams;
  /** q = clamp(round_half_even(r / S) + Z, qMin, qMax). */
  quantize(data: NumericArray, params: QuantParams): Int32Array;
  /** r = S (q - Z). */
  dequantize(q: NumericArray, params: QuantParams): Float32Array;
  quantizationError(data: NumericArray, params: QuantParams): ErrorSplit;
  errorSweep(data: NumericArray, spec?: QuantSpec, steps?: number): ErrorSweep;
  calibrate(data: NumericArray, spec?: QuantSpec, options?: CalibrationOptions): ClipRange;
  /** One QuantParams per index of `axis` (negative counts from the end). */
  perChannelParams(data: NumericArray, shape: number[], axis: number, spec?: QuantSpec,
    options?: CalibrationOptions): QuantParams[];
  quantizePerChannel(data: NumericArray, shape: number[], axis: number,
    params: QuantParams[]): Int32Array;
  dequantizePerChannel(q: NumericArray, shape: number[], axis: number,
    params: QuantParams[]): Float32Array;

  quantizeMultiplier(M: number): FixedPointMultiplier;
  /** Requantize int32 accumulators to [qMin, qMax] (default int8). */
  requantize(acc: NumericArray, options: RequantizeOptions): Int32Array;

  // --- Models: ONNX import and runtime (issue 4) ---
  /** Load an ONNX model from its bytes; dispose() it when done. */
  loadModel(bytes: Uint8Array | ArrayBuffer, options?: LoadModelOptions): Model;
  /** Operators the runtime implements, with their ONNX versions. */
  supportedOperators(): OperatorSupport[];
}

// ===== Models: ONNX import and runtime (issue 4) ===========================================

export type DType = 'float32' | 'uint8' | 'int8' | 'int32' | 'int64';

/** Typed arrays a model takes and returns, by element type. */
export type TensorData = Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;

/** A dimension: a size, a symbol's name (the batch 'N'), or null when unknown. */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** null when even the rank is unknown. */
  shape: Dim[] | null;
  /** Known at load time (a weight, or computed from weights). */
  constant: boolean;
}

export interface LayerInfo {
  /** The node's name, or "<opType>_<index>" when the file has none. */
  name: string;
  opType: string;
  /** '' for ai.onnx, 'com.microsoft' for onnxruntime's contrib operators. */
  domain: string;
  /** Operator version selected by the model's opset. */
  version: number;
  /** null for an omitted optional input or output. */
  inputs: (ValueInfo | null)[];
  outputs: (ValueInfo | null)[];
  /** Elements and bytes of the node's constant inputs (weights, biases, scales, zero points). */
  parameters: number;
  bytes: number;
  /** All inputs constant: computed once at load time. */
  folded: boolean;
  /** An activation (Relu, Clip) run inside the previous layer's kernel. */
  fused: boolean;
}

export interface OperatorSupport {
  domain: string;
  opType: string;
  versions: number[];
}

export interface LoadModelOptions {
  /** Requantization of int8 layers: 'fp32' (ONNX's definition, default) or 'fixed' (M0, shift). */
  requantMode?: 'fp32' | 'fixed';
  /** Run a Relu / Clip(0, 6) inside the fp32 Conv / Gemm / MatMul before it (default true). */
  fuseActivations?: boolean;
  /**
   * Run DequantizeLinear -> Conv / Add -> QuantizeLinear groups as QLinearConv / QLinearAdd
   * (integer arithmetic, as onnxruntime's graph optimizer; default false: float semantics).
   */
  fuseQdq?: boolean;
}

export interface ModelProgress {
  /** 'run': nodes finished of one run; 'batch': rows finished when batchSize splits a batch. */
  stage: 'run' | 'batch';
  done: number;
  total: number;
}

export interface RunOptions {
  /** Called synchronously during the run (from a Web Worker, post it to the page). */
  onProgress?: (progress: ModelProgress) => void;
  /** Single-input models: run in chunks of this many rows along dimension 0. */
  batchSize?: number;
}

export interface TensorInput {
  data: TensorData;
  shape: number[];
}

export interface TensorOutput {
  name: string;
  data: TensorData;
  shape: number[];
  dtype: DType;
}

/** A loaded model (weights in WebAssembly memory until dispose()). */
export class Model {
  private constructor();
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  /** The ai.onnx opset the model imports. */
  readonly opset: number;
  readonly disposed: boolean;
  /** Every node in execution order. */
  layers(): LayerInfo[];
  /** One input, one batch: returns the first output (a copy). */
  run(data: TensorData, shape: number[], options?: RunOptions): TensorOutput;
  /** One tensor per input; returns every output. */
  runAll(inputs: TensorInput[], options?: RunOptions): TensorOutput[];
  /** Free the model; later calls throw QuantlabError. */
  dispose(): void;
}

// ===== End of models ===========================================================================

// ===== Kernels: int8 / fp32 GEMM and convolution handles (issue 3) ========================

export type KernelVariant = 'scalar' | 'xsimd' | 'wasmsimd';
export type Activation = 'none' | 'relu' | 'relu6';

/** The output grid of an int8 layer. 'int32' returns raw accumulators (no requantization). */
export interface QOutputOptions {
  /** Default 'uint8'. */
  type?: 'uint8' | 'int8' | 'int32';
  /** S_Y (default 1). */
  scale?: number;
  /** Z_Y (default 0). */
  zeroPoint?: number;
  /** 'fp32' (ONNX / onnxruntime, default) or 'fixed' (gemmlowp M0 and shift). */
  requant?: 'fp32' | 'fixed';
  /** Folded into the output clamp (default 'none'). */
  activation?: Activation;
}

/** Symmetric int8 weights and a uint8 / int8 input grid. */
interface QLayerOptions {
  /** S_W: one value (per tensor) or one per output channel. */
  weightScales: number | NumericArray;
  /** int32 q_b with scale S_W S_X (one per output channel), or omitted. */
  bias?: Int32Array | NumericArray;
  /** Default 'uint8'. */
  inputType?: 'uint8' | 'int8';
  inputScale: number;
  inputZeroPoint?: number;
  output?: QOutputOptions;
  /** Pin a variant (tests, benchmarks); default the fastest compiled one. */
  variant?: KernelVariant;
}

/** y[m, n] = x[m, k] W[n, k]^T + b (PyTorch Linear layout). */
export interface QGemmOptions extends QLayerOptions {
  /** W row-major [n, k]. */
  weights: Int8Array | NumericArray;
  n: number;
  k: number;
}

/** ONNX Conv attributes. */
export interface Conv2dGeometryOptions {
  cOut: number;
  cIn: number;
  kernelShape: [number, number];
  /** Default [1, 1]. */
  strides?: [number, number];
  /** [top, left, bottom, right], default zeros. */
  pads?: [number, number, number, number];
  /** Default [1, 1]. */
  dilations?: [number, number];
  /** Default 1; groups === cIn === cOut is depthwise. */
  groups?: number;
}

export interface QConv2dOptions extends QLayerOptions, Conv2dGeometryOptions {
  /** OIHW [cOut, cIn / groups, kh, kw]. */
  weights: Int8Array | NumericArray;
}

export interface GemmF32Options {
  weights: Float32Array | NumericArray;
  n: number;
  k: number;
  bias?: Float32Array | NumericArray;
  activation?: Activation;
  variant?: KernelVariant;
}

export interface Conv2dF32Options extends Conv2dGeometryOptions {
  weights: Float32Array | NumericArray;
  bias?: Float32Array | NumericArray;
  activation?: Activation;
  variant?: KernelVariant;
}

/** Kernel-only timing measured inside WebAssembly. */
export interface KernelTiming {
  medianMs: number;
  minMs: number;
  reps: number;
}

declare class KernelLayer {
  /** The variant running this layer. */
  readonly variant: KernelVariant;
  /** The micro-kernel's name (int8 layers). */
  readonly ukernel: string | undefined;
  /** Convolutions: whether the depthwise kernels run it. */
  readonly depthwise: boolean;
  readonly disposed: boolean;
  /** Kernel-only time of `reps` runs (default 50) on the last input after `warmup` (default 2). */
  benchmark(reps?: number, warmup?: number): KernelTiming;
  dispose(): void;
}

export class QGemm extends KernelLayer {
  /** x: [m, k] of the input type; returns y [m, n] (Uint8Array, Int8Array or Int32Array). */
  run(x: Uint8Array | Int8Array, m: number): Uint8Array | Int8Array | Int32Array;
}

export class GemmF32 extends KernelLayer {
  run(x: Float32Array | NumericArray, m: number): Float32Array;
}

export class QConv2d extends KernelLayer {
  /** x: NCHW of the input type; shape [batch, cIn, h, w]. */
  run(x: Uint8Array | Int8Array, shape: number[]): {
    data: Uint8Array | Int8Array | Int32Array;
    shape: number[];
  };
}

export class Conv2dF32 extends KernelLayer {
  run(x: Float32Array | NumericArray, shape: number[]): { data: Float32Array; shape: number[] };
}

export interface Quantlab {
  /** Kernel variants compiled into this module, slowest first. */
  kernelVariants(): KernelVariant[];
  createQGemm(options: QGemmOptions): QGemm;
  createQConv2d(options: QConv2dOptions): QConv2d;
  createGemmF32(options: GemmF32Options): GemmF32;
  createConv2dF32(options: Conv2dF32Options): Conv2dF32;
}

// ===== End of kernels ========================================================================

// ===== Compression: k-means, Huffman, pruning, compressed files, training (issue 5) =========

/** Reports from long work: `done` of `total` units of `stage`; `value` is stage-specific
 * (the running loss while training, the DP row's cost during optimal k-means) or NaN. */
export interface CompressionProgress {
  stage: string;
  done: number;
  total: number;
  value: number;
}
export type ProgressCallback = (p: CompressionProgress) => void;

export type KMeansMethod = 'lloyd' | 'optimal';
export type KMeansInit = 'linear' | 'density' | 'random' | 'kmeans++';

export interface KMeansOptions {
  /** 'lloyd' (default) or 'optimal': the exact minimum of the MSE (1-D dynamic program). */
  method?: KMeansMethod;
  /** Lloyd's start (default 'linear', Deep Compression's). */
  init?: KMeansInit;
  /** Lloyd: at most this many steps (default 300); stops when no weight changes cluster. */
  iterations?: number;
  /** 'random' and 'kmeans++' (default 0). */
  seed?: number;
  /** Exact zeros are pruned weights: label 0 is pinned at 0 (default false). */
  pinnedZero?: boolean;
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
export class HuffmanCode {
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
  dispose(): void;
  readonly disposed: boolean;
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
  /** 0 (raw, default) or 1..8. */
  bits?: number;
  /** 0: dense labels; 1..16: sparse relative indices (needs codebook.pinnedZero). */
  gapBits?: number;
  /** Huffman-code streams where that is smaller (default true). */
  huffman?: boolean;
  values?: NumericArray;
  codebook?: CodebookInput;
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
  huffman: boolean;
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
  channels?: number;
  height?: number;
  width?: number;
  /** Default 0.286 (Fashion-MNIST). */
  mean?: number;
  /** Default 0.353. */
  std?: number;
  batchSize?: number;
}

export interface TrainOptions extends DatasetOptions {
  /** Default 'adam'. */
  optimizer?: 'sgd' | 'adam';
  /** Default 1e-3. */
  learningRate?: number;
  momentum?: number;
  weightDecay?: number;
  cosineDecay?: boolean;
  epochs?: number;
  /** Stop after this many steps (0: no limit). */
  maxSteps?: number;
  seed?: number;
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
export class Network {
  info(): NetworkInfo;
  get(name: string): { values: Float32Array; shape: number[]; mask: Uint8Array | null; codebook: Codebook | null };
  set(name: string, values: NumericArray): void;
  forward(x: NumericArray, shape: number[]): { data: Float32Array; shape: number[] };
  evaluate(images: Uint8Array, labels: Uint8Array, options?: DatasetOptions,
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
  encode(options?: { gapBitsConv?: number; gapBitsFc?: number; huffman?: boolean }): Uint8Array;
  /** Deep Compression in place: prune + retrain, k-means + fine-tuning, Huffman. */
  deepCompression(train: LabeledImages, test: LabeledImages, options?: DeepCompressionOptions,
    onProgress?: ProgressCallback): DeepCompressionReport;
  clone(): Network;
  dispose(): void;
  readonly disposed: boolean;
}

export interface LabeledImages {
  images: Uint8Array;
  labels: Uint8Array;
}

export interface LayerPlan {
  /** A Linear or Conv2d weight, e.g. 'fc1.weight'. */
  param: string;
  /** Fraction pruned at the end of the schedule, in [0, 1). */
  sparsity?: number;
  /** Codebook bits 1..8 (0: stays float32); default 5. */
  bits?: number;
  /** 0 (default): 8 for conv, 5 for fc (the paper's); -1: the smallest file; else 1..16. */
  gapBits?: number;
}

export interface DeepCompressionOptions extends DatasetOptions {
  /** Empty (default): every Linear / Conv2d weight with the defaults below. */
  layers?: LayerPlan[];
  convSparsity?: number;
  fcSparsity?: number;
  convBits?: number;
  fcBits?: number;
  pruneSteps?: number;
  schedule?: 'cubic' | 'linear';
  retrainEpochs?: number;
  quantizedEpochs?: number;
  /** Default {method: 'optimal'}. */
  kmeans?: KMeansOptions;
  /** Optimizer settings of the retraining (epochs come from the fields above). */
  train?: Omit<TrainOptions, 'epochs' | keyof DatasetOptions>;
  /** Learning rate of the centroid fine-tuning relative to train.learningRate (0.3). */
  quantizedLrScale?: number;
  huffman?: boolean;
}

export interface StageReport {
  stage: 'fp32' | 'pruned' | 'quantized' | 'huffman';
  bytes: number;
  /** fp32 bytes / bytes. */
  ratio: number;
  /** Percent on the test images. */
  accuracy: number;
  loss: number;
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
}

export interface DeepCompressionReport {
  stages: StageReport[];
  layers: LayerReport[];
  /** The compressed model file (decodeCompressed reads it). */
  file: Uint8Array;
}

export interface Quantlab {
  kMeansQuantize(weights: NumericArray, bits: number, options?: KMeansOptions,
    onProgress?: ProgressCallback): KMeansResult;
  kMeansInit(weights: NumericArray, k: number, options?: KMeansOptions): Float32Array;
  codebookStorageBytes(n: number, bits: number): number;
  updateCodebook(weights: NumericArray, codebook: CodebookInput): Float32Array;
  clusterGradientSums(grad: NumericArray, codebook: CodebookInput): Float64Array;
  huffmanCode(frequencies: NumericArray, options?: { maxLength?: number }): HuffmanCode;
  prefixCode(codewords: string[]): HuffmanCode;
  canonicalCode(lengths: NumericArray): HuffmanCode;
  huffmanCompress(symbols: NumericArray, alphabetSize: number,
    options?: { maxLength?: number }): HuffmanCompressed;
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
  networkFromOnnx(bytes: Uint8Array | ArrayBuffer): Network;
}

// ===== End of compression =====================================================================

// ===== Post-training quantization (issue 4) ===================================================

export interface QuantizeOptions {
  /** How activation clipping ranges are chosen (default 'minmax'). */
  method?: 'minmax' | 'percentile' | 'mse' | 'kl';
  /** 'percentile': the upper percentile in (50, 100] (default 99.99). */
  percentile?: number;
  /** Activation grid, asymmetric with a zero point (default 'int8'). */
  activations?: 'int8' | 'uint8';
  /** Weight scales per output channel (default true) or per tensor. */
  perChannel?: boolean;
  /** 7-bit weights [-63, 63] (default false): exact on x86 peers without VNNI. */
  reduceRange?: boolean;
  /** Requantization of .model and of the report run (default 'fp32'; 'fixed' = 'fixed-point'). */
  requantMode?: 'fp32' | 'fixed-point' | 'fixed';
  /** Calibration chunk along dimension 0 (default 64); the report uses its first 32 samples. */
  batchSize?: number;
  /** Called synchronously: 'calibrate' (chunks), 'quantize' (layers), 'report'. */
  onProgress?: (progress: { stage: 'calibrate' | 'quantize' | 'report'; done: number;
    total: number }) => void;
}

/** One quantized Conv / Gemm / MatMul. */
export interface PtqLayerReport {
  /** The fp32 node's name and operator. */
  name: string;
  opType: string;
  inputScale: number;
  inputZeroPoint: number;
  outputScale: number;
  outputZeroPoint: number;
  /** The calibrated clipping range [rMin, rMax] of the output (after an absorbed Relu/Clip). */
  outputRange: [number, number];
  /** One per output channel (or one). */
  weightScales: Float32Array;
  /** M = S_W S_X / S_Y per channel; M ~= m0 * 2^(shift - 31), m0 in [2^30, 2^31). */
  multipliers: Float64Array;
  m0: Int32Array;
  shift: Int32Array;
  /** fp32 against dequantized int8 output on the first 32 calibration samples. */
  mse: number;
  sqnrDb: number;
}

/** The result of quantizeModel; dispose() frees it and .model. */
export class QuantizedModel {
  private constructor();
  /** The int8 QOperator graph as an ordinary Model. */
  readonly model: Model;
  readonly report: PtqLayerReport[];
  readonly foldedBatchNorms: number;
  readonly disposed: boolean;
  /** The .onnx bytes: 'qoperator' (default) or 'qdq'. */
  toOnnx(form?: 'qoperator' | 'qdq'): Uint8Array;
  dispose(): void;
}

export interface Quantlab {
  /**
   * Post-training static quantization of an fp32 model: calibration holds the images of
   * `shape` (e.g. [512, 1, 28, 28]). Throws QuantlabError (EMPTY_INPUT, SHAPE_MISMATCH,
   * NOT_FINITE, UNSUPPORTED for an already quantized model, INVALID_ARGUMENT).
   */
  quantizeModel(model: Model, calibration: Float32Array, shape: number[],
    options?: QuantizeOptions): QuantizedModel;
}

// ===== End of post-training quantization ======================================================

export interface LoadOptions {
  /** 'auto' (default) picks SIMD128 when WebAssembly.validate accepts it. */
  simd?: 'auto' | boolean;
  /** Bytes of the matching .wasm file, to skip fetching it. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** Where the module's files are: path -> URL. */
  locateFile?: (path: string) => string;
}

/** True when this engine validates WebAssembly SIMD128 code. */
export function simdSupported(): boolean;

/** Load the WebAssembly core. */
export function load(options?: LoadOptions): Promise<Quantlab>;
export default load;
