// f32 transcendental functions with xsimd's polynomial exp and tanh (native ISA; SSE4.1
// lowered to SIMD128 under Emscripten).
#include <xsimd/xsimd.hpp>

#include "f32-vunary/f32-vunary.h"

namespace quantlab {
namespace {

template <VUnaryFunction F>
void apply(size_t n, const float* x, float* y) {
  using batch = xsimd::batch<float>;
  constexpr size_t kLanes = batch::size;
  const batch one(1.0f);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const batch v = batch::load_unaligned(x + i);
    batch r;
    if constexpr (F == VUnaryFunction::kExp) r = xsimd::exp(v);
    else if constexpr (F == VUnaryFunction::kSigmoid) r = one / (one + xsimd::exp(-v));
    else r = xsimd::tanh(v);
    r.store_unaligned(y + i);
  }
  f32_vunary_reference<F>(i, n, x, y);
}

}  // namespace

// One kernel per kXsimd row of f32-vunary.inc.
#define QL_KERNEL(isa, name, function)                                  \
  QL_ONLY(kXsimd, isa, void name(size_t n, const float* x, float* y) {  \
    apply<VUnaryFunction::function>(n, x, y);                           \
  })
#include "f32-vunary/f32-vunary.inc"
#undef QL_KERNEL

}  // namespace quantlab
