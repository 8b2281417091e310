// Writes the committed seed corpora of the libFuzzer targets (tests/fuzz/corpus/<target>/):
// small real files. Run again after a file format changes: node tests/fuzz/make_corpus.mjs
// (needs dist/ built). The demo models in web/models are seeds too, read in place
// (tests/fuzz/run.mjs), so they are not copied here.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { load } from '../../wasm/quantlab.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = (target) => {
  const dir = join(root, 'tests', 'fuzz', 'corpus', target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
};

// ONNX: single-node models from ONNX's own test cases (libonnx-testdata), one per operator
// family the runtime implements, plus quantized ones.
const NODE_CASES = ['test_conv_with_strides_padding', 'test_gemm_default_matrix_bias', 'test_matmul_2d',
  'test_maxpool_2d_pads', 'test_averagepool_2d_pads', 'test_globalaveragepool', 'test_batchnorm_example',
  'test_relu', 'test_clip', 'test_add_bcast', 'test_mul_bcast', 'test_flatten_axis1', 'test_reshape_reordered_all_dims',
  'test_transpose_all_permutations_0', 'test_softmax_axis_1', 'test_concat_2d_axis_1', 'test_qlinearconv',
  'test_qlinearmatmul_2D', 'test_quantizelinear', 'test_dequantizelinear', 'test_matmulinteger',
  'test_convinteger_with_padding', 'test_dynamicquantizelinear'];
const onnx = out('onnx_model_fuzz');
for (const c of NODE_CASES) {
  copyFileSync(`/usr/share/libonnx-testdata/data/node/${c}/model.onnx`, join(onnx, `${c}.onnx`));
}
// PTQ: the same float models (those with one float input).
const ptq = out('ptq_fuzz');
for (const c of ['test_conv_with_strides_padding', 'test_relu', 'test_globalaveragepool', 'test_maxpool_2d_pads']) {
  copyFileSync(`/usr/share/libonnx-testdata/data/node/${c}/model.onnx`, join(ptq, `${c}.onnx`));
}

const ql = await load();
// Compressed files as the API writes them: raw, dense codebook, sparse with gaps, Huffman on
// and off, rANS streams and int16 biases, and a whole network (LeNet-300-100 is too large for a seed: a small MLP).
const comp = out('compressed_fuzz');
const labels = (n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 3)) % k);
const sparse = (n) => Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 1 + (i % 3) : 0));
const files = {
  raw: [{ name: 'w', shape: [3, 4], values: Float32Array.from({ length: 12 }, (_, i) => i / 4 - 1) }],
  dense4: [{ name: 'fc.weight', shape: [8, 16], bits: 4, codebook: { centroids: Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1), labels: labels(128, 16) } }],
  sparse5: [{ name: 'fc.weight', shape: [16, 20], bits: 2, gapBits: 5, codebook: { centroids: [0, -0.5, 0.25, 0.75], labels: sparse(320), pinnedZero: true } }],
  fixedwidth: [{ name: 'c', shape: [2, 2, 3, 3], bits: 3, huffman: false, codebook: { centroids: [-1, -0.5, -0.25, 0, 0.1, 0.2, 0.4, 0.8], labels: labels(36, 8) } },
    { name: 'b', shape: [2], values: [0.5, -0.5] }],
  rans: [{ name: 'fc.weight', shape: [16, 20], bits: 2, gapBits: 5, entropy: 'rans', codebook: { centroids: [0, -0.5, 0.25, 0.75], labels: sparse(320), pinnedZero: true } },
    { name: 'fc.bias', shape: [16], biasBits: 16, values: Float32Array.from({ length: 16 }, (_, i) => i / 10 - 0.7) }],
};
for (const [name, tensors] of Object.entries(files)) writeFileSync(join(comp, `${name}.qlc`), ql.encodeCompressed(tensors));

// Huffman: [alphabet - 1][symbols / 4][code lengths ...][bit stream], the target's layout.
const huff = out('huffman_decode_fuzz');
const seeds = {
  lecture: [[1, 2, 3, 3], 4],
  skewed: [[1, 2, 3, 4, 5, 6, 7, 7], 16],
  flat16: [Array(16).fill(4), 8],
  deep: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 20], 32],
};
for (const [name, [lengths, quads]] of Object.entries(seeds)) {
  const stream = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 255);
  writeFileSync(join(huff, name), Uint8Array.from([lengths.length - 1, quads, ...lengths, ...stream]));
}

// rANS: [symbols / 16][limit: 2^(1 + b % 16)][stream], the target's layout; order-0 with
// one and four states, order-1, and a one-symbol stream.
const rans = out('rans_decode_fuzz');
const ransSeeds = {
  skewed: [Uint16Array.from({ length: 64 * 16 }, (_, i) => ((i * 7) % 11 < 8 ? 0 : i % 8)), 3, {}],
  lanes4: [Uint16Array.from({ length: 255 * 16 }, (_, i) => (i * 13) % 5), 3, { laneThreshold: 16 }],
  markov: [Uint16Array.from({ length: 32 * 16 }, (_, i) => i % 4), 2, {}],
  single: [new Uint16Array(16), 0, {}],
};
for (const [name, [sym, b, options]] of Object.entries(ransSeeds)) {
  const r = ql.ransEncode(sym, 1 << (1 + b), options);
  writeFileSync(join(rans, name), Uint8Array.from([sym.length / 16, b, ...r.bytes]));
}

// IDX: the first Fashion-MNIST test images and labels (the bundled subset), as IDX files.
const idx = out('idx_fuzz');
const header = (dims) => {
  const b = [0, 0, 8, dims.length];
  for (const d of dims) b.push(d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return b;
};
const images = readFileSync(join(root, 'web', 'data', 'fashion-test-2000.images.u8')).subarray(0, 2 * 784);
const lab = readFileSync(join(root, 'web', 'data', 'fashion-test-2000.labels.u8')).subarray(0, 16);
writeFileSync(join(idx, 'images-2'), Uint8Array.from([...header([2, 28, 28]), ...images]));
writeFileSync(join(idx, 'labels-16'), Uint8Array.from([...header([16]), ...lab]));
console.log('corpora written to tests/fuzz/corpus/');
