// Linear quantization and requantization methods of Quantlab (quantlab/linear.hpp,
// quantlab/requantize.hpp).
import { asArray, asInt, asNumber, asShape, optionsOf } from './check.mjs';
import { call, fail } from './errors.mjs';
import { DEFAULTS, MODULE } from './handle.mjs';

/** A QuantSpec as given (the core fills its defaults); bits checked as an integer. */
function specOf(spec) {
  const s = optionsOf(spec, 'spec');
  if (s?.bits !== undefined) asInt(s.bits, 'bits');
  return s;
}

function paramsOf(p) {
  if (!p || typeof p !== 'object') fail('params must be an object from paramsFromRange');
  asNumber(p.scale, 'scale');
  asInt(p.zeroPoint, 'zeroPoint');
  asInt(p.qMin, 'qMin');
  asInt(p.qMax, 'qMax');
  if (p.bits !== undefined) asInt(p.bits, 'bits');
  return p;
}

function calibrationOf(o) {
  return optionsOf(o);
}

export const linearMethods = {
  /** [qMin, qMax] of a grid: bits 2..8 (or 32), signed or unsigned, narrow range. */
  integerRange(spec) {
    return call(this[MODULE].integerRange, specOf(spec));
  },

  /** S and Z from a real range [rMin, rMax] (widened to contain 0) and a spec. */
  paramsFromRange(rMin, rMax, spec) {
    return call(this[MODULE].paramsFromRange, asNumber(rMin, 'rMin'), asNumber(rMax, 'rMax'),
      specOf(spec));
  },

  /** q = clamp(round(r / S) + Z): an Int32Array. */
  quantize(data, params) {
    return call(this[MODULE].quantize, asArray(data, Float32Array, 'data'), paramsOf(params));
  },

  /** r = S (q - Z): a Float32Array. */
  dequantize(q, params) {
    return call(this[MODULE].dequantize, asArray(q, Int32Array, 'q'), paramsOf(params));
  },

  /** {roundMse, clipMse, totalMse, clipped, count} of data under params. */
  quantizationError(data, params) {
    return call(this[MODULE].quantizationError, asArray(data, Float32Array, 'data'), paramsOf(params));
  },

  /** {count, min, max, mean, std} of a Float32Array (a model output, say). */
  arrayStats(data) {
    return call(this[MODULE].arrayStats, asArray(data, Float32Array, 'data'));
  },

  /** An approximation against its reference (int8 against fp32 outputs): {mse, sqnrDb,
   *  maxAbsDiff}; sqnrDb is Infinity when they are equal. */
  compareArrays(ref, test) {
    return call(this[MODULE].compareArrays, asArray(ref, Float32Array, 'ref'), asArray(test, Float32Array, 'test'));
  },

  /** Round, clip and total MSE for clipping ranges [a rMin, a rMax], a = 1/steps .. 1. */
  errorSweep(data, spec, steps = 100) {
    return call(this[MODULE].errorSweep, asArray(data, Float32Array, 'data'), specOf(spec),
      asInt(steps, 'steps'));
  },

  /** The clipping range {rMin, rMax} chosen by method minmax, percentile, mse or kl. */
  calibrate(data, spec, options) {
    return call(this[MODULE].calibrate, asArray(data, Float32Array, 'data'), specOf(spec),
      calibrationOf(options));
  },

  /** One params object per index of `axis` (negative counts from the end). */
  perChannelParams(data, shape, axis, spec, options) {
    return call(this[MODULE].perChannelParams, asArray(data, Float32Array, 'data'), asShape(shape),
      asInt(axis, 'axis'), specOf(spec), calibrationOf(options));
  },

  quantizePerChannel(data, shape, axis, params) {
    if (!Array.isArray(params)) fail('params must be an array (one per channel)');
    return call(this[MODULE].quantizePerChannel, asArray(data, Float32Array, 'data'), asShape(shape),
      asInt(axis, 'axis'), params.map(paramsOf));
  },

  dequantizePerChannel(q, shape, axis, params) {
    if (!Array.isArray(params)) fail('params must be an array (one per channel)');
    return call(this[MODULE].dequantizePerChannel, asArray(q, Int32Array, 'q'), asShape(shape),
      asInt(axis, 'axis'), params.map(paramsOf));
  },

  /** M = M0 * 2^(shift - 31), M0 in [2^30, 2^31): {M0, shift, value}. */
  quantizeMultiplier(M) {
    return call(this[MODULE].quantizeMultiplier, asNumber(M, 'M'));
  },

  /**
   * Requantize int32 accumulators: requantMode 'fixed-point' (default; also spelled 'fixed')
   * with {M0, shift}, or 'fp32' with {multiplier}; plus {zeroPoint, qMin, qMax}. `mode` is
   * the older name of requantMode. Returns an Int32Array.
   */
  requantize(acc, options) {
    const o = { ...optionsOf(options) };
    if (o.requantMode === undefined && o.mode !== undefined) o.requantMode = o.mode;
    const mode = o.requantMode ?? this[DEFAULTS].requantize.requantMode;
    if (mode === 'fixed' || mode === 'fixed-point') {
      asInt(o.M0, 'M0');
      asInt(o.shift, 'shift');
    } else if (mode === 'fp32') {
      asNumber(o.multiplier, 'multiplier');
    }
    return call(this[MODULE].requantize, asArray(acc, Int32Array, 'acc'), o);
  },
};
