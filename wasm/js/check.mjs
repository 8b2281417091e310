// JavaScript type and shape checks of arguments, before they cross into WebAssembly. The
// values themselves (ranges, enum names, defaults) are the core's to check and fill.
import { fail } from './errors.mjs';

/** x as a Type typed array: itself, or a converted copy of an array of numbers. */
export function asArray(x, Type, what) {
  if (x instanceof Type) return x;
  if (ArrayBuffer.isView(x) || Array.isArray(x)) {
    for (let i = 0; i < x.length; ++i) {
      if (typeof x[i] !== 'number' && typeof x[i] !== 'bigint') {
        fail(`${what}[${i}] is not a number`);
      }
    }
    return Type.from(x, Number);
  }
  return fail(`${what} must be an array or a typed array`);
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

export function asInt(x, what) {
  if (!Number.isInteger(x)) fail(`${what} must be an integer, got ${x}`);
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
