// The base class of quantlab's handles (wasm/js/handle.mjs); not exported by the entry.

/** Objects in WebAssembly memory: dispose() frees them (twice is harmless); any use after
 * that throws QuantlabError INVALID_ARGUMENT ("the ... was disposed"). `using` works where
 * the engine has Symbol.dispose. */
export declare class Handle {
  readonly disposed: boolean;
  dispose(): void;
}
