// f32 -> q8 conversion kernels: y = clamp(round_half_even(x / scale) + zero_point).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "isa.h"

namespace quantlab {

/// Output grid of the conversion. The division (not a reciprocal multiply) is part of the
/// contract: ONNX QuantizeLinear divides, and every variant must match it bit for bit.
struct F32Q8VcvtParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  int32_t q_min = -128;
  int32_t q_max = 127;
};

/// x: n floats, no NaN (callers validate). y: n outputs.
template <class T>
using F32Q8VcvtFn = void (*)(size_t n, const float* x, T* y, const F32Q8VcvtParams& params);

#define QL_KERNEL(isa, name, T) \
  void name(size_t n, const float* x, T* y, const F32Q8VcvtParams& params);
#include "f32-q8-vcvt/f32-q8-vcvt.inc"
#undef QL_KERNEL

/// The reference conversion of elements [i, n): q = clamp(round_half_even(x / scale),
/// q_min - Z, q_max - Z) + Z. The scalar kernel, and the SIMD kernels' tails.
template <class T>
inline void f32_q8_vcvt_reference(size_t i, size_t n, const float* x, T* y,
                                  const F32Q8VcvtParams& p) {
  const float lo = static_cast<float>(p.q_min - p.zero_point);
  const float hi = static_cast<float>(p.q_max - p.zero_point);
  for (; i < n; ++i) {
    float v = x[i] / p.scale;
    v = v < lo ? lo : (v > hi ? hi : v);
    y[i] = static_cast<T>(static_cast<int32_t>(std::nearbyint(v)) + p.zero_point);
  }
}

template <class T>
struct F32Q8VcvtVariant {
  Isa isa;
  const char* name;
  F32Q8VcvtFn<T> fn;
};

/// Every variant compiled into this build, scalar first.
template <class T>
std::span<const F32Q8VcvtVariant<T>> f32_q8_vcvt_variants();

/// The fastest compiled variant (the last row of the list).
template <class T>
F32Q8VcvtFn<T> f32_q8_vcvt_best() {
  return f32_q8_vcvt_variants<T>().back().fn;
}

}  // namespace quantlab
