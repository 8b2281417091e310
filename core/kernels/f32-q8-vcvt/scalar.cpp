// f32 -> q8 conversion, scalar reference (the test oracle and the fallback), and the
// variant registry of the family.
#include <cmath>
#include <vector>

#include "f32-q8-vcvt/f32-q8-vcvt.h"

namespace quantlab {

// One kernel per kScalar row of f32-q8-vcvt.inc.
#define QL_KERNEL(isa, name, T)                                                      \
  QL_ONLY(kScalar, isa, void name(size_t n, const float* x, T* y, const F32Q8VcvtParams& p) { \
    f32_q8_vcvt_reference(0, n, x, y, p);                                            \
  })
#include "f32-q8-vcvt/f32-q8-vcvt.inc"
#undef QL_KERNEL

template <class T>
std::span<const F32Q8VcvtVariant<T>> f32_q8_vcvt_variants() {
  static const std::vector<F32Q8VcvtVariant<T>> variants = [] {
    std::vector<F32Q8VcvtVariant<T>> v;
#define QL_KERNEL(isa, name, U) \
  if constexpr (std::is_same_v<T, U>) v.push_back({Isa::isa, #name, &name});
#include "f32-q8-vcvt/f32-q8-vcvt.inc"
#undef QL_KERNEL
    return v;
  }();
  return variants;
}

template std::span<const F32Q8VcvtVariant<int8_t>> f32_q8_vcvt_variants<int8_t>();
template std::span<const F32Q8VcvtVariant<uint8_t>> f32_q8_vcvt_variants<uint8_t>();

}  // namespace quantlab
