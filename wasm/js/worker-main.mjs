// The worker side of quantlab/worker (../quantlab-worker.mjs): one quantlab instance in a
// Web Worker, called by message. {id, op: 'load', options} loads it; {id, op: 'call', target,
// method, args} calls a method of the instance (target 0) or of a handle it returned;
// {op: 'release', target} forgets a disposed handle. Answers {id, result} | {id, error}, and
// {id, progress} for each report of a callback the page passed.
import { env } from './env.mjs';
import { QuantlabError } from './errors.mjs';
import { Handle } from './handle.mjs';
import { load } from './load.mjs';

const targets = new Map();   // 0: the instance; n: a handle
let nextTarget = 1;

/** A handle as the page sees it: its id, its methods, its own fields' and getters' values now. */
function describe(handle) {
  const target = nextTarget++;
  targets.set(target, handle);
  const methods = [];
  const props = {};
  for (const [name, value] of Object.entries(handle)) {
    if (typeof value !== 'function') props[name] = encode(value);
  }
  for (let p = Object.getPrototypeOf(handle); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) {
      if (name === 'constructor' || name.startsWith('_') || name in props || methods.includes(name)) continue;
      if (typeof d.value === 'function') methods.push(name);
      else if (d.get && name !== 'disposed') props[name] = encode(handle[name]);
    }
  }
  return { $handle: target, kind: handle.constructor.name, methods, props };
}

/** Results out: handles become descriptions, anywhere in arrays and plain objects. */
function encode(v) {
  if (v instanceof Handle) return describe(v);
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
  }
  return v;
}

/** Arguments in: {$callback} becomes a function reporting back, {$ref} the handle. */
function decode(v, id) {
  if (Array.isArray(v)) return v.map((x) => decode(x, id));
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    if ('$callback' in v) {
      const callback = v.$callback;
      return (...args) => self.postMessage({ id, progress: { callback, args: encode(args) } });
    }
    if ('$ref' in v) {
      const h = targets.get(v.$ref);
      if (!h) throw new QuantlabError('INVALID_ARGUMENT', 'that handle was disposed');
      return h;
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x, id)]));
  }
  return v;
}

self.onmessage = async ({ data }) => {
  const { id, op } = data;
  try {
    if (op === 'release') {
      targets.delete(data.target);
      return;
    }
    if (op === 'load') {
      if (data.wasmPaths !== undefined) env.wasmPaths = data.wasmPaths;
      const ql = await load(data.options);
      targets.set(0, ql);
      const proto = Object.getPrototypeOf(ql);
      const methods = Object.getOwnPropertyNames(proto)
        .filter((n) => n !== 'constructor' && !n.startsWith('_') && typeof proto[n] === 'function');
      self.postMessage({ id, result: { simd: ql.simd, methods } });
      return;
    }
    const target = targets.get(data.target);
    if (!target) throw new QuantlabError('INVALID_ARGUMENT', 'that handle was disposed');
    if (typeof target[data.method] !== 'function' || data.method.startsWith('_')) {
      throw new QuantlabError('INVALID_ARGUMENT', `no method '${data.method}'`);
    }
    const result = await target[data.method](...decode(data.args, id));
    if (data.method === 'dispose') targets.delete(data.target);
    self.postMessage({ id, result: encode(result) });
  } catch (e) {
    self.postMessage({ id, error: { code: e?.code ?? 'INTERNAL', message: String(e?.message ?? e) } });
  }
};
