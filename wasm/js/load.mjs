// Loading quantlab: the SIMD128 build when the engine has it, else scalar; the Quantlab
// object assembled from the per-concept method sets. Works in browsers, workers and Node.
import { compressionMethods } from './compression.mjs';
import { call, QuantlabError, watchModule } from './errors.mjs';
import { DEFAULTS, MODULE } from './handle.mjs';
import { kernelMethods } from './kernels.mjs';
import { linearMethods } from './linear.mjs';
import { modelMethods } from './models.mjs';
import { pqMethods } from './pq.mjs';
import { ptqMethods } from './ptq.mjs';

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

/** The quantlab API over one loaded WebAssembly instance. */
class Quantlab {
  constructor(module, simd) {
    Object.defineProperty(this, MODULE, { value: module });
    Object.defineProperty(this, DEFAULTS, { value: call(module.defaults) });
    /** Whether this instance runs the SIMD128 build. */
    this.simd = simd;
  }

  /**
   * Every option's default as the core's option structs define it, keyed by the options
   * object it fills (quantSpec, calibration, loadModel, quantizeModel, kMeans, train, ...).
   * A fresh copy on each call.
   */
  defaults() {
    return structuredClone(this[DEFAULTS]);
  }

  /** Bytes of WebAssembly memory this instance holds (it grows, never shrinks). */
  memoryBytes() {
    return this[MODULE].HEAP8.buffer.byteLength;
  }

  /** Tensor memory: bytes held by live tensors, the most held, the budget; heapInUse:
   * every byte malloc holds. */
  memoryUsage() {
    return call(this[MODULE].memoryUsage);
  }
}

for (const methods of [linearMethods, modelMethods, kernelMethods, compressionMethods, ptqMethods,
  pqMethods]) {
  for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(methods))) {
    Object.defineProperty(Quantlab.prototype, name, { ...d, enumerable: false });
  }
}

/**
 * Load quantlab. Options: simd ('auto' | true | false), wasmBinary (bytes of the matching
 * .wasm, to skip fetching), locateFile (path -> URL of the module's files), maxMemory (bytes
 * all live tensors may hold; past it a call fails with RESOURCE_EXHAUSTED; default: the
 * core's, 2 GiB).
 */
export async function load(options = {}) {
  const wantSimd = options.simd ?? 'auto';
  const simd = wantSimd === 'auto' ? simdSupported() : Boolean(wantSimd);
  if (simd && !simdSupported()) {
    throw new QuantlabError('UNSUPPORTED', 'this engine does not support WebAssembly SIMD128');
  }
  const name = simd ? 'quantlab-simd' : 'quantlab-scalar';
  const factory = simd
    ? (await import('../../dist/quantlab-simd.mjs')).default
    : (await import('../../dist/quantlab-scalar.mjs')).default;
  const wasmUrl = new URL(`../../dist/${name}.wasm`, import.meta.url);
  const moduleOptions = {};
  if (options.wasmBinary) {
    moduleOptions.wasmBinary = options.wasmBinary;
  } else if (isNode) {
    moduleOptions.wasmBinary = await readNodeFile(wasmUrl);
  }
  moduleOptions.locateFile = options.locateFile ?? ((path) => new URL(`../../dist/${path}`,
    import.meta.url).href);
  if (options.maxMemory !== undefined && (typeof options.maxMemory !== 'number' ||
      !Number.isSafeInteger(options.maxMemory) || options.maxMemory <= 0)) {
    throw new QuantlabError('INVALID_ARGUMENT', `maxMemory must be a positive whole number of bytes, got ${options.maxMemory}`);
  }
  const module = await factory(moduleOptions);
  watchModule(module);  // a trap marks this instance dead (ABORTED)
  if (options.maxMemory !== undefined) call(module.setMemoryBudget, options.maxMemory);
  return new Quantlab(module, simd);
}
