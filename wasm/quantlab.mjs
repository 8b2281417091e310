// quantlab's JavaScript entry point: loads the WebAssembly core (SIMD128 when the engine
// has it, else scalar) and exposes it with camelCase names over typed arrays. Errors from
// the core become QuantlabError with a stable .code. One file per concept in wasm/js/:
//   errors.mjs       QuantlabError and the call into the Embind module
//   check.mjs        JavaScript type and shape checks
//   guard.mjs        the guard of user callbacks (onProgress)
//   handle.mjs       the base class of every handle (dispose, Symbol.dispose)
//   linear.mjs       linear quantization and requantization
//   models.mjs       ONNX models: load and run
//   ptq.mjs          post-training quantization
//   kernels.mjs      packed int8 / fp32 GEMM and convolution layers
//   compression.mjs  k-means, Huffman, pruning, the compressed file
//   train.mjs        trainable networks and Deep Compression
//   load.mjs         loading the module; the Quantlab object
//   env.mjs          package-wide settings: env.wasmPaths (where the wasm files live)
//   platform-*.mjs   reading the wasm bytes: fetch (browser, the default) or node:fs
//                    (Node, selected by the package's `node` condition: ../quantlab-node.mjs)
export { env } from './js/env.mjs';
export { QuantlabError } from './js/errors.mjs';
export { Conv2dF32, GemmF32, QConv2d, QGemm } from './js/kernels.mjs';
export { HuffmanCode } from './js/compression.mjs';
export { load, simdSupported } from './js/load.mjs';
export { Model } from './js/models.mjs';
export { QuantizedModel } from './js/ptq.mjs';
export { Network } from './js/train.mjs';
export { load as default } from './js/load.mjs';
