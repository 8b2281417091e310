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
}

export interface OperatorSupport {
  domain: string;
  opType: string;
  versions: number[];
}

export interface LoadModelOptions {
  /** Requantization of int8 layers: 'fp32' (ONNX's definition, default) or 'fixed' (M0, shift). */
  requantMode?: 'fp32' | 'fixed';
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
