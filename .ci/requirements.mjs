// What each set-up profile needs: Debian packages, why, and the programs and paths each one
// provides. `.ci/setup.mjs` installs from these tables; `.ci/check-requirements.mjs` holds the
// tests and benchmarks to them (every program they run and every system path they read must
// come from a package of their profile, or from the base system). Node built-ins only.

/** Always there on a Debian machine that can run `npm test` at all. */
export const BASE = {
  nodejs: { why: 'Node.js >= 20 and npm, which run every script', programs: ['node', 'npm', 'npx'] },
  gzip: { why: 'Debian essential; the native tests read the .gz IDX files with gzip -dc', programs: ['gzip'] },
  'dpkg': { why: 'Debian essential; setup asks it what is installed', programs: ['dpkg-query', 'dpkg'] },
  apt: { why: 'Debian essential; setup installs with it', programs: ['apt-get'] },
  dash: { why: 'Debian essential: /bin/sh', programs: ['sh'] },
};

const BUILD = {
  cmake: { why: 'CMake >= 3.21 and CTest, which builds and runs the Catch2 suites', programs: ['cmake', 'ctest'] },
  'ninja-build': { why: 'Ninja, the CMake generator of every preset', programs: ['ninja'] },
  'g++': { why: 'a C++20 compiler for the native build (GCC 12)', programs: ['g++'] },
  emscripten: {
    why: 'Emscripten 3.1.x (emcc, em++, its clang and binaryen) for the wasm builds; pulls in node-acorn (/usr/share/nodejs) and python3-numpy',
    programs: ['emcc', 'em++'],
    paths: ['/usr/share/emscripten', '/usr/share/nodejs'],
  },
  'libxsimd-dev': { why: 'xsimd 8.x headers (native SIMD; SSE4.1 lowered to SIMD128)', paths: ['/usr/include/xsimd'] },
  'libprotozero-dev': { why: 'protozero headers (the ONNX protobuf reader)', paths: ['/usr/include/protozero'] },
  catch2: { why: 'Catch2 2.13 (single header catch2/catch.hpp), the C++ test framework', paths: ['/usr/include/catch2'] },
};

const TEST = {
  'clang-14': { why: 'clang for the sanitize preset (ASan + UBSan Catch2 suite, libFuzzer targets)', programs: ['clang++-14'] },
  'libclang-rt-14-dev': {
    why: "clang's sanitizer and libFuzzer runtimes",
    paths: ['/usr/lib/llvm-14/lib/clang/14.0.6/include/fuzzer'],
  },
  wabt: { why: 'wasm-objdump, to check the emitted SIMD128 instructions', programs: ['wasm-objdump'] },
  chromium: { why: 'Chromium for the browser tests (driven by playwright-core)', programs: ['chromium'], paths: ['/usr/bin/chromium'] },
  'dataset-fashion-mnist': { why: 'the Fashion-MNIST IDX files (accuracy tests)', paths: ['/usr/share/datasets/fashion-mnist'] },
  'libonnx-testdata': { why: "ONNX's operator test cases (conformance tests)", paths: ['/usr/share/libonnx-testdata'] },
};

const BENCH = {
  'python3-minimal': { why: 'Python 3 (/usr/bin/python3) for the benchmark peers written in Python', programs: ['/usr/bin/python3'] },
  'python3-faiss': { why: "faiss's ProductQuantizer, the peer of the product-quantization benchmark", python: ['faiss'] },
  'python3-numpy': { why: 'numpy, for the faiss benchmark script', python: ['numpy'] },
  'xz-utils': { why: 'xz, a peer of the entropy-coder comparison (compression benchmark)', programs: ['xz'] },
  zstd: { why: 'zstd, a peer of the entropy-coder comparison (compression benchmark)', programs: ['zstd'] },
  'python3-flatbuffers': {
    why: "the FlatBuffers Builder, with which tests/bench/tflite/write_tflite.py writes the .tflite files LiteRT.js runs in the Chromium benchmark (tables laid out by hand after the TFLite schema: no flatc, no generated code)",
    python: ['flatbuffers'],
  },
  'python3-onnx': {
    why: "onnx, with which that script reads the ONNX files quantlab and onnxruntime-web run (weights, scales, zero points), so the .tflite files hold the same model",
    python: ['onnx'],
  },
};

/** Packages per profile: start (build and serve), test, bench. */
export const PROFILES = {
  start: { ...BUILD },
  test: { ...BUILD, ...TEST },
  bench: { ...BUILD, ...TEST, ...BENCH },
};
