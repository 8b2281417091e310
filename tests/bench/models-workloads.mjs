// The workloads of the models benchmark (issue 4), shared by models.bench.mjs (quantlab and
// onnxruntime-web in one process) and ort-node-models-worker.mjs (onnxruntime-node in its
// own): the demo models and their Fashion-MNIST inputs, a MobileNetV2-shaped ONNX model with
// random weights (tests/models/mobilenetv2.mjs: no committed file, no Python), and deterministic inputs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { gaussian, mobileNetV2, mobileNetV2Int8, randomImages } from '../models/mobilenetv2.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');

/** The demo models (web/models/), input [N, 1, 28, 28]. */
export const DEMO_MODELS = ['lenet300', 'lenet5', 'cnn_bn'];
export const DEMO_BATCHES = [1, 64];

export function demoModelBytes(name) {
  return new Uint8Array(readFileSync(join(root, 'web', 'models', `${name}.onnx`)));
}

/**
 * n Fashion-MNIST test images from the page's subset (web/data), normalized as the models
 * expect: x = (pixel / 255 - 0.286) / 0.353, layout [n, 1, 28, 28]; `first` skips images.
 */
export function fashionImages(n, first = 0) {
  const u8 = readFileSync(join(root, 'web', 'data', 'fashion-test-2000.images.u8'));
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; ++i) x[i] = (u8[(first * 784 + i) % u8.length] / 255 - 0.286) / 0.353;
  return x;
}


export { gaussian, mobileNetV2, mobileNetV2Int8, randomImages };
