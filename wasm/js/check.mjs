// JavaScript type and shape checks of arguments, before they cross into WebAssembly. The
// values themselves (ranges, enum names, defaults) are the core's to check and fill.
import { fail } from './errors.mjs';

/** The integer range of each integer typed array (elements outside it would wrap). */
const INT_RANGE = new Map([
  [Int8Array, [-128, 127]], [Uint8Array, [0, 255]], [Uint8ClampedArray, [0, 255]],
  [Int16Array, [-32768, 32767]], [Uint16Array, [0, 65535]],
  [Int32Array, [-2147483648, 2147483647]], [Uint32Array, [0, 4294967295]],
]);

/**
 * x as a Type typed array: itself, or a checked copy of an array (or another typed array) of
 * numbers. Converting never changes a value: for an integer Type every element must be an
 * integer inside its range (1.7, NaN or 200 for an Int8Array is refused, not truncated or
 * wrapped); float Types take any number (NaN stays NaN: the core says NOT_FINITE where it must).
 */
export function asArray(x, Type, what) {
  if (x instanceof Type) return x;
  if (!ArrayBuffer.isView(x) && !Array.isArray(x)) return fail(`${what} must be an array or a typed array`);
  if (x instanceof DataView) return fail(`${what} must be an array or a typed array, not a DataView`);
  const range = INT_RANGE.get(Type);
  for (let i = 0; i < x.length; ++i) {
    const v = typeof x[i] === 'bigint' ? Number(x[i]) : x[i];
    if (typeof v !== 'number') fail(`${what}[${i}] is not a number`);
    if (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) {
      fail(`${what}[${i}] = ${v} is not an integer in [${range[0]}, ${range[1]}] (${Type.name})`);
    }
  }
  return Type.from(x, Number);
}

/** Counts (frequencies): finite numbers >= 0, as a Float64Array. */
export function asCounts(x, what) {
  const a = asArray(x, Float64Array, what);
  a.forEach((v, i) => {
    if (!Number.isFinite(v) || v < 0) fail(`${what}[${i}] = ${v} must be a finite count >= 0`);
  });
  return a;
}

export function asShape(shape) {
  if (!Array.isArray(shape) && !ArrayBuffer.isView(shape)) fail('shape must be an array');
  return Array.from(shape, Number);
}

/** A shape of integers >= 0; `what` names the value in the message. */
export function asDims(shape, what) {
  const dims = asShape(shape);
  dims.forEach((d, k) => {
    if (!Number.isInteger(d) || d < 0) fail(`${what}[${k}] must be an integer >= 0`);
  });
  return dims;
}

/** An integer argument: a JS number that is a whole number inside the int32 range (Embind
 * would wrap 2**32 + 3 to 3). */
export function asInt(x, what) {
  if (!Number.isInteger(x) || x < -2147483648 || x > 2147483647) {
    fail(`${what} must be an integer in [-2^31, 2^31 - 1], got ${x}`);
  }
  return x;
}

/** A size or count: a whole number >= 0 that a double holds exactly (below 2^53). */
export function asSize(x, what) {
  if (!Number.isSafeInteger(x) || x < 0) fail(`${what} must be a whole number >= 0, got ${x}`);
  return x;
}

export function asNumber(x, what) {
  if (typeof x !== 'number') fail(`${what} must be a number, got ${typeof x}`);
  return x;
}

/** An options object (or undefined / null: the core's defaults). */
export function optionsOf(o, what = 'options') {
  if (o === undefined || o === null) return undefined;
  if (typeof o !== 'object') fail(`${what} must be an object`);
  return o;
}

export function asBoolean(x, what) {
  if (x !== undefined && typeof x !== 'boolean') fail(`${what} must be a boolean`);
  return x;
}

export function bytesOf(b, what = 'bytes') {
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (b instanceof Uint8Array) return b;
  return fail(`${what} must be a Uint8Array or an ArrayBuffer`);
}

/** A codebook {centroids, labels, pinnedZero?} as the core reads it. */
export function codebookOf(c) {
  if (!c || typeof c !== 'object') fail('codebook must be {centroids, labels, pinnedZero?}');
  return {
    centroids: asArray(c.centroids, Float32Array, 'codebook.centroids'),
    labels: asArray(c.labels, Int32Array, 'codebook.labels'),
    pinnedZero: Boolean(c.pinnedZero),
  };
}

/** A labelled image set {images, labels}, both Uint8Array; `what` names it in messages. */
export function labeledOf(d, what) {
  if (!d || typeof d !== 'object') fail(`${what} must be {images, labels}`);
  return { images: asArray(d.images, Uint8Array, `${what}.images`),
    labels: asArray(d.labels, Uint8Array, `${what}.labels`) };
}
