// Package-wide settings (wasm/js/env.mjs): where the wasm files live.

/** The wasm files a load() may fetch. */
export type WasmFileName = 'quantlab-simd.wasm' | 'quantlab-scalar.wasm';

export interface Env {
  /**
   * Where the wasm files are, for every later load() in this realm (a worker has its own):
   * a prefix ('/assets/', 'https://cdn.example/quantlab@0.2.0/dist/', in Node also a folder
   * path or a file: URL) to which the file name is appended, or a map from file name to URL.
   * load({locateFile}) wins over it; load({wasmBinary}) needs no file at all.
   * @default undefined: next to the package's dist/ glue (what bundlers that understand
   * `new URL('…', import.meta.url)` emit).
   */
  wasmPaths?: string | URL | Partial<Record<WasmFileName, string | URL>>;
}

/** Package-wide settings, like onnxruntime-web's `env.wasm`. */
export declare const env: Env;
