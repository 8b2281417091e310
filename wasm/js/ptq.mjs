// Post-training static quantization of a loaded model (quantlab/ptq.hpp).
import { asBoolean, asDims, optionsOf } from './check.mjs';
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

  constructor(module, out) {
    super(module, out.id, 'quantized model', 'ptqDispose');
    this.#report = out.report;
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

  /** BatchNormalization nodes folded into the conv before them. */
  get foldedBatchNorms() {
    return this.#folded;
  }

  /** The int8 model as .onnx bytes: 'qoperator' (default) or 'qdq'. */
  toOnnx(form = 'qoperator') {
    return call(this[MODULE].ptqToOnnx, this._id(), String(form));
  }

  /** Free the quantized model and its .model; safe to call twice. */
  dispose() {
    if (!this.disposed) this.#model?.dispose();
    super.dispose();
  }
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
    const o = optionsOf(options) ?? {};
    asBoolean(o.perChannel, 'perChannel');
    asBoolean(o.reduceRange, 'reduceRange');
    const out = withCallback(o.onProgress, (report) => call(m.ptqQuantize, id, calibration, dims, o, report),
      (r) => {
        call(m.ptqDispose, r.id);
        call(m.modelDispose, r.modelId);
      });
    return new QuantizedModel(m, out);
  },
};
