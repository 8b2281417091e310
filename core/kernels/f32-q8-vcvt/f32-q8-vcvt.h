// f32 -> q8 conversion kernels: y = clamp(round_half_even(x / scale) + zero_point).
#pragma once

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
