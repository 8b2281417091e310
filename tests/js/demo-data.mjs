// Shared by the JS tests of post-training quantization and export: the bundled Fashion-MNIST
// subsets normalized as the demo models expect, the demo models' bytes, and small helpers.
import { readFileSync } from 'node:fs';

export const root = new URL('../../', import.meta.url);
export const models = JSON.parse(readFileSync(new URL('web/models/models.json', root)));
const { mean, std } = models.dataset.normalization;
export const PIXELS = 28 * 28;
export const TEST = 2000;
export const CALIB = 512;

/** (pixel / 255 - mean) / std in float32, as web/models/train.py. */
export function normalized(bytes, count) {
  const x = new Float32Array(count * PIXELS);
  const m = Math.fround(mean);
  const s = Math.fround(std);
  for (let i = 0; i < x.length; ++i) x[i] = Math.fround(Math.fround(bytes[i] / 255) - m) / s;
  return x;
}
/** The first TEST bundled test images and their labels; the first CALIB training images. */
export const testImages = normalized(readFileSync(new URL('web/data/fashion-test-2000.images.u8', root)), TEST);
export const testLabels = readFileSync(new URL('web/data/fashion-test-2000.labels.u8', root));
export const calibration = normalized(readFileSync(new URL('web/data/fashion-train-6000.images.u8', root)), CALIB);

export function modelBytes(name) {
  return new Uint8Array(readFileSync(new URL(`web/models/${name}.onnx`, root)));
}

export function argmaxRows(logits, rows, cols) {
  const out = new Uint8Array(rows);
  for (let r = 0; r < rows; ++r) {
    let best = 0;
    for (let c = 1; c < cols; ++c) if (logits[r * cols + c] > logits[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
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
