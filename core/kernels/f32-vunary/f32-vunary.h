// f32 element-wise transcendental functions for the activations: y = exp(x),
// 1 / (1 + exp(-x)) (Sigmoid) or tanh(x).
//
// Contract: unlike the integer families these are not bit-exact across variants. The scalar
// variant is the C library (std::exp, std::tanh) and the test oracle; every other variant is
// within 4e-7 relative (about 4 ulp) of it, plus 1e-37 absolute where results are subnormal,
// gives the same infinities and zeros at the ends of the range, and NaN for NaN. One
// exception: xsimd's exp overflows to inf from x > 88.3763 (Cephes' maxlog) where
// the library stays finite up to 88.72; Softmax only takes exp of x - max <= 0, and Sigmoid's
// 1 / (1 + inf) = 0 is within the subnormal tolerance.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

#include "isa.h"

namespace quantlab {

enum class VUnaryFunction { kExp, kSigmoid, kTanh };

/// y[i] = f(x[i]) for i < n; y may be x (in place).
using F32VUnaryFn = void (*)(size_t n, const float* x, float* y);

#define QL_KERNEL(isa, name, function) void name(size_t n, const float* x, float* y);
#include "f32-vunary/f32-vunary.inc"
#undef QL_KERNEL

/// The reference of elements [i, n): the scalar kernels, and the SIMD kernels' tails.
template <VUnaryFunction F>
inline void f32_vunary_reference(size_t i, size_t n, const float* x, float* y) {
  for (; i < n; ++i) {
    if constexpr (F == VUnaryFunction::kExp) y[i] = std::exp(x[i]);
    else if constexpr (F == VUnaryFunction::kSigmoid) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
    else y[i] = std::tanh(x[i]);
  }
}

struct F32VUnaryVariant {
  Isa isa;
  VUnaryFunction function;
  const char* name;
  F32VUnaryFn fn;
};

/// Every variant compiled into this build, in .inc order (scalar first).
std::span<const F32VUnaryVariant> f32_vunary_variants();

/// The fastest compiled variant of a function (its last row).
F32VUnaryFn f32_vunary_best(VUnaryFunction function);

}  // namespace quantlab
