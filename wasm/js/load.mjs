// Loading quantlab: the SIMD128 build when the engine has it, else scalar; the Quantlab
// object assembled from the per-concept method sets. Works in browsers, workers and Node:
// the wasm bytes are read here (platform-browser.mjs, or platform-node.mjs through the
// package's `node` entry), from load({locateFile}), env.wasmPaths or next to the glue, and
// handed to the Emscripten module as wasmBinary, so a missing file is a QuantlabError
// NOT_FOUND naming the URL, never Emscripten's RuntimeError.
import { compressionMethods } from './compression.mjs';
import { env, wasmPathFromEnv } from './env.mjs';
import { call, QuantlabError, watchModule } from './errors.mjs';
import { DEFAULTS, MODULE } from './handle.mjs';
import { kernelMethods } from './kernels.mjs';
import { linearMethods } from './linear.mjs';
import { modelMethods } from './models.mjs';
import { readBytes as browserReadBytes } from './platform-browser.mjs';
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

let readBytes = browserReadBytes;

/** The entry for Node (wasm/quantlab-node.mjs) reads files with node:fs instead of fetch. */
export function setReader(reader) {
  readBytes = reader;
}

// Literal `new URL('…', import.meta.url)` so that Vite, webpack 5, Rollup and Parcel emit the
// files as assets and rewrite the URLs; one expression per file, since bundlers do not
// follow template strings.
function defaultWasmUrl(simd) {
  try {
    return simd ? new URL('../../dist/quantlab-simd.wasm', import.meta.url).href
      : new URL('../../dist/quantlab-scalar.wasm', import.meta.url).href;
  } catch {
    // A bundle without import.meta.url (esbuild's default iife format, say).
    throw new QuantlabError('NOT_FOUND', 'cannot tell where the quantlab wasm is: this build has no import.meta.url; ' +
      "copy node_modules/quantlab/dist/*.wasm next to the page and set env.wasmPaths (see the README's Bundlers section)");
  }
}

/** Where the wasm file `file` is: load({locateFile}), then env.wasmPaths, then next to the glue. */
function wasmUrlFor(file, simd, options) {
  if (options.locateFile !== undefined) {
    if (typeof options.locateFile !== 'function') {
      throw new QuantlabError('INVALID_ARGUMENT', 'locateFile must be a function (file name -> URL)');
    }
    return String(options.locateFile(file, ''));
  }
  return wasmPathFromEnv(file, env.wasmPaths) ?? defaultWasmUrl(simd);
}

const WASM_MAGIC = [0, 0x61, 0x73, 0x6d];

/** `bytes` if they start as a wasm file does; a NOT_FOUND naming `url` otherwise (a server's
 * HTML fallback page served with 200 for a missing file, say). */
function checkWasm(bytes, url) {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = new TextDecoder().decode(bytes.subarray(0, 40)).replace(/\s+/g, ' ');
    throw new QuantlabError('NOT_FOUND', `cannot load the quantlab wasm from ${url}: not a WebAssembly file ` +
      `(it starts with "${head}"); set env.wasmPaths or load({locateFile})`);
  }
  return bytes;
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
 * .wasm, to skip fetching), locateFile (file name -> URL or Node path of the module's wasm;
 * wins over env.wasmPaths), maxMemory (bytes all live tensors may hold; past it a call fails
 * with RESOURCE_EXHAUSTED; default: the core's, 2 GiB).
 */
export async function load(options = {}) {
  const wantSimd = options.simd ?? 'auto';
  const simd = wantSimd === 'auto' ? simdSupported() : Boolean(wantSimd);
  if (simd && !simdSupported()) {
    throw new QuantlabError('UNSUPPORTED', 'this engine does not support WebAssembly SIMD128');
  }
  if (options.maxMemory !== undefined && (typeof options.maxMemory !== 'number' ||
      !Number.isSafeInteger(options.maxMemory) || options.maxMemory <= 0)) {
    throw new QuantlabError('INVALID_ARGUMENT', `maxMemory must be a positive whole number of bytes, got ${options.maxMemory}`);
  }
  const name = simd ? 'quantlab-simd' : 'quantlab-scalar';
  const factory = simd
    ? (await import('../../dist/quantlab-simd.mjs')).default
    : (await import('../../dist/quantlab-scalar.mjs')).default;
  const moduleOptions = {};
  if (options.wasmBinary) {
    moduleOptions.wasmBinary = options.wasmBinary;
    // The glue would otherwise compute a URL from import.meta.url, which some bundles lack.
    moduleOptions.locateFile = (path) => path;
  } else {
    const url = wasmUrlFor(`${name}.wasm`, simd, options);
    moduleOptions.wasmBinary = checkWasm(await readBytes(url), url);
    moduleOptions.locateFile = () => url;
  }
  const module = await factory(moduleOptions);
  watchModule(module);  // a trap marks this instance dead (ABORTED)
  if (options.maxMemory !== undefined) call(module.setMemoryBudget, options.maxMemory);
  return new Quantlab(module, simd);
}
