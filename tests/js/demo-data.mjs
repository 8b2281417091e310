// Shared by the JS tests of post-training quantization and export: the bundled Fashion-MNIST
// subsets normalized as the demo models expect, the demo models' bytes, and small helpers.
import { readFileSync } from 'node:fs';

// The page's own helpers (web/src/tasks.mjs): the tests normalize and take argmaxes as it does.
import { argmaxRows, normalize } from '../../web/src/tasks.mjs';

export { argmaxRows };

export const root = new URL('../../', import.meta.url);
export const models = JSON.parse(readFileSync(new URL('web/models/models.json', root)));
const { mean, std } = models.dataset.normalization;
export const PIXELS = 28 * 28;
export const TEST = 2000;
export const CALIB = 512;

/** (pixel / 255 - mean) / std in float32 of the first `count` images, as web/models/train.py. */
export function normalized(bytes, count) {
  return normalize(bytes.subarray(0, count * PIXELS), mean, std);
}
/** The first TEST bundled test images and their labels; the first CALIB training images. */
export const testImages = normalized(readFileSync(new URL('web/data/fashion-test-2000.images.u8', root)), TEST);
export const testLabels = readFileSync(new URL('web/data/fashion-test-2000.labels.u8', root));
export const calibration = normalized(readFileSync(new URL('web/data/fashion-train-6000.images.u8', root)), CALIB);

export function modelBytes(name) {
  return new Uint8Array(readFileSync(new URL(`web/models/${name}.onnx`, root)));
}

export function percentEqual(a, b) {
  let same = 0;
  for (let i = 0; i < a.length; ++i) same += a[i] === b[i] ? 1 : 0;
  return (100 * same) / a.length;
}

/** SQNR in dB of `got` against `ref` (Infinity when equal). */
export function sqnrDb(ref, got) {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; ++i) {
    s += ref[i] * ref[i];
    e += (ref[i] - got[i]) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}
