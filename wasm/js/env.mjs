// Package-wide settings, the analogue of onnxruntime-web's `env.wasm`: where the wasm files
// live. Read by every load() (in Node, browsers and workers) and by the widgets.

/**
 * `env.wasmPaths`: undefined (the default: the files next to the package's dist/ glue, as a
 * bundler that understands `new URL('…', import.meta.url)` emits them), a prefix (URL, or in
 * Node a path or file: URL; a missing trailing '/' is added), or a map from file name
 * ('quantlab-simd.wasm', 'quantlab-scalar.wasm') to its URL or path.
 */
export const env = { wasmPaths: undefined };

/** The URL (or Node path) of `file` that env.wasmPaths names, or undefined when it names none. */
export function wasmPathFromEnv(file, wasmPaths = env.wasmPaths) {
  if (wasmPaths === undefined || wasmPaths === null) return undefined;
  if (typeof wasmPaths === 'string' || wasmPaths instanceof URL) {
    const prefix = String(wasmPaths);
    return prefix.endsWith('/') || prefix.endsWith('\\') ? prefix + file : `${prefix}/${file}`;
  }
  if (typeof wasmPaths === 'object') {
    const v = wasmPaths[file];
    return v === undefined ? undefined : String(v);
  }
  return undefined;
}
