// Models: ONNX import and the runtime (quantlab/model.hpp).
import { asBoolean, asDims, bytesOf, optionsOf } from './check.mjs';
import { call, fail, QuantlabError } from './errors.mjs';
import { withCallback } from './guard.mjs';
import { Handle, MODULE } from './handle.mjs';

const INPUT_ARRAYS = [Float32Array, Uint8Array, Int8Array, Int32Array, BigInt64Array];

function modelInputOf(input, i) {
  if (!input || typeof input !== 'object') fail(`input ${i} must be {data, shape}`);
  const { data, shape } = input;
  if (!INPUT_ARRAYS.some((T) => data instanceof T)) {
    fail(`input ${i} data must be a Float32Array, Uint8Array, Int8Array, Int32Array or ` +
      'BigInt64Array');
  }
  return { data, shape: asDims(shape, `input ${i} shape`) };
}

const copyValue = (v) => (v ? { ...v, shape: v.shape && [...v.shape] } : null);

function copyLayer(l) {
  return { ...l, inputs: l.inputs.map(copyValue), outputs: l.outputs.map(copyValue) };
}

/** Each output of the parts concatenated along dimension 0. */
function concatRows(parts) {
  return parts[0].map((o, k) => {
    const total = parts.reduce((a, p) => a + p[k].data.length, 0);
    const joined = new o.data.constructor(total);
    let at = 0;
    for (const p of parts) {
      joined.set(p[k].data, at);
      at += p[k].data.length;
    }
    const rowsTotal = parts.reduce((a, p) => a + p[k].shape[0], 0);
    return { ...o, data: joined, shape: [rowsTotal, ...o.shape.slice(1)] };
  });
}

/**
 * A loaded ONNX model. Its weights live in WebAssembly memory until dispose(). Results are
 * copies (never views into wasm memory).
 */
export class Model extends Handle {
  #info;

  constructor(module, id) {
    super(module, id, 'model', 'modelDispose');
    this.#info = call(module.modelInfo, id);
  }

  /** Graph inputs to feed: [{name, dtype, shape}]; a symbolic size is its name ('N'). */
  get inputs() {
    return this.#info.inputs.map(copyValue);
  }

  /** Graph outputs: [{name, dtype, shape}]. */
  get outputs() {
    return this.#info.outputs.map(copyValue);
  }

  /** The ai.onnx opset the model imports. */
  get opset() {
    return this.#info.opset;
  }

  /**
   * Every node in execution order: {name, opType, domain, version, inputs, outputs,
   * parameters, bytes, folded, fused}. parameters / bytes count the node's constant inputs
   * (weights, biases, scales, zero points); folded nodes were computed at load time; fused
   * activations run inside the previous layer's kernel.
   */
  layers() {
    return this.#info.layers.map(copyLayer);
  }

  /**
   * Run on one batch: data (a typed array) of the given shape, for a model with one input.
   * Returns the first output as {name, data, shape, dtype}. See runAll for the options.
   */
  run(data, shape, options) {
    return this.runAll([{ data, shape }], options)[0];
  }

  /**
   * Run on one tensor per input ({data, shape}). Options: onProgress({stage, done, total})
   * (called synchronously: stage 'run' after each node, or 'batch' after each chunk);
   * batchSize (single-input models: run the batch in chunks of this many along dimension 0,
   * which bounds memory and reports progress per chunk). Returns every output.
   */
  runAll(inputs, options = {}) {
    const id = this._id();
    if (!Array.isArray(inputs)) fail('inputs must be an array of {data, shape}');
    const ins = inputs.map(modelInputOf);
    const { onProgress, batchSize } = optionsOf(options) ?? {};
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
      fail('batchSize must be an integer >= 1');
    }
    const m = this[MODULE];
    return withCallback(onProgress, (report) => {
      const n = ins.length === 1 && ins[0].shape.length > 0 ? ins[0].shape[0] : 0;
      if (!batchSize || ins.length !== 1 || n <= batchSize) return call(m.modelRun, id, ins, report);
      const { data, shape } = ins[0];
      const per = shape.slice(1).reduce((a, b) => a * b, 1);
      if (data.length !== n * per) {
        throw new QuantlabError('SHAPE_MISMATCH', `input 0 has ${data.length} values but its ` +
          `shape [${shape.join(', ')}] holds ${n * per}`);
      }
      // Chunks give the same result as one run only when samples do not meet: a dynamic
      // quantizer takes its scale over the whole batch, so each chunk would get its own.
      const coupled = this.#info.layers.find((l) => l.opType === 'DynamicQuantizeLinear');
      if (coupled) {
        throw new QuantlabError('UNSUPPORTED', `batchSize: node '${coupled.name}' ` +
          '(DynamicQuantizeLinear) computes its scale over the whole batch, so chunks would ' +
          'differ from one run; run without batchSize');
      }
      const parts = [];
      for (let first = 0; first < n; first += batchSize) {
        const rows = Math.min(batchSize, n - first);
        const part = call(m.modelRun, id, [{ data: data.subarray(first * per, (first + rows) * per),
          shape: [rows, ...shape.slice(1)] }], undefined);
        const other = part.find((o) => o.shape[0] !== rows);
        if (other) {
          throw new QuantlabError('UNSUPPORTED', `batchSize: output '${other.name}' has shape ` +
            `[${other.shape.join(', ')}] for a chunk of ${rows} samples (it does not follow the ` +
            'batch dimension), so chunks cannot be joined; run without batchSize');
        }
        parts.push(part);
        report?.({ stage: 'batch', done: first + rows, total: n });
      }
      return concatRows(parts);
    });
  }
}

export const modelMethods = {
  /**
   * Load an ONNX model from its bytes (Uint8Array or ArrayBuffer). Options (LoadModelOptions,
   * defaults in ql.defaults().loadModel): requantMode, fuseActivations, fuseQdq.
   * Returns a Model; call dispose() when done.
   */
  loadModel(bytes, options) {
    const m = this[MODULE];
    const b = bytes instanceof ArrayBuffer || bytes instanceof Uint8Array ? bytesOf(bytes)
      : fail('model bytes must be a Uint8Array or an ArrayBuffer');
    const o = optionsOf(options);
    asBoolean(o?.fuseActivations, 'fuseActivations');
    asBoolean(o?.fuseQdq, 'fuseQdq');
    const id = call(m.modelLoad, b, o);
    try {
      return new Model(m, id);
    } catch (e) {
      call(m.modelDispose, id);
      throw e;
    }
  },

  /** Operators the runtime implements: [{domain, opType, versions}]. */
  supportedOperators() {
    return call(this[MODULE].supportedOperators);
  },
};
