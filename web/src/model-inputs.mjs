// Data for a model the user brings (issue 10; tasks.mjs runRandom): its free input
// dimensions and their sizes, whether the bundled Fashion-MNIST images fit it, and seeded
// random input (the statistics shown instead of accuracy come from the core: ql.arrayStats,
// ql.compareArrays). Plain functions, no DOM, no quantlab: the worker and the tests
// (tests/e2e/models-upload.test.mjs) import the same ones.
import { rng } from './state.mjs';

const fail = (code, message) => Object.assign(new Error(message), { code });

/** `count` float32 values N(0, 1) from a seeded generator (mulberry32, Box-Muller): the
 * input of an uploaded model that has no bundled data. The same seed gives the same values,
 * in the worker and in Node (tests/e2e/models-upload.test.mjs). */
export function seededNormal(count, seed) {
  const next = rng(seed);
  const x = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = 1 - next();   // (0, 1]: log(u) is finite
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    x[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) x[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return x;
}

/** Seeds of the random data of an uploaded model: the input it runs on, and calibration. */
export const INPUT_SEED = 1;
export const CALIBRATION_SEED = 2;
/** Calibration of a random-input model holds at most this many float32 values (16 MiB). */
export const CALIBRATION_VALUES = 1 << 22;

/** True for a model the bundled Fashion-MNIST images fit: one float32 input [N, 1, 28, 28]
 * (N free or 1) and one output of 10 scores per image. */
export function isImageClassifier(inputs, outputs) {
  if (inputs.length !== 1 || outputs.length !== 1) return false;
  const [i] = inputs;
  const [o] = outputs;
  const batch = (d) => typeof d !== 'number' || d === 1;
  return i.dtype === 'float32' && i.shape?.length === 4 && batch(i.shape[0]) && i.shape[1] === 1 &&
    i.shape[2] === 28 && i.shape[3] === 28 && o.shape?.length === 2 && o.shape[1] === 10;
}

/** The free dimensions of a model's inputs: a named one (dim_param, e.g. 'N') once by its
 * name, an unnamed one as 'input[axis]'. Default 1 for the first axis (the batch), else 32. */
export function freeDims(inputs) {
  const out = [];
  for (const input of inputs) {
    (input.shape ?? []).forEach((d, axis) => {
      if (typeof d === 'number') return;
      const key = typeof d === 'string' && d !== '' ? d : `${input.name}[${axis}]`;
      if (!out.some((s) => s.key === key)) out.push({ key, input: input.name, axis, default: axis === 0 ? 1 : 32 });
    });
  }
  return out;
}

/** Each input's shape with its free dimensions set from `dims` ({key: text}), else defaults. */
export function inputShapes(inputs, dims = {}) {
  const free = freeDims(inputs);
  const value = (key) => {
    const f = free.find((s) => s.key === key);
    const raw = dims?.[key] ?? f.default;
    const v = Number(raw);
    if (!(Number.isInteger(v) && v >= 1 && v <= 65536)) throw fail('INVALID_ARGUMENT', `dimension ${key} must be a whole number in [1, 65536], got '${raw}'`);
    return v;
  };
  return inputs.map((input) => {
    if (!input.shape) throw fail('UNSUPPORTED', `input '${input.name}' has no shape (not even its rank): quantlab cannot make data for it`);
    return input.shape.map((d, axis) => (typeof d === 'number' ? d : value(typeof d === 'string' && d !== '' ? d : `${input.name}[${axis}]`)));
  });
}
