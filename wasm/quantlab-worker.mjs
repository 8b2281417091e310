// quantlab/worker: the quantlab API with the instance in a Web Worker (as onnxruntime-web's
// `proxy` option), so run, quantizeModel and the compression calls never block the page.
// The same methods, each returning a Promise; handles (Model, QuantizedModel, Network, ...)
// come back as stand-ins with the same methods (async) and their getters' values at
// creation; callbacks (onProgress) are called on the page as the worker reports. cancel()
// ends the worker: what is running stops at once (a wasm call cannot be interrupted any
// other way), every pending call rejects with CANCELLED and the instance is closed; load()
// another. Browsers only (Node: import 'quantlab').
import { env, wasmPathFromEnv } from './js/env.mjs';
import { QuantlabError } from './js/errors.mjs';

export { env, QuantlabError };

const TARGET = Symbol('quantlab worker target');

class Connection {
  #worker;
  #next = 1;
  #pending = new Map();   // id -> {resolve, reject, callbacks}
  closed = null;          // the reason, once closed

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => this.#answer(data);
    worker.onerror = (e) => {
      e.preventDefault?.();
      this.close('INTERNAL', `the quantlab worker failed: ${e.message ?? 'could not load it'}`);
    };
  }

  #answer({ id, result, error, progress }) {
    const p = this.#pending.get(id);
    if (!p) return;
    if (progress) {
      try {
        p.callbacks[progress.callback](...this.decode(progress.args));
      } catch (e) {
        // A throwing callback cancels, as it does in the page (the worker is ended).
        this.close('CANCELLED', `a callback threw: ${e?.message ?? e}`);
      }
      return;
    }
    this.#pending.delete(id);
    if (error) p.reject(new QuantlabError(error.code, error.message));
    else p.resolve(this.decode(result));
  }

  /** Arguments out: functions and stand-ins become references. */
  #encode(v, callbacks) {
    if (typeof v === 'function') {
      callbacks.push(v);
      return { $callback: callbacks.length - 1 };
    }
    if (v && typeof v === 'object') {
      if (v[TARGET] !== undefined) return { $ref: v[TARGET] };
      if (Array.isArray(v)) return v.map((x) => this.#encode(x, callbacks));
      if (Object.getPrototypeOf(v) === Object.prototype) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.#encode(x, callbacks)]));
      }
    }
    return v;
  }

  /** Results in: handle descriptions become stand-ins. */
  decode(v) {
    if (Array.isArray(v)) return v.map((x) => this.decode(x));
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      if ('$handle' in v) return this.standIn(v.$handle, v.methods, this.decode(v.props), v.kind);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.decode(x)]));
    }
    return v;
  }

  request(message) {
    if (this.closed) return Promise.reject(new QuantlabError(this.closed.code, this.closed.message));
    const id = this.#next++;
    const callbacks = [];
    const args = message.args === undefined ? undefined : this.#encode(message.args, callbacks);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, callbacks });
      this.#worker.postMessage({ ...message, id, args });
    });
  }

  /** An object with `methods` calling `target` in the worker, and `props`. */
  standIn(target, methods, props = {}, kind = 'Handle') {
    const obj = { ...props };
    Object.defineProperty(obj, TARGET, { value: target });
    Object.defineProperty(obj, Symbol.toStringTag, { value: kind });
    for (const name of methods) {
      obj[name] = (...args) => this.request({ op: 'call', target, method: name, args });
    }
    if (methods.includes('dispose')) {
      let disposed = false;
      obj.dispose = () => {
        if (disposed || this.closed) return Promise.resolve();
        disposed = true;
        return this.request({ op: 'call', target, method: 'dispose', args: [] });
      };
      Object.defineProperty(obj, 'disposed', { get: () => disposed || this.closed !== null });
    }
    return obj;
  }

  close(code, message) {
    if (this.closed) return;
    this.closed = { code: code === 'CANCELLED' ? 'CANCELLED' : code, message };
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(new QuantlabError(code, message));
    this.#pending.clear();
  }
}

/** Absolute URLs: the worker would resolve relative ones against its own script. */
function absolute(url) {
  return new URL(String(url), globalThis.location?.href).href;
}

/**
 * Load quantlab in a new Web Worker. Options as load() (simd, wasmBinary, locateFile,
 * maxMemory); env.wasmPaths of this page applies. Resolves to the instance: every method
 * returns a Promise; also `simd`, cancel() and close().
 */
export async function load(options = {}) {
  if (typeof Worker !== 'function') {
    throw new QuantlabError('UNSUPPORTED', "quantlab/worker needs Web Workers (a browser); in Node import 'quantlab'");
  }
  const { locateFile, ...rest } = options;
  let wasmPaths;
  const files = ['quantlab-simd.wasm', 'quantlab-scalar.wasm'];
  if (typeof locateFile === 'function') {
    wasmPaths = Object.fromEntries(files.map((f) => [f, absolute(locateFile(f, ''))]));
  } else if (env.wasmPaths !== undefined && env.wasmPaths !== null) {
    wasmPaths = Object.fromEntries(files.map((f) => [f, wasmPathFromEnv(f)]).filter(([, u]) => u !== undefined)
      .map(([f, u]) => [f, absolute(u)]));
  }
  const worker = new Worker(new URL('./js/worker-main.mjs', import.meta.url), { type: 'module', name: 'quantlab' });
  const connection = new Connection(worker);
  let info;
  try {
    info = await connection.request({ op: 'load', options: rest, wasmPaths });
  } catch (e) {
    connection.close('INTERNAL', 'closed after a failed load');
    throw e;
  }
  const ql = connection.standIn(0, info.methods);
  ql.simd = info.simd;
  /** End the worker now: pending calls reject with CANCELLED; the instance is closed. */
  ql.cancel = () => connection.close('CANCELLED', 'cancelled');
  /** End the worker and free everything it held. */
  ql.close = () => connection.close('INVALID_ARGUMENT', 'this quantlab worker was closed');
  return ql;
}

export default load;
