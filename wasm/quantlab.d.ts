// Type declarations for quantlab's JavaScript entry point (wasm/quantlab.mjs).
// Every option's default is documented in an @default tag and equals ql.defaults(), which
// the core's option structs produce (tests/js/defaults.test.mjs holds the two together).

import { Handle } from './types/handle.js';
export { env, type Env, type WasmFileName } from './types/env.js';
import type { CompressionMethods, CompressedTensorInput, DatasetOptions, DeepCompressionOptions,
  EncodeOptions, EvaluateOptions, HuffmanOptions, KMeansOptions, LayerPlan, Network,
  ProgressCallback, TrainOptions } from './types/compression.js';
import type { PQCompressOptions, PQLayerPlan, PQMethods, PQOptions } from './types/pq.js';

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
  | 'RESOURCE_EXHAUSTED'
  | 'CANCELLED'
  | 'INTERNAL'
  /** load() could not fetch or read the wasm file (the message names the URL). */
  | 'NOT_FOUND'
  /** The instance trapped or aborted (e.g. out of memory) and cannot be used any more:
   * every later call throws ABORTED; load() a new instance. */
  | 'ABORTED';

/**
 * Thrown for any invalid input; the instance stays usable afterwards. The one exception is
 * ABORTED: the module itself trapped, so that instance is dead and load() makes a new one.
 */
export class QuantlabError extends Error {
  readonly name: 'QuantlabError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string);
}

/** Numbers in: plain arrays or typed arrays (copied into wasm memory). */
export type NumericArray = ArrayLike<number>;

/** One progress report everywhere: `done` of `total` units of `stage`; `value` is
 * stage-specific where the core has one (the running loss while training, the cost during
 * optimal k-means). Callbacks are called synchronously; one that throws stops the reports,
 * and the method then throws that same error once the core has returned. */
export interface Progress<Stage extends string = string> {
  stage: Stage;
  done: number;
  total: number;
  value?: number;
}


/** The integer grid. Defaults: 8 bits, signed, asymmetric, full range. */
export interface QuantSpec {
  /** 2..8, or 32 for int32 biases. @default 8 */
  bits?: number;
  /** Signed [-2^(b-1), 2^(b-1)-1] or unsigned [0, 2^b-1]. @default true */
  signed?: boolean;
  /** Z is the middle of the grid (0 when signed), S = max|r| / (qMax - Z). @default false */
  symmetric?: boolean;
  /** Drop the most negative signed level ([-127, 127] for int8). @default false */
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
  /** Set when the range is not the method's own: KL fell back to the MSE-optimal range
   * (too few values for its histogram, or 20 times the MSE of min-max), and why. */
  note?: string;
}

export type CalibrationMethod = 'minmax' | 'percentile' | 'mse' | 'kl';

export interface CalibrationOptions {
  /** @default 'minmax' */
  method?: CalibrationMethod;
  /** Upper percentile for 'percentile', in (50, 100]. @default 99.99 */
  percentile?: number;
  /** Histogram bins for 'kl'. @default 2048 */
  histogramBins?: number;
  /** Candidate ranges for 'mse'. @default 200 */
  mseSteps?: number;
}

/** Mean squared errors; roundMse + clipMse === totalMse. */
export interface ArrayStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
}

export interface ArrayComparison {
  mse: number;
  sqnrDb: number;
  maxAbsDiff: number;
}

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

/** Requantization: 'fixed-point' is gemmlowp's (M0, shift) arithmetic, 'fp32' ONNX's
 * float32 multiplier. 'fixed' is accepted as the older spelling of 'fixed-point'. */
/** 'fp32': ONNX's (onnxruntime's) float multiplier; 'fixed-point': gemmlowp's M0 and shift
 * ('fixed' is the older spelling); 'qnnpack': fp32 with PyTorch qnnpack's multiplier
 * (S_W S_X) * (1 / S_Y), and in quantizeModel torch's weight grid and rounding too. */
export type RequantMode = 'fp32' | 'fixed-point' | 'qnnpack' | 'fixed';

export interface RequantizeOptions {
  /** @default 'fixed-point' */
  requantMode?: RequantMode;
  /** The older name of requantMode. */
  mode?: RequantMode;
  /** 'fixed-point': M ~= M0 * 2^(shift - 31) (required). @default 0 */
  M0?: number;
  /** 'fixed-point' (required). @default 0 */
  shift?: number;
  /** 'fp32': the float32 multiplier (required). @default 0 */
  multiplier?: number;
  /** @default 0 */
  zeroPoint?: number;
  /** @default -128 */
  qMin?: number;
  /** @default 127 */
  qMax?: number;
}

/** Every option's default, as the core's option structs define them; keyed by the options
 * object each fills. */
export interface Defaults {
  quantSpec: Required<QuantSpec>;
  calibration: Required<CalibrationOptions>;
  requantize: Required<RequantizeOptions>;
  loadModel: Required<LoadModelOptions>;
  quantizeModel: Required<QuantizeOptions>;
  ptqLayer: Required<PtqLayerOptions>;
  sensitivity: Required<SensitivityOptions>;
  mixedPrecision: Required<MixedPrecisionOptions>;
  qOutput: Required<QOutputOptions>;
  conv2d: Required<Conv2dGeometryOptions>;
  kMeans: Required<KMeansOptions>;
  huffman: Required<HuffmanOptions>;
  compressedTensor: Required<CompressedTensorInput>;
  dataset: Required<DatasetOptions>;
  evaluate: Required<EvaluateOptions>;
  train: Required<TrainOptions>;
  layerPlan: Required<LayerPlan>;
  deepCompression: Required<DeepCompressionOptions>;
  encode: Required<EncodeOptions>;
  pq: Required<PQOptions>;
  pqLayerPlan: Required<PQLayerPlan>;
  pqCompress: Required<PQCompressOptions>;
}

export interface Quantlab extends CompressionMethods, PQMethods {
  /** Whether this instance runs the SIMD128 build. */
  readonly simd: boolean;
  /** Every option's default (a fresh copy), as the core defines it. */
  defaults(): Defaults;
  /** Bytes of WebAssembly memory the instance holds (it grows, never shrinks). */
  memoryBytes(): number;
  /** Tensor memory in bytes: held by live tensors now, the most held, and the budget; and
   * heapInUse, every byte malloc holds in the instance's memory (tensors, handles, scratch):
   * it returns to its level once what was created is disposed. */
  memoryUsage(): { inUse: number; peak: number; budget: number; heapInUse: number };

  integerRange(spec?: QuantSpec): { qMin: number; qMax: number };
  /** S and Z from [rMin, rMax] (widened to contain 0), as in the lecture. */
  paramsFromRange(rMin: number, rMax: number, spec?: QuantSpec): QuantParams;
  /** q = clamp(round_half_even(r / S) + Z, qMin, qMax). */
  quantize(data: NumericArray, params: QuantParams): Int32Array;
  /** r = S (q - Z). */
  dequantize(q: NumericArray, params: QuantParams): Float32Array;
  quantizationError(data: NumericArray, params: QuantParams): ErrorSplit;
  /** count, min, max, mean and standard deviation of an array (a model output, say). */
  arrayStats(data: NumericArray): ArrayStats;
  /** An approximation against its reference (int8 against fp32 outputs): MSE, SQNR in dB
   *  (Infinity when equal) and the largest |ref - test|. SHAPE_MISMATCH for different lengths. */
  compareArrays(ref: NumericArray, test: NumericArray): ArrayComparison;
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

  // --- Models: ONNX import and runtime  ---
  /** Load an ONNX model from its bytes; dispose() it when done. */
  loadModel(bytes: Uint8Array | ArrayBuffer, options?: LoadModelOptions): Model;
  /** Operators the runtime implements, with their ONNX versions. */
  supportedOperators(): OperatorSupport[];
}

// ===== Models: ONNX import and runtime =======================================================

/** 'bool' tensors (comparisons, Where) travel as Uint8Array of 0 and 1. */
export type DType = 'float32' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool';

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
  /** Requantization of int8 layers: 'fp32' (ONNX's definition) or 'fixed-point'. @default 'fp32' */
  requantMode?: RequantMode;
  /** Run a Relu / Clip(0, 6) inside the fp32 Conv / Gemm / MatMul before it. @default true */
  fuseActivations?: boolean;
  /**
   * Run DequantizeLinear -> Conv / Add -> QuantizeLinear groups as QLinearConv / QLinearAdd
   * (integer arithmetic, as onnxruntime's graph optimizer; false: float semantics).
   * @default false
   */
  fuseQdq?: boolean;
}

/** 'run': nodes finished of one run; 'batch': rows finished when batchSize splits a batch. */
export type ModelProgress = Progress<'run' | 'batch'>;

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
export class Model extends Handle {
  private constructor();
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  /** The ai.onnx opset the model imports. */
  readonly opset: number;
  /** Every node in execution order. */
  layers(): LayerInfo[];
  /** One input, one batch: returns the first output (a copy). */
  run(data: TensorData, shape: number[], options?: RunOptions): TensorOutput;
  /** One tensor per input; returns every output. */
  runAll(inputs: TensorInput[], options?: RunOptions): TensorOutput[];
}

// ===== End of models =========================================================================

// ===== Kernels: int8 / fp32 GEMM and convolution handles =====================================

export type KernelVariant = 'scalar' | 'xsimd' | 'wasmsimd';
export type Activation = 'none' | 'relu' | 'relu6';

/** The output grid of an int8 layer. 'int32' returns raw accumulators (no requantization). */
export interface QOutputOptions {
  /** @default 'uint8' */
  type?: 'uint8' | 'int8' | 'int32';
  /** S_Y. @default 1 */
  scale?: number;
  /** Z_Y. @default 0 */
  zeroPoint?: number;
  /** 'fp32' (ONNX / onnxruntime) or 'fixed-point' (gemmlowp M0 and shift). @default 'fp32' */
  requantMode?: RequantMode;
  /** The older name of requantMode. */
  requant?: RequantMode;
  /** Folded into the output clamp. @default 'none' */
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
  /** [kh, kw] (required). */
  kernelShape: [number, number];
  /** @default [1, 1] */
  strides?: [number, number];
  /** [top, left, bottom, right]. @default [0, 0, 0, 0] */
  pads?: [number, number, number, number];
  /** @default [1, 1] */
  dilations?: [number, number];
  /** groups === cIn === cOut is depthwise. @default 1 */
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

declare class KernelLayer extends Handle {
  /** The variant running this layer. */
  readonly variant: KernelVariant;
  /** The micro-kernel's name (int8 layers). */
  readonly ukernel: string | undefined;
  /** Convolutions: whether the depthwise kernels run it. */
  readonly depthwise: boolean;
  /** Kernel-only time of `reps` runs (default 50) on the last input after `warmup` (default 2). */
  benchmark(reps?: number, warmup?: number): KernelTiming;
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

// Compression: k-means, Huffman, pruning, compressed files, training (types/compression.d.ts).
export * from './types/compression.js';

// ===== Post-training quantization ============================================================

/** One layer's own weight quantization (torch's per-module qconfig). */
export interface PtqLayerOptions {
  /** The Conv / Gemm / MatMul node's name, as in the report. @default '' */
  node: string;
  /** 2..8 bits (lecture 5.5); 0: the model-wide weightBits. @default 0 */
  weightBits?: number;
  /** @default 'default' */
  weights?: 'default' | 'per-channel' | 'per-tensor';
}

/** A calibration-table entry: a value's clipping range, or its scale and zero point. */
export interface GivenRange {
  value: string;
  min?: number;
  max?: number;
  scale?: number;
  zeroPoint?: number;
}

export interface QuantizeOptions extends CalibrationOptions {
  /** Activation grid, asymmetric with a zero point. @default 'int8' */
  activations?: 'int8' | 'uint8';
  /** Symmetric activations (Z = 0 for int8, 128 for uint8); activations after layers then
   * run in fp32 (a symmetric grid cannot apply a Relu). @default false */
  symmetricActivations?: boolean;
  /** Weight scales per output channel (true) or per tensor. @default true */
  perChannel?: boolean;
  /** Weight bits 2..8, symmetric narrow grid [-(2^(b-1) - 1), 2^(b-1) - 1]. @default 8 */
  weightBits?: number;
  /** Per-layer overrides of weightBits and perChannel. @default [] */
  layers?: PtqLayerOptions[];
  /** Given ranges or scales instead of calibration: an array of GivenRange, or an object
   * value name -> [min, max] | {scale, zeroPoint} (e.g. QuantizedModel.ranges, a torch
   * model's observers). A name the model lacks throws INVALID_ARGUMENT. @default [] */
  ranges?: GivenRange[] | Record<string, [number, number] | { scale: number; zeroPoint: number }>;
  /** 7-bit weights [-63, 63]: exact on x86 peers without VNNI. @default false */
  reduceRange?: boolean;
  /** Requantization of .model and of the report run. @default 'fp32' */
  requantMode?: RequantMode;
  /** Calibration chunk along dimension 0; the report uses its first 32 samples. A model whose
   * input batch is fixed is calibrated in batches of that size instead. @default 64 */
  batchSize?: number;
  /** Nodes left in fp32, by name (as in the report and model.layers()); a name the model does
   * not have throws INVALID_ARGUMENT listing its nodes. @default [] */
  excludeNodes?: string[];
  /** Operator types left in fp32 ('Conv', 'Gemm', 'MatMul', 'Add', ...). @default [] */
  excludeOpTypes?: string[];
  /** Called synchronously: 'calibrate' (chunks), 'quantize' (layers), 'report'. */
  onProgress?: (progress: Progress<'calibrate' | 'quantize' | 'report'>) => void;
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
  /** Why the output range is not the calibration method's own (KL's fallback), if it is not. */
  rangeNote?: string;
  /** One per output channel (or one). */
  weightScales: Float32Array;
  /** M = S_W S_X / S_Y per channel; M ~= m0 * 2^(shift - 31), m0 in [2^30, 2^31). */
  multipliers: Float64Array;
  m0: Int32Array;
  shift: Int32Array;
  /** fp32 against dequantized int8 output on the first 32 calibration samples. */
  mse: number;
  sqnrDb: number;
  weightBits: number;
  perChannel: boolean;
}

/** One quantized activation of the calibration table. */
export interface PtqValueRange {
  value: string;
  min: number;
  max: number;
  scale: number;
  zeroPoint: number;
  /** From options.ranges rather than calibrated. */
  given: boolean;
}

export interface SensitivityOptions extends QuantizeOptions {
  /** Weight widths tried for each layer alone. @default [8, 6, 4, 2] */
  bits?: number[];
  /** Samples evaluated: the first ones of the data. @default 256 */
  evalSamples?: number;
  /** One class per sample: adds top-1 accuracy. */
  labels?: Int32Array | Uint8Array | number[];
}

export interface LayerSensitivity {
  name: string;
  opType: string;
  /** Weight count. */
  weights: number;
  bits: Int32Array;
  /** Model output SQNR (dB) with only this layer quantized, per width. */
  sqnrDb: Float64Array;
  /** Top-1 accuracy in [0, 1] with only this layer quantized (NaN without labels). */
  accuracy: Float64Array;
  /** This layer's output SQNR with every layer quantized: the error accumulated to here. */
  accumulatedSqnrDb: number;
}

export interface SensitivityReport {
  layers: LayerSensitivity[];
  /** Every layer quantized as the options say. */
  allSqnrDb: number;
  fp32Accuracy: number;
  allAccuracy: number;
  samples: number;
}

export interface MixedPrecisionOptions extends QuantizeOptions {
  /** Candidate weight widths. @default [8, 6, 5, 4, 3, 2] */
  bits?: number[];
  /** Output SQNR budget. @default 30 */
  minSqnrDb?: number;
  /** Points of top-1 accuracy that may be lost (needs labels); NaN: the SQNR budget.
   * @default NaN */
  maxAccuracyDrop?: number;
  /** @default 256 */
  evalSamples?: number;
  labels?: Int32Array | Uint8Array | number[];
}

export interface MixedPrecisionResult {
  /** The chosen width of every layer: pass as quantizeModel's options.layers. */
  layers: Required<PtqLayerOptions>[];
  sensitivity: SensitivityReport;
  /** The chosen model, measured. */
  sqnrDb: number;
  accuracy: number;
  /** Sum over layers of weights x width, and the same at 8 bits. */
  weightBits: number;
  int8WeightBits: number;
  /** Models the search measured. */
  measured: number;
}

/** The result of quantizeModel; dispose() frees it and .model. */
export class QuantizedModel extends Handle {
  private constructor();
  /** The int8 QOperator graph as an ordinary Model. */
  readonly model: Model;
  readonly report: PtqLayerReport[];
  /** The calibration table; hand it back as options.ranges to reproduce the model. */
  readonly ranges: PtqValueRange[];
  readonly foldedBatchNorms: number;
  /** The .onnx bytes: 'qoperator' (default) or 'qdq'. activations 'uint8' (default) writes
   * int8 activations as uint8 (q + 128, Z + 128: identical outputs but through QLinearAdd),
   * which onnxruntime runs fast; 'as-quantized' keeps them. exportChecks says which exports
   * onnxruntime reproduces exactly. */
  toOnnx(form?: 'qoperator' | 'qdq', options?: { activations?: 'uint8' | 'as-quantized' }): Uint8Array;
  /** What onnxruntime reproduces of each of the four exports, and why not. */
  readonly exportChecks: ExportCheck[];
}

/** One export of a QuantizedModel and whether onnxruntime reproduces its outputs. */
export interface ExportCheck {
  form: 'qoperator' | 'qdq';
  activations: 'uint8' | 'as-quantized';
  /** 'exact': bit for bit; 'cpu-dependent': bit for bit where onnxruntime's CPU kernels have
   * VNNI (x86-64 AVX-512 VNNI / AVX-VNNI) or on ARM, not on AVX2 without VNNI; 'inexact': a
   * few values may move by one quantization step. */
  exactness: 'exact' | 'cpu-dependent' | 'inexact';
  /** Each cause, with the option that avoids it; empty when exact. */
  reasons: string[];
}

export interface Quantlab {
  /**
   * Post-training static quantization of an fp32 model: calibration holds the images of
   * `shape` (e.g. [512, 1, 28, 28]). Throws QuantlabError (EMPTY_INPUT, SHAPE_MISMATCH,
   * NOT_FINITE, UNSUPPORTED for an already quantized model, INVALID_ARGUMENT).
   */
  quantizeModel(model: Model, calibration: Float32Array, shape: number[],
    options?: QuantizeOptions): QuantizedModel;
  /** Per-layer sensitivity: each layer alone at each width, against fp32. */
  quantizationSensitivity(model: Model, data: Float32Array, shape: number[],
    options?: SensitivityOptions & { onProgress?: (progress: Progress<'calibrate' | 'quantize' | 'report' | 'sensitivity'>) => void }): SensitivityReport;
  /** The smallest weights (bits per layer) within an SQNR or accuracy budget. */
  mixedPrecision(model: Model, data: Float32Array, shape: number[],
    options?: MixedPrecisionOptions & { onProgress?: (progress: Progress<'calibrate' | 'quantize' | 'report' | 'sensitivity'>) => void }): MixedPrecisionResult;
}

// ===== End of post-training quantization =====================================================

// Product quantization (types/pq.d.ts; lecture 5.7).
export * from './types/pq.js';

export interface LoadOptions {
  /** 'auto' (default) picks SIMD128 when WebAssembly.validate accepts it. */
  simd?: 'auto' | boolean;
  /** Bytes of the matching .wasm file, to skip fetching it. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** Where the wasm file is: file name -> URL (or Node path); wins over env.wasmPaths. */
  locateFile?: (path: string, prefix: string) => string;
  /**
   * Bytes all live tensors of the instance may hold (checked before each allocation, in 64
   * bits); a call that would pass it, or that the allocator cannot satisfy, throws
   * RESOURCE_EXHAUSTED and the instance stays usable. Default: the core's 2 GiB.
   */
  maxMemory?: number;
}

/** True when this engine validates WebAssembly SIMD128 code. */
export function simdSupported(): boolean;

/** Load the WebAssembly core. */
export function load(options?: LoadOptions): Promise<Quantlab>;
export default load;
