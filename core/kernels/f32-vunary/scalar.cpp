// f32 transcendental functions, scalar reference (the test oracle and the fallback), and the
// variant registry of the family.
#include <vector>

#include "f32-vunary/f32-vunary.h"

namespace quantlab {

// One kernel per kScalar row of f32-vunary.inc.
#define QL_KERNEL(isa, name, function)                                      \
  QL_ONLY(kScalar, isa, void name(size_t n, const float* x, float* y) {     \
    f32_vunary_reference<VUnaryFunction::function>(0, n, x, y);             \
  })
#include "f32-vunary/f32-vunary.inc"
#undef QL_KERNEL

std::span<const F32VUnaryVariant> f32_vunary_variants() {
  static const std::vector<F32VUnaryVariant> variants = {
#define QL_KERNEL(isa, name, function) {Isa::isa, VUnaryFunction::function, #name, &name},
#include "f32-vunary/f32-vunary.inc"
#undef QL_KERNEL
  };
  return variants;
}

F32VUnaryFn f32_vunary_best(VUnaryFunction function) {
  F32VUnaryFn best = nullptr;
  for (const auto& v : f32_vunary_variants()) {
    if (v.function == function) best = v.fn;
  }
  return best;
}

}  // namespace quantlab
