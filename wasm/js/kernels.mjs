// int8 / fp32 GEMM and convolution layers packed once for repeated runs (quantlab/gemm.hpp,
// quantlab/conv.hpp).
import { asArray, asInt, asNumber, asShape } from './check.mjs';
import { call, fail } from './errors.mjs';
import { Handle, MODULE } from './handle.mjs';

function scalesOf(s, what) {
  return typeof s === 'number' ? new Float32Array([s]) : asArray(s, Float32Array, what);
}

function optionsObject(o) {
  if (!o || typeof o !== 'object') fail('options must be an object');
  return o;
}

/** Output options with the older key `requant` read as requantMode. */
function outputOf(o) {
  if (o === undefined) return undefined;
  const out = { ...optionsObject(o) };
  if (out.requantMode === undefined && out.requant !== undefined) out.requantMode = out.requant;
  return out;
}

function geometryOf(o) {
  for (const [key, n] of [['kernelShape', 2], ['strides', 2], ['pads', 4], ['dilations', 2]]) {
    const v = o[key];
    if ((v !== undefined || key === 'kernelShape') &&
      (!Array.isArray(v) || v.length !== n || !v.every(Number.isInteger))) {
      fail(key === 'pads' ? 'pads must be four integers [top, left, bottom, right]' : `${key} must be two integers`);
    }
  }
  return { cOut: asInt(o.cOut, 'cOut'), cIn: asInt(o.cIn, 'cIn') };
}

function quantizedOf(o, Bias = Int32Array) {
  return {
    weightScales: scalesOf(o.weightScales, 'weightScales'),
    bias: asArray(o.bias ?? [], Bias, 'bias'),
    inputScale: asNumber(o.inputScale, 'inputScale'),
    output: outputOf(o.output),
    variant: String(o.variant ?? ''),
  };
}

/** A packed layer in WebAssembly memory; dispose() frees it. */
class KernelLayer extends Handle {
  #info;

  constructor(module, id) {
    super(module, id, 'layer', 'kernelDispose');
    this.#info = call(module.kernelInfo, id);
  }

  /** The kernel variant running this layer ('scalar', 'xsimd' or 'wasmsimd'). */
  get variant() {
    return this.#info.variant;
  }

  /** The micro-kernel's name, e.g. ql_qs8_gemm_minmax_fp32_ukernel_4x8c2__wasmsimd_dot16x2. */
  get ukernel() {
    return this.#info.ukernel;
  }

  /** Convolutions: true when the depthwise kernels run this layer. */
  get depthwise() {
    return Boolean(this.#info.depthwise);
  }

  _run(x, dims) {
    return call(this[MODULE].kernelRun, this._id(), x, dims);
  }

  /**
   * Kernel-only timing: `reps` runs on the last input inside WebAssembly, after `warmup`
   * untimed ones. Returns {medianMs, minMs, reps}. Call run() once first.
   */
  benchmark(reps = 50, warmup = 2) {
    return call(this[MODULE].kernelBenchmark, this._id(), asInt(reps, 'reps'), asInt(warmup, 'warmup'));
  }
}

/** int8 fully-connected layer: run(x [m, k], m) -> y [m, n] (a new typed array). */
export class QGemm extends KernelLayer {
  run(x, m) {
    return this._run(x, [asInt(m, 'm')]).data;
  }
}

/** fp32 fully-connected layer: run(x [m, k], m) -> Float32Array [m, n]. */
export class GemmF32 extends KernelLayer {
  run(x, m) {
    return this._run(asArray(x, Float32Array, 'x'), [asInt(m, 'm')]).data;
  }
}

function convRun(layer, x, shape) {
  const s = asShape(shape);
  if (s.length !== 4) fail('shape must be [batch, channels, height, width]');
  return layer._run(x, [s[0], s[2], s[3]]);
}

/** int8 NCHW convolution: run(x, [batch, cIn, h, w]) -> {data, shape} of the output. */
export class QConv2d extends KernelLayer {
  run(x, shape) {
    return convRun(this, x, shape);
  }
}

/** fp32 NCHW convolution: run(x, [batch, cIn, h, w]) -> {data: Float32Array, shape}. */
export class Conv2dF32 extends KernelLayer {
  run(x, shape) {
    return convRun(this, asArray(x, Float32Array, 'x'), shape);
  }
}

export const kernelMethods = {
  /** Kernel variants compiled into this module, slowest first ('scalar', 'xsimd', 'wasmsimd'). */
  kernelVariants() {
    return call(this[MODULE].kernelVariants);
  },

  /** Pack an int8 layer y = x W^T + b for repeated run()s (see QGemmOptions). */
  createQGemm(options) {
    const o = optionsObject(options);
    const m = this[MODULE];
    return new QGemm(m, call(m.qgemmCreate, {
      ...o, weights: asArray(o.weights, Int8Array, 'weights'), n: asInt(o.n, 'n'), k: asInt(o.k, 'k'),
      ...quantizedOf(o),
    }));
  },

  /** Pack an int8 NCHW convolution (see QConv2dOptions). */
  createQConv2d(options) {
    const o = optionsObject(options);
    const m = this[MODULE];
    return new QConv2d(m, call(m.qconvCreate, {
      ...o, weights: asArray(o.weights, Int8Array, 'weights'), ...geometryOf(o), ...quantizedOf(o),
    }));
  },

  /** The fp32 baseline of createQGemm: y = x W^T + b, then the activation. */
  createGemmF32(options) {
    const o = optionsObject(options);
    const m = this[MODULE];
    return new GemmF32(m, call(m.gemmF32Create, {
      ...o, weights: asArray(o.weights, Float32Array, 'weights'), n: asInt(o.n, 'n'), k: asInt(o.k, 'k'),
      bias: asArray(o.bias ?? [], Float32Array, 'bias'), variant: String(o.variant ?? ''),
    }));
  },

  /** The fp32 baseline of createQConv2d. */
  createConv2dF32(options) {
    const o = optionsObject(options);
    const m = this[MODULE];
    return new Conv2dF32(m, call(m.convF32Create, {
      ...o, weights: asArray(o.weights, Float32Array, 'weights'), ...geometryOf(o),
      bias: asArray(o.bias ?? [], Float32Array, 'bias'), variant: String(o.variant ?? ''),
    }));
  },
};
