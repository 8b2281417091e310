// Post-training static quantization of a loaded model (quantlab/ptq.hpp).
import { asArray, asBoolean, asDims, optionsOf } from './check.mjs';
import { call, fail } from './errors.mjs';
import { withCallback } from './guard.mjs';
import { Handle, MODULE } from './handle.mjs';
import { Model } from './models.mjs';

function copyReportLayer(l) {
  return {
    ...l,
    outputRange: [...l.outputRange],
    weightScales: l.weightScales.slice(),
    multipliers: l.multipliers.slice(),
    m0: l.m0.slice(),
    shift: l.shift.slice(),
  };
}

/**
 * The result of quantizeModel: the int8 graph as an ordinary Model (.model), the per-layer
 * report, and ONNX export in QOperator or QDQ form. dispose() frees both.
 */
export class QuantizedModel extends Handle {
  #model;
  #report;
  #folded;
  #ranges;

  constructor(module, out) {
    super(module, out.id, 'quantized model', 'ptqDispose');
    this.#report = out.report;
    this.#ranges = out.ranges;
    this.#folded = out.foldedBatchNorms;
    try {
      this.#model = new Model(module, out.modelId);
    } catch (e) {
      call(module.modelDispose, out.modelId);
      super.dispose();
      throw e;
    }
  }

  /** The int8 model (QOperator graph): layers(), run(), runAll() as any Model. */
  get model() {
    this._id();
    return this.#model;
  }

  /**
   * One entry per quantized Conv / Gemm / MatMul, in execution order: {name, opType,
   * inputScale, inputZeroPoint, outputScale, outputZeroPoint, outputRange: [rMin, rMax],
   * weightScales, multipliers (M = S_W S_X / S_Y), m0, shift (M ~= m0 2^(shift - 31)), mse,
   * sqnrDb} (fp32 against int8 on the first 32 calibration samples).
   */
  get report() {
    return this.#report.map(copyReportLayer);
  }

  /**
   * The calibration table: every quantized activation {value, min, max, scale, zeroPoint,
   * given}. Handing it back as options.ranges reproduces the model without calibrating.
   */
  get ranges() {
    return this.#ranges.map((r) => ({ ...r }));
  }

  /** BatchNormalization nodes folded into the conv before them. */
  get foldedBatchNorms() {
    return this.#folded;
  }

  /**
   * The int8 model as .onnx bytes: form 'qoperator' (default) or 'qdq'; options.activations
   * 'uint8' (default: int8 activations re-expressed exactly as uint8, q + 128 with Z + 128,
   * which onnxruntime runs exactly and on its fast kernels) or 'as-quantized'.
   */
  toOnnx(form = 'qoperator', options = {}) {
    const o = optionsOf(options) ?? {};
    return call(this[MODULE].ptqToOnnx, this._id(), String(form), String(o.activations ?? 'uint8'));
  }

  /**
   * What onnxruntime reproduces of each export, judged from the graph: one entry per form
   * and activations, {form, activations, exactness: 'exact' | 'cpu-dependent' | 'inexact',
   * reasons} (each reason names the cause and the option that avoids it).
   */
  get exportChecks() {
    return call(this[MODULE].ptqExportChecks, this._id());
  }

  /** Free the quantized model and its .model; safe to call twice. */
  dispose() {
    if (!this.disposed) this.#model?.dispose();
    super.dispose();
  }
}

/**
 * options.ranges as the core takes it: an array of {value, min, max} / {value, scale,
 * zeroPoint}, or an object {name: [min, max] | {scale, zeroPoint}} (a calibration table).
 */
function ptqOptions(options) {
  const o = optionsOf(options) ?? {};
  asBoolean(o.perChannel, 'perChannel');
  asBoolean(o.reduceRange, 'reduceRange');
  asBoolean(o.symmetricActivations, 'symmetricActivations');
  if (o.layers !== undefined && !Array.isArray(o.layers)) fail('layers must be an array of {node, weightBits, weights}');
  const r = o.ranges;
  if (r === undefined || r === null || Array.isArray(r)) return o;
  if (typeof r !== 'object') fail('ranges must be an array or an object of value name -> range');
  const ranges = Object.entries(r).map(([value, v]) => {
    if (Array.isArray(v) || ArrayBuffer.isView(v)) {
      if (v.length !== 2) fail(`ranges['${value}'] must be [min, max]`);
      return { value, min: Number(v[0]), max: Number(v[1]) };
    }
    if (v === null || typeof v !== 'object') fail(`ranges['${value}'] must be [min, max] or {scale, zeroPoint}`);
    return { value, ...v };
  });
  return { ...o, ranges };
}

/** labels: one class per sample (Int32Array, Uint8Array or an array), or none. */
function labelsOf(labels) {
  return labels === undefined || labels === null ? new Int32Array(0) : asArray(labels, Int32Array, 'labels');
}

/** A call that quantizes variants of `model` and measures them on `data` (with labels). */
function measured(m, fn, model, data, shape, options) {
  if (!(model instanceof Model)) fail('model must be a Model (from loadModel)');
  const id = model._id();
  if (!(data instanceof Float32Array)) fail('data must be a Float32Array');
  const dims = asDims(shape, 'shape');
  const o = ptqOptions(options);
  const labels = labelsOf(o.labels);
  return withCallback(o.onProgress, (report) => call(m[fn], id, data, dims, labels, o, report));
}

export const ptqMethods = {
  /**
   * Post-training static quantization of a loaded fp32 Model. calibration: Float32Array of
   * `shape` (e.g. [512, 1, 28, 28]) for the model's single input, fed in chunks of
   * options.batchSize. Options (QuantizeModelOptions; defaults in
   * ql.defaults().quantizeModel) plus onProgress({stage, done, total}).
   * Returns a QuantizedModel: .model, .report, .toOnnx(form), .dispose().
   */
  quantizeModel(model, calibration, shape, options = {}) {
    const m = this[MODULE];
    if (!(model instanceof Model)) fail('model must be a Model (from loadModel)');
    const id = model._id();
    if (!(calibration instanceof Float32Array)) fail('calibration must be a Float32Array');
    const dims = asDims(shape, 'shape');
    const o = ptqOptions(options);
    const out = withCallback(o.onProgress, (report) => call(m.ptqQuantize, id, calibration, dims, o, report),
      (r) => {
        call(m.ptqDispose, r.id);
        call(m.modelDispose, r.modelId);
      });
    return new QuantizedModel(m, out);
  },

  /**
   * Which layer hurts: for each quantized layer and each of options.bits, the model output's
   * SQNR against fp32 with only that layer quantized (and top-1 accuracy with
   * options.labels), plus each layer's accumulated SQNR with every layer quantized. Takes the
   * quantizeModel options; evaluates the first options.evalSamples samples of `data`.
   */
  quantizationSensitivity(model, data, shape, options = {}) {
    return measured(this[MODULE], 'ptqSensitivity', model, data, shape, options);
  },

  /**
   * The smallest weights within a budget (options.minSqnrDb, or options.maxAccuracyDrop
   * points with options.labels): a width from options.bits per layer, found greedily from
   * the sensitivity report and measured. Returns {layers (for quantizeModel's options.layers),
   * sensitivity, sqnrDb, accuracy, weightBits, int8WeightBits, measured}.
   */
  mixedPrecision(model, data, shape, options = {}) {
    return measured(this[MODULE], 'ptqMixedPrecision', model, data, shape, options);
  },
};
